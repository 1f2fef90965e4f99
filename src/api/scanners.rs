//! `ff_tick`, one function per scanner task, and `ff_prune_events`.

use crate::postgres::raise::guarded;
use crate::store::scanners::{self, ScanFilter, Task};
use pgrx::prelude::*;

/// Run every scanner task once over the executions of `namespace` and/or with tag
/// `tag_key = tag_value` (all executions when none is given; with a filter, the tasks that touch
/// executions only); one row per task with the number of rows it processed. Since 0.2.0 its C
/// symbol is `ff_tick_0_2_wrapper`; see [`crate::api::compat`].
#[pg_extern(name = "ff_tick", security_definer, parallel_unsafe)]
#[search_path(@extschema@, pg_temp)]
fn ff_tick_0_2(
    max_rows: default!(Option<i32>, 1000),
    namespace: default!(Option<&str>, "NULL"),
    tag_key: default!(Option<&str>, "NULL"),
    tag_value: default!(Option<&str>, "NULL"),
) -> TableIterator<'static, (name!(task, String), name!(processed, i32))> {
    TableIterator::new(guarded(|| scanners::tick(&Task::ALL, max_rows, ScanFilter::new(namespace, tag_key, tag_value)?)))
}

/// `ff_tick` for the node it runs on: on a Citus node (from that node's scheduler), every task that
/// touches executions once per shard placed there; on one node, `ff_tick`.
#[pg_extern(security_definer, parallel_unsafe)]
#[search_path(@extschema@, pg_temp)]
fn ff_tick_node(max_rows: default!(Option<i32>, 1000)) -> TableIterator<'static, (name!(task, String), name!(processed, i32))> {
    TableIterator::new(guarded(|| scanners::tick_node(max_rows)))
}

/// Promote delayed executions whose time has come to eligible_now.
#[pg_extern(name = "ff_promote_delayed", security_definer, parallel_unsafe)]
#[search_path(@extschema@, pg_temp)]
fn ff_promote_delayed_0_2(
    max_rows: default!(Option<i32>, 1000),
    namespace: default!(Option<&str>, "NULL"),
    tag_key: default!(Option<&str>, "NULL"),
    tag_value: default!(Option<&str>, "NULL"),
) -> i32 {
    guarded(|| scanners::run_task(Task::PromoteDelayed, max_rows, ScanFilter::new(namespace, tag_key, tag_value)?))
}

/// Delete expired, unconsumed claim grants.
#[pg_extern(name = "ff_expire_grants", security_definer, parallel_unsafe)]
#[search_path(@extschema@, pg_temp)]
fn ff_expire_grants_0_2(
    max_rows: default!(Option<i32>, 1000),
    namespace: default!(Option<&str>, "NULL"),
    tag_key: default!(Option<&str>, "NULL"),
    tag_value: default!(Option<&str>, "NULL"),
) -> i32 {
    guarded(|| scanners::run_task(Task::ExpireGrants, max_rows, ScanFilter::new(namespace, tag_key, tag_value)?))
}

/// Reclaim executions whose lease expired (epoch + 1); fail them after ff_engine.max_reclaims expiries.
#[pg_extern(name = "ff_expire_leases", security_definer, parallel_unsafe)]
#[search_path(@extschema@, pg_temp)]
fn ff_expire_leases_0_2(
    max_rows: default!(Option<i32>, 1000),
    namespace: default!(Option<&str>, "NULL"),
    tag_key: default!(Option<&str>, "NULL"),
    tag_value: default!(Option<&str>, "NULL"),
) -> i32 {
    guarded(|| scanners::run_task(Task::ExpireLeases, max_rows, ScanFilter::new(namespace, tag_key, tag_value)?))
}

/// Expire executions past their deadline (lease ended, suspension and waitpoints closed).
#[pg_extern(security_definer, parallel_unsafe)]
#[search_path(@extschema@, pg_temp)]
fn ff_expire_deadlines(
    max_rows: default!(Option<i32>, 1000),
    namespace: default!(Option<&str>, "NULL"),
    tag_key: default!(Option<&str>, "NULL"),
    tag_value: default!(Option<&str>, "NULL"),
) -> i32 {
    guarded(|| scanners::run_task(Task::ExpireDeadlines, max_rows, ScanFilter::new(namespace, tag_key, tag_value)?))
}

/// Delete finished executions (in `public_states`, finished before `older_than_ms`) with everything
/// that belongs to them, at most `max_rows`; how many.
#[pg_extern(security_definer, parallel_unsafe)]
#[search_path(@extschema@, pg_temp)]
fn ff_prune_executions(
    older_than_ms: Option<i64>,
    public_states: default!(Option<Vec<Option<String>>>, "'{completed,failed,cancelled,expired}'"),
    max_rows: default!(Option<i32>, 1000),
) -> i64 {
    guarded(|| scanners::prune_executions(older_than_ms, crate::checks::text_array(public_states, "public_states")?, max_rows))
}

/// Prune finished executions past their outcome's retention setting (`ff_engine.retention_<outcome>_s`).
#[pg_extern(security_definer, parallel_unsafe)]
#[search_path(@extschema@, pg_temp)]
fn ff_prune_by_retention(
    max_rows: default!(Option<i32>, 1000),
    namespace: default!(Option<&str>, "NULL"),
    tag_key: default!(Option<&str>, "NULL"),
    tag_value: default!(Option<&str>, "NULL"),
) -> i32 {
    guarded(|| scanners::run_task(Task::PruneExecutions, max_rows, ScanFilter::new(namespace, tag_key, tag_value)?))
}

/// Apply the timeout behaviour of suspensions whose timeout has passed.
#[pg_extern(name = "ff_expire_suspensions", security_definer, parallel_unsafe)]
#[search_path(@extschema@, pg_temp)]
fn ff_expire_suspensions_0_2(
    max_rows: default!(Option<i32>, 1000),
    namespace: default!(Option<&str>, "NULL"),
    tag_key: default!(Option<&str>, "NULL"),
    tag_value: default!(Option<&str>, "NULL"),
) -> i32 {
    guarded(|| scanners::run_task(Task::ExpireSuspensions, max_rows, ScanFilter::new(namespace, tag_key, tag_value)?))
}

/// Close pending waitpoints past their expiry (reason never_committed).
#[pg_extern(name = "ff_expire_pending_waitpoints", security_definer, parallel_unsafe)]
#[search_path(@extschema@, pg_temp)]
fn ff_expire_pending_waitpoints_0_2(
    max_rows: default!(Option<i32>, 1000),
    namespace: default!(Option<&str>, "NULL"),
    tag_key: default!(Option<&str>, "NULL"),
    tag_value: default!(Option<&str>, "NULL"),
) -> i32 {
    guarded(|| scanners::run_task(Task::ExpirePendingWaitpoints, max_rows, ScanFilter::new(namespace, tag_key, tag_value)?))
}

/// Delete signal and suspend dedup rows past their TTL.
#[pg_extern(name = "ff_gc_dedup", security_definer, parallel_unsafe)]
#[search_path(@extschema@, pg_temp)]
fn ff_gc_dedup_0_2(
    max_rows: default!(Option<i32>, 1000),
    namespace: default!(Option<&str>, "NULL"),
    tag_key: default!(Option<&str>, "NULL"),
    tag_value: default!(Option<&str>, "NULL"),
) -> i32 {
    guarded(|| scanners::run_task(Task::GcDedup, max_rows, ScanFilter::new(namespace, tag_key, tag_value)?))
}

/// Delete retired HMAC keys past their grace window.
#[pg_extern(security_definer, parallel_unsafe)]
#[search_path(@extschema@, pg_temp)]
fn ff_gc_keys(max_rows: default!(Option<i32>, 1000)) -> i32 {
    guarded(|| scanners::run_task(Task::GcKeys, max_rows, ScanFilter::default()))
}

/// Lower every claim start to the true head of its (lane, priority).
#[pg_extern(security_definer, parallel_unsafe)]
#[search_path(@extschema@, pg_temp)]
fn ff_verify_claim_starts(max_rows: default!(Option<i32>, 1000)) -> i32 {
    guarded(|| scanners::run_task(Task::VerifyClaimStarts, max_rows, ScanFilter::default()))
}

/// Bulk retention of the event tables: delete events older than older_than_ms. Since 0.2.0 (the
/// operator events) its C symbol is `ff_prune_events_0_2_wrapper`; see [`crate::api::compat`].
#[pg_extern(name = "ff_prune_events", security_definer, parallel_unsafe)]
#[search_path(@extschema@, pg_temp)]
fn ff_prune_events_0_2(older_than_ms: Option<i64>) -> TableIterator<'static, (name!(table_name, String), name!(deleted, i64))> {
    TableIterator::new(guarded(|| scanners::prune_events(&scanners::EVENT_TABLES, older_than_ms)))
}
