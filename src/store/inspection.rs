//! Reading executions back: one execution with its result, its attempts, and a lane's
//! executions page by page. Read-only; the grants decide who may call (`ff_worker` and `ff_admin`: the
//! roles that create and run executions may read their payloads and results; `ff_signaler` may not).

use crate::checks::page_size;
use crate::error::{required, WfError, WfResult};
use crate::ids::{validate_lane_id, ExecutionId};
use crate::lifecycle;
use crate::postgres::args::{ex_id, ex_key, parse_execution_id};
use crate::statement;
use pgrx::prelude::*;

statement! {
    mod get_execution = "inspection/get_execution.sql";
    args { partition_key: i16, execution_id: pgrx::Uuid }
    row {
        lane_id: String, namespace: Option<String>, flow_id: Option<pgrx::Uuid>, tags: pgrx::JsonB, priority: i32,
        lifecycle_phase: String, ownership_state: String, eligibility_state: String, attempt_state: String, public_state: String,
        attempt_index: i32, attempt_count: i32, max_attempts: i32,
        created_at_ms: i64, started_at_ms: Option<i64>, terminal_at_ms: Option<i64>, updated_at_ms: i64,
        lease_worker_id: Option<String>, lease_worker_instance_id: Option<String>, lease_expires_at_ms: Option<i64>, lease_epoch: i64,
        suspension_id: Option<pgrx::Uuid>, suspension_reason: Option<String>, next_retry_at_ms: Option<i64>, deadline_at_ms: Option<i64>,
        last_error: Option<String>, payload: Option<Vec<u8>>, result: Option<Vec<u8>>, continuation: Option<String>,
        step_count: i32, blocked_by: Vec<String>,
    }
}
statement! {
    mod list_attempts = "inspection/list_attempts.sql";
    args { partition_key: i16, execution_id: pgrx::Uuid }
    row {
        attempt_index: i32, attempt_id: pgrx::Uuid, worker_id: Option<String>, worker_instance_id: Option<String>,
        started_at_ms: i64, ended_at_ms: Option<i64>, outcome: Option<String>, error_message: Option<String>,
        failure_class: Option<String>, failure_detail: Option<Vec<u8>>,
    }
}
statement! {
    mod queue_position = "inspection/queue_position.sql";
    args { partition_key: i16, execution_id: pgrx::Uuid }
    row { lane_id: String, queue_seq: i64 }
}
statement! {
    mod list_executions = "inspection/list_executions.sql";
    args<'a> { lane_id: &'a str, public_state: Option<&'a str>, after_queue_seq: i64, max_rows: i64 }
    row {
        partition_key: i16, execution_id: pgrx::Uuid, namespace: Option<String>, priority: i32, public_state: String,
        attempt_index: i32, created_at_ms: i64, terminal_at_ms: Option<i64>, last_error: Option<String>, result_bytes: Option<i32>,
    }
}

/// `ff_get_execution`'s row.
pub type ExecutionRow = (
    String,
    String,
    Option<String>,
    Option<pgrx::Uuid>,
    pgrx::JsonB,
    i32,
    String,
    String,
    String,
    String,
    String,
    i32,
    i32,
    i32,
    i64,
    Option<i64>,
    Option<i64>,
    i64,
    Option<String>,
    Option<String>,
    Option<i64>,
    i64,
    Option<pgrx::Uuid>,
    Option<String>,
    Option<i64>,
    Option<i64>,
    Option<String>,
    Option<Vec<u8>>,
    Option<Vec<u8>>,
    Option<String>,
    i32,
    Vec<String>,
);

/// `ff_get_execution`: the execution, or `not_found` (`WF010`).
pub fn get(execution_id: Option<&str>) -> WfResult<ExecutionRow> {
    let id = parse_execution_id(execution_id)?;
    let (partition_key, execution_id) = ex_key(&id);
    let r = Spi::connect(|client| get_execution::optional(client, get_execution::Args { partition_key, execution_id }))?
        .ok_or_else(|| WfError::not_found("execution"))?;
    Ok((
        id.to_string(),
        r.lane_id,
        r.namespace,
        r.flow_id,
        r.tags,
        r.priority,
        r.lifecycle_phase,
        r.ownership_state,
        r.eligibility_state,
        r.attempt_state,
        r.public_state,
        r.attempt_index,
        r.attempt_count,
        r.max_attempts,
        r.created_at_ms,
        r.started_at_ms,
        r.terminal_at_ms,
        r.updated_at_ms,
        r.lease_worker_id,
        r.lease_worker_instance_id,
        r.lease_expires_at_ms,
        r.lease_epoch,
        r.suspension_id,
        r.suspension_reason,
        r.next_retry_at_ms,
        r.deadline_at_ms,
        r.last_error,
        r.payload,
        r.result,
        r.continuation,
        r.step_count,
        r.blocked_by,
    ))
}

/// `ff_list_attempts`' row.
pub type AttemptRow =
    (i32, pgrx::Uuid, Option<String>, Option<String>, i64, Option<i64>, Option<String>, Option<String>, Option<String>, Option<Vec<u8>>);

/// `ff_list_attempts`: every attempt, oldest first; `not_found` for an unknown execution.
pub fn attempts(execution_id: Option<&str>) -> WfResult<Vec<AttemptRow>> {
    let id = parse_execution_id(execution_id)?;
    let (partition_key, execution_id) = ex_key(&id);
    Spi::connect(|client| {
        if queue_position::optional(client, queue_position::Args { partition_key, execution_id })?.is_none() {
            return Err(WfError::not_found("execution"));
        }
        let rows = list_attempts::all(client, list_attempts::Args { partition_key, execution_id })?;
        Ok(rows
            .into_iter()
            .map(|r| {
                (
                    r.attempt_index,
                    r.attempt_id,
                    r.worker_id,
                    r.worker_instance_id,
                    r.started_at_ms,
                    r.ended_at_ms,
                    r.outcome,
                    r.error_message,
                    r.failure_class,
                    r.failure_detail,
                )
            })
            .collect())
    })
}

/// `ff_list_executions`' row.
pub type ListedRow = (String, Option<String>, i32, String, i32, i64, Option<i64>, Option<String>, Option<i32>);

/// `ff_list_executions`: a lane's executions in creation order, after `after` (which must be an
/// execution of that lane: `not_found` otherwise, so a page anchor that was pruned is an error, not an
/// empty page).
pub fn list(lane_id: Option<&str>, public_state: Option<&str>, after: Option<&str>, max_rows: Option<i32>) -> WfResult<Vec<ListedRow>> {
    let lane_id = required(lane_id, "lane_id")?;
    validate_lane_id(lane_id)?;
    if let Some(state) = public_state {
        if !lifecycle::public::ALL.contains(&state) {
            return Err(WfError::invalid_input(
                "invalid_public_state",
                format!("public_state must be one of {}", lifecycle::public::ALL.join(", ")),
            ));
        }
    }
    let after = after.map(ExecutionId::parse).transpose()?;
    let max_rows = page_size(max_rows)?;
    Spi::connect(|client| {
        let after_queue_seq = match after {
            None => 0,
            Some(a) => {
                let (partition_key, execution_id) = ex_key(&a);
                let position = queue_position::optional(client, queue_position::Args { partition_key, execution_id })?;
                match position {
                    Some(p) if p.lane_id == lane_id => p.queue_seq,
                    _ => return Err(WfError::not_found("execution")),
                }
            }
        };
        let rows = list_executions::all(client, list_executions::Args { lane_id, public_state, after_queue_seq, max_rows })?;
        Ok(rows
            .into_iter()
            .map(|r| {
                let id = ex_id(r.partition_key, &r.execution_id).to_string();
                (
                    id,
                    r.namespace,
                    r.priority,
                    r.public_state,
                    r.attempt_index,
                    r.created_at_ms,
                    r.terminal_at_ms,
                    r.last_error,
                    r.result_bytes,
                )
            })
            .collect())
    })
}
