//! Outbox NOTIFY (semantics §8). Event rows are inserted by the statements that change state (in the
//! same statement, as data-modifying CTEs); this module only wakes listeners: at most one notification
//! per channel and (sub)transaction, empty payload, and none when `ff_engine.notify` is off.
//!
//! The notification is queued with PostgreSQL's own `Async_Notify` (what `pg_notify()` and `NOTIFY`
//! call), not through an SPI `SELECT pg_notify(...)`: the same effect at commit, without starting an
//! executor for it (up to two per call on the hot paths).

use crate::error::WfResult;
use pgrx::prelude::*;
use std::cell::Cell;
use std::ffi::{c_char, CStr};

extern "C-unwind" {
    // src/include/commands/async.h; not in pgrx's bindings. Raises ERROR only for an empty or too
    // long channel or payload (ours are constants) or in a parallel worker (our functions are
    // PARALLEL UNSAFE).
    fn Async_Notify(channel: *const c_char, payload: *const c_char);
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Channel {
    Signal = 1,
    Lease = 2,
    Completion = 4,
}

impl Channel {
    fn name(self) -> &'static CStr {
        match self {
            Channel::Signal => c"ff_signal_event",
            Channel::Lease => c"ff_lease_event",
            Channel::Completion => c"ff_completion",
        }
    }
}

thread_local! {
    // (top-level xid, subtransaction id, channels already notified in it)
    static NOTIFIED: Cell<(u32, u32, u8)> = const { Cell::new((0, 0, 0)) };
}

/// Wake listeners of `channels` once per (sub)transaction. Call after writing the event rows.
pub fn notify(channels: &[Channel]) -> WfResult<()> {
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
            let channel = ch.name().as_ptr();
            // SAFETY: two pointers to static C strings; nothing with a destructor is live inside the
            // guarded call, which turns a Postgres ERROR into a Rust panic (caught by `guarded`).
            unsafe { pg_sys::ffi::pg_guard_ffi_boundary(|| Async_Notify(channel, c"".as_ptr())) };
            done |= ch as u8;
        }
    }
    NOTIFIED.with(|c| c.set((xid, subxid, done)));
    Ok(())
}
