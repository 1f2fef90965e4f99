//! Resume conditions (semantics §5): the FlowFabric serde JSON shape, validation, evaluation by
//! recomputing over the recorded signals, the effect of a new signal, and the satisfier set.
//! Pure Rust, no Postgres.

use crate::error::{WfError, WfResult};
use serde_json::{json, Map, Value};
use std::collections::{BTreeSet, HashSet};

/// Largest condition document, in bytes of JSON.
pub const MAX_CONDITION_BYTES: usize = 8 * 1024;
/// Deepest Composite nesting (the outermost Composite is depth 1).
pub const MAX_DEPTH: usize = 4;

/// Which signals a node counts: by name, by the signal's correlation id, or any.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Matcher {
    ByName(String),
    ByCorrelation(String),
    Wildcard,
}

impl Matcher {
    pub fn accepts(&self, signal: &Signal) -> bool {
        match self {
            Matcher::ByName(n) => *n == signal.name,
            Matcher::ByCorrelation(c) => signal.correlation_id.as_deref() == Some(c.as_str()),
            Matcher::Wildcard => true,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CountKind {
    DistinctWaitpoints,
    DistinctSignals,
    DistinctSources,
}

impl CountKind {
    fn as_str(self) -> &'static str {
        match self {
            CountKind::DistinctWaitpoints => "DistinctWaitpoints",
            CountKind::DistinctSignals => "DistinctSignals",
            CountKind::DistinctSources => "DistinctSources",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Condition {
    Single { waitpoint_key: String, matcher: Matcher },
    OperatorOnly,
    TimeoutOnly,
    AllOf(Vec<Condition>),
    Count { n: u32, kind: CountKind, matcher: Option<Matcher>, waitpoints: Vec<String> },
}

fn unknown(what: impl std::fmt::Display) -> WfError {
    WfError::invalid_input("unknown_condition", format!("unknown_condition: {what}"))
}

const MATCHER_SHAPES: &str = "matcher must be \"Wildcard\", {\"ByName\": name} or {\"ByCorrelation\": correlation_id}";

fn parse_matcher(v: &Value) -> WfResult<Matcher> {
    match v {
        Value::String(s) if s == "Wildcard" => Ok(Matcher::Wildcard),
        Value::Object(o) if o.len() == 2 && o.contains_key("ByName") && o.contains_key("ByCorrelation") => {
            Err(WfError::invalid_input("matcher_conflict", "matcher_conflict: a matcher is ByName or ByCorrelation, not both"))
        }
        Value::Object(o) if o.len() == 1 => match (o.get("ByName"), o.get("ByCorrelation")) {
            (Some(Value::String(name)), _) if name.is_empty() => {
                Err(WfError::invalid_input("empty_signal_name", "empty_signal_name: ByName needs a non-empty signal name"))
            }
            (Some(Value::String(name)), _) => Ok(Matcher::ByName(name.clone())),
            (_, Some(Value::String(id))) if id.is_empty() => {
                Err(WfError::invalid_input("empty_correlation_id", "empty_correlation_id: ByCorrelation needs a non-empty correlation id"))
            }
            (_, Some(Value::String(id))) => Ok(Matcher::ByCorrelation(id.clone())),
            _ => Err(unknown(MATCHER_SHAPES)),
        },
        _ => Err(unknown(MATCHER_SHAPES)),
    }
}

fn expect_keys(o: &Map<String, Value>, required: &[&str], optional: &[&str], what: &str) -> WfResult<()> {
    for k in o.keys() {
        if !required.contains(&k.as_str()) && !optional.contains(&k.as_str()) {
            return Err(unknown(format!("{what} has an unknown field {k}")));
        }
    }
    for k in required {
        if !o.contains_key(*k) {
            return Err(unknown(format!("{what} needs the field {k}")));
        }
    }
    Ok(())
}

fn waitpoint_key(v: &Value) -> WfResult<String> {
    match v {
        Value::String(k) if !k.is_empty() && k.len() <= 256 => Ok(k.clone()),
        _ => Err(WfError::invalid_input("invalid_waitpoint_key", "invalid_waitpoint_key: waitpoint keys are 1-256 bytes")),
    }
}

/// A Count node's fields, checked in order: n, count_kind, matcher, waitpoints.
fn parse_count(comp: &serde_json::Map<String, Value>) -> WfResult<Condition> {
    expect_keys(comp, &["kind", "n", "count_kind", "waitpoints"], &["matcher"], "Count")?;
    let n = comp["n"].as_u64().filter(|n| *n <= u32::MAX as u64).ok_or_else(|| unknown("Count n must be a non-negative integer"))? as u32;
    if n == 0 {
        return Err(WfError::invalid_input("count_n_zero", "count_n_zero: Count n must be at least 1"));
    }
    let kind = match comp["count_kind"].as_str() {
        Some("DistinctWaitpoints") => CountKind::DistinctWaitpoints,
        Some("DistinctSignals") => CountKind::DistinctSignals,
        Some("DistinctSources") => CountKind::DistinctSources,
        _ => return Err(unknown("count_kind must be DistinctWaitpoints, DistinctSignals or DistinctSources")),
    };
    let matcher = match comp.get("matcher") {
        None | Some(Value::Null) => None,
        Some(m) => Some(parse_matcher(m)?),
    };
    let Value::Array(wps) = &comp["waitpoints"] else { return Err(unknown("Count waitpoints must be an array")) };
    if wps.is_empty() {
        return Err(WfError::invalid_input("count_waitpoints_empty", "count_waitpoints_empty: Count needs at least one waitpoint"));
    }
    let waitpoints = wps.iter().map(waitpoint_key).collect::<WfResult<Vec<_>>>()?;
    if kind == CountKind::DistinctWaitpoints && n as usize > waitpoints.iter().collect::<HashSet<_>>().len() {
        return Err(WfError::invalid_input(
            "count_exceeds_waitpoint_set",
            "count_exceeds_waitpoint_set: DistinctWaitpoints n is larger than the number of distinct waitpoints",
        ));
    }
    Ok(Condition::Count { n, kind, matcher, waitpoints })
}

fn parse_node(v: &Value, depth: usize) -> WfResult<Condition> {
    match v {
        Value::String(s) if s == "OperatorOnly" => Ok(Condition::OperatorOnly),
        Value::String(s) if s == "TimeoutOnly" => Ok(Condition::TimeoutOnly),
        Value::Object(o) if o.len() == 1 => {
            if let Some(Value::Object(single)) = o.get("Single") {
                expect_keys(single, &["waitpoint_key", "matcher"], &[], "Single")?;
                return Ok(Condition::Single {
                    waitpoint_key: waitpoint_key(&single["waitpoint_key"])?,
                    matcher: parse_matcher(&single["matcher"])?,
                });
            }
            let Some(Value::Object(comp)) = o.get("Composite") else {
                return Err(unknown("expected Single, Composite, OperatorOnly or TimeoutOnly"));
            };
            let depth = depth + 1;
            if depth > MAX_DEPTH {
                return Err(WfError::invalid_input(
                    "depth_exceeded",
                    format!("depth_exceeded: Composite nodes nest at most {MAX_DEPTH} deep"),
                ));
            }
            match comp.get("kind") {
                Some(Value::String(k)) if k == "AllOf" => {
                    expect_keys(comp, &["kind", "members"], &[], "AllOf")?;
                    let Value::Array(members) = &comp["members"] else { return Err(unknown("AllOf members must be an array")) };
                    if members.is_empty() {
                        return Err(WfError::invalid_input("allof_empty_members", "allof_empty_members: AllOf needs at least one member"));
                    }
                    Ok(Condition::AllOf(members.iter().map(|m| parse_node(m, depth)).collect::<WfResult<_>>()?))
                }
                Some(Value::String(k)) if k == "Count" => parse_count(comp),
                _ => Err(unknown("Composite kind must be AllOf or Count")),
            }
        }
        _ => Err(unknown("expected Single, Composite, OperatorOnly or TimeoutOnly")),
    }
}

impl Condition {
    /// Parse and validate a condition document (size, shape, every code of semantics §5).
    pub fn parse_json(text: &str) -> WfResult<Condition> {
        if text.len() > MAX_CONDITION_BYTES {
            return Err(WfError::invalid_input("condition_too_large", "condition_too_large: the resume condition is larger than 8 KiB"));
        }
        let v: Value = serde_json::from_str(text).map_err(|_| unknown("not valid JSON"))?;
        Condition::parse(&v)
    }

    pub fn parse(v: &Value) -> WfResult<Condition> {
        if v.to_string().len() > MAX_CONDITION_BYTES {
            return Err(WfError::invalid_input("condition_too_large", "condition_too_large: the resume condition is larger than 8 KiB"));
        }
        parse_node(v, 0)
    }

    /// The FlowFabric serde shape (round-trips with `parse`).
    pub fn to_json(&self) -> Value {
        let matcher = |m: &Matcher| match m {
            Matcher::ByName(n) => json!({ "ByName": n }),
            Matcher::ByCorrelation(c) => json!({ "ByCorrelation": c }),
            Matcher::Wildcard => json!("Wildcard"),
        };
        match self {
            Condition::Single { waitpoint_key, matcher: m } => json!({"Single": {"waitpoint_key": waitpoint_key, "matcher": matcher(m)}}),
            Condition::OperatorOnly => json!("OperatorOnly"),
            Condition::TimeoutOnly => json!("TimeoutOnly"),
            Condition::AllOf(members) => {
                json!({"Composite": {"kind": "AllOf", "members": members.iter().map(Condition::to_json).collect::<Vec<_>>()}})
            }
            Condition::Count { n, kind, matcher: m, waitpoints } => {
                let mut o = Map::new();
                o.insert("kind".into(), json!("Count"));
                o.insert("n".into(), json!(n));
                o.insert("count_kind".into(), json!(kind.as_str()));
                if let Some(m) = m {
                    o.insert("matcher".into(), matcher(m));
                }
                o.insert("waitpoints".into(), json!(waitpoints));
                json!({ "Composite": Value::Object(o) })
            }
        }
    }

    /// Waitpoint keys referenced, in first-reference order, without repeats.
    pub fn referenced_keys(&self) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        self.walk_keys(&mut |k| {
            if !out.iter().any(|x| x == k) {
                out.push(k.to_string());
            }
        });
        out
    }

    fn walk_keys(&self, f: &mut impl FnMut(&str)) {
        match self {
            Condition::Single { waitpoint_key, .. } => f(waitpoint_key),
            Condition::AllOf(ms) => ms.iter().for_each(|m| m.walk_keys(f)),
            Condition::Count { waitpoints, .. } => waitpoints.iter().for_each(|k| f(k)),
            Condition::OperatorOnly | Condition::TimeoutOnly => {}
        }
    }

    /// Signal names a waitpoint needs (for listings): the ByName names of nodes on that key; empty for
    /// wildcard-only keys.
    pub fn required_names(&self, key: &str) -> Vec<String> {
        let mut names = BTreeSet::new();
        self.collect_names(key, &mut names);
        names.into_iter().collect()
    }

    fn collect_names(&self, key: &str, out: &mut BTreeSet<String>) {
        match self {
            Condition::Single { waitpoint_key, matcher: Matcher::ByName(n) } if waitpoint_key == key => {
                out.insert(n.clone());
            }
            Condition::Count { waitpoints, matcher: Some(Matcher::ByName(n)), .. } if waitpoints.iter().any(|w| w == key) => {
                out.insert(n.clone());
            }
            Condition::AllOf(ms) => ms.iter().for_each(|m| m.collect_names(key, out)),
            _ => {}
        }
    }
}

/// A recorded signal as evaluation sees it. `seq` is the acceptance order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Signal {
    pub seq: i64,
    pub signal_id: [u8; 16],
    pub waitpoint_key: String,
    pub name: String,
    pub source_type: String,
    pub source_identity: String,
    /// The correlation id the signal was delivered with (`ByCorrelation` matches it).
    pub correlation_id: Option<String>,
}

/// Evaluation of one node: satisfied, its progress measure (to detect "changed nothing"), and the
/// satisfiers (sequence numbers) when satisfied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeEval {
    pub satisfied: bool,
    /// Per node, in pre-order: distinct units counted (Count) or 0/1 (Single). Two evaluations with
    /// the same progress vector are indistinguishable to the condition.
    pub progress: Vec<usize>,
    pub satisfiers: Vec<i64>,
}

/// A Count node: its own matching signals, distinct by its kind; the first of each unit.
fn eval_count(
    n: u32,
    kind: CountKind,
    matcher: Option<&Matcher>,
    waitpoints: &[String],
    signals: &[&Signal],
    progress: &mut Vec<usize>,
    satisfiers: &mut Vec<i64>,
) -> bool {
    // Each Count node counts only its own matching signals, distinct by its kind.
    let mut seen: HashSet<Vec<u8>> = HashSet::new();
    let mut firsts = Vec::new();
    for s in signals {
        if !waitpoints.iter().any(|w| w == &s.waitpoint_key) || !matcher.is_none_or(|m| m.accepts(s)) {
            continue;
        }
        let unit: Vec<u8> = match kind {
            CountKind::DistinctWaitpoints => s.waitpoint_key.as_bytes().to_vec(),
            CountKind::DistinctSignals => s.signal_id.to_vec(),
            CountKind::DistinctSources => {
                let mut u = s.source_type.as_bytes().to_vec();
                u.push(0);
                u.extend_from_slice(s.source_identity.as_bytes());
                u
            }
        };
        if seen.insert(unit) {
            firsts.push(s.seq);
        }
    }
    progress.push(seen.len().min(n as usize));
    let ok = seen.len() >= n as usize;
    if ok {
        satisfiers.extend(firsts.into_iter().take(n as usize));
    }
    ok
}

fn eval_node(c: &Condition, signals: &[&Signal], progress: &mut Vec<usize>, satisfiers: &mut Vec<i64>) -> bool {
    match c {
        Condition::Single { waitpoint_key, matcher } => {
            let first = signals.iter().find(|s| &s.waitpoint_key == waitpoint_key && matcher.accepts(s));
            progress.push(first.is_some() as usize);
            if let Some(s) = first {
                satisfiers.push(s.seq);
            }
            first.is_some()
        }
        Condition::OperatorOnly | Condition::TimeoutOnly => {
            progress.push(0);
            false
        }
        Condition::AllOf(members) => {
            progress.push(0);
            let mut all = true;
            let mut sat = Vec::new();
            for m in members {
                let mut local = Vec::new();
                if eval_node(m, signals, progress, &mut local) {
                    sat.extend(local);
                } else {
                    all = false;
                }
            }
            if all {
                satisfiers.extend(sat);
            }
            all
        }
        Condition::Count { n, kind, matcher, waitpoints } => {
            eval_count(*n, *kind, matcher.as_ref(), waitpoints, signals, progress, satisfiers)
        }
    }
}

/// Evaluate over `signals` (in acceptance order).
pub fn evaluate(c: &Condition, signals: &[Signal]) -> NodeEval {
    let refs: Vec<&Signal> = signals.iter().collect();
    let mut progress = Vec::new();
    let mut satisfiers = Vec::new();
    let satisfied = eval_node(c, &refs, &mut progress, &mut satisfiers);
    if !satisfied {
        satisfiers.clear();
    }
    satisfiers.sort_unstable();
    satisfiers.dedup();
    NodeEval { satisfied, progress, satisfiers }
}

/// The effect of a new signal (semantics §5).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Effect {
    SignalIgnoredNotInCondition,
    NoOp,
    SignalIgnoredMatcherFailed,
    AppendedToWaitpointDuplicate,
    ResumeConditionSatisfied,
    AppendedToWaitpoint,
}

impl Effect {
    pub fn as_str(self) -> &'static str {
        match self {
            Effect::SignalIgnoredNotInCondition => "signal_ignored_not_in_condition",
            Effect::NoOp => "no_op",
            Effect::SignalIgnoredMatcherFailed => "signal_ignored_matcher_failed",
            Effect::AppendedToWaitpointDuplicate => "appended_to_waitpoint_duplicate",
            Effect::ResumeConditionSatisfied => "resume_condition_satisfied",
            Effect::AppendedToWaitpoint => "appended_to_waitpoint",
        }
    }

    /// Whether a signal with this effect may ever be a satisfier.
    pub fn counts(self) -> bool {
        !matches!(self, Effect::SignalIgnoredNotInCondition | Effect::NoOp | Effect::SignalIgnoredMatcherFailed)
    }
}

fn key_accepting(c: &Condition, signal: &Signal) -> bool {
    let key = &signal.waitpoint_key;
    match c {
        Condition::Single { waitpoint_key, matcher } => waitpoint_key == key && matcher.accepts(signal),
        Condition::Count { waitpoints, matcher, .. } => {
            waitpoints.iter().any(|w| w == key) && matcher.as_ref().is_none_or(|m| m.accepts(signal))
        }
        Condition::AllOf(ms) => ms.iter().any(|m| key_accepting(m, signal)),
        Condition::OperatorOnly | Condition::TimeoutOnly => false,
    }
}

/// Decide the effect of `new` given the signals already counted (`prior`, effects that count only).
/// Returns the effect and the evaluation after the signal (for satisfiers).
pub fn effect_of(c: &Condition, prior: &[Signal], new: &Signal) -> (Effect, NodeEval) {
    let before = evaluate(c, prior);
    if !c.referenced_keys().iter().any(|k| k == &new.waitpoint_key) {
        return (Effect::SignalIgnoredNotInCondition, before);
    }
    if !key_accepting(c, new) {
        let e = if matches!(c, Condition::Single { .. }) { Effect::NoOp } else { Effect::SignalIgnoredMatcherFailed };
        return (e, before);
    }
    let mut all = prior.to_vec();
    all.push(new.clone());
    let after = evaluate(c, &all);
    let effect = if after.satisfied && !before.satisfied {
        Effect::ResumeConditionSatisfied
    } else if after.progress == before.progress {
        Effect::AppendedToWaitpointDuplicate
    } else {
        Effect::AppendedToWaitpoint
    };
    (effect, after)
}

/// Generators of resume conditions and signal sequences (proptest strategies), shared by the core's
/// property tests and by the test suite's comparison of the SQL edition's evaluation with the core's.
#[cfg(any(test, feature = "arbitrary"))]
pub mod arbitrary {
    use super::*;
    use proptest::prelude::*;

    pub fn arb_matcher() -> impl Strategy<Value = Matcher> {
        prop_oneof![Just(Matcher::Wildcard), "[a-c]".prop_map(Matcher::ByName), "[x-y]".prop_map(Matcher::ByCorrelation)]
    }

    pub fn arb_condition() -> impl Strategy<Value = Condition> {
        let keys = prop::sample::select(vec!["k1", "k2", "k3"]);
        let leaf = prop_oneof![
            (keys.clone(), arb_matcher()).prop_map(|(k, m)| Condition::Single { waitpoint_key: k.to_string(), matcher: m }),
            (
                1u32..3,
                prop::sample::select(vec![CountKind::DistinctSignals, CountKind::DistinctSources]),
                prop::option::of(arb_matcher()),
                prop::collection::vec(keys.clone(), 1..3)
            )
                .prop_map(|(n, kind, matcher, w)| Condition::Count {
                    n,
                    kind,
                    matcher,
                    waitpoints: w.into_iter().map(String::from).collect()
                }),
            Just(Condition::OperatorOnly),
        ];
        leaf.prop_recursive(3, 16, 3, |inner| prop::collection::vec(inner, 1..3).prop_map(Condition::AllOf))
    }

    pub fn arb_signals() -> impl Strategy<Value = Vec<Signal>> {
        let correlation = prop::option::of(prop::sample::select(vec!["x", "y", "z"]));
        prop::collection::vec((prop::sample::select(vec!["k1", "k2", "k3", "zz"]), "[a-d]", 0u8..4, 0u8..3, correlation), 0..8).prop_map(
            |v| {
                v.into_iter()
                    .enumerate()
                    .map(|(i, (k, n, id, src, corr))| Signal {
                        seq: i as i64 + 1,
                        signal_id: [id; 16],
                        waitpoint_key: k.into(),
                        name: n,
                        source_type: "t".into(),
                        source_identity: format!("{src}"),
                        correlation_id: corr.map(String::from),
                    })
                    .collect()
            },
        )
    }
}

#[cfg(test)]
mod tests {
    use super::arbitrary::*;
    use super::*;
    use proptest::prelude::*;

    fn sig(seq: i64, key: &str, name: &str) -> Signal {
        Signal {
            seq,
            signal_id: [seq as u8; 16],
            waitpoint_key: key.into(),
            name: name.into(),
            source_type: "t".into(),
            source_identity: format!("s{seq}"),
            correlation_id: None,
        }
    }

    fn p(s: &str) -> WfResult<Condition> {
        Condition::parse_json(s)
    }

    #[test]
    fn a_correlation_matcher_counts_the_signals_of_its_correlation_id_only() {
        let c = p(r#"{"Composite":{"kind":"Count","n":2,"count_kind":"DistinctSignals","matcher":{"ByCorrelation":"order-7"},"waitpoints":["k"]}}"#)
            .unwrap();
        assert_eq!(Condition::parse(&c.to_json()).unwrap(), c, "round-trips");
        let with = |seq: i64, corr: Option<&str>| Signal { correlation_id: corr.map(String::from), ..sig(seq, "k", "any") };
        let (e, _) = effect_of(&c, &[], &with(1, Some("order-8")));
        assert_eq!(e, Effect::SignalIgnoredMatcherFailed);
        let (e, _) = effect_of(&c, &[], &with(2, None));
        assert_eq!(e, Effect::SignalIgnoredMatcherFailed);
        let (e, _) = effect_of(&c, &[], &with(3, Some("order-7")));
        assert_eq!(e, Effect::AppendedToWaitpoint);
        let (e, after) = effect_of(&c, &[with(3, Some("order-7"))], &with(4, Some("order-7")));
        assert_eq!((e, after.satisfiers), (Effect::ResumeConditionSatisfied, vec![3, 4]));
        let single = p(r#"{"Single":{"waitpoint_key":"k","matcher":{"ByCorrelation":"x"}}}"#).unwrap();
        assert_eq!(effect_of(&single, &[], &with(5, Some("x"))).0, Effect::ResumeConditionSatisfied);
        assert_eq!(
            p(r#"{"Single":{"waitpoint_key":"k","matcher":{"ByCorrelation":""}}}"#).unwrap_err().detail.as_deref(),
            Some("empty_correlation_id")
        );
        assert!(single.required_names("k").is_empty(), "a correlation names no signal");
        let both = p(r#"{"Single":{"waitpoint_key":"k","matcher":{"ByName":"a","ByCorrelation":"x"}}}"#).unwrap_err();
        assert_eq!(both.detail.as_deref(), Some("matcher_conflict"));
    }

    fn code(s: &str) -> String {
        p(s).unwrap_err().detail.unwrap()
    }

    #[test]
    fn parses_every_shape_and_round_trips() {
        for s in [
            r#"{"Single":{"waitpoint_key":"k","matcher":{"ByName":"approved"}}}"#,
            r#"{"Single":{"waitpoint_key":"k","matcher":"Wildcard"}}"#,
            r#""OperatorOnly""#,
            r#""TimeoutOnly""#,
            r#"{"Composite":{"kind":"AllOf","members":[{"Single":{"waitpoint_key":"a","matcher":"Wildcard"}}]}}"#,
            r#"{"Composite":{"kind":"Count","n":2,"count_kind":"DistinctSources","matcher":{"ByName":"x"},"waitpoints":["k1","k2"]}}"#,
            r#"{"Composite":{"kind":"Count","n":1,"count_kind":"DistinctWaitpoints","waitpoints":["k1","k2"]}}"#,
        ] {
            let c = p(s).unwrap();
            assert_eq!(c.to_json(), serde_json::from_str::<Value>(s).unwrap(), "{s}");
        }
        // matcher: null is accepted as "any name".
        let c = p(r#"{"Composite":{"kind":"Count","n":1,"count_kind":"DistinctSignals","matcher":null,"waitpoints":["k"]}}"#).unwrap();
        assert!(matches!(c, Condition::Count { matcher: None, .. }));
    }

    #[test]
    fn validation_codes() {
        assert_eq!(code(r#"{"Composite":{"kind":"AllOf","members":[]}}"#), "allof_empty_members");
        assert_eq!(code(r#"{"Composite":{"kind":"Count","n":0,"count_kind":"DistinctSignals","waitpoints":["a"]}}"#), "count_n_zero");
        assert_eq!(
            code(r#"{"Composite":{"kind":"Count","n":1,"count_kind":"DistinctSignals","waitpoints":[]}}"#),
            "count_waitpoints_empty"
        );
        assert_eq!(
            code(r#"{"Composite":{"kind":"Count","n":3,"count_kind":"DistinctWaitpoints","waitpoints":["a","b","a"]}}"#),
            "count_exceeds_waitpoint_set"
        );
        assert_eq!(code(r#"{"Single":{"waitpoint_key":"k","matcher":{"ByName":""}}}"#), "empty_signal_name");
        assert_eq!(
            code(&format!(r#"{{"Single":{{"waitpoint_key":"k","matcher":{{"ByName":"{}"}}}}}}"#, "x".repeat(9000))),
            "condition_too_large"
        );
        for bad in [
            "",
            "{",
            "42",
            r#""AnyOf""#,
            r#"{"Single":{"waitpoint_key":"k"}}"#,
            r#"{"Single":{"waitpoint_key":"k","matcher":"Wildcard","x":1}}"#,
            r#"{"Composite":{"kind":"AnyOf","members":[]}}"#,
            r#"{"Single":{"waitpoint_key":"k","matcher":{"ByName":1}}}"#,
        ] {
            assert_eq!(code(bad), "unknown_condition", "{bad}");
        }
        let leaf = r#"{"Single":{"waitpoint_key":"k","matcher":"Wildcard"}}"#;
        let nest = |d: usize| (0..d).fold(leaf.to_string(), |acc, _| format!(r#"{{"Composite":{{"kind":"AllOf","members":[{acc}]}}}}"#));
        assert!(p(&nest(4)).is_ok());
        assert_eq!(code(&nest(5)), "depth_exceeded");
    }

    #[test]
    fn single_effects() {
        let c = p(r#"{"Single":{"waitpoint_key":"k","matcher":{"ByName":"approved"}}}"#).unwrap();
        assert_eq!(effect_of(&c, &[], &sig(1, "k", "rejected")).0, Effect::NoOp);
        assert_eq!(effect_of(&c, &[], &sig(1, "other", "approved")).0, Effect::SignalIgnoredNotInCondition);
        let (e, after) = effect_of(&c, &[], &sig(2, "k", "approved"));
        assert_eq!(e, Effect::ResumeConditionSatisfied);
        assert_eq!(after.satisfiers, vec![2]);
    }

    #[test]
    fn allof_two_leaves_on_one_waitpoint() {
        let c = p(r#"{"Composite":{"kind":"AllOf","members":[
            {"Single":{"waitpoint_key":"k","matcher":{"ByName":"a"}}},
            {"Single":{"waitpoint_key":"k","matcher":{"ByName":"b"}}}]}}"#)
        .unwrap();
        let a = sig(1, "k", "a");
        assert_eq!(effect_of(&c, &[], &a).0, Effect::AppendedToWaitpoint);
        assert_eq!(effect_of(&c, std::slice::from_ref(&a), &sig(2, "k", "a")).0, Effect::AppendedToWaitpointDuplicate);
        assert_eq!(effect_of(&c, std::slice::from_ref(&a), &sig(3, "k", "zzz")).0, Effect::SignalIgnoredMatcherFailed);
        let (e, after) = effect_of(&c, &[a], &sig(4, "k", "b"));
        assert_eq!(e, Effect::ResumeConditionSatisfied);
        assert_eq!(after.satisfiers, vec![1, 4]);
    }

    #[test]
    fn count_kinds() {
        let dw = p(r#"{"Composite":{"kind":"Count","n":2,"count_kind":"DistinctWaitpoints","waitpoints":["a","b","c"]}}"#).unwrap();
        let s1 = sig(1, "a", "x");
        assert_eq!(effect_of(&dw, &[], &s1).0, Effect::AppendedToWaitpoint);
        assert_eq!(effect_of(&dw, std::slice::from_ref(&s1), &sig(2, "a", "y")).0, Effect::AppendedToWaitpointDuplicate);
        assert_eq!(effect_of(&dw, std::slice::from_ref(&s1), &sig(3, "c", "y")).0, Effect::ResumeConditionSatisfied);

        let ds = p(r#"{"Composite":{"kind":"Count","n":2,"count_kind":"DistinctSignals","waitpoints":["a"]}}"#).unwrap();
        let mut again = sig(5, "a", "x");
        again.signal_id = s1.signal_id;
        assert_eq!(effect_of(&ds, std::slice::from_ref(&s1), &again).0, Effect::AppendedToWaitpointDuplicate);

        let src = p(r#"{"Composite":{"kind":"Count","n":2,"count_kind":"DistinctSources","waitpoints":["a"]}}"#).unwrap();
        let mut same_source = sig(6, "a", "x");
        same_source.source_identity = s1.source_identity.clone();
        assert_eq!(effect_of(&src, std::slice::from_ref(&s1), &same_source).0, Effect::AppendedToWaitpointDuplicate);
        assert_eq!(effect_of(&src, std::slice::from_ref(&s1), &sig(7, "a", "x")).0, Effect::ResumeConditionSatisfied);

        let m = p(r#"{"Composite":{"kind":"Count","n":1,"count_kind":"DistinctSignals","matcher":{"ByName":"ok"},"waitpoints":["a"]}}"#)
            .unwrap();
        assert_eq!(effect_of(&m, &[], &sig(8, "a", "nope")).0, Effect::SignalIgnoredMatcherFailed);
    }

    #[test]
    fn nested_count_does_not_share_signals() {
        let c = p(r#"{"Composite":{"kind":"AllOf","members":[
            {"Composite":{"kind":"Count","n":2,"count_kind":"DistinctWaitpoints","waitpoints":["a","b","c"]}},
            {"Single":{"waitpoint_key":"d","matcher":"Wildcard"}}]}}"#)
        .unwrap();
        let prior = vec![sig(1, "a", "x"), sig(2, "d", "x")];
        assert!(!evaluate(&c, &prior).satisfied);
        let (e, after) = effect_of(&c, &prior, &sig(3, "b", "x"));
        assert_eq!(e, Effect::ResumeConditionSatisfied);
        assert_eq!(after.satisfiers, vec![1, 2, 3]);
        // Two Count nodes over the same key each count their own matching signals only.
        let two = p(r#"{"Composite":{"kind":"AllOf","members":[
            {"Composite":{"kind":"Count","n":1,"count_kind":"DistinctSignals","matcher":{"ByName":"x"},"waitpoints":["a"]}},
            {"Composite":{"kind":"Count","n":1,"count_kind":"DistinctSignals","matcher":{"ByName":"y"},"waitpoints":["a"]}}]}}"#)
        .unwrap();
        assert!(!evaluate(&two, &[sig(1, "a", "x"), sig(2, "a", "x")]).satisfied);
    }

    #[test]
    fn referenced_keys_and_required_names() {
        let c = p(r#"{"Composite":{"kind":"AllOf","members":[
            {"Single":{"waitpoint_key":"approval","matcher":{"ByName":"approved"}}},
            {"Composite":{"kind":"Count","n":2,"count_kind":"DistinctSources","waitpoints":["r1","approval","r2"]}}]}}"#)
        .unwrap();
        assert_eq!(c.referenced_keys(), vec!["approval", "r1", "r2"]);
        assert_eq!(c.required_names("approval"), vec!["approved"]);
        assert!(c.required_names("r1").is_empty());
    }

    proptest! {
        #[test]
        fn print_parse_is_identity(c in arb_condition()) {
            let text = c.to_json().to_string();
            prop_assert_eq!(Condition::parse_json(&text).unwrap(), c);
        }

        #[test]
        fn evaluation_is_monotone(c in arb_condition(), sigs in arb_signals()) {
            for i in 0..sigs.len() {
                if evaluate(&c, &sigs[..i]).satisfied {
                    prop_assert!(evaluate(&c, &sigs[..=i]).satisfied);
                }
            }
        }

        #[test]
        fn effect_agrees_with_before_after(c in arb_condition(), sigs in arb_signals()) {
            let mut counted: Vec<Signal> = Vec::new();
            for s in &sigs {
                let before = evaluate(&c, &counted).satisfied;
                let (e, after) = effect_of(&c, &counted, s);
                if e.counts() { counted.push(s.clone()); }
                let now = evaluate(&c, &counted).satisfied;
                prop_assert_eq!(after.satisfied, now);
                prop_assert_eq!(e == Effect::ResumeConditionSatisfied, now && !before);
                if before { break; }
            }
        }

        #[test]
        fn a_duplicate_never_changes_satisfaction(c in arb_condition(), sigs in arb_signals()) {
            for i in 0..sigs.len() {
                let mut with_dup = sigs[..=i].to_vec();
                let mut d = sigs[i].clone();
                d.seq = 100;
                with_dup.push(d);
                prop_assert_eq!(evaluate(&c, &sigs[..=i]).satisfied, evaluate(&c, &with_dup).satisfied);
            }
        }

        #[test]
        fn satisfiers_alone_satisfy(c in arb_condition(), sigs in arb_signals()) {
            let e = evaluate(&c, &sigs);
            if e.satisfied {
                let only: Vec<Signal> = sigs.iter().filter(|s| e.satisfiers.contains(&s.seq)).cloned().collect();
                prop_assert!(evaluate(&c, &only).satisfied);
            }
        }

        #[test]
        fn parse_never_panics(s in "\\PC{0,300}") {
            let _ = Condition::parse_json(&s);
        }
    }
}
