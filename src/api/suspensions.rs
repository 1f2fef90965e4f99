//! `ff_create_waitpoint`, `ff_suspend`, `ff_list_pending_waitpoints`, `ff_list_suspended`,
//! `ff_read_waitpoint_token`.

use crate::postgres::jsonb::{parse_optional, JsonbArg};
use crate::postgres::raise::guarded;
use crate::store::suspensions::{self, SuspendArgs};
use pgrx::prelude::*;

/// Create a pending waitpoint (signals to it are buffered until a suspend binds it).
#[pg_extern(security_definer, parallel_unsafe)]
#[search_path(@extschema@, pg_temp)]
fn ff_create_waitpoint(
    execution_id: Option<&str>,
    lease_id: Option<pgrx::Uuid>,
    lease_epoch: Option<i64>,
    waitpoint_key: Option<&str>,
    expires_in_ms: default!(Option<i64>, 3600000),
) -> TableIterator<'static, (name!(waitpoint_id, pgrx::Uuid), name!(waitpoint_key, String), name!(token, String))> {
    TableIterator::once(guarded(|| suspensions::create_waitpoint(execution_id, lease_id, lease_epoch, waitpoint_key, expires_in_ms)))
}

/// Suspend the leased execution on a resume condition; one row per bound waitpoint, primary first.
#[pg_extern(security_definer, parallel_unsafe)]
#[search_path(@extschema@, pg_temp)]
#[allow(clippy::too_many_arguments)]
fn ff_suspend(
    execution_id: Option<&str>,
    lease_id: Option<pgrx::Uuid>,
    lease_epoch: Option<i64>,
    resume_condition: Option<JsonbArg>,
    waitpoints: default!(Option<JsonbArg>, "NULL"),
    timeout_at_ms: default!(Option<i64>, "NULL"),
    timeout_behavior: default!(Option<&str>, "'fail'"),
    reason_code: default!(Option<&str>, "'waiting_for_signal'"),
    requested_by: default!(Option<&str>, "'worker'"),
    suspension_id: default!(Option<pgrx::Uuid>, "NULL"),
    idempotency_key: default!(Option<&str>, "NULL"),
    continuation: default!(Option<&str>, "NULL"),
) -> TableIterator<
    'static,
    (
        name!(outcome, String),
        name!(suspension_id, pgrx::Uuid),
        name!(waitpoint_id, Option<pgrx::Uuid>),
        name!(waitpoint_key, Option<String>),
        name!(token, Option<String>),
    ),
> {
    TableIterator::new(guarded(|| {
        let args = SuspendArgs {
            execution_id,
            lease_id,
            lease_epoch,
            resume_condition: parse_optional(resume_condition, "resume_condition")?,
            waitpoints: parse_optional(waitpoints, "waitpoints")?,
            timeout_at_ms,
            timeout_behavior,
            reason_code,
            requested_by,
            suspension_id,
            idempotency_key,
            continuation,
        };
        suspensions::suspend(args)
    }))
}

/// The execution's open waitpoints (and closed ones on request), keyset-paginated; never the token.
#[pg_extern(security_definer, parallel_unsafe)]
#[search_path(@extschema@, pg_temp)]
fn ff_list_pending_waitpoints(
    execution_id: Option<&str>,
    after_waitpoint_id: default!(Option<pgrx::Uuid>, "NULL"),
    max_rows: default!(Option<i32>, 100),
    include_closed: default!(Option<bool>, false),
) -> TableIterator<
    'static,
    (
        name!(waitpoint_id, pgrx::Uuid),
        name!(waitpoint_key, String),
        name!(state, String),
        name!(created_at_ms, i64),
        name!(activated_at_ms, Option<i64>),
        name!(expires_at_ms, Option<i64>),
        name!(required_signal_names, Vec<String>),
        name!(token_kid, String),
        name!(token_fingerprint, String),
    ),
> {
    TableIterator::new(guarded(|| suspensions::list_pending(execution_id, after_waitpoint_id, max_rows, include_closed)))
}

/// Open suspensions, keyset-paginated by execution id.
#[pg_extern(security_definer, parallel_unsafe)]
#[search_path(@extschema@, pg_temp)]
fn ff_list_suspended(
    after_execution_id: default!(Option<&str>, "NULL"),
    max_rows: default!(Option<i32>, 100),
) -> TableIterator<
    'static,
    (
        name!(execution_id, String),
        name!(lane_id, String),
        name!(suspension_id, pgrx::Uuid),
        name!(suspended_at_ms, i64),
        name!(timeout_at_ms, Option<i64>),
        name!(reason_code, String),
        name!(timeout_behavior, String),
    ),
> {
    TableIterator::new(guarded(|| suspensions::list_suspended(after_execution_id, max_rows)))
}

/// The token of a waitpoint (operators only), or no row.
#[pg_extern(security_definer, parallel_unsafe)]
#[search_path(@extschema@, pg_temp)]
fn ff_read_waitpoint_token(
    execution_id: Option<&str>,
    waitpoint_id: Option<pgrx::Uuid>,
) -> TableIterator<'static, (name!(token, String),)> {
    TableIterator::new(guarded(|| Ok(suspensions::read_token(execution_id, waitpoint_id)?.map(|t| (t,)).into_iter().collect::<Vec<_>>())))
}
