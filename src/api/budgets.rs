//! `ff_create_budget`, `ff_report_usage`, `ff_budget_status`, `ff_create_quota_policy`.

use crate::postgres::jsonb::{parse_optional, JsonbArg};
use crate::postgres::raise::guarded;
use crate::store::budgets;
use pgrx::prelude::*;

/// Create a budget with hard and soft limits per dimension (created = false if it already exists).
#[pg_extern(security_definer, parallel_unsafe)]
#[search_path(@extschema@, pg_temp)]
fn ff_create_budget(
    budget_id: Option<&str>,
    hard_limits: Option<JsonbArg>,
    soft_limits: default!(Option<JsonbArg>, "'{}'"),
    reset_interval_ms: default!(Option<i64>, "NULL"),
) -> TableIterator<'static, (name!(budget_id, String), name!(created, bool))> {
    TableIterator::once(guarded(|| {
        let hard = parse_optional(hard_limits, "hard_limits")?;
        let soft = parse_optional(soft_limits, "soft_limits")?;
        budgets::create_budget(budget_id, hard, soft, reset_interval_ms)
    }))
}

/// Report usage against the execution's budgets (fenced; idempotent per dedup_key); `throttled` with
/// `retry_after_ms` when a budget that resets (a rate window) is full.
#[pg_extern(name = "ff_report_usage", security_definer, parallel_unsafe)]
#[search_path(@extschema@, pg_temp)]
fn ff_report_usage_0_2(
    execution_id: Option<&str>,
    lease_id: Option<pgrx::Uuid>,
    lease_epoch: Option<i64>,
    usage: Option<JsonbArg>,
    dedup_key: default!(Option<&str>, "NULL"),
) -> TableIterator<'static, (name!(decision, String), name!(dimension, Option<String>), name!(retry_after_ms, Option<i64>))> {
    TableIterator::once(guarded(|| budgets::report_usage(execution_id, lease_id, lease_epoch, parse_optional(usage, "usage")?, dedup_key)))
}

/// Usage and limits of a budget, one row per dimension.
#[pg_extern(security_definer, parallel_unsafe)]
#[search_path(@extschema@, pg_temp)]
fn ff_budget_status(
    budget_id: Option<&str>,
) -> TableIterator<'static, (name!(dimension, String), name!(used, i64), name!(soft_limit, Option<i64>), name!(hard_limit, Option<i64>))> {
    TableIterator::new(guarded(|| budgets::budget_status(budget_id)))
}

/// Create a quota policy: requests per sliding window and/or an active-concurrency cap.
#[pg_extern(security_definer, parallel_unsafe)]
#[search_path(@extschema@, pg_temp)]
fn ff_create_quota_policy(
    max_requests_per_window: default!(Option<i32>, "NULL"),
    window_ms: default!(Option<i64>, 60000),
    active_concurrency_cap: default!(Option<i32>, "NULL"),
    quota_policy_id: default!(Option<pgrx::Uuid>, "NULL"),
) -> TableIterator<'static, (name!(quota_policy_id, pgrx::Uuid),)> {
    TableIterator::once((guarded(|| budgets::create_quota(max_requests_per_window, window_ms, active_concurrency_cap, quota_policy_id)),))
}
