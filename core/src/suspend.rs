//! The pure half of `ff_suspend`: checking its arguments, replaying the signals buffered on bound
//! pending waitpoints through the condition, and laying out what is written and returned (result
//! rows, the idempotency record, the fresh waitpoints). The store reads, signs and writes.

use crate::args::optional_text;
use crate::bindings::{self, BindingSpec, Bound};
use crate::condition::{self, Condition, Effect};
use crate::error::{required, WfError, WfResult};
use serde_json::{json, Value};
use uuid::Uuid;

/// The arguments that need no database, checked.
#[derive(Debug, Clone)]
pub struct SuspendRequest {
    pub condition: Condition,
    pub specs: Option<Vec<BindingSpec>>,
    /// `auto_resume` is stored as `auto_resume_with_timeout_signal`.
    pub timeout_behavior: &'static str,
    pub reason_code: &'static str,
    pub requested_by: &'static str,
}

/// Longest continuation a suspension keeps.
pub const MAX_CONTINUATION_BYTES: usize = 65_536;

fn canonical(value: Option<&str>, allowed: &[&'static str], field: &str) -> WfResult<&'static str> {
    let value = required(value, field)?;
    bindings::one_of(value, allowed, field)?;
    Ok(allowed.iter().copied().find(|a| *a == value).unwrap_or_default())
}

/// Check the condition, bindings and enum arguments (in that order), the idempotency key and the
/// continuation, and the timeout against `now_ms`.
#[allow(clippy::too_many_arguments)]
pub fn check(
    condition: Option<&Value>,
    waitpoints: Option<&Value>,
    timeout_at_ms: Option<i64>,
    timeout_behavior: Option<&str>,
    reason_code: Option<&str>,
    requested_by: Option<&str>,
    idempotency_key: Option<&str>,
    continuation: Option<&str>,
    now_ms: i64,
) -> WfResult<SuspendRequest> {
    let condition = Condition::parse(required(condition, "resume_condition")?)?;
    let specs = match waitpoints {
        None | Some(Value::Null) => None,
        Some(v) => Some(bindings::parse_specs(v)?),
    };
    let behavior = canonical(timeout_behavior, &bindings::TIMEOUT_BEHAVIORS, "timeout_behavior")?;
    let timeout_behavior = if behavior == "auto_resume" { "auto_resume_with_timeout_signal" } else { behavior };
    let reason_code = canonical(reason_code, &bindings::REASON_CODES, "reason_code")?;
    let requested_by = canonical(requested_by, &bindings::REQUESTED_BY, "requested_by")?;
    optional_text(idempotency_key, "idempotency_key", 256)?;
    if continuation.is_some_and(|c| c.len() > MAX_CONTINUATION_BYTES) {
        return Err(WfError::invalid_input("invalid_continuation", "continuation must be at most 64 KiB"));
    }
    bindings::validate_timeout(&condition, timeout_at_ms, now_ms)?;
    Ok(SuspendRequest { condition, specs, timeout_behavior, reason_code, requested_by })
}

/// What replaying the buffered signals decided.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Replay {
    /// The effect to record on each buffered signal, by seq.
    pub effects: Vec<(i64, Effect)>,
    /// The satisfying signals' seqs when the buffered signals already satisfy the condition.
    pub satisfied: Option<Vec<i64>>,
}

/// Replay `buffered` (in acceptance order) through `cond`: each signal gets the effect it would have
/// had if delivered after the suspend; once the condition is satisfied, the rest are duplicates.
pub fn replay(cond: &Condition, buffered: Vec<condition::Signal>) -> Replay {
    let mut counted: Vec<condition::Signal> = Vec::new();
    let mut out = Replay::default();
    for s in buffered {
        if out.satisfied.is_some() {
            out.effects.push((s.seq, Effect::AppendedToWaitpointDuplicate));
            continue;
        }
        let (effect, after) = condition::effect_of(cond, &counted, &s);
        out.effects.push((s.seq, effect));
        if effect == Effect::ResumeConditionSatisfied {
            out.satisfied = Some(after.satisfiers);
        }
        if effect.counts() {
            counted.push(s);
        }
    }
    out
}

/// A bound waitpoint with the key id and token it is returned with.
#[derive(Debug, Clone)]
pub struct Signed {
    pub bound: Bound,
    pub kid: String,
    pub token: String,
}

/// One row of `ff_suspend`'s result.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResultRow {
    pub outcome: &'static str,
    pub suspension_id: Uuid,
    pub waitpoint_id: Option<Uuid>,
    pub waitpoint_key: Option<String>,
    pub token: Option<String>,
}

/// A bound pending waitpoint's new state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingUpdate {
    pub waitpoint_id: Uuid,
    pub state: &'static str,
    pub close_reason: Option<&'static str>,
    pub required_signal_names: Vec<String>,
}

/// Everything the store writes and returns for one suspend.
#[derive(Debug, Clone)]
pub struct Layout {
    pub outcome: &'static str,
    pub rows: Vec<ResultRow>,
    /// Stored under the idempotency key: the rows without tokens (recomputed on replay).
    pub stored: Value,
    /// Fresh waitpoints to insert (`jsonb_to_recordset` records); none when already satisfied.
    pub fresh: Value,
    pub pending: Vec<PendingUpdate>,
}

/// The 16 hex characters of a token's digest that identify it in listings.
pub fn fingerprint(token: &str) -> String {
    token.rsplit_once(':').and_then(|(_, h)| h.get(..16)).unwrap_or_default().to_string()
}

/// Lay out a suspend of `signed` (primary first) under `suspension_id`.
pub fn layout(cond: &Condition, signed: &[Signed], suspension_id: Uuid, already_satisfied: bool) -> Layout {
    let outcome = if already_satisfied { "already_satisfied" } else { "suspended" };
    let (mut rows, mut stored, mut fresh, mut pending) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for s in signed {
        let b = &s.bound;
        let names = cond.required_names(&b.key);
        if b.pending {
            let (state, close_reason) = if already_satisfied { ("closed", Some("satisfied_before_suspend")) } else { ("active", None) };
            pending.push(PendingUpdate { waitpoint_id: b.id, state, close_reason, required_signal_names: names });
        } else if already_satisfied {
            continue; // fresh waitpoints are not created
        } else {
            fresh.push(json!({"waitpoint_id": b.id.to_string(), "waitpoint_key": b.key, "token_kid": s.kid,
                              "token_fingerprint": fingerprint(&s.token), "required_signal_names": names}));
        }
        stored.push(json!({"outcome": outcome, "suspension_id": suspension_id.to_string(), "waitpoint_id": b.id.to_string(),
                           "waitpoint_key": b.key, "token_kid": s.kid}));
        rows.push(ResultRow {
            outcome,
            suspension_id,
            waitpoint_id: Some(b.id),
            waitpoint_key: Some(b.key.clone()),
            token: Some(s.token.clone()),
        });
    }
    if rows.is_empty() {
        stored.push(json!({"outcome": outcome, "suspension_id": suspension_id.to_string()}));
        rows.push(ResultRow { outcome, suspension_id, waitpoint_id: None, waitpoint_key: None, token: None });
    }
    Layout { outcome, rows, stored: Value::Array(stored), fresh: Value::Array(fresh), pending }
}

/// One stored row of an idempotent replay; the token is recomputed from `token_kid`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredRow {
    pub outcome: String,
    pub suspension_id: Uuid,
    pub waitpoint_id: Option<Uuid>,
    pub waitpoint_key: Option<String>,
    pub token_kid: Option<String>,
}

/// Parse what [`layout`] stored.
pub fn parse_stored(stored: &Value) -> WfResult<Vec<StoredRow>> {
    let arr = stored.as_array().ok_or_else(|| WfError::corruption("suspend dedup row is not an array"))?;
    arr.iter()
        .map(|r| {
            let s = |k: &str| r.get(k).and_then(Value::as_str).map(str::to_string);
            let uuid = |k: &str| s(k).and_then(|x| Uuid::parse_str(&x).ok());
            Ok(StoredRow {
                outcome: s("outcome").unwrap_or_default(),
                suspension_id: uuid("suspension_id").ok_or_else(|| WfError::corruption("suspend dedup row without suspension id"))?,
                waitpoint_id: uuid("waitpoint_id"),
                waitpoint_key: s("waitpoint_key"),
                token_kid: s("token_kid"),
            })
        })
        .collect()
}

/// How long an idempotency record is kept: until the timeout + 60 s, or 7 days.
pub fn dedup_expires_at_ms(timeout_at_ms: Option<i64>, now_ms: i64) -> i64 {
    timeout_at_ms.map(|t| t.max(now_ms).saturating_add(60_000)).unwrap_or(now_ms.saturating_add(7 * 86_400_000))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cond(v: Value) -> Condition {
        Condition::parse(&v).unwrap()
    }

    fn signal(seq: i64, key: &str, name: &str) -> condition::Signal {
        condition::Signal {
            seq,
            signal_id: [seq as u8; 16],
            waitpoint_key: key.into(),
            name: name.into(),
            source_type: String::new(),
            source_identity: String::new(),
            correlation_id: None,
        }
    }

    fn single(key: &str) -> Value {
        json!({"Single": {"waitpoint_key": key, "matcher": "Wildcard"}})
    }

    #[test]
    fn check_canonicalises_auto_resume_and_names_bad_fields() {
        let c = single("k");
        let r = check(Some(&c), None, Some(5), Some("auto_resume"), Some("waiting_for_signal"), Some("worker"), None, None, 0).unwrap();
        assert_eq!(r.timeout_behavior, "auto_resume_with_timeout_signal");
        let detail = |b: Option<&str>, reason: Option<&str>| {
            check(Some(&c), None, None, b, reason, Some("worker"), None, None, 0).unwrap_err().detail.unwrap()
        };
        assert_eq!(detail(Some("nope"), Some("waiting_for_signal")), "invalid_timeout_behavior");
        assert_eq!(detail(Some("fail"), None), "reason_code_required");
        let long = "x".repeat(MAX_CONTINUATION_BYTES + 1);
        let e = check(Some(&c), None, None, Some("fail"), Some("manual_pause"), Some("worker"), None, Some(&long), 0).unwrap_err();
        assert_eq!(e.detail.as_deref(), Some("invalid_continuation"));
    }

    #[test]
    fn replay_marks_signals_after_satisfaction_as_duplicates() {
        let c = cond(single("k"));
        let r = replay(&c, vec![signal(1, "k", "a"), signal(2, "k", "b")]);
        assert_eq!(r.effects, vec![(1, Effect::ResumeConditionSatisfied), (2, Effect::AppendedToWaitpointDuplicate)]);
        assert_eq!(r.satisfied, Some(vec![1]));
        assert_eq!(replay(&c, vec![]), Replay::default());
    }

    #[test]
    fn layout_of_a_fresh_and_an_already_satisfied_suspend() {
        let c = cond(single("k"));
        let sid = Uuid::from_u128(7);
        let fresh = Signed {
            bound: Bound { id: Uuid::from_u128(1), key: "k".into(), pending: false },
            kid: "kid".into(),
            token: "kid:0123456789abcdef99".into(),
        };
        let l = layout(&c, std::slice::from_ref(&fresh), sid, false);
        assert_eq!(l.outcome, "suspended");
        assert_eq!(l.rows.len(), 1);
        assert_eq!(l.fresh[0]["token_fingerprint"], "0123456789abcdef");
        assert_eq!(parse_stored(&l.stored).unwrap()[0].token_kid.as_deref(), Some("kid"));
        let l = layout(&c, &[fresh], sid, true);
        assert_eq!((l.outcome, l.rows[0].waitpoint_id, l.fresh.as_array().unwrap().len()), ("already_satisfied", None, 0));
        let pending =
            Signed { bound: Bound { id: Uuid::from_u128(2), key: "k".into(), pending: true }, kid: "old".into(), token: "t".into() };
        let l = layout(&c, &[pending], sid, true);
        assert_eq!(l.pending[0].state, "closed");
        assert_eq!(l.rows[0].waitpoint_id, Some(Uuid::from_u128(2)));
    }

    #[test]
    fn dedup_records_outlive_the_timeout() {
        assert_eq!(dedup_expires_at_ms(Some(1_000), 5_000), 65_000);
        assert_eq!(dedup_expires_at_ms(None, 0), 7 * 86_400_000);
        // Found by the fuzz suite: a timeout at i64::MAX overflowed.
        assert_eq!(dedup_expires_at_ms(Some(i64::MAX), 0), i64::MAX);
    }
}
