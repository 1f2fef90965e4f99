//! Suspend rules as pure functions: the enum arguments, timeout checks, and how a suspend binds
//! waitpoints (derived from the condition, or FlowFabric's explicit binding form) — api.md
//! "Waitpoints, suspend, signals".

use crate::condition::Condition;
use crate::error::{WfError, WfResult};
use serde_json::Value;
use uuid::Uuid;

pub const TIMEOUT_BEHAVIORS: [&str; 6] = ["fail", "cancel", "expire", "auto_resume_with_timeout_signal", "auto_resume", "escalate"];
pub const REASON_CODES: [&str; 9] = [
    "waiting_for_signal",
    "waiting_for_approval",
    "waiting_for_callback",
    "waiting_for_tool_result",
    "waiting_for_operator_review",
    "paused_by_policy",
    "paused_by_budget",
    "step_boundary",
    "manual_pause",
];
pub const REQUESTED_BY: [&str; 4] = ["worker", "operator", "policy", "system_timeout_policy"];

/// How far in the past a timeout may lie before it is refused.
pub const TIMEOUT_PAST_TOLERANCE_MS: i64 = 600_000;

pub fn one_of(value: &str, allowed: &[&str], field: &str) -> WfResult<()> {
    if allowed.contains(&value) {
        Ok(())
    } else {
        Err(WfError::invalid_input(&format!("invalid_{field}"), format!("{field} must be one of {}", allowed.join(", "))))
    }
}

pub fn validate_timeout(cond: &Condition, timeout_at_ms: Option<i64>, now_ms: i64) -> WfResult<()> {
    match timeout_at_ms {
        None if *cond == Condition::TimeoutOnly => Err(WfError::invalid_input(
            "timeout_only_without_deadline",
            "timeout_only_without_deadline: a TimeoutOnly condition needs timeout_at_ms",
        )),
        Some(t) if t < now_ms - TIMEOUT_PAST_TOLERANCE_MS => {
            Err(WfError::invalid_input("timeout_at_in_past", "timeout_at_in_past: timeout_at_ms is more than 10 minutes in the past"))
        }
        _ => Ok(()),
    }
}

/// One element of the explicit `waitpoints` binding array.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BindingSpec {
    Fresh { waitpoint_id: Option<Uuid>, waitpoint_key: String },
    UsePending(Uuid),
}

fn bad(code: &str, what: &str) -> WfError {
    WfError::invalid_input(code, format!("{code}: {what}"))
}

pub fn parse_specs(v: &Value) -> WfResult<Vec<BindingSpec>> {
    let arr = v.as_array().ok_or_else(|| bad("invalid_waitpoints", "waitpoints must be a JSON array"))?;
    if arr.is_empty() {
        return Err(bad("waitpoints_empty", "waitpoints must bind at least one waitpoint"));
    }
    if arr.len() > 64 {
        return Err(bad("invalid_waitpoints", "at most 64 waitpoints"));
    }
    let uuid = |x: &Value| {
        x.as_str().and_then(|s| Uuid::parse_str(s).ok()).ok_or_else(|| bad("invalid_waitpoints", "waitpoint ids must be uuids"))
    };
    arr.iter()
        .map(|e| {
            let o = e.as_object().ok_or_else(|| bad("invalid_waitpoints", "each binding must be an object"))?;
            if let Some(p) = o.get("use_pending") {
                if o.len() != 1 {
                    return Err(bad("invalid_waitpoints", "use_pending stands alone"));
                }
                return Ok(BindingSpec::UsePending(uuid(p)?));
            }
            if o.keys().any(|k| k != "waitpoint_id" && k != "waitpoint_key") {
                return Err(bad("invalid_waitpoints", "a binding has waitpoint_key and optionally waitpoint_id"));
            }
            let key = match o.get("waitpoint_key") {
                Some(Value::String(k)) if !k.is_empty() && k.len() <= 256 => k.clone(),
                _ => return Err(bad("invalid_waitpoint_key", "waitpoint keys are 1-256 bytes")),
            };
            let id = match o.get("waitpoint_id") {
                None | Some(Value::Null) => None,
                Some(x) => Some(uuid(x)?),
            };
            Ok(BindingSpec::Fresh { waitpoint_id: id, waitpoint_key: key })
        })
        .collect()
}

/// A non-closed waitpoint the execution already has.
#[derive(Debug, Clone)]
pub struct ExistingWaitpoint {
    pub id: Uuid,
    pub key: String,
    pub pending: bool,
    pub expires_at_ms: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bound {
    pub id: Uuid,
    pub key: String,
    /// Binds an existing pending waitpoint (its buffered signals replay) rather than a fresh one.
    pub pending: bool,
}

/// Resolve the bindings of a suspend, primary first.
pub fn resolve(
    cond: &Condition,
    specs: Option<Vec<BindingSpec>>,
    existing: &[ExistingWaitpoint],
    now_ms: i64,
    mut new_id: impl FnMut() -> Uuid,
) -> WfResult<Vec<Bound>> {
    let referenced = cond.referenced_keys();
    let usable_pending = |w: &&ExistingWaitpoint| w.pending && w.expires_at_ms.is_none_or(|e| e > now_ms);
    let bound: Vec<Bound> = match specs {
        None => referenced
            .iter()
            .map(|k| match existing.iter().filter(usable_pending).find(|w| &w.key == k) {
                Some(w) => Bound { id: w.id, key: k.clone(), pending: true },
                None => Bound { id: new_id(), key: k.clone(), pending: false },
            })
            .collect(),
        Some(specs) => from_specs(cond, specs, existing, now_ms, &mut new_id)?,
    };
    check_against_condition(&referenced, &bound)?;
    Ok(bound)
}

/// Bindings given as specs: use_pending ones looked up among the existing waitpoints, fresh ones minted;
/// a Single condition's key is the primary binding's.
fn from_specs(
    cond: &Condition,
    specs: Vec<BindingSpec>,
    existing: &[ExistingWaitpoint],
    now_ms: i64,
    new_id: &mut impl FnMut() -> Uuid,
) -> WfResult<Vec<Bound>> {
    let mut out = Vec::with_capacity(specs.len());
    for s in specs {
        out.push(match s {
            BindingSpec::Fresh { waitpoint_id, waitpoint_key } => {
                Bound { id: waitpoint_id.unwrap_or_else(&mut *new_id), key: waitpoint_key, pending: false }
            }
            BindingSpec::UsePending(id) => {
                let w = existing
                    .iter()
                    .find(|w| w.id == id)
                    .ok_or_else(|| bad("invalid_waitpoint_for_execution", "use_pending names no open waitpoint of this execution"))?;
                if !w.pending {
                    return Err(bad("waitpoint_not_pending", "use_pending names a waitpoint that is already bound"));
                }
                if w.expires_at_ms.is_some_and(|e| e <= now_ms) {
                    return Err(bad("pending_waitpoint_expired", "the pending waitpoint has expired"));
                }
                Bound { id, key: w.key.clone(), pending: true }
            }
        });
    }
    if let Condition::Single { waitpoint_key, .. } = cond {
        if out.first().is_some_and(|b| &b.key != waitpoint_key) {
            return Err(bad("waitpoint_key_mismatch", "the Single condition's key differs from the primary binding"));
        }
    }
    Ok(out)
}

/// Every referenced key bound, every binding referenced, each key and id bound once.
fn check_against_condition(referenced: &[String], bound: &[Bound]) -> WfResult<()> {
    for k in referenced {
        if !bound.iter().any(|b| &b.key == k) {
            return Err(WfError::invalid_input(
                "referenced_waitpoint_key_missing_binding",
                format!("referenced_waitpoint_key_missing_binding: {k}"),
            ));
        }
    }
    for (i, b) in bound.iter().enumerate() {
        if !referenced.contains(&b.key) {
            return Err(WfError::invalid_input(
                "extra_binding_not_referenced_by_condition",
                format!("extra_binding_not_referenced_by_condition: {}", b.key),
            ));
        }
        if bound[..i].iter().any(|o| o.key == b.key || o.id == b.id) {
            return Err(bad("duplicate_binding", "each waitpoint key and id may be bound once"));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn cond(s: &str) -> Condition {
        Condition::parse_json(s).unwrap()
    }
    fn ids() -> impl FnMut() -> Uuid {
        let mut n = 0u128;
        move || {
            n += 1;
            Uuid::from_u128(n)
        }
    }
    fn detail(e: WfError) -> String {
        e.detail.unwrap()
    }

    const SINGLE: &str = r#"{"Single":{"waitpoint_key":"k","matcher":"Wildcard"}}"#;
    const TWO: &str = r#"{"Composite":{"kind":"Count","n":1,"count_kind":"DistinctWaitpoints","waitpoints":["a","b"]}}"#;

    #[test]
    fn derived_bindings_reuse_pending_in_reference_order() {
        let pending = ExistingWaitpoint { id: Uuid::from_u128(99), key: "b".into(), pending: true, expires_at_ms: Some(1000) };
        let b = resolve(&cond(TWO), None, std::slice::from_ref(&pending), 10, ids()).unwrap();
        assert_eq!(
            b,
            vec![
                Bound { id: Uuid::from_u128(1), key: "a".into(), pending: false },
                Bound { id: Uuid::from_u128(99), key: "b".into(), pending: true }
            ]
        );
        // An expired pending waitpoint is not reused.
        let b = resolve(&cond(TWO), None, &[pending], 2000, ids()).unwrap();
        assert!(!b[1].pending);
        assert!(resolve(&Condition::OperatorOnly, None, &[], 0, ids()).unwrap().is_empty());
    }

    #[test]
    fn explicit_binding_checks() {
        let specs = |v: Value| Some(parse_specs(&v).unwrap());
        assert_eq!(detail(parse_specs(&json!([])).unwrap_err()), "waitpoints_empty");
        assert_eq!(
            detail(resolve(&cond(SINGLE), specs(json!([{"waitpoint_key": "x"}])), &[], 0, ids()).unwrap_err()),
            "waitpoint_key_mismatch"
        );
        assert_eq!(
            detail(resolve(&cond(TWO), specs(json!([{"waitpoint_key": "a"}])), &[], 0, ids()).unwrap_err()),
            "referenced_waitpoint_key_missing_binding"
        );
        assert_eq!(
            detail(
                resolve(&cond(TWO), specs(json!([{"waitpoint_key": "a"}, {"waitpoint_key": "b"}, {"waitpoint_key": "c"}])), &[], 0, ids())
                    .unwrap_err()
            ),
            "extra_binding_not_referenced_by_condition"
        );
        let other = Uuid::from_u128(7).to_string();
        assert_eq!(
            detail(resolve(&cond(SINGLE), specs(json!([{"use_pending": other}])), &[], 0, ids()).unwrap_err()),
            "invalid_waitpoint_for_execution"
        );
        let active = ExistingWaitpoint { id: Uuid::from_u128(7), key: "k".into(), pending: false, expires_at_ms: None };
        assert_eq!(
            detail(resolve(&cond(SINGLE), specs(json!([{"use_pending": other}])), &[active], 0, ids()).unwrap_err()),
            "waitpoint_not_pending"
        );
        let expired = ExistingWaitpoint { id: Uuid::from_u128(7), key: "k".into(), pending: true, expires_at_ms: Some(5) };
        assert_eq!(
            detail(resolve(&cond(SINGLE), specs(json!([{"use_pending": other}])), std::slice::from_ref(&expired), 9, ids()).unwrap_err()),
            "pending_waitpoint_expired"
        );
        let ok = resolve(&cond(SINGLE), specs(json!([{"use_pending": other}])), &[expired], 1, ids()).unwrap();
        assert_eq!(ok, vec![Bound { id: Uuid::from_u128(7), key: "k".into(), pending: true }]);
        let fixed = Uuid::from_u128(42).to_string();
        let b = resolve(&cond(SINGLE), specs(json!([{"waitpoint_id": fixed, "waitpoint_key": "k"}])), &[], 0, ids()).unwrap();
        assert_eq!(b[0].id, Uuid::from_u128(42));
    }

    #[test]
    fn enums_and_timeouts() {
        assert!(one_of("auto_resume", &TIMEOUT_BEHAVIORS, "timeout_behavior").is_ok());
        assert_eq!(detail(one_of("nap", &REASON_CODES, "reason_code").unwrap_err()), "invalid_reason_code");
        assert_eq!(detail(validate_timeout(&Condition::TimeoutOnly, None, 0).unwrap_err()), "timeout_only_without_deadline");
        assert_eq!(detail(validate_timeout(&cond(SINGLE), Some(0), 600_001).unwrap_err()), "timeout_at_in_past");
        assert!(validate_timeout(&cond(SINGLE), Some(1), 600_001).is_ok());
    }
}
