//! Wake-ups (docs/wakeups.md): who is told, at commit, that a transaction wrote outbox events or made
//! work claimable in a lane.
//!
//! With `ff_engine.notify = on` (the default) only announced waiters are: a worker about to sleep on an
//! empty lane (`ff_await_lane`) or a subscriber that has read everything (`ff_await_events`) inserts a
//! row into `ff_waiter`; a writer deletes the rows of what it wrote and notifies only if it deleted
//! some. So a busy system, where nobody waits, sends no NOTIFY, and pays none of the commit-time lock
//! a notifying transaction holds through its WAL flush; an idle one wakes its waiter at once.
//!
//! The race between the two sides is closed with advisory locks on the (channel, lane) key:
//! - a writer takes the key's lock in share mode after its writes, *then* reads `ff_waiter` in a
//!   statement of its own (so that statement's snapshot is taken after the lock is held), and keeps the
//!   lock to its commit;
//! - a waiter takes it in exclusive mode, inserts its announcement and commits (which releases it).
//!
//! A writer holding the lock before the waiter asks for it commits before the waiter's announcement
//! does, so the waiter's next look (its claim or read, after the announcement) sees the writer's rows.
//! A writer asking after the waiter holds it (or queued behind the waiter) reads `ff_waiter` after
//! the announcement committed, so it sees the announcement and notifies. Either way nothing is
//! missed; tests/wakeups.rs shows the window is real without the lock.
//!
//! Subscribers announced on an outbox channel are all woken (each needs every event); of the workers
//! announced on a lane, one is, on a channel of its own (`ff_wake_<backend pid>`, payload the lane):
//! the one asleep longest, so a burst of work spreads over the sleeping workers and a single
//! execution does not wake them all.
//!
//! The first notification consumes the announcement (the row is deleted), so a waiter that died
//! without withdrawing costs one NOTIFY, not one per write. Notifications are queued with PostgreSQL's
//! own `Async_Notify` (what `pg_notify()` calls); a transaction's identical notifications fold into one.

use crate::error::WfResult;
use crate::postgres::settings::{self, Wake};
use crate::statement;
use pgrx::prelude::*;
use pgrx::spi::SpiClient;
use std::ffi::{c_char, CStr, CString};

extern "C-unwind" {
    // src/include/commands/async.h; not in pgrx's bindings. Raises ERROR only for an empty or too
    // long channel or payload (ours are constants or lane ids of at most 64 bytes) or in a parallel
    // worker (our functions are PARALLEL UNSAFE).
    fn Async_Notify(channel: *const c_char, payload: *const c_char);
    // src/include/common/hashfn.h: what hashtext() computes for a deterministic collation.
    fn hash_bytes(k: *const u8, keylen: i32) -> u32;
}

statement! {
    mod take_waiters = "wakeups/take_waiters.sql";
    args { channels: Vec<String>, lane_ids: Vec<String> }
    row { channel: String, lane_id: String, backend_pid: i32 }
}
statement! {
    mod announce = "wakeups/announce.sql";
    args { channels: Vec<String>, lane_ids: Vec<String>, now_ms: i64 }
    row {}
}

/// The outbox channels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Channel {
    Signal,
    Lease,
    Completion,
    Operator,
    Frame,
}

impl Channel {
    pub const ALL: [Channel; 5] = [Channel::Signal, Channel::Lease, Channel::Completion, Channel::Operator, Channel::Frame];

    pub fn name(self) -> &'static CStr {
        match self {
            Channel::Signal => c"ff_signal_event",
            Channel::Lease => c"ff_lease_event",
            Channel::Completion => c"ff_completion",
            Channel::Operator => c"ff_operator_event",
            Channel::Frame => c"ff_frame",
        }
    }

    pub fn parse(name: &str) -> Option<Channel> {
        Channel::ALL.into_iter().find(|c| c.name().to_bytes() == name.as_bytes())
    }
}

/// The announcement channel of a lane's sleeping workers (`ff_waiter.channel`), and the channel
/// `ff_engine.notify = always` notifies for every lane made ready (payload: the lane id).
pub const LANE_READY: &CStr = c"ff_lane_ready";

/// The channel an announced worker is woken on: its own (`ff_wake_<backend pid>`, payload the lane
/// id), so that one piece of work wakes one worker, not every worker of the lane (futex wake-one).
fn wake_channel(backend_pid: i32) -> CString {
    CString::new(format!("ff_wake_{backend_pid}")).unwrap_or_default()
}

/// The first key of every wake-up advisory lock (the two-int4 form, so it cannot meet a caller's
/// one-bigint advisory locks); the second is `hashtext(channel || ':' || lane_id)`.
pub const WAKE_LOCK_CLASS: i32 = 0x6666_6177;

/// Wake the waiters on the outbox `channels` this call wrote events to. Call after the writes.
pub fn notify(client: &SpiClient<'_>, channels: &[Channel]) -> WfResult<()> {
    wake(client, channels, &[])
}

/// Wake the waiters on `channels` and on the lanes where this call made work claimable.
pub fn wake(client: &SpiClient<'_>, channels: &[Channel], lanes: &[&str]) -> WfResult<()> {
    match settings::wake() {
        Wake::Nobody => Ok(()),
        Wake::Everyone => {
            channels.iter().for_each(|c| queue_notify(c.name(), c""));
            lanes.iter().for_each(|l| queue_notify(LANE_READY, &lane_payload(l)));
            Ok(())
        }
        Wake::Announced => {
            let Some(waiters) = waiter_table() else {
                // A database still on 0.1.0's schema (the package was upgraded, ALTER EXTENSION UPDATE
                // not run yet): 0.1.0's behaviour, every channel notified.
                channels.iter().for_each(|c| queue_notify(c.name(), c""));
                return Ok(());
            };
            if channels.is_empty() && lanes.is_empty() {
                return Ok(());
            }
            for (channel, lane) in lock_order(channels, lanes) {
                lock_key(&channel, &lane, false);
            }
            // Nobody has announced since ff_waiter was last vacuumed empty: no statement to run.
            if relation_blocks(waiters) == 0 {
                return Ok(());
            }
            let args = take_waiters::Args {
                channels: channels.iter().map(|c| c.name().to_string_lossy().into_owned()).collect(),
                lane_ids: lanes.iter().map(|l| l.to_string()).collect(),
            };
            for w in take_waiters::all(client, args)? {
                match Channel::parse(&w.channel) {
                    Some(c) => queue_notify(c.name(), c""),
                    None => queue_notify(&wake_channel(w.backend_pid), &lane_payload(&w.lane_id)),
                }
            }
            Ok(())
        }
    }
}

/// Announce the calling session as a waiter on `channels` ('' lane) and on `lanes`: take each key's
/// lock in exclusive mode (it waits for the writers in flight, and is released at commit), then
/// insert or refresh the announcements.
pub fn announce(client: &SpiClient<'_>, channels: &[Channel], lanes: &[&str], now_ms: i64) -> WfResult<()> {
    let keys = lock_order(channels, lanes);
    for (channel, lane) in &keys {
        lock_key(channel, lane, true);
    }
    let (channels, lane_ids) = keys.into_iter().unzip();
    announce::execute(client, announce::Args { channels, lane_ids, now_ms })?;
    Ok(())
}

/// `ff_waiter`'s oid, if the extension's schema has it (0.2.0 on); one catalog cache look-up in the
/// pinned search path.
fn waiter_table() -> Option<pg_sys::Oid> {
    // SAFETY: a NUL-terminated name; the look-up raises no error for a missing relation.
    let oid = unsafe { pg_sys::RelnameGetRelid(c"ff_waiter".as_ptr()) };
    (oid != pg_sys::InvalidOid).then_some(oid)
}

/// The number of blocks of a relation (what `pg_relation_size` / 8192 reports): 0 only while no
/// row has been written since the table was created or vacuumed empty. An announcement that committed
/// before the writer's lock extended the table first, so 0 proves there is nobody to wake. Holding
/// the writer's share lock, it is read after any announcement in flight has committed.
fn relation_blocks(oid: pg_sys::Oid) -> u32 {
    // SAFETY: the relation exists (just looked up); AccessShareLock is a fast-path lock, released with
    // the relation at the end of the transaction's resource owner.
    unsafe {
        let rel = pg_sys::relation_open(oid, pg_sys::AccessShareLock as pg_sys::LOCKMODE);
        let blocks = pg_sys::RelationGetNumberOfBlocksInFork(rel, pg_sys::ForkNumber::MAIN_FORKNUM);
        pg_sys::relation_close(rel, pg_sys::AccessShareLock as pg_sys::LOCKMODE);
        blocks
    }
}

/// The (channel, lane) keys of `channels` ('' lane) and `lanes`, sorted by bytes and de-duplicated:
/// writers (share) and waiters (exclusive) take their locks in this one order, so a subscriber
/// announcing on two channels cannot deadlock with a writer that wrote both.
fn lock_order(channels: &[Channel], lanes: &[&str]) -> Vec<(String, String)> {
    let mut keys: Vec<(String, String)> = channels.iter().map(|c| (c.name().to_string_lossy().into_owned(), String::new())).collect();
    keys.extend(lanes.iter().map(|l| (LANE_READY.to_string_lossy().into_owned(), l.to_string())));
    keys.sort();
    keys.dedup();
    keys
}

fn lane_payload(lane: &str) -> CString {
    // Lane ids are validated printable ASCII (no NUL) before anything is written.
    CString::new(lane).unwrap_or_default()
}

fn queue_notify(channel: &CStr, payload: &CStr) {
    let (channel, payload) = (channel.as_ptr(), payload.as_ptr());
    // SAFETY: two pointers to C strings that outlive the call; nothing with a destructor is live
    // inside the guarded call, which turns a Postgres ERROR into a Rust panic (caught by `guarded`).
    unsafe { pg_sys::ffi::pg_guard_ffi_boundary(|| Async_Notify(channel, payload)) };
}

/// `pg_advisory_xact_lock[_shared](WAKE_LOCK_CLASS, hashtext(channel || ':' || lane_id))`: the same
/// lock the SQL functions would take, held to the end of the transaction.
fn lock_key(channel: &str, lane_id: &str, exclusive: bool) {
    let key = format!("{channel}:{lane_id}");
    // SAFETY: hash_bytes reads `len` bytes of a live buffer (what hashtext does for a deterministic
    // collation); the lock functions are builtins called with the two int4 arguments they declare.
    unsafe {
        let hash = hash_bytes(key.as_ptr(), key.len() as i32) as i32;
        let lock = if exclusive { pg_sys::pg_advisory_xact_lock_int4 } else { pg_sys::pg_advisory_xact_lock_shared_int4 };
        pgrx::direct_function_call_as_datum(lock, &[WAKE_LOCK_CLASS.into_datum(), hash.into_datum()]);
    }
}
