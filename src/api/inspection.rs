//! `ff_get_execution`, `ff_list_attempts`, `ff_list_executions`.

use crate::postgres::raise::guarded;
use crate::store::inspection;
use pgrx::prelude::*;

/// One execution: lane, states, attempts, lease holder, open suspension, last failure, payload,
/// result, the continuation its current attempt resumes from, its step count and the flow upstreams
/// it still waits for. Never a grant or a token.
#[pg_extern(security_definer, stable, parallel_unsafe)]
#[search_path(@extschema@, pg_temp)]
fn ff_get_execution(
    execution_id: Option<&str>,
) -> TableIterator<
    'static,
    (
        name!(execution_id, String),
        name!(lane_id, String),
        name!(namespace, Option<String>),
        name!(flow_id, Option<pgrx::Uuid>),
        name!(tags, pgrx::JsonB),
        name!(priority, i32),
        name!(lifecycle_phase, String),
        name!(ownership_state, String),
        name!(eligibility_state, String),
        name!(attempt_state, String),
        name!(public_state, String),
        name!(attempt_index, i32),
        name!(attempt_count, i32),
        name!(max_attempts, i32),
        name!(created_at_ms, i64),
        name!(started_at_ms, Option<i64>),
        name!(terminal_at_ms, Option<i64>),
        name!(updated_at_ms, i64),
        name!(lease_worker_id, Option<String>),
        name!(lease_worker_instance_id, Option<String>),
        name!(lease_expires_at_ms, Option<i64>),
        name!(lease_epoch, i64),
        name!(suspension_id, Option<pgrx::Uuid>),
        name!(suspension_reason, Option<String>),
        name!(next_retry_at_ms, Option<i64>),
        name!(deadline_at_ms, Option<i64>),
        name!(last_error, Option<String>),
        name!(payload, Option<Vec<u8>>),
        name!(result, Option<Vec<u8>>),
        name!(continuation, Option<String>),
        name!(step_count, i32),
        name!(blocked_by, Vec<String>),
    ),
> {
    TableIterator::once(guarded(|| inspection::get(execution_id)))
}

/// The attempts of an execution, oldest first.
#[pg_extern(security_definer, stable, parallel_unsafe)]
#[search_path(@extschema@, pg_temp)]
fn ff_list_attempts(
    execution_id: Option<&str>,
) -> TableIterator<
    'static,
    (
        name!(attempt_index, i32),
        name!(attempt_id, pgrx::Uuid),
        name!(worker_id, Option<String>),
        name!(worker_instance_id, Option<String>),
        name!(started_at_ms, i64),
        name!(ended_at_ms, Option<i64>),
        name!(outcome, Option<String>),
        name!(error_message, Option<String>),
        name!(failure_class, Option<String>),
        name!(failure_detail, Option<Vec<u8>>),
    ),
> {
    TableIterator::new(guarded(|| inspection::attempts(execution_id)))
}

/// A lane's executions in creation order, optionally of one public state, keyset-paginated.
#[pg_extern(security_definer, stable, parallel_unsafe)]
#[search_path(@extschema@, pg_temp)]
fn ff_list_executions(
    lane_id: Option<&str>,
    public_state: default!(Option<&str>, "NULL"),
    after_execution_id: default!(Option<&str>, "NULL"),
    max_rows: default!(Option<i32>, 100),
) -> TableIterator<
    'static,
    (
        name!(execution_id, String),
        name!(namespace, Option<String>),
        name!(priority, i32),
        name!(public_state, String),
        name!(attempt_index, i32),
        name!(created_at_ms, i64),
        name!(terminal_at_ms, Option<i64>),
        name!(last_error, Option<String>),
        name!(result_bytes, Option<i32>),
    ),
> {
    TableIterator::new(guarded(|| inspection::list(lane_id, public_state, after_execution_id, max_rows)))
}
