//! Isolation levels and cancellation. Mutating calls inside REPEATABLE READ and SERIALIZABLE
//! transactions, under contention from 8 sessions, give either their documented result or `40001`
//! / `40P01` (which a client retries) — never a wrong answer or a double effect; a statement
//! cancelled by `statement_timeout` or `pg_cancel_backend` mid-flight writes all or nothing.

use ff_engine_tests::*;
use std::sync::{Arc, Barrier};
use std::time::Duration;

const RETRYABLE: &[&str] = &["40001", "40P01"];

/// Run `body` in a transaction at `level`, retrying serialization failures and deadlocks; any other
/// error is returned.
fn in_txn<T>(
    c: &mut postgres::Client,
    level: &str,
    mut body: impl FnMut(&mut postgres::Transaction<'_>) -> Result<T, postgres::Error>,
) -> Result<T, DbErr> {
    loop {
        let mut t = c.transaction().unwrap();
        t.batch_execute(&format!("SET TRANSACTION ISOLATION LEVEL {level}")).unwrap();
        let result = body(&mut t).and_then(|v| t.commit().map(|()| v));
        match result {
            Ok(v) => return Ok(v),
            Err(e) if RETRYABLE.contains(&db_err(&e).code.as_str()) => continue,
            Err(e) => return Err(db_err(&e)),
        }
    }
}

#[test]
fn eight_sessions_claim_and_complete_under_repeatable_read_and_serializable() {
    for level in ["REPEATABLE READ", "SERIALIZABLE"] {
        let db = Cluster::shared().fresh_db(&format!("iso_claims_{}", level.replace(' ', "_").to_lowercase()));
        let mut c = db.connect();
        c.batch_execute("SELECT * FROM ff_seed_hmac('k1')").unwrap();
        for _ in 0..40 {
            create_in(&mut c, "iso", "");
        }
        let barrier = Arc::new(Barrier::new(8));
        let handles: Vec<_> = (0..8)
            .map(|i| {
                let (ci, barrier) = (db.conninfo("postgres"), barrier.clone());
                std::thread::spawn(move || -> Result<usize, DbErr> {
                    let mut c = postgres::Client::connect(&ci, postgres::NoTls).unwrap();
                    barrier.wait();
                    let mut done = 0;
                    loop {
                        let worker = format!("w{i}");
                        let leases =
                            in_txn(&mut c, level, |t| t.query("SELECT * FROM ff_claim('iso', $1, 'x', max_items => 2)", &[&worker]))?;
                        if leases.is_empty() {
                            return Ok(done);
                        }
                        for l in leases.iter().map(lease_from_row) {
                            in_txn(&mut c, level, |t| {
                                t.query("SELECT * FROM ff_complete($1, $2, $3)", &[&l.execution_id, &l.lease_id, &l.lease_epoch])
                            })?;
                            done += 1;
                        }
                    }
                })
            })
            .collect();
        let done: usize = handles.into_iter().map(|h| h.join().unwrap().unwrap_or_else(|e| panic!("{level}: {e:?}"))).sum();
        assert_eq!(done, 40, "{level}: each execution completed once by the sessions");
        assert_eq!(count(&mut c, "SELECT count(*) FROM ff_completion_event WHERE outcome = 'success'"), 40, "{level}");
        assert_eq!(count(&mut c, "SELECT count(*) FROM ff_attempt"), 40, "{level}: one attempt each, no double lease");
        assert_eq!(count(&mut c, "SELECT count(*) FROM ff_executions WHERE public_state <> 'completed'"), 0, "{level}");
        assert_no_orphans(&mut c);
    }
}

#[test]
fn eight_sessions_signal_one_execution_under_serializable_and_it_resumes_once() {
    let db = Cluster::shared().fresh_db("iso_signals");
    let mut c = db.connect();
    c.batch_execute("SELECT * FROM ff_seed_hmac('k1')").unwrap();
    let id = create_in(&mut c, "iso", "");
    let l = claim_one(&mut c, "iso", "w").unwrap();
    let r = c
        .query_one(
            "SELECT waitpoint_id, token FROM ff_suspend($1, $2, $3,
               '{\"Composite\":{\"kind\":\"Count\",\"n\":3,\"count_kind\":\"DistinctSignals\",\"waitpoints\":[\"k\"]}}')",
            &[&l.execution_id, &l.lease_id, &l.lease_epoch],
        )
        .unwrap();
    let (wp, token): (uuid::Uuid, String) = (r.get(0), r.get(1));
    let barrier = Arc::new(Barrier::new(8));
    let handles: Vec<_> = (0..8)
        .map(|i| {
            let (ci, barrier, id, token) = (db.conninfo("postgres"), barrier.clone(), id.clone(), token.clone());
            std::thread::spawn(move || {
                let mut c = postgres::Client::connect(&ci, postgres::NoTls).unwrap();
                barrier.wait();
                let key = format!("s{i}");
                in_txn(&mut c, "SERIALIZABLE", |t| {
                    t.query_one("SELECT effect FROM ff_deliver_signal($1, $2, $3, 'go', idempotency_key => $4)", &[&id, &wp, &token, &key])
                })
                .map(|r| r.get::<_, Option<String>>(0).unwrap_or_default())
                .map_err(|e| e.code)
            })
        })
        .collect();
    let results: Vec<Result<String, String>> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    let satisfied = results.iter().filter(|r| r.as_deref() == Ok("resume_condition_satisfied")).count();
    let accepted = results.iter().filter(|r| r.as_deref() == Ok("appended_to_waitpoint")).count();
    let closed = results.iter().filter(|r| r.as_ref().err().map(String::as_str) == Some("WF030")).count();
    assert_eq!((satisfied, accepted, closed), (1, 2, 5), "exactly the third signal resumes, later ones find it closed: {results:?}");
    assert_eq!(count(&mut c, "SELECT count(*) FROM ff_completion_event WHERE outcome = 'resumed'"), 1);
    assert_eq!(count(&mut c, "SELECT count(*) FROM ff_signal"), 3, "no signal recorded twice");
    assert_eq!(states(&mut c, &id).3, "attempt_interrupted");
}

/// A batch of leases, ready for `ff_complete_many`.
fn leases_json(c: &mut postgres::Client, n: usize, lane: &str) -> String {
    for _ in 0..n {
        create_in(c, lane, "");
    }
    let rows = c.query("SELECT * FROM ff_claim($1, 'w', 'x', max_items => 1000)", &[&lane]).unwrap();
    let items: Vec<serde_json::Value> = rows
        .iter()
        .map(lease_from_row)
        .map(|l| serde_json::json!({"execution_id": l.execution_id, "lease_id": l.lease_id.to_string(), "lease_epoch": l.lease_epoch}))
        .collect();
    serde_json::Value::Array(items).to_string()
}

fn completed_in(c: &mut postgres::Client, lane: &str) -> i64 {
    c.query_one("SELECT count(*) FROM ff_executions WHERE lane_id = $1 AND public_state = 'completed'", &[&lane]).unwrap().get(0)
}

#[test]
fn a_cancelled_batch_completes_all_or_nothing() {
    let db = Cluster::shared().fresh_db("iso_cancel");
    let mut c = db.connect();
    c.batch_execute("SELECT * FROM ff_seed_hmac('k1')").unwrap();
    // statement_timeout mid-flight.
    let batch = leases_json(&mut c, 1000, "timeout");
    c.batch_execute("SET statement_timeout = '5ms'").unwrap();
    let result = c.query("SELECT * FROM ff_complete_many($1::text::jsonb)", &[&batch]);
    c.batch_execute("RESET statement_timeout").unwrap();
    let done = completed_in(&mut c, "timeout");
    println!("statement_timeout: {}", if result.is_err() { "cancelled" } else { "finished first" });
    match result {
        Err(e) => assert_eq!((db_err(&e).code.as_str(), done), ("57014", 0), "a timed-out batch wrote {done} completions"),
        Ok(rows) => assert_eq!((rows.len(), done), (1000, 1000)),
    }
    // pg_cancel_backend from another session.
    let batch = leases_json(&mut c, 1000, "cancel");
    let pid: i32 = c.query_one("SELECT pg_backend_pid()", &[]).unwrap().get(0);
    let ci = db.conninfo("postgres");
    let canceller = std::thread::spawn(move || {
        let mut other = postgres::Client::connect(&ci, postgres::NoTls).unwrap();
        std::thread::sleep(Duration::from_millis(15));
        other.query_one("SELECT pg_cancel_backend($1)", &[&pid]).unwrap();
    });
    let result = c.query("SELECT * FROM ff_complete_many($1::text::jsonb)", &[&batch]);
    canceller.join().unwrap();
    let done = completed_in(&mut c, "cancel");
    println!("pg_cancel_backend: {}", if result.is_err() { "cancelled" } else { "finished first" });
    match result {
        Err(e) => assert_eq!((db_err(&e).code.as_str(), done), ("57014", 0), "a cancelled batch wrote {done} completions"),
        Ok(rows) => assert_eq!((rows.len(), done), (1000, 1000)),
    }
    assert_eq!(count(&mut c, "SELECT count(*) FROM ff_exec_core WHERE (ownership_state = 'leased') <> (lifecycle_phase = 'active')"), 0);
    assert_no_orphans(&mut c);
}
