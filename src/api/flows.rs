//! What the flow code both editions share (`sql/shared/flows.sql`) needs from this edition, under the
//! names and signatures the SQL edition gives them: wake-ups, and a signal the engine delivers
//! itself. Neither is granted to any role: only the extension's own functions call them.

use crate::error::{required, WfError};
use crate::postgres::args::ex_id;
use crate::postgres::notify::{self, Channel};
use crate::postgres::raise::guarded;
use pgrx::prelude::*;

/// Tell every backend's claims that the paused lanes changed, at commit (see [`crate::store::lanes`]).
#[pg_extern(name = "ff_lanes_changed", parallel_unsafe)]
#[search_path(@extschema@, pg_temp)]
pub(crate) fn ff_lanes_changed() {
    guarded(crate::store::lanes::changed)
}

/// Wake the announced waiters on the outbox `channels` written and the `lanes` made claimable.
#[pg_extern(name = "ff_wake", parallel_unsafe)]
#[search_path(@extschema@, pg_temp)]
pub(crate) fn ff_wake(channels: Option<Vec<Option<String>>>, lanes: Option<Vec<Option<String>>>) {
    guarded(|| {
        let channels = channels
            .unwrap_or_default()
            .into_iter()
            .flatten()
            .map(|c| Channel::parse(&c).ok_or_else(|| WfError::corruption(format!("unknown channel {c}"))))
            .collect::<Result<Vec<_>, _>>()?;
        let lanes: Vec<String> = lanes.unwrap_or_default().into_iter().flatten().collect();
        let lanes: Vec<&str> = lanes.iter().map(String::as_str).collect();
        Spi::connect_mut(|client| notify::wake(client, &channels, &lanes))
    })
}

/// Deliver a signal from the engine itself (a flow member's end to its parent's waitpoint); the effect.
#[pg_extern(parallel_unsafe)]
#[search_path(@extschema@, pg_temp)]
pub(crate) fn ff_deliver_engine_signal(
    partition_key: Option<i16>,
    execution_id: Option<pgrx::Uuid>,
    waitpoint_id: Option<pgrx::Uuid>,
    signal_name: Option<&str>,
    source_identity: Option<&str>,
    payload: Option<&[u8]>,
) -> Option<String> {
    guarded(|| {
        let id = ex_id(required(partition_key, "partition_key")?, &required(execution_id, "execution_id")?);
        let waitpoint_id = required(waitpoint_id, "waitpoint_id")?;
        let (name, source) = (required(signal_name, "signal_name")?, required(source_identity, "source_identity")?);
        Spi::connect_mut(|client| crate::store::signals::deliver_from_engine(client, &id, waitpoint_id, name, source, payload))
    })
}
