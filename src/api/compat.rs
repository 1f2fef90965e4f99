//! The C symbols of earlier releases whose SQL signature changed since, kept so that a database still
//! on the earlier version keeps working against this library until `ALTER EXTENSION ff_engine UPDATE`
//! (a package upgrade replaces `ff_engine.so` under every database at once). None of these is in this
//! version's SQL (`sql = false`); each forwards to the current function.
//!
//! A kept symbol runs what its release ran, against its release's schema: this library's statements
//! may name tables the older schema does not have, so each shim runs only the statements (or the
//! tasks) that release had.
//!
//! | symbol | release | now |
//! |---|---|---|
//! | `ff_create_execution_wrapper` | 0.1.0 (14 arguments) | `ff_create_execution_0_2_wrapper` (adds `deadline_at_ms`) |
//! | `ff_tick_wrapper` | 0.1.0 (7 tasks) | `ff_tick_0_2_wrapper` (adds `expire_deadlines`, `prune_executions`, the filter) |
//! | `ff_promote_delayed_wrapper`, `ff_expire_grants_wrapper`, `ff_expire_leases_wrapper`, `ff_expire_suspensions_wrapper`, `ff_expire_pending_waitpoints_wrapper`, `ff_gc_dedup_wrapper` | 0.1.0 (`max_rows`) | `…_0_2_wrapper` (add `namespace`, `tag_key`, `tag_value`) |
//! | `ff_prune_events_wrapper` | 0.1.0 (3 tables) | `ff_prune_events_0_2_wrapper` (adds `ff_operator_event`) |
//! | `ff_claim_wrapper`, `ff_claim_execution_wrapper`, `ff_claim_resumed_execution_wrapper` | 0.1.0 (8 columns) | `…_0_2_wrapper` (add `continuation`, `step_count`) |
//! | `ff_fail_wrapper` | 0.1.0 (5 arguments) | `ff_fail_0_2_wrapper` (adds `failure_class`, `detail`) |
//! | `ff_report_usage_wrapper` | 0.1.0 (2 columns) | `ff_report_usage_0_2_wrapper` (adds `retry_after_ms`, decision `throttled`) |
//!
//! A statement whose text changed while its function's signature did not declares the text 0.1.0's
//! schema runs instead (`statement!`'s `on 0.1.0 schema`, chosen by [`release`](crate::postgres::release)).

use crate::api::executions;
use crate::postgres::jsonb::JsonbArg;
use crate::postgres::raise::guarded;
use crate::store::claims::{self, LeaseRow, Progress};
use crate::store::leases;
use crate::store::scanners::{self, ScanFilter, Task};
use pgrx::prelude::*;

/// 0.1.0's `ff_create_execution`: no deadline (so nothing is written to `ff_deadline`, which 0.1.0's
/// schema does not have).
#[pg_extern(sql = false)]
#[allow(clippy::too_many_arguments)]
fn ff_create_execution(
    lane_id: Option<&str>,
    payload: Option<&[u8]>,
    priority: Option<i32>,
    required_capabilities: Option<Vec<Option<String>>>,
    namespace: Option<&str>,
    tags: Option<JsonbArg>,
    budget_ids: Option<Vec<Option<String>>>,
    quota_policy_id: Option<pgrx::Uuid>,
    delay_until_ms: Option<i64>,
    max_attempts: Option<i32>,
    retry_backoff_ms: Option<i64>,
    idempotency_key: Option<&str>,
    execution_id: Option<&str>,
    flow_id: Option<pgrx::Uuid>,
) -> TableIterator<'static, (name!(execution_id, String), name!(created, bool))> {
    TableIterator::once(executions::create(
        lane_id,
        payload,
        priority,
        required_capabilities,
        namespace,
        tags,
        budget_ids,
        quota_policy_id,
        delay_until_ms,
        max_attempts,
        retry_backoff_ms,
        idempotency_key,
        execution_id,
        flow_id,
        None,
        None,
    ))
}

/// 0.1.0's `ff_fail`: no failure class or detail (its schema has neither; the statement 0.1.0's
/// schema runs records none).
#[pg_extern(sql = false)]
fn ff_fail(
    execution_id: Option<&str>,
    lease_id: Option<pgrx::Uuid>,
    lease_epoch: Option<i64>,
    message: Option<&str>,
    retryable: Option<bool>,
) -> TableIterator<'static, (name!(outcome, String), name!(retry_at_ms, Option<i64>))> {
    let failure = leases::Failure { message, retryable, failure_class: None, detail: None };
    TableIterator::once(guarded(|| leases::fail(execution_id, lease_id, lease_epoch, failure)))
}

/// 0.1.0's `ff_report_usage`: two columns, and `throttled` (which it did not know) reported as the
/// `hard_breach` it answered then.
#[pg_extern(sql = false)]
fn ff_report_usage(
    execution_id: Option<&str>,
    lease_id: Option<pgrx::Uuid>,
    lease_epoch: Option<i64>,
    usage: Option<JsonbArg>,
    dedup_key: Option<&str>,
) -> TableIterator<'static, (name!(decision, String), name!(dimension, Option<String>))> {
    let (decision, dimension, _) = guarded(|| {
        crate::store::budgets::report_usage(
            execution_id,
            lease_id,
            lease_epoch,
            crate::postgres::jsonb::parse_optional(usage, "usage")?,
            dedup_key,
        )
    });
    TableIterator::once((if decision == "throttled" { "hard_breach".to_string() } else { decision }, dimension))
}

/// 0.1.0's `ff_tick`: its seven tasks (no deadlines in its schema, and it never pruned executions:
/// a database not yet updated must not start deleting finished executions).
#[pg_extern(sql = false)]
fn ff_tick(max_rows: Option<i32>) -> TableIterator<'static, (name!(task, String), name!(processed, i32))> {
    TableIterator::new(guarded(|| scanners::tick(&Task::RELEASE_0_1, max_rows, ScanFilter::default())))
}

/// 0.1.0's `ff_promote_delayed`: no filter.
#[pg_extern(sql = false)]
fn ff_promote_delayed(max_rows: Option<i32>) -> i32 {
    guarded(|| scanners::run_task(Task::PromoteDelayed, max_rows, ScanFilter::default()))
}

/// 0.1.0's `ff_expire_grants`: no filter.
#[pg_extern(sql = false)]
fn ff_expire_grants(max_rows: Option<i32>) -> i32 {
    guarded(|| scanners::run_task(Task::ExpireGrants, max_rows, ScanFilter::default()))
}

/// 0.1.0's `ff_expire_leases`: no filter.
#[pg_extern(sql = false)]
fn ff_expire_leases(max_rows: Option<i32>) -> i32 {
    guarded(|| scanners::run_task(Task::ExpireLeases, max_rows, ScanFilter::default()))
}

/// 0.1.0's `ff_expire_suspensions`: no filter.
#[pg_extern(sql = false)]
fn ff_expire_suspensions(max_rows: Option<i32>) -> i32 {
    guarded(|| scanners::run_task(Task::ExpireSuspensions, max_rows, ScanFilter::default()))
}

/// 0.1.0's `ff_expire_pending_waitpoints`: no filter.
#[pg_extern(sql = false)]
fn ff_expire_pending_waitpoints(max_rows: Option<i32>) -> i32 {
    guarded(|| scanners::run_task(Task::ExpirePendingWaitpoints, max_rows, ScanFilter::default()))
}

/// 0.1.0's `ff_gc_dedup`: no filter.
#[pg_extern(sql = false)]
fn ff_gc_dedup(max_rows: Option<i32>) -> i32 {
    guarded(|| scanners::run_task(Task::GcDedup, max_rows, ScanFilter::default()))
}

/// 0.1.0's `ff_prune_events`: its three event tables.
#[pg_extern(sql = false)]
fn ff_prune_events(older_than_ms: Option<i64>) -> TableIterator<'static, (name!(table_name, String), name!(deleted, i64))> {
    TableIterator::new(guarded(|| scanners::prune_events(&scanners::EVENT_TABLES[..3], older_than_ms)))
}

/// 0.1.0's claim row: the first eight columns of [`LeaseRow`].
type LeaseRow01 = (String, i32, pgrx::Uuid, pgrx::Uuid, i64, i64, bool, Option<Vec<u8>>);

fn lease_row_0_1(r: LeaseRow) -> LeaseRow01 {
    (r.0, r.1, r.2, r.3, r.4, r.5, r.6, r.7)
}

/// 0.1.0's `ff_claim_execution`: no continuation or step count (0.1.0's schema has no steps).
#[pg_extern(sql = false)]
fn ff_claim_execution(
    grant_key: Option<&str>,
    worker_id: Option<&str>,
    worker_instance_id: Option<&str>,
    lease_ttl_ms: Option<i64>,
) -> TableIterator<
    'static,
    (
        name!(execution_id, String),
        name!(attempt_index, i32),
        name!(attempt_id, pgrx::Uuid),
        name!(lease_id, pgrx::Uuid),
        name!(lease_epoch, i64),
        name!(lease_expires_at_ms, i64),
        name!(resumed, bool),
        name!(payload, Option<Vec<u8>>),
    ),
> {
    let row = guarded(|| claims::claim_execution(grant_key, worker_id, worker_instance_id, lease_ttl_ms, false, Progress::Skip));
    TableIterator::once(lease_row_0_1(row))
}

/// 0.1.0's `ff_claim_resumed_execution`.
#[pg_extern(sql = false)]
fn ff_claim_resumed_execution(
    grant_key: Option<&str>,
    worker_id: Option<&str>,
    worker_instance_id: Option<&str>,
    lease_ttl_ms: Option<i64>,
) -> TableIterator<
    'static,
    (
        name!(execution_id, String),
        name!(attempt_index, i32),
        name!(attempt_id, pgrx::Uuid),
        name!(lease_id, pgrx::Uuid),
        name!(lease_epoch, i64),
        name!(lease_expires_at_ms, i64),
        name!(resumed, bool),
        name!(payload, Option<Vec<u8>>),
    ),
> {
    let row = guarded(|| claims::claim_execution(grant_key, worker_id, worker_instance_id, lease_ttl_ms, true, Progress::Skip));
    TableIterator::once(lease_row_0_1(row))
}

/// 0.1.0's `ff_claim`.
#[pg_extern(sql = false)]
fn ff_claim(
    lane_id: Option<&str>,
    worker_id: Option<&str>,
    worker_instance_id: Option<&str>,
    capabilities: Option<Vec<Option<String>>>,
    lease_ttl_ms: Option<i64>,
    max_items: Option<i32>,
) -> TableIterator<
    'static,
    (
        name!(execution_id, String),
        name!(attempt_index, i32),
        name!(attempt_id, pgrx::Uuid),
        name!(lease_id, pgrx::Uuid),
        name!(lease_epoch, i64),
        name!(lease_expires_at_ms, i64),
        name!(resumed, bool),
        name!(payload, Option<Vec<u8>>),
    ),
> {
    let rows = guarded(|| {
        let capabilities = crate::checks::text_array(capabilities, "capabilities")?;
        let target = claims::Target { lane: lane_id, partition: None };
        claims::claim_batch(target, worker_id, worker_instance_id, capabilities, lease_ttl_ms, max_items, Progress::Skip)
    });
    TableIterator::new(rows.into_iter().map(lease_row_0_1))
}
