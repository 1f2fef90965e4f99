//! `ff_create_execution`.

use crate::checks::text_array;
use crate::creation::CreateArgs;
use crate::postgres::args::from_pg_uuid;
use crate::postgres::jsonb::{parse_optional, JsonbArg};
use crate::postgres::raise::guarded;
use crate::store::executions::{self, Passthrough};
use pgrx::prelude::*;

/// Create an execution in a lane (idempotent per lane with `idempotency_key`).
#[pg_extern(security_definer, parallel_unsafe)]
#[search_path(@extschema@, pg_temp)]
#[allow(clippy::too_many_arguments)]
fn ff_create_execution(
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
) -> TableIterator<'static, (name!(execution_id, String), name!(created, bool))> {
    TableIterator::once(guarded(|| {
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
        };
        executions::create(args, Passthrough { payload, priority, quota_policy_id })
    }))
}
