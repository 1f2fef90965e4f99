//! `ff_create_execution`'s arguments, checked and normalised before anything is written: the lane,
//! capabilities (sorted, de-duplicated), budgets, tags, attempts and back-off, the execution id
//! (given or minted in the lane's or flow's partition), and whether the execution starts delayed.

use crate::args::optional_text;
use crate::error::{required, WfError, WfResult};
use crate::ids::{self, ExecutionId};
use crate::lifecycle::{self, States};
use serde_json::Value;

/// The arguments as given (NULL = `None`).
#[derive(Debug, Default, Clone)]
pub struct CreateArgs<'a> {
    pub lane_id: Option<&'a str>,
    pub required_capabilities: Option<Vec<String>>,
    pub namespace: Option<&'a str>,
    pub tags: Option<Value>,
    pub budget_ids: Option<Vec<String>>,
    pub delay_until_ms: Option<i64>,
    pub max_attempts: Option<i32>,
    pub retry_backoff_ms: Option<i64>,
    pub idempotency_key: Option<&'a str>,
    pub execution_id: Option<&'a str>,
    pub flow_id: Option<uuid::Uuid>,
    pub deadline_at_ms: Option<i64>,
}

/// What the store writes.
#[derive(Debug, Clone, PartialEq)]
pub struct NewExecution<'a> {
    pub id: ExecutionId,
    pub lane_id: &'a str,
    /// Sorted and de-duplicated.
    pub required_capabilities: Vec<String>,
    pub tags: Value,
    /// As given (order kept).
    pub budget_ids: Vec<String>,
    /// Sorted and de-duplicated: the budgets that must exist.
    pub distinct_budget_ids: Vec<String>,
    pub states: States,
    /// Set when the execution starts delayed.
    pub eligible_at_ms: Option<i64>,
    pub max_attempts: i32,
    pub retry_backoff_ms: i64,
    /// When the execution expires if it is not terminal by then.
    pub deadline_at_ms: Option<i64>,
}

/// Most budgets an execution may draw on.
pub const MAX_BUDGETS: usize = 64;
/// Most attempts an execution may have.
pub const MAX_ATTEMPTS: i32 = 100_000;

/// Check and normalise the arguments at `now_ms`.
pub fn validate(a: CreateArgs<'_>, now_ms: i64) -> WfResult<NewExecution<'_>> {
    let lane_id = required(a.lane_id, "lane_id")?;
    ids::validate_lane_id(lane_id)?;
    let mut caps = a.required_capabilities.unwrap_or_default();
    ids::validate_capabilities(&caps, "required_capabilities")?;
    optional_text(a.namespace, "namespace", 256)?;
    optional_text(a.idempotency_key, "idempotency_key", 256)?;
    let budget_ids = a.budget_ids.unwrap_or_default();
    if budget_ids.len() > MAX_BUDGETS || budget_ids.iter().any(|b| b.is_empty() || b.len() > 256) {
        return Err(WfError::invalid_input("invalid_budget_ids", "budget_ids: at most 64 ids of 1-256 bytes"));
    }
    let tags = a.tags.unwrap_or_else(|| serde_json::json!({}));
    if !tags.is_object() {
        return Err(WfError::invalid_input("invalid_tags", "tags must be a JSON object"));
    }
    let max_attempts = a.max_attempts.unwrap_or(1);
    if !(1..=MAX_ATTEMPTS).contains(&max_attempts) {
        return Err(WfError::invalid_input("invalid_max_attempts", "max_attempts must be between 1 and 100000"));
    }
    let retry_backoff_ms = a.retry_backoff_ms.unwrap_or(1000);
    lifecycle::validate_ms(retry_backoff_ms, "retry_backoff_ms", 0)?;
    let id = match a.execution_id {
        Some(text) => ExecutionId::parse(text)?,
        None => ExecutionId::mint(lane_id, a.flow_id.as_ref()),
    };
    if a.deadline_at_ms.is_some_and(|d| d <= now_ms) {
        return Err(WfError::invalid_input("deadline_in_past", "deadline_at_ms must be in the future"));
    }
    let delayed = a.delay_until_ms.is_some_and(|d| d > now_ms);
    caps.sort();
    caps.dedup();
    let mut distinct_budget_ids = budget_ids.clone();
    distinct_budget_ids.sort();
    distinct_budget_ids.dedup();
    Ok(NewExecution {
        id,
        lane_id,
        required_capabilities: caps,
        tags,
        budget_ids,
        distinct_budget_ids,
        states: lifecycle::created(delayed),
        eligible_at_ms: if delayed { a.delay_until_ms } else { None },
        max_attempts,
        retry_backoff_ms,
        deadline_at_ms: a.deadline_at_ms,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(lane: &str) -> CreateArgs<'_> {
        CreateArgs { lane_id: Some(lane), ..Default::default() }
    }

    #[test]
    fn a_deadline_must_be_in_the_future() {
        let past = CreateArgs { deadline_at_ms: Some(1_000), ..args("lane") };
        assert_eq!(validate(past, 1_000).unwrap_err().detail.as_deref(), Some("deadline_in_past"));
        let future = CreateArgs { deadline_at_ms: Some(1_001), ..args("lane") };
        assert_eq!(validate(future, 1_000).unwrap().deadline_at_ms, Some(1_001));
    }

    #[test]
    fn defaults_and_normalisation() {
        let a = CreateArgs {
            required_capabilities: Some(vec!["b".into(), "a".into(), "b".into()]),
            budget_ids: Some(vec!["y".into(), "x".into(), "y".into()]),
            ..args("lane")
        };
        let n = validate(a, 1_000).unwrap();
        assert_eq!(n.required_capabilities, ["a", "b"]);
        assert_eq!(n.budget_ids, ["y", "x", "y"]);
        assert_eq!(n.distinct_budget_ids, ["x", "y"]);
        assert_eq!(n.tags, serde_json::json!({}));
        assert_eq!((n.max_attempts, n.retry_backoff_ms, n.eligible_at_ms), (1, 1000, None));
        assert_eq!(n.states, lifecycle::created(false));
        assert_eq!(n.id.partition, ids::partition_for_lane("lane"));
    }

    #[test]
    fn a_future_delay_starts_delayed_and_a_past_one_does_not() {
        let n = validate(CreateArgs { delay_until_ms: Some(5_000), ..args("l") }, 1_000).unwrap();
        assert_eq!((n.states, n.eligible_at_ms), (lifecycle::created(true), Some(5_000)));
        let n = validate(CreateArgs { delay_until_ms: Some(500), ..args("l") }, 1_000).unwrap();
        assert_eq!((n.states, n.eligible_at_ms), (lifecycle::created(false), None));
    }

    #[test]
    fn bad_arguments_name_their_field() {
        let detail = |a: CreateArgs<'_>| validate(a, 0).unwrap_err().detail.unwrap();
        assert_eq!(detail(CreateArgs::default()), "lane_id_required");
        assert_eq!(detail(CreateArgs { tags: Some(serde_json::json!([1])), ..args("l") }), "invalid_tags");
        assert_eq!(detail(CreateArgs { max_attempts: Some(0), ..args("l") }), "invalid_max_attempts");
        assert_eq!(detail(CreateArgs { budget_ids: Some(vec![String::new()]), ..args("l") }), "invalid_budget_ids");
        assert_eq!(detail(CreateArgs { retry_backoff_ms: Some(-1), ..args("l") }), "invalid_retry_backoff_ms");
        assert_eq!(detail(CreateArgs { namespace: Some(""), ..args("l") }), "invalid_namespace");
    }
}
