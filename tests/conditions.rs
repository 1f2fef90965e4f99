//! Resume-condition builders: each returns exactly the hand-written JSON of the same
//! condition, that JSON is what `ff_suspend` takes (round trip through a real suspend), and bad
//! arguments give the WF001 and DETAIL that `ff_suspend` gives.

use ff_engine_tests::*;

const CASES: &[(&str, &str)] = &[
    ("ff_cond_single('k')", r#"{"Single":{"waitpoint_key":"k","matcher":"Wildcard"}}"#),
    ("ff_cond_single('k', 'approved')", r#"{"Single":{"waitpoint_key":"k","matcher":{"ByName":"approved"}}}"#),
    (
        "ff_cond_all(ff_cond_single('a'), ff_cond_single('b', 'go'))",
        r#"{"Composite":{"kind":"AllOf","members":[{"Single":{"waitpoint_key":"a","matcher":"Wildcard"}},{"Single":{"waitpoint_key":"b","matcher":{"ByName":"go"}}}]}}"#,
    ),
    (
        "ff_cond_count(2, 'waitpoints', ARRAY['a','b','c'])",
        r#"{"Composite":{"kind":"Count","n":2,"count_kind":"DistinctWaitpoints","waitpoints":["a","b","c"]}}"#,
    ),
    (
        "ff_cond_count(3, 'DistinctSources', ARRAY['votes'], 'yes')",
        r#"{"Composite":{"kind":"Count","n":3,"count_kind":"DistinctSources","waitpoints":["votes"],"matcher":{"ByName":"yes"}}}"#,
    ),
    ("ff_cond_any(ARRAY['a','b'])", r#"{"Composite":{"kind":"Count","n":1,"count_kind":"DistinctWaitpoints","waitpoints":["a","b"]}}"#),
    (
        "ff_cond_all(ff_cond_count(2, 'signals', ARRAY['x']), ff_cond_single('d'))",
        r#"{"Composite":{"kind":"AllOf","members":[{"Composite":{"kind":"Count","n":2,"count_kind":"DistinctSignals","waitpoints":["x"]}},{"Single":{"waitpoint_key":"d","matcher":"Wildcard"}}]}}"#,
    ),
    ("ff_cond_single('k', correlation_id => 'order-7')", r#"{"Single":{"waitpoint_key":"k","matcher":{"ByCorrelation":"order-7"}}}"#),
    (
        "ff_cond_count(2, 'signals', ARRAY['a','b'], correlation_id => 'order-7')",
        r#"{"Composite":{"kind":"Count","n":2,"count_kind":"DistinctSignals","waitpoints":["a","b"],"matcher":{"ByCorrelation":"order-7"}}}"#,
    ),
    (
        "ff_cond_any(ARRAY['a'], correlation_id => 'x')",
        r#"{"Composite":{"kind":"Count","n":1,"count_kind":"DistinctWaitpoints","waitpoints":["a"],"matcher":{"ByCorrelation":"x"}}}"#,
    ),
    ("ff_cond_timeout_only()", r#""TimeoutOnly""#),
    ("ff_cond_operator_only()", r#""OperatorOnly""#),
];

#[test]
fn every_builder_equals_the_hand_written_json_and_suspends() {
    let db = Cluster::shared().fresh_db("cond_builders");
    let mut c = db.connect();
    c.query_one("SELECT * FROM ff_seed_hmac('k1', repeat('11', 32))", &[]).unwrap();
    for (i, (builder, json)) in CASES.iter().enumerate() {
        let equal: bool = c.query_one(&format!("SELECT {builder} = $1::text::jsonb"), &[json]).unwrap().get(0);
        assert!(equal, "{builder} differs from {json}");
        let lane = format!("lane{i}");
        create_in(&mut c, &lane, "");
        let l = claim_one(&mut c, &lane, "w").unwrap();
        let timeout = if builder.contains("timeout_only") { "timeout_at_ms => 9000000000000" } else { "timeout_at_ms => NULL" };
        let sql = format!("SELECT outcome, (SELECT resume_condition FROM ff_suspension WHERE state = 'open' AND execution_id = split_part($1, '}}:', 2)::uuid) = {builder} FROM ff_suspend($1, $2, $3, {builder}, {timeout}) LIMIT 1");
        let r = c.query_one(&sql, &[&l.execution_id, &l.lease_id, &l.lease_epoch]).unwrap();
        assert_eq!(r.get::<_, String>(0), "suspended", "{builder}");
        assert_eq!(states(&mut c, &l.execution_id).0, "suspended", "{builder}");
    }
}

#[test]
fn bad_builder_arguments_give_the_errors_suspend_gives() {
    let db = Cluster::shared().fresh_db("cond_errors");
    let mut c = db.connect();
    for (sql, detail) in [
        ("SELECT ff_cond_single(NULL)", "invalid_waitpoint_key"),
        ("SELECT ff_cond_single('')", "invalid_waitpoint_key"),
        ("SELECT ff_cond_single('k', '')", "empty_signal_name"),
        ("SELECT ff_cond_single('k', correlation_id => '')", "empty_correlation_id"),
        ("SELECT ff_cond_single('k', 'go', 'order-7')", "matcher_conflict"),
        ("SELECT ff_cond_count(1, 'signals', ARRAY['a'], 'go', 'order-7')", "matcher_conflict"),
        ("SELECT ff_cond_check('{\"Single\":{\"waitpoint_key\":\"k\",\"matcher\":{\"ByCorrelation\":7}}}')", "unknown_condition"),
        ("SELECT ff_cond_all(VARIADIC ARRAY[]::jsonb[])", "allof_empty_members"),
        ("SELECT ff_cond_all(NULL::jsonb)", "unknown_condition"),
        ("SELECT ff_cond_all('{\"nope\":1}')", "unknown_condition"),
        ("SELECT ff_cond_count(0, 'waitpoints', ARRAY['a'])", "count_n_zero"),
        ("SELECT ff_cond_count(3, 'waitpoints', ARRAY['a','b'])", "count_exceeds_waitpoint_set"),
        ("SELECT ff_cond_count(1, 'bogus', ARRAY['a'])", "unknown_condition"),
        ("SELECT ff_cond_count(1, 'waitpoints', ARRAY[]::text[])", "count_waitpoints_empty"),
        ("SELECT ff_cond_count(NULL, 'waitpoints', ARRAY['a'])", "unknown_condition"),
        ("SELECT ff_cond_any(ARRAY[NULL]::text[])", "invalid_waitpoint_key"),
        ("SELECT ff_cond_check(NULL)", "resume_condition_required"),
        ("SELECT ff_cond_all(ff_cond_all(ff_cond_all(ff_cond_all(ff_cond_all(ff_cond_single('k'))))))", "depth_exceeded"),
    ] {
        let e = assert_code(&mut c, sql, &[], "WF001");
        assert_eq!(e.detail.as_deref(), Some(detail), "{sql}: {e:?}");
    }
}

/// A correlation matcher counts the signals delivered with its correlation id, whatever their name;
/// the others are ignored (matcher failed), on a live suspension and on signals buffered before it.
#[test]
fn a_correlation_matcher_resumes_on_its_correlation_id_only() {
    let db = Cluster::shared().fresh_db("cond_correlation");
    let mut c = db.connect();
    c.query_one("SELECT * FROM ff_seed_hmac('k1', repeat('11', 32))", &[]).unwrap();
    create_in(&mut c, "corr", "");
    let l = claim_one(&mut c, "corr", "w").unwrap();
    // One signal with the right id arrives before the suspend, buffered on a pending waitpoint.
    let r = c
        .query_one(
            "SELECT waitpoint_id, token FROM ff_create_waitpoint($1, $2, $3, 'orders')",
            &[&l.execution_id, &l.lease_id, &l.lease_epoch],
        )
        .unwrap();
    let (wp, token): (uuid::Uuid, String) = (r.get(0), r.get(1));
    let deliver = |c: &mut postgres::Client, corr: Option<&str>| -> String {
        c.query_one(
            "SELECT effect FROM ff_deliver_signal($1, $2, $3, 'paid', correlation_id => $4)",
            &[&l.execution_id, &wp, &token, &corr],
        )
        .unwrap()
        .get(0)
    };
    assert_eq!(deliver(&mut c, Some("order-7")), "buffered_for_pending_waitpoint");
    assert_eq!(deliver(&mut c, Some("order-8")), "buffered_for_pending_waitpoint");
    let outcome: String = c
        .query_one(
            "SELECT outcome FROM ff_suspend($1, $2, $3, ff_cond_count(2, 'signals', ARRAY['orders'], correlation_id => 'order-7'))",
            &[&l.execution_id, &l.lease_id, &l.lease_epoch],
        )
        .unwrap()
        .get(0);
    assert_eq!(outcome, "suspended", "one of two counted");
    assert_eq!(deliver(&mut c, None), "signal_ignored_matcher_failed");
    assert_eq!(deliver(&mut c, Some("order-9")), "signal_ignored_matcher_failed");
    assert_eq!(deliver(&mut c, Some("order-7")), "resume_condition_satisfied");
    let ids: Vec<Option<String>> = column(&mut c, "SELECT correlation_id FROM ff_observe_signals($1)", &[&l.execution_id]);
    assert_eq!(ids, [Some("order-7".to_string()), Some("order-7".to_string())]);
}
