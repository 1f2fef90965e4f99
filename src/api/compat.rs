//! The C symbols of earlier releases whose SQL signature changed since, kept so that a database still
//! on the earlier version keeps working against this library until `ALTER EXTENSION ff_engine UPDATE`
//! (a package upgrade replaces `ff_engine.so` under every database at once). None of these is in this
//! version's SQL (`sql = false`); each forwards to the current function.
//!
//! | symbol | release | now |
//! |---|---|---|
//! | `ff_create_execution_wrapper` | 0.1.0 (14 arguments) | `ff_create_execution_0_2_wrapper` (adds `deadline_at_ms`) |

use crate::postgres::jsonb::JsonbArg;
use pgrx::prelude::*;

/// 0.1.0's `ff_create_execution`: no deadline.
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
    crate::api::executions::ff_create_execution_0_2(
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
    )
}
