//! `ff_await_lane`, `ff_await_events`: announce a waiter before it sleeps (docs/wakeups.md).

use crate::postgres::raise::guarded;
use crate::store::wakeups;
use pgrx::prelude::*;

/// Announce this session as a worker about to sleep on an empty lane: the next transaction that makes
/// work claimable there wakes one announced worker of the lane (the one asleep longest) with
/// `NOTIFY ff_wake_<its backend pid>, '<lane_id>'` at commit. Call it in its own transaction after
/// `LISTEN ff_wake_<pg_backend_pid()>`, then claim once more before sleeping.
#[pg_extern(security_definer, parallel_unsafe)]
#[search_path(@extschema@, pg_temp)]
fn ff_await_lane(lane_id: Option<&str>) {
    guarded(|| wakeups::await_lane(lane_id))
}

/// Announce this session as a subscriber that has read everything on these outbox channels: the next
/// transaction that writes an event there notifies the channel at commit. Call it in its own
/// transaction after `LISTEN`, then read once more before sleeping.
#[pg_extern(security_definer, parallel_unsafe)]
#[search_path(@extschema@, pg_temp)]
fn ff_await_events(channels: Option<Vec<Option<String>>>) {
    guarded(|| wakeups::await_events(channels))
}
