//! A typed builder for resume conditions, serialised to the API's JSON (semantics §5) by the
//! core crate's `condition` module (ff-engine-core), so client and server agree byte for byte.

use crate::engine_condition::{Condition, CountKind, Matcher};
use crate::{Error, Result};

/// Which signals a node counts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SignalMatcher {
    /// Exactly this signal name.
    Name(String),
    /// Signals delivered with exactly this correlation id.
    Correlation(String),
    /// Any signal name.
    Any,
}

impl SignalMatcher {
    /// Match the signal name `name` exactly.
    pub fn name(name: impl Into<String>) -> SignalMatcher {
        SignalMatcher::Name(name.into())
    }

    /// Match the signals delivered with `correlation_id`.
    pub fn correlation(correlation_id: impl Into<String>) -> SignalMatcher {
        SignalMatcher::Correlation(correlation_id.into())
    }

    fn to_engine(&self) -> Matcher {
        match self {
            SignalMatcher::Name(n) => Matcher::ByName(n.clone()),
            SignalMatcher::Correlation(c) => Matcher::ByCorrelation(c.clone()),
            SignalMatcher::Any => Matcher::Wildcard,
        }
    }
}

/// What a Count node counts as distinct.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Distinct {
    /// Signals on n different waitpoints.
    Waitpoints,
    /// n different signals (by id).
    Signals,
    /// Signals from n different sources (`source_type`, `source_identity`).
    Sources,
}

/// A resume condition: when the signals received satisfy it, the suspended execution resumes.
///
/// ```
/// use ff_engine_client::{ResumeCondition, Distinct, SignalMatcher};
/// // "approved" on waitpoint `approval`, AND 2 of 3 reviewers from distinct sources.
/// let c = ResumeCondition::all_of([
///     ResumeCondition::single("approval", SignalMatcher::name("approved")),
///     ResumeCondition::count(2, Distinct::Sources, ["r1", "r2", "r3"]).matching(SignalMatcher::name("lgtm")),
/// ]);
/// assert!(c.to_json().to_string().starts_with(r#"{"Composite":{"kind":"AllOf""#));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResumeCondition(Condition);

impl ResumeCondition {
    /// Satisfied by one signal on `waitpoint_key` that passes `matcher`.
    pub fn single(waitpoint_key: impl Into<String>, matcher: SignalMatcher) -> ResumeCondition {
        ResumeCondition(Condition::Single { waitpoint_key: waitpoint_key.into(), matcher: matcher.to_engine() })
    }

    /// Satisfied when every member is.
    pub fn all_of(members: impl IntoIterator<Item = ResumeCondition>) -> ResumeCondition {
        ResumeCondition(Condition::AllOf(members.into_iter().map(|m| m.0).collect()))
    }

    /// Satisfied by `n` signals, distinct by `distinct`, on any of `waitpoint_keys`. Narrow the names with
    /// [`Self::matching`].
    pub fn count<K: Into<String>>(n: u32, distinct: Distinct, waitpoint_keys: impl IntoIterator<Item = K>) -> ResumeCondition {
        let kind = match distinct {
            Distinct::Waitpoints => CountKind::DistinctWaitpoints,
            Distinct::Signals => CountKind::DistinctSignals,
            Distinct::Sources => CountKind::DistinctSources,
        };
        ResumeCondition(Condition::Count { n, kind, matcher: None, waitpoints: waitpoint_keys.into_iter().map(Into::into).collect() })
    }

    /// Any one signal on any of `waitpoint_keys` (there is no AnyOf node: this is Count n=1).
    pub fn any_of<K: Into<String>>(waitpoint_keys: impl IntoIterator<Item = K>) -> ResumeCondition {
        Self::count(1, Distinct::Waitpoints, waitpoint_keys)
    }

    /// Satisfied when `n` children signalling the waitpoint `waitpoint_key` have ended, whatever
    /// their outcome (children created with [`crate::NewExecution::parent`]; each counts once). Narrow
    /// it with [`Self::matching`], e.g. `SignalMatcher::name("child_completed")`.
    pub fn children(n: u32, waitpoint_key: impl Into<String>) -> ResumeCondition {
        Self::count(n, Distinct::Sources, [waitpoint_key.into()])
    }

    /// Only an operator's `ff_resume_execution` resumes it.
    pub fn operator_only() -> ResumeCondition {
        ResumeCondition(Condition::OperatorOnly)
    }

    /// Only its timeout resumes it (with `auto_resume…` timeout behaviours).
    pub fn timeout_only() -> ResumeCondition {
        ResumeCondition(Condition::TimeoutOnly)
    }

    /// For a Count node: count only signals that pass `matcher` (no effect on other nodes).
    pub fn matching(mut self, matcher: SignalMatcher) -> ResumeCondition {
        if let Condition::Count { matcher: m, .. } = &mut self.0 {
            *m = Some(matcher.to_engine());
        }
        self
    }

    /// The API's JSON form, as `ff_suspend(resume_condition => …)` takes it.
    pub fn to_json(&self) -> serde_json::Value {
        self.0.to_json()
    }

    /// Parse the JSON form, with the server's validation (`count_n_zero`, depth, size, …).
    pub fn from_json(json: &serde_json::Value) -> Result<ResumeCondition> {
        Condition::parse(json)
            .map(ResumeCondition)
            .map_err(|e| Error::InvalidInput(crate::ServerError { message: e.message, detail: e.detail }))
    }

    /// Check the condition as the server will, without a round trip.
    pub fn validate(&self) -> Result<()> {
        Self::from_json(&self.to_json()).map(|_| ())
    }

    /// Waitpoint keys referenced, in first-reference order (the bindings `ff_suspend` derives).
    pub fn waitpoint_keys(&self) -> Vec<String> {
        self.0.referenced_keys()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn builds_the_spec_json() {
        assert_eq!(
            ResumeCondition::single("k", SignalMatcher::name("approved")).to_json(),
            json!({"Single": {"waitpoint_key": "k", "matcher": {"ByName": "approved"}}})
        );
        assert_eq!(
            ResumeCondition::single("k", SignalMatcher::Any).to_json(),
            json!({"Single": {"waitpoint_key": "k", "matcher": "Wildcard"}})
        );
        assert_eq!(
            ResumeCondition::count(2, Distinct::Sources, ["a", "b"]).matching(SignalMatcher::name("lgtm")).to_json(),
            json!({"Composite": {"kind": "Count", "n": 2, "count_kind": "DistinctSources", "matcher": {"ByName": "lgtm"}, "waitpoints": ["a", "b"]}})
        );
        assert_eq!(ResumeCondition::operator_only().to_json(), json!("OperatorOnly"));
        assert_eq!(
            ResumeCondition::single("k", SignalMatcher::correlation("order-7")).to_json(),
            json!({"Single": {"waitpoint_key": "k", "matcher": {"ByCorrelation": "order-7"}}})
        );
        assert_eq!(
            ResumeCondition::children(3, "children").matching(SignalMatcher::name("child_completed")).to_json(),
            json!({"Composite": {"kind": "Count", "n": 3, "count_kind": "DistinctSources", "matcher": {"ByName": "child_completed"}, "waitpoints": ["children"]}})
        );
    }

    #[test]
    fn validates_like_the_server() {
        let e = ResumeCondition::count(0, Distinct::Waitpoints, ["a"]).validate().unwrap_err();
        assert_eq!(e.server_error().unwrap().detail.as_deref(), Some("count_n_zero"));
        let c = ResumeCondition::all_of([ResumeCondition::any_of(["a", "b"]), ResumeCondition::single("c", SignalMatcher::Any)]);
        c.validate().unwrap();
        assert_eq!(c.waitpoint_keys(), vec!["a", "b", "c"]);
        assert_eq!(ResumeCondition::from_json(&c.to_json()).unwrap(), c);
    }
}
