//! Executions in the database: `ff_create_execution`, and the helpers every lease-holding operation
//! shares (argument parsing, the execution row lock + fence check).

use crate::error::{required, WfError, WfResult};
use crate::ids::{self, ExecutionId};
use crate::lifecycle::{self, LeaseView};
use crate::plans::{now_ms, t, Plan};
use crate::raise::guarded;
use pgrx::prelude::*;
use pgrx::spi::SpiClient;

pub fn to_pg_uuid(u: &uuid::Uuid) -> pgrx::Uuid {
    pgrx::Uuid::from_bytes(*u.as_bytes())
}

pub fn from_pg_uuid(u: &pgrx::Uuid) -> uuid::Uuid {
    uuid::Uuid::from_bytes(*u.as_bytes())
}

/// The two key columns of an execution, as SPI arguments.
pub fn ex_key(id: &ExecutionId) -> (i16, pgrx::Uuid) {
    (id.partition as i16, to_pg_uuid(&id.uuid))
}

/// A required `execution_id text` argument, parsed strictly.
pub fn parse_execution_id(text: Option<&str>) -> WfResult<ExecutionId> {
    ExecutionId::parse(required(text, "execution_id")?)
}

/// Optional text argument: when given, between `min` and `max` bytes.
pub fn bounded_text(value: Option<&str>, field: &str, min: usize, max: usize) -> WfResult<()> {
    match value {
        Some(v) if v.len() < min || v.len() > max => {
            Err(WfError::invalid_input(&format!("invalid_{field}"), format!("{field} must be {min}-{max} bytes")))
        }
        _ => Ok(()),
    }
}

/// Optional short text argument: at most `max` bytes, and non-empty when given.
pub fn optional_text(value: Option<&str>, field: &str, max: usize) -> WfResult<()> {
    bounded_text(value, field, 1, max)
}

/// What a lease-holding operation knows after locking the execution and checking the fence.
pub struct LeasedExec {
    pub attempt_index: i32,
    pub max_attempts: i32,
    pub retry_backoff_ms: i64,
    pub budget_ids: Vec<String>,
}

static LOCK_FOR_LEASE: Plan = Plan {
    sql: "SELECT lease_id, lease_epoch, lease_expires_at_ms, lifecycle_phase, ownership_state, \
                 attempt_index, max_attempts, retry_backoff_ms, budget_ids, namespace, lane_id \
          FROM ff_exec_core WHERE partition_key = $1 AND execution_id = $2 FOR UPDATE",
    args: &[t::INT2, t::UUID],
};

/// Lock the execution row (the per-execution mutex) and read its lease, without checking a fence.
pub fn lock_for_lease(client: &SpiClient<'_>, exec: &ExecutionId) -> WfResult<(LeaseView, LeasedExec)> {
    let (pk, eu) = ex_key(exec);
    let rows = LOCK_FOR_LEASE.run(client, &[pk.into(), eu.into()])?;
    let row = rows.into_iter().next().ok_or_else(|| WfError::not_found("execution"))?;
    let current: Option<pgrx::Uuid> = row.get(1)?;
    let view = LeaseView {
        lease_id: current.map(|u| *u.as_bytes()),
        lease_epoch: row.get(2)?.unwrap_or(0),
        lease_expires_at_ms: row.get(3)?,
        lifecycle_phase: row.get(4)?.unwrap_or_default(),
        ownership_state: row.get(5)?.unwrap_or_default(),
    };
    let ex = LeasedExec {
        attempt_index: row.get(6)?.unwrap_or(0),
        max_attempts: row.get(7)?.unwrap_or(1),
        retry_backoff_ms: row.get(8)?.unwrap_or(0),
        budget_ids: row.get(9)?.unwrap_or_default(),
    };
    Ok((view, ex))
}

/// Lock the execution row (the per-execution mutex) and check the caller's fence (semantics §3).
pub fn lock_leased(client: &SpiClient<'_>, exec: &ExecutionId, lease_id: Option<pgrx::Uuid>, lease_epoch: Option<i64>, now: i64) -> WfResult<LeasedExec> {
    let lease_id = required(lease_id, "lease_id")?;
    let lease_epoch = required(lease_epoch, "lease_epoch")?;
    let (view, ex) = lock_for_lease(client, exec)?;
    lifecycle::check_fence(&view, lease_id.as_bytes(), lease_epoch, now)?;
    Ok(ex)
}

static INSERT_EXECUTION: Plan = Plan {
    sql: "INSERT INTO ff_exec_core (partition_key, execution_id, lane_id, namespace, flow_id, priority, \
              required_capabilities, tags, budget_ids, quota_policy_id, payload, lifecycle_phase, ownership_state, \
              eligibility_state, attempt_state, public_state, eligible_at_ms, max_attempts, retry_backoff_ms, \
              idempotency_key, created_at_ms, updated_at_ms) \
          VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $21) \
          ON CONFLICT DO NOTHING RETURNING execution_id",
    args: &[
        t::INT2, t::UUID, t::TEXT, t::TEXT, t::UUID, t::INT4, t::TEXT_ARRAY, t::JSONB, t::TEXT_ARRAY, t::UUID, t::BYTEA,
        t::TEXT, t::TEXT, t::TEXT, t::TEXT, t::TEXT, t::INT8, t::INT4, t::INT8, t::TEXT, t::INT8,
    ],
};
static BY_IDEMPOTENCY_KEY: Plan = Plan {
    sql: "SELECT partition_key, execution_id FROM ff_exec_core WHERE lane_id = $1 AND idempotency_key = $2",
    args: &[t::TEXT, t::TEXT],
};
static COUNT_BUDGETS: Plan = Plan {
    sql: "SELECT count(*) FROM ff_budget WHERE budget_id = ANY ($1)",
    args: &[t::TEXT_ARRAY],
};
static QUOTA_EXISTS: Plan = Plan {
    sql: "SELECT count(*) FROM ff_quota_policy WHERE quota_policy_id = $1",
    args: &[t::UUID],
};

pub struct NewExecution<'a> {
    pub lane_id: Option<&'a str>,
    pub payload: Option<&'a [u8]>,
    pub priority: Option<i32>,
    pub required_capabilities: Option<Vec<String>>,
    pub namespace: Option<&'a str>,
    pub tags: Option<pgrx::JsonB>,
    pub budget_ids: Option<Vec<String>>,
    pub quota_policy_id: Option<pgrx::Uuid>,
    pub delay_until_ms: Option<i64>,
    pub max_attempts: Option<i32>,
    pub retry_backoff_ms: Option<i64>,
    pub idempotency_key: Option<&'a str>,
    pub execution_id: Option<&'a str>,
    pub flow_id: Option<pgrx::Uuid>,
}

fn create(n: NewExecution<'_>) -> WfResult<(String, bool)> {
    let lane_id = required(n.lane_id, "lane_id")?;
    ids::validate_lane_id(lane_id)?;
    let caps = n.required_capabilities.unwrap_or_default();
    ids::validate_capabilities(&caps, "required_capabilities")?;
    optional_text(n.namespace, "namespace", 256)?;
    optional_text(n.idempotency_key, "idempotency_key", 256)?;
    let budget_ids = n.budget_ids.unwrap_or_default();
    if budget_ids.len() > 64 || budget_ids.iter().any(|b| b.is_empty() || b.len() > 256) {
        return Err(WfError::invalid_input("invalid_budget_ids", "budget_ids: at most 64 ids of 1-256 bytes"));
    }
    let tags = n.tags.map(|j| j.0).unwrap_or_else(|| serde_json::json!({}));
    if !tags.is_object() {
        return Err(WfError::invalid_input("invalid_tags", "tags must be a JSON object"));
    }
    let max_attempts = n.max_attempts.unwrap_or(1);
    if !(1..=100_000).contains(&max_attempts) {
        return Err(WfError::invalid_input("invalid_max_attempts", "max_attempts must be between 1 and 100000"));
    }
    let retry_backoff_ms = n.retry_backoff_ms.unwrap_or(1000);
    lifecycle::validate_ms(retry_backoff_ms, "retry_backoff_ms", 0)?;
    let flow = n.flow_id.as_ref().map(from_pg_uuid);
    let id = match n.execution_id {
        Some(text) => ExecutionId::parse(text)?,
        None => ExecutionId::mint(lane_id, flow.as_ref()),
    };
    let now = now_ms();
    let delayed = n.delay_until_ms.is_some_and(|d| d > now);
    let states = lifecycle::created(delayed);
    let mut caps_sorted = caps;
    caps_sorted.sort();
    caps_sorted.dedup();

    Spi::connect_mut(|client| {
        if !budget_ids.is_empty() {
            let mut distinct = budget_ids.clone();
            distinct.sort();
            distinct.dedup();
            let found: i64 = COUNT_BUDGETS.run(client, &[distinct.clone().into()])?.first().get(1)?.unwrap_or(0);
            if found != distinct.len() as i64 {
                return Err(WfError::not_found("budget"));
            }
        }
        if let Some(q) = n.quota_policy_id {
            let found: i64 = QUOTA_EXISTS.run(client, &[q.into()])?.first().get(1)?.unwrap_or(0);
            if found == 0 {
                return Err(WfError::not_found("quota_policy"));
            }
        }
        let inserted = INSERT_EXECUTION.run(
            client,
            &[
                (id.partition as i16).into(),
                to_pg_uuid(&id.uuid).into(),
                lane_id.into(),
                n.namespace.into(),
                n.flow_id.into(),
                n.priority.unwrap_or(0).into(),
                caps_sorted.into(),
                pgrx::JsonB(tags).into(),
                budget_ids.into(),
                n.quota_policy_id.into(),
                n.payload.into(),
                states.lifecycle_phase.into(),
                states.ownership_state.into(),
                states.eligibility_state.into(),
                states.attempt_state.into(),
                states.public_state.into(),
                (if delayed { n.delay_until_ms } else { None }).into(),
                max_attempts.into(),
                retry_backoff_ms.into(),
                n.idempotency_key.into(),
                now.into(),
            ],
        )?;
        if !inserted.is_empty() {
            return Ok((id.to_string(), true));
        }
        // Nothing inserted: an idempotent replay, or an explicit id that already exists.
        if let Some(key) = n.idempotency_key {
            let rows = BY_IDEMPOTENCY_KEY.run(client, &[lane_id.into(), key.into()])?;
            if let Some(row) = rows.into_iter().next() {
                let p: i16 = row.get(1)?.unwrap_or(0);
                let u: pgrx::Uuid = row.get(2)?.ok_or_else(|| WfError::corruption("execution without id"))?;
                return Ok((ExecutionId { partition: p as u16, uuid: from_pg_uuid(&u) }.to_string(), false));
            }
        }
        Err(WfError::invalid_input("execution_id_exists", "an execution with this execution_id already exists"))
    })
}

/// Create an execution in a lane (idempotent per lane with `idempotency_key`).
#[pg_extern(security_definer, parallel_unsafe)]
#[search_path(@extschema@, pg_temp)]
#[allow(clippy::too_many_arguments)]
fn ff_create_execution(
    lane_id: Option<&str>,
    payload: default!(Option<&[u8]>, "NULL"),
    priority: default!(Option<i32>, 0),
    required_capabilities: default!(Option<Vec<String>>, "'{}'"),
    namespace: default!(Option<&str>, "NULL"),
    tags: default!(Option<pgrx::JsonB>, "'{}'"),
    budget_ids: default!(Option<Vec<String>>, "'{}'"),
    quota_policy_id: default!(Option<pgrx::Uuid>, "NULL"),
    delay_until_ms: default!(Option<i64>, "NULL"),
    max_attempts: default!(Option<i32>, 1),
    retry_backoff_ms: default!(Option<i64>, 1000),
    idempotency_key: default!(Option<&str>, "NULL"),
    execution_id: default!(Option<&str>, "NULL"),
    flow_id: default!(Option<pgrx::Uuid>, "NULL"),
) -> TableIterator<'static, (name!(execution_id, String), name!(created, bool))> {
    TableIterator::once(guarded(|| {
        create(NewExecution {
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
        })
    }))
}
