//! Budgets and quotas (semantics §9): create a budget, report usage, read a budget's status, create
//! a quota policy. Admission itself is part of the claim statement (`claims`); decisions come from
//! `admission` (core).

use crate::admission::{self, BudgetView};
use crate::checks::required_text;
use crate::error::{required, WfError, WfResult};
use crate::postgres::args::{ex_key, new_pg_uuid, parse_execution_id};
use crate::postgres::statement::now_ms;
use crate::statement;
use crate::store::executions::lock_leased;
use pgrx::prelude::*;
use pgrx::spi::SpiClient;
use std::collections::BTreeMap;

statement! {
    mod insert_budget = "budgets/insert_budget.sql";
    args<'a> { budget_id: &'a str, hard_limits: pgrx::JsonB, soft_limits: pgrx::JsonB, reset_interval_ms: Option<i64>, now_ms: i64 }
    row { budget_id: String }
}
statement! {
    mod usage_dedup = "budgets/usage_dedup.sql";
    args<'a> { partition_key: i16, execution_id: pgrx::Uuid, dedup_key: &'a str, now_ms: i64 }
    row { dedup_key: String }
}
statement! {
    mod reset_due = "budgets/reset_due.sql";
    args { budget_ids: Vec<String>, now_ms: i64 }
    row {}
}
statement! {
    mod add_usage = "budgets/add_usage.sql";
    args { budget_ids: Vec<String>, usage: pgrx::JsonB }
    row {}
}
statement! {
    mod budget_views = "budgets/budget_views.sql";
    args { budget_ids: Vec<String> }
    row { budget_id: String, hard_limits: pgrx::JsonB, soft_limits: pgrx::JsonB, used: pgrx::JsonB, next_reset_at_ms: Option<i64> }
}
statement! {
    mod insert_quota = "budgets/insert_quota.sql";
    args { quota_policy_id: pgrx::Uuid, max_requests_per_window: Option<i32>, window_ms: i64, active_concurrency_cap: Option<i32>, now_ms: i64 }
    row {}
}

fn amounts(v: &serde_json::Value) -> BTreeMap<String, i64> {
    v.as_object().map(|o| o.iter().filter_map(|(k, x)| x.as_i64().map(|n| (k.clone(), n))).collect()).unwrap_or_default()
}

fn budget_views(client: &SpiClient<'_>, budget_ids: &[String]) -> WfResult<Vec<BudgetView>> {
    Ok(budget_views::all(client, budget_views::Args { budget_ids: budget_ids.to_vec() })?
        .into_iter()
        .map(|r| BudgetView {
            hard: amounts(&r.hard_limits.0),
            soft: amounts(&r.soft_limits.0),
            used: amounts(&r.used.0),
            next_reset_at_ms: r.next_reset_at_ms,
        })
        .collect())
}

/// `ff_create_budget`: (budget_id, created).
pub fn create_budget(
    budget_id: Option<&str>,
    hard: Option<serde_json::Value>,
    soft: Option<serde_json::Value>,
    reset: Option<i64>,
) -> WfResult<(String, bool)> {
    let budget_id = required_text(budget_id, "budget_id", 256)?;
    let hard = required(hard, "hard_limits")?;
    admission::parse_amounts(&hard, "hard_limits")?;
    let soft = soft.unwrap_or_else(|| serde_json::json!({}));
    admission::parse_amounts(&soft, "soft_limits")?;
    if let Some(r) = reset {
        crate::lifecycle::validate_ms(r, "reset_interval_ms", 1)?;
    }
    Spi::connect_mut(|client| {
        let args = insert_budget::Args {
            budget_id,
            hard_limits: pgrx::JsonB(hard),
            soft_limits: pgrx::JsonB(soft),
            reset_interval_ms: reset,
            now_ms: now_ms(),
        };
        Ok((budget_id.to_string(), insert_budget::optional(client, args)?.is_some()))
    })
}

/// `ff_report_usage`'s row: decision, dimension, retry_after_ms (for `throttled`).
pub type UsageRow = (String, Option<String>, Option<i64>);

/// `ff_report_usage`: (decision, dimension).
pub fn report_usage(
    execution_id: Option<&str>,
    lease_id: Option<pgrx::Uuid>,
    lease_epoch: Option<i64>,
    usage: Option<serde_json::Value>,
    dedup_key: Option<&str>,
) -> WfResult<UsageRow> {
    let id = parse_execution_id(execution_id)?;
    let usage = required(usage, "usage")?;
    admission::parse_amounts(&usage, "usage")?;
    crate::checks::optional_text(dedup_key, "dedup_key", 256)?;
    let now = now_ms();
    Spi::connect_mut(|client| {
        let ex = lock_leased(client, &id, lease_id, lease_epoch, now)?;
        if let Some(dedup_key) = dedup_key {
            let (partition_key, execution_id) = ex_key(&id);
            if usage_dedup::optional(client, usage_dedup::Args { partition_key, execution_id, dedup_key, now_ms: now })?.is_none() {
                return Ok(("duplicate".to_string(), None, None));
            }
        }
        if ex.budget_ids.is_empty() {
            return Ok(("admitted".to_string(), None, None));
        }
        reset_due::execute(client, reset_due::Args { budget_ids: ex.budget_ids.clone(), now_ms: now })?;
        add_usage::execute(client, add_usage::Args { budget_ids: ex.budget_ids.clone(), usage: pgrx::JsonB(usage) })?;
        let d = admission::usage_decision(&budget_views(client, &ex.budget_ids)?, now);
        Ok((d.decision().to_string(), d.dimension().map(str::to_string), d.retry_after_ms()))
    })
}

/// `ff_budget_status`'s row: dimension, used, soft_limit, hard_limit.
pub type StatusRow = (String, i64, Option<i64>, Option<i64>);

pub fn budget_status(budget_id: Option<&str>) -> WfResult<Vec<StatusRow>> {
    let budget_id = required_text(budget_id, "budget_id", 256)?;
    Spi::connect(|client| {
        let v = budget_views(client, &[budget_id.to_string()])?.into_iter().next().ok_or_else(|| WfError::not_found("budget"))?;
        let mut dims: Vec<&String> = v.hard.keys().chain(v.soft.keys()).chain(v.used.keys()).collect();
        dims.sort();
        dims.dedup();
        Ok(dims
            .into_iter()
            .map(|d| (d.clone(), v.used.get(d).copied().unwrap_or(0), v.soft.get(d).copied(), v.hard.get(d).copied()))
            .collect())
    })
}

/// `ff_create_quota_policy`: the policy's id.
pub fn create_quota(max_requests: Option<i32>, window_ms: Option<i64>, cap: Option<i32>, id: Option<pgrx::Uuid>) -> WfResult<pgrx::Uuid> {
    if max_requests.is_some_and(|m| m < 0) {
        return Err(WfError::invalid_input("invalid_max_requests_per_window", "max_requests_per_window must be >= 0"));
    }
    if cap.is_some_and(|c| c < 0) {
        return Err(WfError::invalid_input("invalid_active_concurrency_cap", "active_concurrency_cap must be >= 0"));
    }
    let window_ms = crate::lifecycle::required_ms(window_ms, "window_ms", 1)?;
    let quota_policy_id = id.unwrap_or_else(new_pg_uuid);
    Spi::connect_mut(|client| {
        let args = insert_quota::Args {
            quota_policy_id,
            max_requests_per_window: max_requests,
            window_ms,
            active_concurrency_cap: cap,
            now_ms: now_ms(),
        };
        insert_quota::execute(client, args)?;
        Ok(quota_policy_id)
    })
}
