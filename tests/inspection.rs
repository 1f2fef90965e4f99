//! Reading executions back: `ff_get_execution`, `ff_list_attempts`, `ff_list_executions`,
//! and who may read a payload and a result, through real sessions and roles.

use ff_engine_tests::*;
use postgres::Client;

fn login_roles(su: &mut Client) {
    su.batch_execute(
        "DO $$ BEGIN
           IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'ins_worker') THEN CREATE ROLE ins_worker LOGIN; END IF;
           IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'ins_admin') THEN CREATE ROLE ins_admin LOGIN; END IF;
           IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'ins_signaler') THEN CREATE ROLE ins_signaler LOGIN; END IF;
         END $$;
         GRANT ff_worker TO ins_worker; GRANT ff_admin TO ins_admin; GRANT ff_signaler TO ins_signaler;",
    )
    .unwrap();
}

#[test]
fn result_is_read_back_byte_for_byte_by_worker_and_admin_never_by_signaler() {
    let (db, mut su) = seeded("ins_result");
    login_roles(&mut su);
    let mut w = db.connect_as("ins_worker");
    let payload: Vec<u8> = vec![0, 1, 2, 255, 0];
    let result: Vec<u8> = (0..=255u8).chain([0, 0, 7]).collect();
    let id: String = w
        .query_one("SELECT execution_id FROM ff_create_execution('lane', payload => $1, tags => '{\"team\":\"ops\"}')", &[&payload])
        .unwrap()
        .get(0);
    let l = claim_one(&mut w, "lane", "w").unwrap();
    w.query_one("SELECT * FROM ff_complete($1, $2, $3, $4)", &[&id, &l.lease_id, &l.lease_epoch, &result]).unwrap();
    for role in ["ins_worker", "ins_admin"] {
        let mut c = db.connect_as(role);
        let r = c.query_one("SELECT * FROM ff_get_execution($1)", &[&id]).unwrap();
        assert_eq!(r.get::<_, Option<Vec<u8>>>("result"), Some(result.clone()), "{role}");
        assert_eq!(r.get::<_, Option<Vec<u8>>>("payload"), Some(payload.clone()), "{role}");
        assert_eq!(r.get::<_, String>("public_state"), "completed");
        assert_eq!(r.get::<_, String>("execution_id"), id);
        assert_eq!(r.get::<_, i32>("attempt_count"), 1);
        assert!(r.get::<_, Option<i64>>("terminal_at_ms").is_some());
        assert!(r.get::<_, Option<String>>("lease_worker_id").is_none(), "no lease once completed");
        let team: Option<String> = c.query_one("SELECT tags->>'team' FROM ff_get_execution($1)", &[&id]).unwrap().get(0);
        assert_eq!(team.as_deref(), Some("ops"));
    }
    let mut s = db.connect_as("ins_signaler");
    for sql in ["SELECT * FROM ff_get_execution($1)", "SELECT * FROM ff_list_attempts($1)"] {
        assert_code(&mut s, sql, &[&id], "42501");
    }
    assert_code(&mut s, "SELECT * FROM ff_list_executions('lane')", &[], "42501");
    // The admin view shows the size, not the bytes.
    let bytes: Option<i32> = su.query_one("SELECT result_bytes FROM ff_executions WHERE execution_id = $1", &[&id]).unwrap().get(0);
    assert_eq!(bytes, Some(result.len() as i32));
}

#[test]
fn a_leased_then_failed_then_retried_execution_shows_its_history() {
    let (_db, mut c) = seeded("ins_attempts");
    let id = create_in(&mut c, "lane", "max_attempts => 3, retry_backoff_ms => 0");
    let l = claim_one(&mut c, "lane", "w1").unwrap();
    let r = c.query_one("SELECT * FROM ff_get_execution($1)", &[&id]).unwrap();
    assert_eq!(r.get::<_, Option<String>>("lease_worker_id").as_deref(), Some("w1"));
    assert!(r.get::<_, Option<i64>>("lease_expires_at_ms").is_some());
    assert_eq!(r.get::<_, i64>("lease_epoch"), l.lease_epoch);
    c.query_one("SELECT * FROM ff_fail($1, $2, $3, 'boom')", &[&id, &l.lease_id, &l.lease_epoch]).unwrap();
    let l2 = claim_one(&mut c, "lane", "w2").unwrap();
    c.query_one("SELECT * FROM ff_complete($1, $2, $3)", &[&id, &l2.lease_id, &l2.lease_epoch]).unwrap();
    let rows = c.query("SELECT attempt_index, worker_id, outcome, error_message, ended_at_ms FROM ff_list_attempts($1)", &[&id]).unwrap();
    assert_eq!(rows.len(), 2);
    assert_eq!((rows[0].get::<_, i32>(0), rows[0].get::<_, Option<String>>(1).as_deref()), (0, Some("w1")));
    assert_eq!(rows[0].get::<_, Option<String>>(3).as_deref(), Some("boom"));
    assert_eq!((rows[1].get::<_, i32>(0), rows[1].get::<_, Option<String>>(1).as_deref()), (1, Some("w2")));
    assert!(rows.iter().all(|r| r.get::<_, Option<i64>>(4).is_some()), "both attempts ended");
    let r = c.query_one("SELECT attempt_count, last_error, public_state FROM ff_get_execution($1)", &[&id]).unwrap();
    assert_eq!(
        (r.get::<_, i32>(0), r.get::<_, Option<String>>(1).as_deref(), r.get::<_, String>(2).as_str()),
        (2, Some("boom"), "completed")
    );
}

#[test]
fn next_retry_and_open_suspension_are_shown() {
    let (_db, mut c) = seeded("ins_retry");
    let id = create_in(&mut c, "lane", "max_attempts => 2, retry_backoff_ms => 60000");
    let l = claim_one(&mut c, "lane", "w").unwrap();
    let retry_at: Option<i64> =
        c.query_one("SELECT retry_at_ms FROM ff_fail($1, $2, $3, 'later')", &[&id, &l.lease_id, &l.lease_epoch]).unwrap().get(0);
    let next: Option<i64> = c.query_one("SELECT next_retry_at_ms FROM ff_get_execution($1)", &[&id]).unwrap().get(0);
    assert_eq!(next, retry_at);
    let id2 = create_in(&mut c, "lane2", "");
    let l2 = claim_one(&mut c, "lane2", "w").unwrap();
    let sid: uuid::Uuid = c
        .query_one(
            "SELECT suspension_id FROM ff_suspend($1, $2, $3, '{\"Single\":{\"waitpoint_key\":\"k\",\"matcher\":\"Wildcard\"}}', reason_code => 'waiting_for_approval')",
            &[&id2, &l2.lease_id, &l2.lease_epoch],
        )
        .unwrap()
        .get(0);
    let r = c.query_one("SELECT suspension_id, suspension_reason, public_state FROM ff_get_execution($1)", &[&id2]).unwrap();
    assert_eq!(r.get::<_, Option<uuid::Uuid>>(0), Some(sid));
    assert_eq!(r.get::<_, Option<String>>(1).as_deref(), Some("waiting_for_approval"));
    assert_eq!(r.get::<_, String>(2), "suspended");
}

#[test]
fn list_executions_pages_a_lane_in_creation_order() {
    let (_db, mut c) = seeded("ins_list");
    let ids: Vec<String> = (0..25).map(|_| create_in(&mut c, "lane", "")).collect();
    create_in(&mut c, "other", "");
    let l = claim_one(&mut c, "lane", "w").unwrap();
    c.query_one("SELECT * FROM ff_complete($1, $2, $3, 'done')", &[&l.execution_id, &l.lease_id, &l.lease_epoch]).unwrap();
    let mut seen = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let page: Vec<String> = c
            .query("SELECT execution_id FROM ff_list_executions('lane', after_execution_id => $1, max_rows => 10)", &[&after])
            .unwrap()
            .iter()
            .map(|r| r.get(0))
            .collect();
        assert!(page.len() <= 10);
        if page.is_empty() {
            break;
        }
        after = page.last().cloned();
        seen.extend(page);
    }
    assert_eq!(seen, ids, "every execution of the lane once, in creation order");
    let done = c.query("SELECT execution_id, result_bytes FROM ff_list_executions('lane', 'completed')", &[]).unwrap();
    assert_eq!(done.len(), 1);
    assert_eq!((done[0].get::<_, String>(0), done[0].get::<_, Option<i32>>(1)), (l.execution_id.clone(), Some(4)));
    assert_eq!(count(&mut c, "SELECT count(*) FROM ff_list_executions('lane', 'waiting', max_rows => 1000)"), 24);
}

#[test]
fn bad_input_to_the_readers_is_a_documented_error() {
    let (_db, mut c) = seeded("ins_errors");
    let id = create_in(&mut c, "lane", "");
    let missing = "{fp:3}:6f1c1e9e-0000-4000-8000-000000000001";
    for (sql, code) in [
        ("SELECT * FROM ff_get_execution(NULL)", "WF001"),
        ("SELECT * FROM ff_get_execution('garbage')", "WF001"),
        ("SELECT * FROM ff_list_attempts('{fp:999}:6f1c1e9e-0000-4000-8000-000000000001')", "WF001"),
        ("SELECT * FROM ff_list_executions(NULL)", "WF001"),
        ("SELECT * FROM ff_list_executions('')", "WF001"),
        ("SELECT * FROM ff_list_executions('lane', 'nope')", "WF001"),
        ("SELECT * FROM ff_list_executions('lane', max_rows => 0)", "WF001"),
        ("SELECT * FROM ff_list_executions('lane', after_execution_id => 'x')", "WF001"),
    ] {
        assert_code(&mut c, sql, &[], code);
    }
    assert_code(&mut c, "SELECT * FROM ff_get_execution($1)", &[&missing], "WF010");
    assert_code(&mut c, "SELECT * FROM ff_list_attempts($1)", &[&missing], "WF010");
    assert_code(&mut c, "SELECT * FROM ff_list_executions('lane', after_execution_id => $1)", &[&missing], "WF010");
    // An execution of another lane is no anchor for this one.
    assert_code(&mut c, "SELECT * FROM ff_list_executions('other', after_execution_id => $1)", &[&id], "WF010");
}
