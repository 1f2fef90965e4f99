//! Outbox NOTIFY (semantics §8). Event rows are inserted by the statements that change state (in the
//! same statement, as data-modifying CTEs); this module only wakes listeners: at most one `pg_notify`
//! per channel and (sub)transaction, empty payload, and none when `ff_engine.notify` is off.

use crate::error::WfResult;
use crate::plans::{t, Plan};
use pgrx::prelude::*;
use pgrx::spi::SpiClient;
use std::cell::Cell;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Channel {
    Signal = 1,
    Lease = 2,
    Completion = 4,
}

impl Channel {
    fn name(self) -> &'static str {
        match self {
            Channel::Signal => "ff_signal_event",
            Channel::Lease => "ff_lease_event",
            Channel::Completion => "ff_completion",
        }
    }
}

static NOTIFY: Plan = Plan { sql: "SELECT pg_notify($1, '')", args: &[t::TEXT] };

thread_local! {
    // (top-level xid, subtransaction id, channels already notified in it)
    static NOTIFIED: Cell<(u32, u32, u8)> = const { Cell::new((0, 0, 0)) };
}

/// Wake listeners of `channels` once per (sub)transaction. Call after writing the event rows.
pub fn notify(client: &SpiClient<'_>, channels: &[Channel]) -> WfResult<()> {
    if !crate::settings::NOTIFY.get() {
        return Ok(());
    }
    let (xid, subxid) = unsafe { (pg_sys::GetTopTransactionIdIfAny().into_inner(), pg_sys::GetCurrentSubTransactionId()) };
    let (last_xid, last_sub, mut done) = NOTIFIED.with(Cell::get);
    if (last_xid, last_sub) != (xid, subxid) || xid == 0 {
        done = 0;
    }
    for &ch in channels {
        if done & ch as u8 == 0 {
            NOTIFY.run(client, &[ch.name().into()])?;
            done |= ch as u8;
        }
    }
    NOTIFIED.with(|c| c.set((xid, subxid, done)));
    Ok(())
}
