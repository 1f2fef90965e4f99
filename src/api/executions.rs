//! `ff_create_execution`.

use crate::checks::text_array;
use crate::creation::CreateArgs;
use crate::postgres::args::from_pg_uuid;
use crate::postgres::jsonb::{parse_optional, JsonbArg};
use crate::postgres::raise::guarded;
use crate::store::executions::{self, FlowArgs, Passthrough};
use pgrx::prelude::*;

/// Create an execution in a lane (idempotent per lane with `idempotency_key`). Since 0.2.0 (the
/// `deadline_at_ms` argument) its C symbol is `ff_create_execution_0_2_wrapper`; 0.1.0's shape stays in
/// [`crate::api::compat`] for databases not yet updated.
#[pg_extern(name = "ff_create_execution", security_definer, parallel_unsafe)]
#[search_path(@extschema@, pg_temp)]
#[allow(clippy::too_many_arguments)]
pub(crate) fn ff_create_execution_0_2(
    lane_id: Option<&str>,
    payload: default!(Option<&[u8]>, "NULL"),
    priority: default!(Option<i32>, 0),
    required_capabilities: default!(Option<Vec<Option<String>>>, "'{}'"),
    namespace: default!(Option<&str>, "NULL"),
    tags: default!(Option<JsonbArg>, "'{}'"),
    budget_ids: default!(Option<Vec<Option<String>>>, "'{}'"),
    quota_policy_id: default!(Option<pgrx::Uuid>, "NULL"),
    delay_until_ms: default!(Option<i64>, "NULL"),
    max_attempts: default!(Option<i32>, 1),
    retry_backoff_ms: default!(Option<i64>, 1000),
    idempotency_key: default!(Option<&str>, "NULL"),
    execution_id: default!(Option<&str>, "NULL"),
    flow_id: default!(Option<pgrx::Uuid>, "NULL"),
    deadline_at_ms: default!(Option<i64>, "NULL"),
    depends_on: default!(Option<Vec<Option<String>>>, "NULL"),
    parent_execution_id: default!(Option<&str>, "NULL"),
    parent_waitpoint_key: default!(Option<&str>, "NULL"),
) -> TableIterator<'static, (name!(execution_id, String), name!(created, bool))> {
    let flow = FlowArgs { depends_on, parent_execution_id, parent_waitpoint_key };
    TableIterator::once(create(
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
        deadline_at_ms,
        Some(flow),
    ))
}

/// The body of `ff_create_execution`, and of 0.1.0's (without `flow`: its `flow_id` is a label, no
/// flow is joined).
#[allow(clippy::too_many_arguments)]
pub(crate) fn create(
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
    deadline_at_ms: Option<i64>,
    flow: Option<FlowArgs<'_>>,
) -> (String, bool) {
    guarded(|| {
        let args = CreateArgs {
            lane_id,
            required_capabilities: text_array(required_capabilities, "required_capabilities")?,
            namespace,
            tags: parse_optional(tags, "tags")?,
            budget_ids: text_array(budget_ids, "budget_ids")?,
            delay_until_ms,
            max_attempts,
            retry_backoff_ms,
            idempotency_key,
            execution_id,
            flow_id: flow_id.as_ref().map(from_pg_uuid),
            deadline_at_ms,
        };
        executions::create(args, Passthrough { payload, priority, quota_policy_id }, flow)
    })
}
