//! The raise helper: WF SQLSTATEs reach clients and PL/pgSQL handlers, with DETAIL, without
//! backtraces, and 10 000 errors leave the backend alive at flat memory.

use ff_engine_tests::*;

#[test]
fn plpgsql_handler_catches_wf_codes_with_detail() {
    let db = Cluster::shared().fresh_db("plpgsql_catch");
    let mut c = db.connect();
    c.batch_execute(
        "CREATE TABLE caught(code text, msg text, detail text);
         DO $$
         DECLARE m text; d text; s text;
         BEGIN
           BEGIN
             PERFORM * FROM ff_rotate_hmac('bad:kid');
           EXCEPTION WHEN SQLSTATE 'WF001' THEN
             GET STACKED DIAGNOSTICS s = RETURNED_SQLSTATE, m = MESSAGE_TEXT, d = PG_EXCEPTION_DETAIL;
             INSERT INTO caught VALUES (s, m, d);
           END;
           PERFORM * FROM ff_rotate_hmac('k1', repeat('11', 32));
           BEGIN
             PERFORM * FROM ff_rotate_hmac('k1', repeat('22', 32));
           EXCEPTION WHEN SQLSTATE 'WF005' THEN
             GET STACKED DIAGNOSTICS s = RETURNED_SQLSTATE, m = MESSAGE_TEXT, d = PG_EXCEPTION_DETAIL;
             INSERT INTO caught VALUES (s, m, d);
           END;
         END $$;",
    )
    .unwrap();
    let rows = c.query("SELECT code, msg, detail FROM caught ORDER BY code", &[]).unwrap();
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[0].get::<_, String>(0), "WF001");
    assert!(rows[0].get::<_, String>(1).starts_with("invalid_input: kid"));
    assert_eq!(rows[0].get::<_, String>(2), "invalid_kid");
    assert_eq!(rows[1].get::<_, String>(0), "WF005");
    assert!(rows[1].get::<_, String>(1).starts_with("rotation_conflict"));
}

#[test]
fn failed_call_leaves_no_partial_write() {
    let db = Cluster::shared().fresh_db("no_partial");
    let mut c = db.connect();
    c.query_one("SELECT * FROM ff_rotate_hmac('k1', repeat('11', 32))", &[]).unwrap();
    assert_code(&mut c, "SELECT * FROM ff_rotate_hmac('k1', repeat('22', 32))", &[], "WF005");
    // In an explicit transaction the error aborts it; after rollback nothing of it remains.
    let mut tx = c.transaction().unwrap();
    tx.query_one("SELECT * FROM ff_rotate_hmac('k2')", &[]).unwrap();
    assert!(tx.query("SELECT * FROM ff_rotate_hmac('k1', repeat('33', 32))", &[]).is_err());
    tx.rollback().unwrap();
    let kids: Vec<String> = column(&mut c, "SELECT kid FROM ff_hmac_kids()", &[]);
    assert_eq!(kids, vec!["k1"]);
}

#[test]
fn ten_thousand_errors_keep_backend_alive_and_memory_flat() {
    let db = Cluster::shared().fresh_db("error_storm");
    let mut c = db.connect();
    let pid: i32 = c.query_one("SELECT pg_backend_pid()", &[]).unwrap().get(0);
    let mem = |c: &mut postgres::Client| -> i64 {
        c.query_one("SELECT sum(total_bytes)::bigint FROM pg_backend_memory_contexts", &[]).unwrap().get(0)
    };
    let stmt = c.prepare("SELECT * FROM ff_rotate_hmac($1)").unwrap();
    let bad = "bad:kid".to_string();
    for _ in 0..1000 {
        assert_eq!(db_err(&c.query(&stmt, &[&bad]).unwrap_err()).code, "WF001");
    }
    let before = mem(&mut c);
    for i in 0..10_000 {
        let e = db_err(&c.query(&stmt, &[&bad]).unwrap_err());
        assert_eq!(e.code, "WF001", "error {i}");
    }
    let after = mem(&mut c);
    let pid_after: i32 = c.query_one("SELECT pg_backend_pid()", &[]).unwrap().get(0);
    assert_eq!(pid, pid_after, "the backend survived");
    assert!(after - before < 256 * 1024, "backend memory grew by {} bytes over 10 000 errors", after - before);
    // And the session still works normally.
    c.query_one("SELECT * FROM ff_rotate_hmac('good')", &[]).unwrap();
}

#[test]
fn error_messages_carry_no_backtrace_or_secret() {
    let db = Cluster::shared().fresh_db("no_backtrace");
    let mut c = db.connect();
    let secret = hex32(0x5a);
    c.query_one("SELECT * FROM ff_seed_hmac('k1', $1)", &[&secret]).unwrap();
    let other = hex32(0x6b);
    let probes: Vec<(String, Vec<String>)> = vec![
        ("SELECT * FROM ff_rotate_hmac('k1', $1)".into(), vec![other.clone()]),
        ("SELECT * FROM ff_seed_hmac('k2', $1)".into(), vec![secret.clone()]),
        ("SELECT * FROM ff_rotate_hmac('k3', $1)".into(), vec![format!("{secret}zz")]),
        ("SELECT * FROM ff_rotate_hmac($1)".into(), vec!["x".repeat(1 << 20)]),
    ];
    for (sql, args) in probes {
        let e = expect_err(&mut c, &sql, &[&args[0]]);
        let text = format!("{} {}", e.message, e.detail.clone().unwrap_or_default());
        assert!(!looks_like_backtrace(&text), "{text}");
        assert!(!text.contains(&secret) && !text.contains(&other), "secret in error: {text}");
        assert!(e.code.starts_with("WF"), "{e:?}");
    }
}

/// What Postgres accepts but serde_json or pgrx's array conversion refuse — a NULL element of a
/// `text[]`, `jsonb` nested deeper than 128 levels, a number beyond f64 — was `XX000` while the
/// argument was converted; now each is `WF001` naming the field, and nothing is written.
#[test]
fn unconvertible_arguments_are_wf001_naming_the_field() {
    let db = Cluster::shared().fresh_db("unconvertible_args");
    let mut c = db.connect();
    c.batch_execute("SELECT * FROM ff_seed_hmac('k1')").unwrap();
    let deep = format!("{}1{}", "[".repeat(200), "]".repeat(200));
    let ex = "'{fp:0}:00000000-0000-4000-8000-000000000000'";
    let cases: Vec<(String, &str)> = vec![
        ("SELECT * FROM ff_claim('l', 'w', 'w-1', ARRAY['gpu', NULL])".into(), "invalid_capabilities"),
        ("SELECT * FROM ff_claim_for_worker('l', 'w', 'w-1', ARRAY[NULL]::text[])".into(), "invalid_capabilities"),
        ("SELECT * FROM ff_create_execution('l', required_capabilities => ARRAY[NULL]::text[])".into(), "invalid_required_capabilities"),
        ("SELECT * FROM ff_create_execution('l', budget_ids => ARRAY['b', NULL])".into(), "invalid_budget_ids"),
        (format!("SELECT * FROM ff_create_execution('l', tags => '{{\"a\": {deep}}}')"), "tags_too_deep"),
        ("SELECT * FROM ff_create_execution('l', tags => '{\"a\": 1e400}')".into(), "number_out_of_range"),
        (format!("SELECT * FROM ff_suspend({ex}, gen_random_uuid(), 1, '{deep}')"), "resume_condition_too_deep"),
        (format!("SELECT * FROM ff_suspend({ex}, gen_random_uuid(), 1, '\"OperatorOnly\"', '[{deep}]')"), "waitpoints_too_deep"),
        ("SELECT * FROM ff_create_budget('b', '{\"tokens\": 1e400}')".into(), "number_out_of_range"),
        (format!("SELECT * FROM ff_create_budget('b', '{{}}', '{deep}')"), "soft_limits_too_deep"),
        (format!("SELECT * FROM ff_report_usage({ex}, gen_random_uuid(), 1, '{{\"t\": 1e999}}')"), "number_out_of_range"),
        (format!("SELECT * FROM ff_complete_many('{deep}')"), "leases_too_deep"),
    ];
    for (sql, detail) in cases {
        let e = expect_err(&mut c, &sql, &[]);
        assert_eq!((e.code.as_str(), e.detail.as_deref()), ("WF001", Some(detail)), "{sql}: {}", e.message);
    }
    assert_eq!(count(&mut c, "SELECT count(*) FROM ff_exec_core"), 0);
    assert_eq!(count(&mut c, "SELECT count(*) FROM ff_budget"), 0);
}
