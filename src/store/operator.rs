//! Operator actions: change an execution's priority, replay a failed, cancelled or expired
//! execution, revoke a lease. Each locks the execution row, decides in the core's terms, writes its
//! change and an `ff_operator_event` row (with the session user) in one statement, and notifies.

use crate::error::{required, ErrorKind, WfError, WfResult};
use crate::ids::ExecutionId;
use crate::lifecycle::{self, States};
use crate::postgres::args::{ex_key, parse_execution_id};
use crate::postgres::notify::{notify, wake, Channel};
use crate::postgres::statement::now_ms;
use crate::statement;
use pgrx::prelude::*;
use pgrx::spi::SpiClient;

statement! {
    mod flow_replayed = "flows/replayed.sql";
    args { partition_key: i16, execution_id: pgrx::Uuid, with_dependents: bool }
    row {}
}
statement! {
    mod lock_execution = "operator/lock_execution.sql";
    args { partition_key: i16, execution_id: pgrx::Uuid }
    row {
        lifecycle_phase: String, ownership_state: String, public_state: String, priority: i32, lease_epoch: i64, namespace: Option<String>,
        lane_id: String,
    }
}
statement! {
    mod change_priority = "operator/change_priority.sql";
    args<'a> { partition_key: i16, execution_id: pgrx::Uuid, priority: i32, now_ms: i64, execution_ref: &'a str, detail: pgrx::JsonB }
    row {}
}
statement! {
    mod replay = "operator/replay.sql";
    args<'a> {
        partition_key: i16, execution_id: pgrx::Uuid, states: States, now_ms: i64, execution_ref: &'a str, reason: Option<&'a str>,
        keep_steps: bool,
    }
    row {}
}
statement! {
    mod revoke_lease = "operator/revoke_lease.sql";
    args<'a> { partition_key: i16, execution_id: pgrx::Uuid, states: States, now_ms: i64, execution_ref: &'a str, reason: &'a str }
    row {}
}

/// Lock the execution named by `execution_id` (`not_found` when it does not exist).
fn locked(client: &SpiClient<'_>, id: &ExecutionId) -> WfResult<lock_execution::Row> {
    let (partition_key, execution_id) = ex_key(id);
    lock_execution::optional(client, lock_execution::Args { partition_key, execution_id })?.ok_or_else(|| WfError::not_found("execution"))
}

/// `ff_change_priority`: (outcome `changed`/`unchanged`, previous_priority).
pub fn change_priority(execution_id: Option<&str>, priority: Option<i32>) -> WfResult<(String, i32)> {
    let id = parse_execution_id(execution_id)?;
    let priority = required(priority, "priority")?;
    Spi::connect_mut(|client| {
        let row = locked(client, &id)?;
        if row.priority == priority {
            return Ok(("unchanged".to_string(), row.priority));
        }
        let (partition_key, execution_id) = ex_key(&id);
        let detail = pgrx::JsonB(serde_json::json!({ "from": row.priority, "to": priority }));
        let execution_ref = id.to_string();
        let args = change_priority::Args { partition_key, execution_id, priority, now_ms: now_ms(), execution_ref: &execution_ref, detail };
        change_priority::execute(client, args)?;
        notify(client, &[Channel::Operator])?;
        Ok(("changed".to_string(), row.priority))
    })
}

/// `ff_replay_execution`: (outcome `replayed`, previous public state); `execution_not_replayable`
/// unless the execution failed, was cancelled or expired.
pub fn replay_execution(
    execution_id: Option<&str>,
    reason: Option<&str>,
    keep_steps: bool,
    with_dependents: bool,
) -> WfResult<(String, String)> {
    let id = parse_execution_id(execution_id)?;
    crate::checks::optional_text(reason, "reason", 256)?;
    Spi::connect_mut(|client| {
        let row = locked(client, &id)?;
        if !lifecycle::replayable(&row.public_state) {
            return Err(WfError::new(
                ErrorKind::ExecutionNotReplayable,
                format!("the execution is {}; only failed, cancelled or expired executions are replayed", row.public_state),
            ));
        }
        let (partition_key, execution_id) = ex_key(&id);
        let execution_ref = id.to_string();
        let args = replay::Args {
            partition_key,
            execution_id,
            states: lifecycle::REPLAYED,
            now_ms: now_ms(),
            execution_ref: &execution_ref,
            reason,
            keep_steps,
        };
        replay::execute(client, args)?;
        flow_replayed::execute(client, flow_replayed::Args { partition_key, execution_id, with_dependents })?;
        wake(client, &[Channel::Operator], &[row.lane_id.as_str()])?;
        Ok(("replayed".to_string(), row.public_state))
    })
}

/// `ff_revoke_lease`: (outcome `revoked`, the revoked lease's epoch). Fenced by `lease_epoch` when
/// given (`lease_conflict` if the lease changed meanwhile); `execution_not_active` when not leased.
pub fn revoke_lease(execution_id: Option<&str>, reason: Option<&str>, lease_epoch: Option<i64>) -> WfResult<(String, i64)> {
    let id = parse_execution_id(execution_id)?;
    let reason = crate::checks::required_text(reason, "reason", 256)?;
    Spi::connect_mut(|client| {
        let row = locked(client, &id)?;
        let view = lifecycle::LeaseView {
            lease_id: None,
            lease_epoch: row.lease_epoch,
            lease_expires_at_ms: None,
            lifecycle_phase: row.lifecycle_phase,
            ownership_state: row.ownership_state,
        };
        lifecycle::check_revocable(&view, lease_epoch)?;
        let (partition_key, execution_id) = ex_key(&id);
        let execution_ref = id.to_string();
        let args = revoke_lease::Args {
            partition_key,
            execution_id,
            states: lifecycle::REVOKED,
            now_ms: now_ms(),
            execution_ref: &execution_ref,
            reason,
        };
        revoke_lease::execute(client, args)?;
        wake(client, &[Channel::Lease, Channel::Operator], &[row.lane_id.as_str()])?;
        Ok(("revoked".to_string(), row.lease_epoch))
    })
}
