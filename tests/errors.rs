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
