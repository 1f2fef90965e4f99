//! Claim admission and usage decisions (semantics §9) as pure functions: budget limit documents,
//! usage reports, the soft/hard breach decision, and quota admission.

use crate::error::{WfError, WfResult};
use serde_json::Value;
use std::collections::BTreeMap;

/// Largest value a limit or usage delta may have (stored as bigint).
pub const MAX_AMOUNT: u64 = i64::MAX as u64;

/// Parse `{dimension: u64}`; dimensions are 1–256 bytes; at most 64 of them.
pub fn parse_amounts(value: &Value, field: &str) -> WfResult<BTreeMap<String, i64>> {
    let bad = |why: &str| WfError::invalid_input(&format!("invalid_{field}"), format!("{field} {why}"));
    let obj = value.as_object().ok_or_else(|| bad("must be a JSON object {dimension: integer}"))?;
    if obj.len() > 64 {
        return Err(bad("has more than 64 dimensions"));
    }
    let mut out = BTreeMap::new();
    for (k, v) in obj {
        if k.is_empty() || k.len() > 256 {
            return Err(bad("has a dimension name that is empty or longer than 256 bytes"));
        }
        let n = v.as_u64().filter(|n| *n <= MAX_AMOUNT).ok_or_else(|| bad("values must be integers from 0 to 2^63-1"))?;
        out.insert(k.clone(), n as i64);
    }
    Ok(out)
}

/// A budget's limits and current usage.
#[derive(Debug, Clone, Default)]
pub struct BudgetView {
    pub hard: BTreeMap<String, i64>,
    pub soft: BTreeMap<String, i64>,
    pub used: BTreeMap<String, i64>,
    /// For a budget that resets (`reset_interval_ms`): when its usage next starts again from zero.
    /// Such a budget is a rate window: reaching its hard limit throttles until then.
    pub next_reset_at_ms: Option<i64>,
}

/// Admission: every hard dimension has `usage < limit`.
pub fn budget_admits(b: &BudgetView) -> bool {
    b.hard.iter().all(|(dim, limit)| b.used.get(dim).copied().unwrap_or(0) < *limit)
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UsageDecision {
    Admitted,
    SoftBreach(String),
    HardBreach(String),
    /// A hard limit of a budget that resets is reached: come back after `retry_after_ms`.
    Throttled {
        dimension: String,
        retry_after_ms: i64,
    },
}

impl UsageDecision {
    pub fn decision(&self) -> &'static str {
        match self {
            UsageDecision::Admitted => "admitted",
            UsageDecision::SoftBreach(_) => "soft_breach",
            UsageDecision::HardBreach(_) => "hard_breach",
            UsageDecision::Throttled { .. } => "throttled",
        }
    }

    pub fn dimension(&self) -> Option<&str> {
        match self {
            UsageDecision::Admitted => None,
            UsageDecision::SoftBreach(d) | UsageDecision::HardBreach(d) => Some(d),
            UsageDecision::Throttled { dimension, .. } => Some(dimension),
        }
    }

    pub fn retry_after_ms(&self) -> Option<i64> {
        match self {
            UsageDecision::Throttled { retry_after_ms, .. } => Some(*retry_after_ms),
            _ => None,
        }
    }
}

/// After a report: a hard limit reached on a budget that never resets is a hard breach (the first
/// by budget, then dimension name); else a hard limit reached on budgets that reset is `throttled`
/// (the first such dimension) until the last of those budgets resets; else soft breach if some usage
/// ≥ a soft limit; else admitted.
pub fn usage_decision(budgets: &[BudgetView], now_ms: i64) -> UsageDecision {
    let used = |b: &BudgetView, d: &str| b.used.get(d).copied().unwrap_or(0);
    let breached = |b: &BudgetView| b.hard.iter().find(|(d, l)| used(b, d) >= **l).map(|(d, _)| d.clone());
    if let Some(d) = budgets.iter().filter(|b| b.next_reset_at_ms.is_none()).find_map(breached) {
        return UsageDecision::HardBreach(d);
    }
    let mut throttled: Option<(String, i64)> = None;
    for b in budgets {
        if let (Some(d), Some(at)) = (breached(b), b.next_reset_at_ms) {
            let after = (at - now_ms).max(0);
            throttled = Some(match throttled {
                None => (d, after),
                Some((first, later)) => (first, later.max(after)),
            });
        }
    }
    if let Some((dimension, retry_after_ms)) = throttled {
        return UsageDecision::Throttled { dimension, retry_after_ms };
    }
    for b in budgets {
        if let Some((d, _)) = b.soft.iter().find(|(d, l)| used(b, d) >= **l) {
            return UsageDecision::SoftBreach(d.clone());
        }
    }
    UsageDecision::Admitted
}

/// A quota policy and its current counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QuotaView {
    pub max_requests_per_window: Option<i32>,
    pub active_concurrency_cap: Option<i32>,
    /// Admitted claims within the sliding window.
    pub requests_in_window: i64,
    /// Executions of the policy leased or reserved by an unexpired grant.
    pub active: i64,
}

pub fn quota_admits(q: &QuotaView) -> bool {
    q.max_requests_per_window.is_none_or(|m| q.requests_in_window < m as i64)
        && q.active_concurrency_cap.is_none_or(|c| q.active < c as i64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn m(pairs: &[(&str, i64)]) -> BTreeMap<String, i64> {
        pairs.iter().map(|(k, v)| (k.to_string(), *v)).collect()
    }

    #[test]
    fn amounts_parse_and_validate() {
        assert_eq!(parse_amounts(&json!({"tokens": 10, "usd": 0}), "hard_limits").unwrap(), m(&[("tokens", 10), ("usd", 0)]));
        for bad in [
            json!([]),
            json!({"a": -1}),
            json!({"a": 1.5}),
            json!({"a": "1"}),
            json!({"": 1}),
            json!({"a": 9223372036854775808u64}),
            json!(null),
        ] {
            let e = parse_amounts(&bad, "hard_limits").unwrap_err();
            assert_eq!(e.detail.as_deref(), Some("invalid_hard_limits"), "{bad}");
        }
    }

    #[test]
    fn budget_admission_is_strictly_below_hard_limit() {
        let mut b = BudgetView { hard: m(&[("tokens", 10)]), ..Default::default() };
        assert!(budget_admits(&b));
        b.used = m(&[("tokens", 9)]);
        assert!(budget_admits(&b));
        b.used = m(&[("tokens", 10)]);
        assert!(!budget_admits(&b));
        // Soft limits never refuse admission.
        let s = BudgetView { soft: m(&[("t", 1)]), used: m(&[("t", 5)]), ..Default::default() };
        assert!(budget_admits(&s));
    }

    #[test]
    fn usage_decisions() {
        let b = BudgetView { hard: m(&[("t", 10)]), soft: m(&[("t", 5)]), used: m(&[("t", 4)]), next_reset_at_ms: None };
        assert_eq!(usage_decision(std::slice::from_ref(&b), 0), UsageDecision::Admitted);
        let b5 = BudgetView { used: m(&[("t", 5)]), ..b.clone() };
        assert_eq!(usage_decision(&[b5], 0), UsageDecision::SoftBreach("t".into()));
        let b10 = BudgetView { used: m(&[("t", 10)]), ..b.clone() };
        assert_eq!(usage_decision(std::slice::from_ref(&b10), 0), UsageDecision::HardBreach("t".into()));
        // A budget that resets is a rate window: throttled until the last breached one resets.
        let r1 = BudgetView { next_reset_at_ms: Some(1_500), ..b10.clone() };
        let r2 = BudgetView { hard: m(&[("a", 1)]), used: m(&[("a", 1)]), next_reset_at_ms: Some(4_000), ..b.clone() };
        let d = usage_decision(&[r2.clone(), r1.clone()], 1_000);
        assert_eq!(d, UsageDecision::Throttled { dimension: "a".into(), retry_after_ms: 3_000 });
        assert_eq!((d.decision(), d.retry_after_ms()), ("throttled", Some(3_000)));
        // A budget that never resets wins: waiting would not help.
        assert_eq!(usage_decision(&[r1.clone(), b10.clone()], 1_000), UsageDecision::HardBreach("t".into()));
        // A reset already due (not yet applied) throttles for 0 ms.
        assert_eq!(usage_decision(&[r1], 2_000), UsageDecision::Throttled { dimension: "t".into(), retry_after_ms: 0 });
        assert_eq!(usage_decision(&[b10], 0).decision(), "hard_breach");
        assert_eq!(usage_decision(&[], 0), UsageDecision::Admitted);
    }

    #[test]
    fn quota_decisions() {
        let q = QuotaView { max_requests_per_window: Some(2), active_concurrency_cap: Some(1), requests_in_window: 1, active: 0 };
        assert!(quota_admits(&q));
        assert!(!quota_admits(&QuotaView { active: 1, ..q }));
        assert!(!quota_admits(&QuotaView { requests_in_window: 2, ..q }));
        assert!(quota_admits(&QuotaView {
            max_requests_per_window: None,
            active_concurrency_cap: None,
            requests_in_window: 99,
            active: 99
        }));
        assert!(!quota_admits(&QuotaView { active_concurrency_cap: Some(0), ..q }));
    }
}
