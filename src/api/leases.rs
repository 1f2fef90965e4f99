//! `ff_renew_lease`, `ff_complete`, `ff_complete_many`, `ff_fail`, `ff_cancel`.

use crate::postgres::jsonb::{parse_optional, JsonbArg};
use crate::postgres::raise::guarded;
use crate::store::leases;
use pgrx::prelude::*;

/// Extend the current lease by lease_ttl_ms from now (fenced).
#[pg_extern(security_definer, parallel_unsafe)]
#[search_path(@extschema@, pg_temp)]
fn ff_renew_lease(
    execution_id: Option<&str>,
    lease_id: Option<pgrx::Uuid>,
    lease_epoch: Option<i64>,
    lease_ttl_ms: default!(Option<i64>, 30000),
) -> TableIterator<'static, (name!(lease_expires_at_ms, i64), name!(lease_epoch, i64))> {
    TableIterator::once(guarded(|| leases::renew(execution_id, lease_id, lease_epoch, lease_ttl_ms)))
}

/// Complete the leased attempt with an optional result (fenced; a second complete is lease_conflict).
#[pg_extern(security_definer, parallel_unsafe)]
#[search_path(@extschema@, pg_temp)]
fn ff_complete(
    execution_id: Option<&str>,
    lease_id: Option<pgrx::Uuid>,
    lease_epoch: Option<i64>,
    result: default!(Option<&[u8]>, "NULL"),
) -> TableIterator<'static, (name!(outcome, String),)> {
    TableIterator::once((guarded(|| leases::complete(execution_id, lease_id, lease_epoch, result)),))
}

/// Complete many leases in one call; one row per element, a bad fence fails only its own element.
#[pg_extern(security_definer, parallel_unsafe)]
#[search_path(@extschema@, pg_temp)]
fn ff_complete_many(leases: Option<JsonbArg>) -> TableIterator<'static, (name!(execution_id, String), name!(outcome, String))> {
    TableIterator::new(guarded(|| leases::complete_many(parse_optional(leases, "leases")?)))
}

/// Fail the leased attempt with a failure class (transient, permanent, timeout, infra_crash) and
/// detail: retry after exponential backoff while attempts remain and the class is not permanent,
/// else terminal.
#[pg_extern(name = "ff_fail", security_definer, parallel_unsafe)]
#[search_path(@extschema@, pg_temp)]
fn ff_fail_0_2(
    execution_id: Option<&str>,
    lease_id: Option<pgrx::Uuid>,
    lease_epoch: Option<i64>,
    message: Option<&str>,
    retryable: default!(Option<bool>, true),
    failure_class: default!(Option<&str>, "NULL"),
    detail: default!(Option<&[u8]>, "NULL"),
) -> TableIterator<'static, (name!(outcome, String), name!(retry_at_ms, Option<i64>))> {
    let failure = leases::Failure { message, retryable, failure_class, detail };
    TableIterator::once(guarded(|| leases::fail(execution_id, lease_id, lease_epoch, failure)))
}

/// Cancel an execution in any non-terminal phase; closes its suspension and every waitpoint.
#[pg_extern(security_definer, parallel_unsafe)]
#[search_path(@extschema@, pg_temp)]
pub(crate) fn ff_cancel(
    execution_id: Option<&str>,
    reason: default!(Option<&str>, "'cancelled_by_operator'"),
) -> TableIterator<'static, (name!(outcome, String),)> {
    TableIterator::once((guarded(|| leases::cancel(execution_id, reason)),))
}
