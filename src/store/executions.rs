//! Executions: `ff_create_execution`, and the row lock + fence check every lease-holding operation
//! starts with.

use crate::creation::{self, CreateArgs};
use crate::error::{required, WfError, WfResult};
use crate::ids::ExecutionId;
use crate::lifecycle::{self, LeaseView, States};
use crate::postgres::args::{ex_id, ex_key, to_pg_uuid};
use crate::postgres::statement::now_ms;
use crate::statement;
use pgrx::prelude::*;
use pgrx::spi::SpiClient;

statement! {
    pub mod lock_for_lease = "executions/lock_for_lease.sql";
    args { partition_key: i16, execution_id: pgrx::Uuid }
    row {
        lease_id: Option<pgrx::Uuid>, lease_epoch: i64, lease_expires_at_ms: Option<i64>, lifecycle_phase: String,
        ownership_state: String, attempt_index: i32, max_attempts: i32, retry_backoff_ms: i64, budget_ids: Vec<String>,
        lane_id: String,
    }
}
statement! {
    mod insert_execution = "executions/insert_execution.sql";
    args<'a> {
        partition_key: i16, execution_id: pgrx::Uuid, lane_id: &'a str, namespace: Option<&'a str>, flow_id: Option<pgrx::Uuid>,
        priority: i32, required_capabilities: Vec<String>, tags: pgrx::JsonB, budget_ids: Vec<String>,
        quota_policy_id: Option<pgrx::Uuid>, payload: Option<&'a [u8]>, states: States, eligible_at_ms: Option<i64>,
        max_attempts: i32, retry_backoff_ms: i64, idempotency_key: Option<&'a str>, now_ms: i64,
    }
    row { execution_id: pgrx::Uuid }
}
statement! {
    mod insert_deadline = "executions/insert_deadline.sql";
    args { partition_key: i16, execution_id: pgrx::Uuid, deadline_at_ms: i64 }
    row {}
}
statement! {
    mod by_idempotency_key = "executions/by_idempotency_key.sql";
    args<'a> { lane_id: &'a str, idempotency_key: &'a str }
    row { partition_key: i16, execution_id: pgrx::Uuid }
}
statement! {
    mod count_budgets = "executions/count_budgets.sql";
    args { budget_ids: Vec<String> }
    row { found: i64 }
}
statement! {
    mod quota_exists = "executions/quota_exists.sql";
    args { quota_policy_id: pgrx::Uuid }
    row { found: bool }
}

statement! {
    mod join_flow = "flows/join.sql";
    args<'a> {
        partition_key: i16, execution_id: pgrx::Uuid, flow_id: Option<pgrx::Uuid>, parent_execution_id: Option<&'a str>,
        parent_waitpoint_key: Option<&'a str>, depends_on: Option<Vec<Option<String>>>,
    }
    row {}
}

/// What a lease-holding operation knows after locking the execution.
pub struct LeasedExec {
    pub attempt_index: i32,
    pub max_attempts: i32,
    pub retry_backoff_ms: i64,
    pub budget_ids: Vec<String>,
    pub lane_id: String,
}

/// Lock the execution row (the per-execution mutex) and read its lease, without checking a fence.
pub fn lock_for_lease(client: &SpiClient<'_>, exec: &ExecutionId) -> WfResult<(LeaseView, LeasedExec)> {
    let (partition_key, execution_id) = ex_key(exec);
    let row = lock_for_lease::optional(client, lock_for_lease::Args { partition_key, execution_id })?
        .ok_or_else(|| WfError::not_found("execution"))?;
    let view = LeaseView {
        lease_id: row.lease_id.map(|u| *u.as_bytes()),
        lease_epoch: row.lease_epoch,
        lease_expires_at_ms: row.lease_expires_at_ms,
        lifecycle_phase: row.lifecycle_phase,
        ownership_state: row.ownership_state,
    };
    let ex = LeasedExec {
        attempt_index: row.attempt_index,
        max_attempts: row.max_attempts,
        retry_backoff_ms: row.retry_backoff_ms,
        budget_ids: row.budget_ids,
        lane_id: row.lane_id,
    };
    Ok((view, ex))
}

/// Lock the execution row (the per-execution mutex) and check the caller's fence (semantics §3).
pub fn lock_leased(
    client: &SpiClient<'_>,
    exec: &ExecutionId,
    lease_id: Option<pgrx::Uuid>,
    lease_epoch: Option<i64>,
    now: i64,
) -> WfResult<LeasedExec> {
    let lease_id = required(lease_id, "lease_id")?;
    let lease_epoch = required(lease_epoch, "lease_epoch")?;
    let (view, ex) = lock_for_lease(client, exec)?;
    lifecycle::check_fence(&view, lease_id.as_bytes(), lease_epoch, now)?;
    Ok(ex)
}

/// `ff_create_execution`'s arguments that the core does not check (Postgres values, passed through).
pub struct Passthrough<'a> {
    pub payload: Option<&'a [u8]>,
    pub priority: Option<i32>,
    pub quota_policy_id: Option<pgrx::Uuid>,
}

/// `ff_create_execution`'s flow arguments, checked and written by the shared flow code
/// (`sql/shared/flows.sql`).
pub struct FlowArgs<'a> {
    pub depends_on: Option<Vec<Option<String>>>,
    pub parent_execution_id: Option<&'a str>,
    pub parent_waitpoint_key: Option<&'a str>,
}

impl FlowArgs<'_> {
    fn joins(&self, flow_id: Option<pgrx::Uuid>) -> bool {
        flow_id.is_some() || self.depends_on.is_some() || self.parent_execution_id.is_some() || self.parent_waitpoint_key.is_some()
    }
}

/// Create an execution; `(execution_id, created)`. Without `flow` (0.1.0's signature), a `flow_id`
/// is stored as given and no flow is joined.
pub fn create(args: CreateArgs<'_>, pass: Passthrough<'_>, flow: Option<FlowArgs<'_>>) -> WfResult<(String, bool)> {
    let flow = flow.unwrap_or(FlowArgs { depends_on: None, parent_execution_id: None, parent_waitpoint_key: None });
    // A child is minted in its parent's partition, which is its flow's.
    match (args.execution_id, args.flow_id, flow.parent_execution_id) {
        (None, None, Some(parent)) => {
            let id = ExecutionId { partition: ExecutionId::parse(parent)?.partition, uuid: uuid::Uuid::new_v4() }.to_string();
            create_checked(CreateArgs { execution_id: Some(&id), ..args }, pass, flow, true)
        }
        _ => {
            let joins = flow.joins(args.flow_id.as_ref().map(to_pg_uuid));
            create_checked(args, pass, flow, joins)
        }
    }
}

fn create_checked(args: CreateArgs<'_>, pass: Passthrough<'_>, flow: FlowArgs<'_>, joins: bool) -> WfResult<(String, bool)> {
    let idempotency_key = args.idempotency_key;
    let namespace = args.namespace;
    let flow_id = args.flow_id.as_ref().map(to_pg_uuid);
    let n = creation::validate(args, now_ms())?;
    crate::checks::check_size(pass.payload.map(<[u8]>::len), crate::postgres::settings::max_payload_bytes(), "payload")?;
    Spi::connect_mut(|client| {
        check_references(client, &n.distinct_budget_ids, pass.quota_policy_id)?;
        let (partition_key, execution_id) = ex_key(&n.id);
        let args = insert_execution::Args {
            partition_key,
            execution_id,
            lane_id: n.lane_id,
            namespace,
            flow_id,
            priority: pass.priority.unwrap_or(0),
            required_capabilities: n.required_capabilities,
            tags: pgrx::JsonB(n.tags),
            budget_ids: n.budget_ids,
            quota_policy_id: pass.quota_policy_id,
            payload: pass.payload,
            states: n.states,
            eligible_at_ms: n.eligible_at_ms,
            max_attempts: n.max_attempts,
            retry_backoff_ms: n.retry_backoff_ms,
            idempotency_key,
            now_ms: now_ms(),
        };
        // The transaction id before the row's queue_seq: the claim-start verifier's floor relies on
        // whoever holds a queue_seq holding an id (sql/shared/claim_start.sql).
        // SAFETY: assigns the current transaction's id, as the insert would.
        unsafe { pg_sys::GetTopTransactionId() };
        if insert_execution::optional(client, args)?.is_some() {
            if let Some(deadline_at_ms) = n.deadline_at_ms {
                insert_deadline::execute(client, insert_deadline::Args { partition_key, execution_id, deadline_at_ms })?;
            }
            if joins {
                // Sets its state from its upstreams and wakes its lane when it is claimable.
                let args = join_flow::Args {
                    partition_key,
                    execution_id,
                    flow_id,
                    parent_execution_id: flow.parent_execution_id,
                    parent_waitpoint_key: flow.parent_waitpoint_key,
                    depends_on: flow.depends_on,
                };
                join_flow::execute(client, args)?;
            } else if n.eligible_at_ms.is_none() {
                crate::postgres::notify::wake(client, &[], &[n.lane_id])?;
            }
            return Ok((n.id.to_string(), true));
        }
        replayed(client, n.lane_id, idempotency_key)
    })
}

/// Nothing inserted: an idempotent replay (the execution created first under the key), or an
/// explicit id that already exists.
fn replayed(client: &SpiClient<'_>, lane_id: &str, idempotency_key: Option<&str>) -> WfResult<(String, bool)> {
    if let Some(idempotency_key) = idempotency_key {
        if let Some(row) = by_idempotency_key::optional(client, by_idempotency_key::Args { lane_id, idempotency_key })? {
            return Ok((ex_id(row.partition_key, &row.execution_id).to_string(), false));
        }
    }
    Err(WfError::invalid_input("execution_id_exists", "an execution with this execution_id already exists"))
}

/// The budgets and quota policy an execution names must exist.
fn check_references(client: &SpiClient<'_>, distinct_budget_ids: &[String], quota_policy_id: Option<pgrx::Uuid>) -> WfResult<()> {
    if !distinct_budget_ids.is_empty() {
        let found = count_budgets::one(client, count_budgets::Args { budget_ids: distinct_budget_ids.to_vec() })?.found;
        if found != distinct_budget_ids.len() as i64 {
            return Err(WfError::not_found("budget"));
        }
    }
    if let Some(quota_policy_id) = quota_policy_id {
        if !quota_exists::one(client, quota_exists::Args { quota_policy_id })?.found {
            return Err(WfError::not_found("quota_policy"));
        }
    }
    Ok(())
}
