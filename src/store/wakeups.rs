//! `ff_await_lane` and `ff_await_events`: a waiter announces itself before it sleeps (the mechanism
//! is in [`crate::postgres::notify`]; docs/wakeups.md).

use crate::error::{required, WfError, WfResult};
use crate::ids;
use crate::postgres::notify::{self, Channel};
use crate::postgres::statement::now_ms;
use pgrx::prelude::*;

/// The announcement's exclusive locks are held to the end of the transaction, so announcing inside a
/// longer transaction would stall the writers of what it waits on until that transaction ends: refuse
/// a transaction block (`BEGIN …`, or several statements in one simple query). Not a timestamp test
/// (`transaction_timestamp() = statement_timestamp()`): under the extended protocol the transaction
/// starts at Bind and the statement at Execute, so an autocommit call would fail it.
fn own_transaction() -> WfResult<()> {
    // SAFETY: reads the backend's transaction block state.
    if unsafe { pg_sys::IsTransactionBlock() } {
        return Err(WfError::invalid_input(
            "in_transaction_block",
            "call it in a transaction of its own (autocommit): its locks are held until the transaction ends",
        ));
    }
    Ok(())
}

/// `ff_await_lane(lane_id)`: announce the session as a sleeping worker of the lane.
pub fn await_lane(lane_id: Option<&str>) -> WfResult<()> {
    let lane_id = required(lane_id, "lane_id")?;
    ids::validate_lane_id(lane_id)?;
    own_transaction()?;
    Spi::connect_mut(|client| notify::announce(client, &[], &[lane_id], now_ms()))
}

/// `ff_await_events(channels)`: announce the session as a caught-up subscriber of the channels.
pub fn await_events(channels: Option<Vec<Option<String>>>) -> WfResult<()> {
    let names = required(channels, "channels")?;
    let invalid = || {
        WfError::invalid_input(
            "invalid_channel",
            "channels must be 1-5 of ff_signal_event, ff_lease_event, ff_completion, ff_operator_event, ff_frame",
        )
    };
    if names.is_empty() || names.len() > 5 {
        return Err(invalid());
    }
    let channels = names.iter().map(|n| n.as_deref().and_then(Channel::parse).ok_or_else(invalid)).collect::<WfResult<Vec<_>>>()?;
    own_transaction()?;
    Spi::connect_mut(|client| notify::announce(client, &channels, &[], now_ms()))
}
