//! Outbox NOTIFY (semantics §8). Event rows are inserted by the statements that change state (in the
//! same statement, as data-modifying CTEs); this module only wakes listeners: one notification per
//! channel and transaction (PostgreSQL folds repeats), empty payload, none when `ff_engine.notify` is off.
//!
//! The notification is queued with PostgreSQL's own `Async_Notify` (what `pg_notify()` and `NOTIFY`
//! call), not through an SPI `SELECT pg_notify(...)`: the same effect at commit, without starting an
//! executor for it (up to two per call on the hot paths).

use pgrx::prelude::*;
use std::ffi::{c_char, CStr};

extern "C-unwind" {
    // src/include/commands/async.h; not in pgrx's bindings. Raises ERROR only for an empty or too
    // long channel or payload (ours are constants) or in a parallel worker (our functions are
    // PARALLEL UNSAFE).
    fn Async_Notify(channel: *const c_char, payload: *const c_char);
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Channel {
    Signal,
    Lease,
    Completion,
    Operator,
}

impl Channel {
    fn name(self) -> &'static CStr {
        match self {
            Channel::Signal => c"ff_signal_event",
            Channel::Lease => c"ff_lease_event",
            Channel::Completion => c"ff_completion",
            Channel::Operator => c"ff_operator_event",
        }
    }
}

/// Wake listeners of `channels`. Call after writing the event rows. PostgreSQL folds identical
/// notifications (same channel, empty payload) of one transaction into one, so however many events a
/// transaction writes, each channel is notified at most once (semantics §8).
pub fn notify(channels: &[Channel]) {
    if !crate::postgres::settings::NOTIFY.get() {
        return;
    }
    for &ch in channels {
        let channel = ch.name().as_ptr();
        // SAFETY: two pointers to static C strings; nothing with a destructor is live inside the
        // guarded call, which turns a Postgres ERROR into a Rust panic (caught by `guarded`).
        unsafe { pg_sys::ffi::pg_guard_ffi_boundary(|| Async_Notify(channel, c"".as_ptr())) };
    }
}
