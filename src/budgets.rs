//! Budgets and quotas in the database (semantics §9): `ff_create_budget`, `ff_report_usage`,
//! `ff_budget_status`, `ff_create_quota_policy`. Admission itself is part of the claim statement
//! (`claims.rs`); decisions come from `admission.rs`.

use crate::admission::{self, BudgetView};
use crate::error::{required, WfError, WfResult};
use crate::executions::{ex_key, lock_leased, optional_text, parse_execution_id, to_pg_uuid};
use crate::plans::{now_ms, t, Plan};
use crate::raise::guarded;
use pgrx::prelude::*;
use pgrx::spi::SpiClient;
use std::collections::BTreeMap;

static INSERT_BUDGET: Plan = Plan {
    sql: "INSERT INTO ff_budget (budget_id, hard_limits, soft_limits, reset_interval_ms, created_at_ms, last_reset_at_ms) \
          VALUES ($1, $2, $3, $4, $5, $5) ON CONFLICT (budget_id) DO NOTHING RETURNING budget_id",
    args: &[t::TEXT, t::JSONB, t::JSONB, t::INT8, t::INT8],
};
static USAGE_DEDUP: Plan = Plan {
    sql: "INSERT INTO ff_usage_dedup (partition_key, execution_id, dedup_key, created_at_ms) VALUES ($1, $2, $3, $4) \
          ON CONFLICT DO NOTHING RETURNING dedup_key",
    args: &[t::INT2, t::UUID, t::TEXT, t::INT8],
};
/// Lazy periodic reset: a budget whose interval has passed starts again from zero usage.
static RESET_DUE: Plan = Plan {
    sql: "WITH due AS (UPDATE ff_budget SET last_reset_at_ms = $2 \
                       WHERE budget_id = ANY ($1) AND reset_interval_ms IS NOT NULL \
                         AND coalesce(last_reset_at_ms, created_at_ms) + reset_interval_ms <= $2 RETURNING budget_id) \
          UPDATE ff_budget_usage u SET used = 0 FROM due WHERE u.budget_id = due.budget_id",
    args: &[t::TEXT_ARRAY, t::INT8],
};
static ADD_USAGE: Plan = Plan {
    sql: "INSERT INTO ff_budget_usage (budget_id, dimension, used) \
          SELECT b, d.key, d.value::bigint FROM unnest($1::text[]) AS b, jsonb_each_text($2) AS d \
          ON CONFLICT (budget_id, dimension) DO UPDATE \
          SET used = LEAST(ff_budget_usage.used::numeric + EXCLUDED.used, 9223372036854775807)::bigint",
    args: &[t::TEXT_ARRAY, t::JSONB],
};
static BUDGET_VIEWS: Plan = Plan {
    sql: "SELECT b.budget_id, b.hard_limits, b.soft_limits, \
                 coalesce((SELECT jsonb_object_agg(u.dimension, u.used) FROM ff_budget_usage u WHERE u.budget_id = b.budget_id), '{}') \
          FROM ff_budget b WHERE b.budget_id = ANY ($1) ORDER BY b.budget_id",
    args: &[t::TEXT_ARRAY],
};
static INSERT_QUOTA: Plan = Plan {
    sql: "INSERT INTO ff_quota_policy (quota_policy_id, max_requests_per_window, window_ms, active_concurrency_cap, created_at_ms) \
          VALUES ($1, $2, $3, $4, $5) ON CONFLICT (quota_policy_id) DO NOTHING",
    args: &[t::UUID, t::INT4, t::INT8, t::INT4, t::INT8],
};

fn amounts(v: &serde_json::Value) -> BTreeMap<String, i64> {
    v.as_object().map(|o| o.iter().filter_map(|(k, x)| x.as_i64().map(|n| (k.clone(), n))).collect()).unwrap_or_default()
}

fn budget_views(client: &SpiClient<'_>, ids: &[String]) -> WfResult<Vec<(String, BudgetView)>> {
    let mut out = Vec::new();
    for row in BUDGET_VIEWS.run(client, &[ids.to_vec().into()])? {
        let id: String = row.get(1)?.unwrap_or_default();
        let hard: Option<pgrx::JsonB> = row.get(2)?;
        let soft: Option<pgrx::JsonB> = row.get(3)?;
        let used: Option<pgrx::JsonB> = row.get(4)?;
        let view = BudgetView {
            hard: hard.map(|j| amounts(&j.0)).unwrap_or_default(),
            soft: soft.map(|j| amounts(&j.0)).unwrap_or_default(),
            used: used.map(|j| amounts(&j.0)).unwrap_or_default(),
        };
        out.push((id, view));
    }
    Ok(out)
}

fn validate_budget_id(id: Option<&str>) -> WfResult<&str> {
    let id = required(id, "budget_id")?;
    optional_text(Some(id), "budget_id", 256)?;
    Ok(id)
}

fn create_budget(budget_id: Option<&str>, hard: Option<pgrx::JsonB>, soft: Option<pgrx::JsonB>, reset: Option<i64>) -> WfResult<(String, bool)> {
    let budget_id = validate_budget_id(budget_id)?;
    let hard = required(hard, "hard_limits")?.0;
    admission::parse_amounts(&hard, "hard_limits")?;
    let soft = soft.map(|j| j.0).unwrap_or_else(|| serde_json::json!({}));
    admission::parse_amounts(&soft, "soft_limits")?;
    if let Some(r) = reset {
        crate::lifecycle::validate_ms(r, "reset_interval_ms", 1)?;
    }
    Spi::connect_mut(|client| {
        let rows = INSERT_BUDGET.run(client, &[budget_id.into(), pgrx::JsonB(hard).into(), pgrx::JsonB(soft).into(), reset.into(), now_ms().into()])?;
        Ok((budget_id.to_string(), !rows.is_empty()))
    })
}

fn report_usage(execution_id: Option<&str>, lease_id: Option<pgrx::Uuid>, lease_epoch: Option<i64>, usage: Option<pgrx::JsonB>, dedup_key: Option<&str>) -> WfResult<(String, Option<String>)> {
    let id = parse_execution_id(execution_id)?;
    let usage = required(usage, "usage")?.0;
    admission::parse_amounts(&usage, "usage")?;
    optional_text(dedup_key, "dedup_key", 256)?;
    let now = now_ms();
    Spi::connect_mut(|client| {
        let ex = lock_leased(client, &id, lease_id, lease_epoch, now)?;
        if let Some(key) = dedup_key {
            let (pk, eu) = ex_key(&id);
            let fresh = USAGE_DEDUP.run(client, &[pk.into(), eu.into(), key.into(), now.into()])?;
            if fresh.is_empty() {
                return Ok(("duplicate".to_string(), None));
            }
        }
        if ex.budget_ids.is_empty() {
            return Ok(("admitted".to_string(), None));
        }
        RESET_DUE.run(client, &[ex.budget_ids.clone().into(), now.into()])?;
        ADD_USAGE.run(client, &[ex.budget_ids.clone().into(), pgrx::JsonB(usage).into()])?;
        let views: Vec<BudgetView> = budget_views(client, &ex.budget_ids)?.into_iter().map(|(_, v)| v).collect();
        let d = admission::usage_decision(&views);
        Ok((d.decision().to_string(), d.dimension().map(str::to_string)))
    })
}

type StatusRow = (String, i64, Option<i64>, Option<i64>);

fn budget_status(budget_id: Option<&str>) -> WfResult<Vec<StatusRow>> {
    let budget_id = validate_budget_id(budget_id)?;
    Spi::connect(|client| {
        let (_, v) = budget_views(client, &[budget_id.to_string()])?.into_iter().next().ok_or_else(|| WfError::not_found("budget"))?;
        let mut dims: Vec<&String> = v.hard.keys().chain(v.soft.keys()).chain(v.used.keys()).collect();
        dims.sort();
        dims.dedup();
        Ok(dims
            .into_iter()
            .map(|d| (d.clone(), v.used.get(d).copied().unwrap_or(0), v.soft.get(d).copied(), v.hard.get(d).copied()))
            .collect())
    })
}

fn create_quota(max_requests: Option<i32>, window_ms: Option<i64>, cap: Option<i32>, id: Option<pgrx::Uuid>) -> WfResult<pgrx::Uuid> {
    if max_requests.is_some_and(|m| m < 0) {
        return Err(WfError::invalid_input("invalid_max_requests_per_window", "max_requests_per_window must be >= 0"));
    }
    if cap.is_some_and(|c| c < 0) {
        return Err(WfError::invalid_input("invalid_active_concurrency_cap", "active_concurrency_cap must be >= 0"));
    }
    let window_ms = required(window_ms, "window_ms")?;
    crate::lifecycle::validate_ms(window_ms, "window_ms", 1)?;
    let id = id.unwrap_or_else(|| to_pg_uuid(&uuid::Uuid::new_v4()));
    Spi::connect_mut(|client| {
        INSERT_QUOTA.run(client, &[id.into(), max_requests.into(), window_ms.into(), cap.into(), now_ms().into()])?;
        Ok(id)
    })
}

/// Create a budget with hard and soft limits per dimension (created = false if it already exists).
#[pg_extern(security_definer, parallel_unsafe)]
#[search_path(@extschema@, pg_temp)]
fn ff_create_budget(
    budget_id: Option<&str>,
    hard_limits: Option<pgrx::JsonB>,
    soft_limits: default!(Option<pgrx::JsonB>, "'{}'"),
    reset_interval_ms: default!(Option<i64>, "NULL"),
) -> TableIterator<'static, (name!(budget_id, String), name!(created, bool))> {
    TableIterator::once(guarded(|| create_budget(budget_id, hard_limits, soft_limits, reset_interval_ms)))
}

/// Report usage against the execution's budgets (fenced; idempotent per dedup_key).
#[pg_extern(security_definer, parallel_unsafe)]
#[search_path(@extschema@, pg_temp)]
fn ff_report_usage(
    execution_id: Option<&str>,
    lease_id: Option<pgrx::Uuid>,
    lease_epoch: Option<i64>,
    usage: Option<pgrx::JsonB>,
    dedup_key: default!(Option<&str>, "NULL"),
) -> TableIterator<'static, (name!(decision, String), name!(dimension, Option<String>))> {
    TableIterator::once(guarded(|| report_usage(execution_id, lease_id, lease_epoch, usage, dedup_key)))
}

/// Usage and limits of a budget, one row per dimension.
#[pg_extern(security_definer, parallel_unsafe)]
#[search_path(@extschema@, pg_temp)]
fn ff_budget_status(
    budget_id: Option<&str>,
) -> TableIterator<'static, (name!(dimension, String), name!(used, i64), name!(soft_limit, Option<i64>), name!(hard_limit, Option<i64>))> {
    TableIterator::new(guarded(|| budget_status(budget_id)))
}

/// Create a quota policy: requests per sliding window and/or an active-concurrency cap.
#[pg_extern(security_definer, parallel_unsafe)]
#[search_path(@extschema@, pg_temp)]
fn ff_create_quota_policy(
    max_requests_per_window: default!(Option<i32>, "NULL"),
    window_ms: default!(Option<i64>, 60000),
    active_concurrency_cap: default!(Option<i32>, "NULL"),
    quota_policy_id: default!(Option<pgrx::Uuid>, "NULL"),
) -> TableIterator<'static, (name!(quota_policy_id, pgrx::Uuid),)> {
    TableIterator::once((guarded(|| create_quota(max_requests_per_window, window_ms, active_concurrency_cap, quota_policy_id)),))
}
