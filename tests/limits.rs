//! Limits a caller cannot lift: `ff_engine.max_signals_per_execution`, `ff_engine.max_dedup_ttl_s`
//! and `ff_engine.max_payload_bytes` are superuser-only settings; a call's own arguments can only
//! lower them, and an over-limit call gets its documented error.

use ff_engine_tests::*;
use postgres::Client;

/// A suspended execution on waitpoint `k` (a Count condition no signal completes) and its token.
fn suspended(c: &mut Client) -> (String, uuid::Uuid, String) {
    create_in(c, "lim", "");
    let l = claim_one(c, "lim", "w").unwrap();
    let r = c
        .query_one(
            "SELECT waitpoint_id, token FROM ff_suspend($1, $2, $3,
               '{\"Composite\":{\"kind\":\"Count\",\"n\":1,\"count_kind\":\"DistinctSignals\",\"waitpoints\":[\"k\"],\"matcher\":{\"ByName\":\"never\"}}}')",
            &[&l.execution_id, &l.lease_id, &l.lease_epoch],
        )
        .unwrap();
    (l.execution_id, r.get(0), r.get(1))
}

fn deliver(c: &mut Client, ex: &str, wp: &uuid::Uuid, token: &str, extra: &str) -> Result<String, DbErr> {
    let sql = format!("SELECT outcome FROM ff_deliver_signal($1, $2, $3, 'other'{extra})");
    c.query_one(&sql, &[&ex, wp, &token]).map(|r| r.get(0)).map_err(|e| db_err(&e))
}

#[test]
fn the_server_signal_ceiling_holds_whatever_a_delivery_asks() {
    let db = Cluster::shared().fresh_db("limit_signals");
    let mut su = db.connect();
    su.batch_execute("SELECT * FROM ff_seed_hmac('k1'); DO $$ BEGIN EXECUTE format('ALTER DATABASE %I SET ff_engine.max_signals_per_execution = 3', current_database()); END $$").unwrap();
    let mut c = db.connect();
    let (ex, wp, token) = suspended(&mut c);
    for _ in 0..3 {
        assert_eq!(deliver(&mut c, &ex, &wp, &token, ", max_signals_per_execution => 1000000").unwrap(), "accepted");
    }
    let e = deliver(&mut c, &ex, &wp, &token, ", max_signals_per_execution => 1000000").unwrap_err();
    assert_eq!(e.code, "WF032", "{e:?}");
    // A call may lower the ceiling for itself.
    let (ex2, wp2, token2) = suspended(&mut c);
    assert_eq!(deliver(&mut c, &ex2, &wp2, &token2, ", max_signals_per_execution => 1").unwrap(), "accepted");
    assert_eq!(deliver(&mut c, &ex2, &wp2, &token2, ", max_signals_per_execution => 1").unwrap_err().code, "WF032");
}

#[test]
fn an_api_role_cannot_set_a_ceiling() {
    let db = Cluster::shared().fresh_db("limit_roles");
    let mut su = db.connect();
    su.batch_execute(
        "DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'lim_signaler') THEN CREATE ROLE lim_signaler LOGIN; END IF; END $$;
         GRANT ff_signaler TO lim_signaler;
         SELECT * FROM ff_seed_hmac('k1');
         DO $$ BEGIN EXECUTE format('ALTER DATABASE %I SET ff_engine.max_signals_per_execution = 1', current_database()); END $$",
    )
    .unwrap();
    let mut c = db.connect();
    let (ex, wp, token) = suspended(&mut c);
    let mut sig = db.connect_as("lim_signaler");
    // The library is loaded by the first call, which defines the settings as superuser-only.
    let _ = sig.query("SELECT * FROM ff_list_suspended()", &[]);
    for setting in ["ff_engine.max_signals_per_execution", "ff_engine.max_dedup_ttl_s", "ff_engine.max_payload_bytes"] {
        match (edition(), sig.batch_execute(&format!("SET {setting} = 2000000000"))) {
            (Edition::Rust, Err(e)) => assert_eq!(db_err(&e).code, "42501", "{setting}: {e:?}"),
            // The SQL edition cannot register a superuser-only setting: SET of a placeholder is accepted,
            // and the edition reads a non-superuser session's value from the configuration instead
            // (sql/edition/settings.sql). What must hold is below: the SET changes nothing.
            (Edition::Sql, Ok(())) => {}
            (edition, result) => panic!("{setting} on the {edition:?} edition: {result:?}"),
        }
    }
    // Whatever SET said, the ceilings the server was given hold for this session.
    assert_eq!(deliver(&mut sig, &ex, &wp, &token, "").unwrap(), "accepted");
    assert_eq!(deliver(&mut sig, &ex, &wp, &token, "").unwrap_err().code, "WF032");
    let e = sig
        .query("SELECT * FROM ff_deliver_signal($1, $2, $3, 'other', payload => $4)", &[&ex, &wp, &token, &vec![0u8; 1_048_577]])
        .map_err(|e| db_err(&e))
        .unwrap_err();
    assert_eq!((e.code.as_str(), e.detail.as_deref()), ("WF001", Some("payload_too_large")));
}

#[test]
fn payloads_and_results_over_the_ceiling_are_refused_and_write_nothing() {
    let db = Cluster::shared().fresh_db("limit_payloads");
    let mut su = db.connect();
    su.batch_execute("SELECT * FROM ff_seed_hmac('k1'); DO $$ BEGIN EXECUTE format('ALTER DATABASE %I SET ff_engine.max_payload_bytes = 100', current_database()); END $$").unwrap();
    let mut c = db.connect();
    let big = vec![7u8; 101];
    let e = expect_err(&mut c, "SELECT * FROM ff_create_execution('lim', $1)", &[&big]);
    assert_eq!((e.code.as_str(), e.detail.as_deref()), ("WF001", Some("payload_too_large")));
    assert_eq!(count(&mut c, "SELECT count(*) FROM ff_exec_core"), 0);
    create_in(&mut c, "lim", "payload => '\\x0102'");
    let l = claim_one(&mut c, "lim", "w").unwrap();
    let e = expect_err(&mut c, "SELECT * FROM ff_complete($1, $2, $3, $4)", &[&l.execution_id, &l.lease_id, &l.lease_epoch, &big]);
    assert_eq!((e.code.as_str(), e.detail.as_deref()), ("WF001", Some("result_too_large")));
    let many = serde_json::json!([{"execution_id": l.execution_id, "lease_id": l.lease_id.to_string(), "lease_epoch": l.lease_epoch, "result_hex": "07".repeat(101)}]);
    let outcome: String = c.query_one("SELECT outcome FROM ff_complete_many($1::text::jsonb)", &[&many.to_string()]).unwrap().get(0);
    assert_eq!(outcome, "invalid_input");
    assert_eq!(states(&mut c, &l.execution_id).4, "active", "nothing was completed");
    let small = vec![1u8; 100];
    c.query_one("SELECT * FROM ff_complete($1, $2, $3, $4)", &[&l.execution_id, &l.lease_id, &l.lease_epoch, &small]).unwrap();
    let (ex, wp, token) = suspended(&mut c);
    let e = c.query_one("SELECT * FROM ff_deliver_signal($1, $2, $3, 'x', payload => $4)", &[&ex, &wp, &token, &big]).unwrap_err();
    assert_eq!(db_err(&e).detail.as_deref(), Some("payload_too_large"));
}

#[test]
fn the_dedup_ttl_is_capped_by_the_server() {
    let db = Cluster::shared().fresh_db("limit_dedup");
    let mut su = db.connect();
    su.batch_execute("SELECT * FROM ff_seed_hmac('k1'); DO $$ BEGIN EXECUTE format('ALTER DATABASE %I SET ff_engine.max_dedup_ttl_s = 60', current_database()); END $$").unwrap();
    let mut c = db.connect();
    let (ex, wp, token) = suspended(&mut c);
    deliver(&mut c, &ex, &wp, &token, ", idempotency_key => 'once', dedup_ttl_ms => 999999999999").unwrap();
    let ttl: i64 =
        c.query_one("SELECT max(expires_at_ms) - (extract(epoch FROM now()) * 1000)::bigint FROM ff_signal_dedup", &[]).unwrap().get(0);
    assert!(ttl <= 61_000, "dedup kept for {ttl} ms, above the 60 s ceiling");
}

/// A setting given a value it does not take is 22023 invalid_parameter_value. The Rust edition's SET
/// says so; the SQL edition cannot check a SET (its settings are placeholders), so the first call that
/// reads the value says so, and writes nothing.
#[test]
fn a_malformed_setting_is_invalid_parameter_value() {
    let db = Cluster::shared().fresh_db("limit_malformed");
    let mut c = db.connect();
    c.batch_execute("SELECT * FROM ff_seed_hmac('k1')").unwrap();
    for (setting, value) in [
        ("ff_engine.max_payload_bytes", "'many'"),
        ("ff_engine.max_payload_bytes", "-1"),
        ("ff_engine.max_payload_bytes", "99999999999"),
        ("ff_engine.notify", "'sometimes'"),
    ] {
        let set = c.batch_execute(&format!("SET {setting} = {value}"));
        let call = c.query("SELECT * FROM ff_create_execution('lim_malformed')", &[]).map_err(|e| db_err(&e));
        let e = match (edition(), set, call) {
            (Edition::Rust, Err(e), Ok(_)) => db_err(&e),
            (Edition::Sql, Ok(()), Err(e)) => e,
            (edition, set, call) => panic!("{setting} = {value} on the {edition:?} edition: SET {set:?}, call {call:?}"),
        };
        assert_eq!(e.code, "22023", "{setting} = {value}: {e:?}");
        assert!(
            e.message.starts_with(&format!("invalid value for parameter \"{setting}\"")) || e.message.contains("outside the valid range"),
            "{e:?}"
        );
        c.batch_execute(&format!("RESET {setting}")).unwrap();
    }
    let created = match edition() {
        Edition::Rust => 4,
        Edition::Sql => 0,
    };
    assert_eq!(count(&mut c, "SELECT count(*) FROM ff_exec_core"), created, "a refused call writes nothing");
}
