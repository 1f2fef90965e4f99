//! Operator actions and deadlines: change priority, replay, revoke a lease, each with its
//! `ff_operator_event`; an execution whose deadline passes while suspended or leased ends `expired`
//! with nothing left open. Real sessions, real scanner runs.

use ff_engine_tests::*;
use postgres::Client;

fn operator_events(c: &mut Client, id: &str) -> Vec<(String, String, Option<String>)> {
    c.query("SELECT action::text, actor, reason FROM ff_operator_event WHERE execution_id = $1 ORDER BY event_id", &[&id])
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2)))
        .collect()
}

#[test]
fn replay_of_a_failed_execution_runs_a_new_attempt_and_completes() {
    let (_db, mut c) = seeded("op_replay");
    let id = create_in(&mut c, "lane", "");
    let l = claim_one(&mut c, "lane", "w").unwrap();
    let out: String = c.query_one("SELECT outcome FROM ff_fail($1, $2, $3, 'broken')", &[&id, &l.lease_id, &l.lease_epoch]).unwrap().get(0);
    assert_eq!(out, "terminal_failed");
    let r = c.query_one("SELECT * FROM ff_replay_execution($1, 'fixed the bug')", &[&id]).unwrap();
    assert_eq!((r.get::<_, String>(0).as_str(), r.get::<_, String>(1).as_str()), ("replayed", "failed"));
    assert_eq!(states(&mut c, &id).4, "waiting");
    let l2 = claim_one(&mut c, "lane", "w2").unwrap();
    assert_eq!((l2.attempt_index, l2.resumed), (1, false), "a fresh attempt");
    c.query_one("SELECT * FROM ff_complete($1, $2, $3, 'ok')", &[&id, &l2.lease_id, &l2.lease_epoch]).unwrap();
    assert_eq!(states(&mut c, &id).4, "completed");
    assert_eq!(count(&mut c, &format!("SELECT count(*) FROM ff_list_attempts('{id}')")), 2);
    assert_eq!(operator_events(&mut c, &id), [("replayed".into(), "postgres".into(), Some("fixed the bug".into()))]);
    // A completed execution is not replayed.
    assert_code(&mut c, "SELECT * FROM ff_replay_execution($1)", &[&id], "WF034");
    let cancelled = create_in(&mut c, "lane", "");
    c.query_one("SELECT * FROM ff_cancel($1)", &[&cancelled]).unwrap();
    c.query_one("SELECT * FROM ff_replay_execution($1)", &[&cancelled]).unwrap();
    assert_eq!(claim_one(&mut c, "lane", "w").unwrap().execution_id, cancelled);
    assert_no_orphans(&mut c);
}

#[test]
fn a_revoked_lease_is_dead_and_the_execution_is_claimed_by_another_worker() {
    let (_db, mut c) = seeded("op_revoke");
    let id = create_in(&mut c, "lane", "");
    let old = claim_one(&mut c, "lane", "w1").unwrap();
    assert_code(&mut c, "SELECT * FROM ff_revoke_lease($1, 'stuck', lease_epoch => $2)", &[&id, &(old.lease_epoch + 5)], "WF020");
    let r = c.query_one("SELECT * FROM ff_revoke_lease($1, 'stuck')", &[&id]).unwrap();
    assert_eq!((r.get::<_, String>(0).as_str(), r.get::<_, i64>(1)), ("revoked", old.lease_epoch));
    assert_eq!(states(&mut c, &id).1, "lease_revoked");
    let fence = (&id, &old.lease_id, &old.lease_epoch);
    assert_code(&mut c, "SELECT * FROM ff_complete($1, $2, $3)", &[fence.0, fence.1, fence.2], "WF020");
    assert_code(&mut c, "SELECT * FROM ff_renew_lease($1, $2, $3)", &[fence.0, fence.1, fence.2], "WF020");
    assert_code(&mut c, "SELECT * FROM ff_suspend($1, $2, $3, ff_cond_single('k'))", &[fence.0, fence.1, fence.2], "WF020");
    let new = claim_one(&mut c, "lane", "w2").unwrap();
    assert_eq!((new.execution_id.as_str(), new.attempt_index, new.resumed), (id.as_str(), 0, true), "the interrupted attempt, re-leased");
    assert!(new.lease_epoch > old.lease_epoch);
    c.query_one("SELECT * FROM ff_complete($1, $2, $3)", &[&id, &new.lease_id, &new.lease_epoch]).unwrap();
    let lease_events: Vec<String> =
        column(&mut c, "SELECT event_type::text FROM ff_lease_event WHERE execution_id = $1 ORDER BY event_id", &[&id]);
    assert_eq!(lease_events, ["acquired", "revoked", "reclaimed", "released"]);
    assert_eq!(operator_events(&mut c, &id), [("lease_revoked".into(), "postgres".into(), Some("stuck".into()))]);
    // Nothing to revoke on a completed execution.
    assert_code(&mut c, "SELECT * FROM ff_revoke_lease($1)", &[&id], "WF022");
}

#[test]
fn a_raised_priority_is_claimed_first_and_recorded() {
    let (_db, mut c) = seeded("op_priority");
    let first = create_in(&mut c, "lane", "");
    let second = create_in(&mut c, "lane", "");
    let r = c.query_one("SELECT * FROM ff_change_priority($1, 10)", &[&second]).unwrap();
    assert_eq!((r.get::<_, String>(0).as_str(), r.get::<_, i32>(1)), ("changed", 0));
    let r = c.query_one("SELECT * FROM ff_change_priority($1, 10)", &[&second]).unwrap();
    assert_eq!(r.get::<_, String>(0), "unchanged");
    assert_eq!(claim_one(&mut c, "lane", "w").unwrap().execution_id, second);
    assert_eq!(claim_one(&mut c, "lane", "w").unwrap().execution_id, first);
    let detail: String = c.query_one("SELECT detail::text FROM ff_operator_event WHERE execution_id = $1", &[&second]).unwrap().get(0);
    assert_eq!(detail, r#"{"to": 10, "from": 0}"#);
    assert_eq!(operator_events(&mut c, &second).len(), 1, "unchanged writes no event");
}

#[test]
fn a_deadline_passing_while_suspended_or_leased_expires_the_execution() {
    let (_db, mut c) = seeded("op_deadline");
    let deadline = "deadline_at_ms => (extract(epoch from clock_timestamp()) * 1000)::bigint + 400";
    let suspended = create_in(&mut c, "s", deadline);
    let leased = create_in(&mut c, "l", deadline);
    let later = create_in(&mut c, "l2", "deadline_at_ms => (extract(epoch from clock_timestamp()) * 1000)::bigint + 600000");
    let ls = claim_one(&mut c, "s", "w").unwrap();
    let wps: Vec<uuid::Uuid> = column(
        &mut c,
        "SELECT waitpoint_id FROM ff_suspend($1, $2, $3, ff_cond_all(ff_cond_single('a'), ff_cond_single('b')))",
        &[&suspended, &ls.lease_id, &ls.lease_epoch],
    );
    assert_eq!(wps.len(), 2);
    let ll = claim_one(&mut c, "l", "w").unwrap();
    let due: i64 = c.query_one("SELECT deadline_at_ms FROM ff_get_execution($1)", &[&leased]).unwrap().get::<_, Option<i64>>(0).unwrap();
    assert_eq!(count(&mut c, "SELECT ff_expire_deadlines()::bigint"), 0, "nothing is due yet");
    std::thread::sleep(std::time::Duration::from_millis(500));
    let ticked: i32 = c.query_one("SELECT processed FROM ff_tick() WHERE task = 'expire_deadlines'", &[]).unwrap().get(0);
    assert_eq!(ticked, 2);
    for id in [&suspended, &leased] {
        assert_eq!(
            states(&mut c, id),
            ("terminal".into(), "unowned".into(), "not_applicable".into(), "attempt_terminal".into(), "expired".into())
        );
        let outcome: String = c.query_one("SELECT outcome::text FROM ff_completion_event WHERE execution_id = $1", &[id]).unwrap().get(0);
        assert_eq!(outcome, "expired");
        let r = c.query_one("SELECT last_error, terminal_at_ms, suspension_id FROM ff_get_execution($1)", &[id]).unwrap();
        assert_eq!(r.get::<_, Option<String>>(0).as_deref(), Some("deadline_exceeded"));
        assert!(r.get::<_, Option<i64>>(1).unwrap() >= due);
        assert!(r.get::<_, Option<uuid::Uuid>>(2).is_none(), "no open suspension");
    }
    let open: i64 = count(&mut c, &format!("SELECT count(*) FROM ff_list_pending_waitpoints('{suspended}')"));
    let closed: Vec<String> = column(&mut c, "SELECT state FROM ff_list_pending_waitpoints($1, include_closed => true)", &[&suspended]);
    assert_eq!((open, closed), (0, vec!["closed".to_string(), "closed".to_string()]));
    assert_code(&mut c, "SELECT * FROM ff_complete($1, $2, $3)", &[&leased, &ll.lease_id, &ll.lease_epoch], "WF020");
    assert_eq!(states(&mut c, &later).4, "waiting", "a later deadline is left alone");
    assert_eq!(count(&mut c, "SELECT ff_expire_deadlines()::bigint"), 0, "a second run changes nothing");
    assert_no_orphans(&mut c);
}

#[test]
fn bad_input_to_operator_functions_is_a_documented_error() {
    let (_db, mut c) = seeded("op_errors");
    let missing = "{fp:3}:6f1c1e9e-0000-4000-8000-000000000001";
    for (sql, code) in [
        ("SELECT * FROM ff_change_priority(NULL, 1)", "WF001"),
        ("SELECT * FROM ff_change_priority('x', 1)", "WF001"),
        ("SELECT * FROM ff_replay_execution(NULL)", "WF001"),
        ("SELECT * FROM ff_revoke_lease(NULL)", "WF001"),
        ("SELECT * FROM ff_revoke_lease('{fp:3}:6f1c1e9e-0000-4000-8000-000000000001', '')", "WF001"),
        ("SELECT * FROM ff_revoke_lease('{fp:3}:6f1c1e9e-0000-4000-8000-000000000001', NULL)", "WF001"),
        ("SELECT * FROM ff_create_execution('lane', deadline_at_ms => 1)", "WF001"),
        ("SELECT ff_expire_deadlines(0)", "WF001"),
    ] {
        assert_code(&mut c, sql, &[], code);
    }
    let id = create_in(&mut c, "lane", "");
    assert_code(&mut c, "SELECT * FROM ff_change_priority($1, NULL)", &[&id], "WF001");
    for sql in ["SELECT * FROM ff_change_priority($1, 1)", "SELECT * FROM ff_replay_execution($1)", "SELECT * FROM ff_revoke_lease($1)"] {
        assert_code(&mut c, sql, &[&missing], "WF010");
    }
    assert_eq!(count(&mut c, "SELECT count(*) FROM ff_operator_event"), 0, "a failed call writes nothing");
}

#[test]
fn a_held_execution_is_not_claimed_until_released() {
    let (_db, mut c) = seeded("op_hold");
    let id = create_in(&mut c, "hold", "");
    let out: String = c.query_one("SELECT outcome FROM ff_hold_execution($1, 'investigating')", &[&id]).unwrap().get(0);
    assert_eq!(out, "held");
    assert_eq!(states(&mut c, &id).2, "blocked_by_operator");
    assert_eq!(states(&mut c, &id).4, "waiting", "the public state is kept");
    let again: String = c.query_one("SELECT outcome FROM ff_hold_execution($1)", &[&id]).unwrap().get(0);
    assert_eq!(again, "already_held");
    assert!(claim_one(&mut c, "hold", "w").is_none());
    let grant = c.query("SELECT * FROM ff_claim_for_worker('hold', 'w', 'i')", &[]).unwrap();
    assert!(grant.is_empty(), "no grant for a held execution");
    let out: String = c.query_one("SELECT outcome FROM ff_release_execution($1)", &[&id]).unwrap().get(0);
    assert_eq!(out, "released");
    let not: String = c.query_one("SELECT outcome FROM ff_release_execution($1)", &[&id]).unwrap().get(0);
    assert_eq!(not, "not_held");
    assert_eq!(claim_one(&mut c, "hold", "w").unwrap().execution_id, id);
    // Running now: it cannot be held.
    let e = assert_code(&mut c, "SELECT * FROM ff_hold_execution($1)", &[&id], "WF001");
    assert_eq!(e.detail.as_deref(), Some("execution_not_runnable"));
    let actions: Vec<String> = operator_events(&mut c, &id).into_iter().map(|e| e.0).collect();
    assert_eq!(actions, ["execution_held", "execution_released"]);
    // A delayed execution held past its delay, and a blocked flow member whose upstream completes
    // while it is held, come back as their state calls for.
    let now: i64 = c.query_one("SELECT (extract(epoch FROM clock_timestamp()) * 1000)::bigint", &[]).unwrap().get(0);
    let delayed = create_in(&mut c, "hold2", &format!("delay_until_ms => {}", now + 200));
    c.query_one("SELECT * FROM ff_hold_execution($1)", &[&delayed]).unwrap();
    std::thread::sleep(std::time::Duration::from_millis(300));
    c.batch_execute("SELECT * FROM ff_tick()").unwrap();
    assert_eq!(states(&mut c, &delayed).2, "blocked_by_operator", "promotion leaves it held");
    c.query_one("SELECT * FROM ff_release_execution($1)", &[&delayed]).unwrap();
    assert_eq!(claim_one(&mut c, "hold2", "w").unwrap().execution_id, delayed);
    let f: uuid::Uuid = c.query_one("SELECT flow_id FROM ff_create_flow()", &[]).unwrap().get(0);
    let up: String = c.query_one("SELECT execution_id FROM ff_create_execution('hold-up', flow_id => $1)", &[&f]).unwrap().get(0);
    let down: String = c
        .query_one("SELECT execution_id FROM ff_create_execution('hold3', flow_id => $1, depends_on => ARRAY[$2])", &[&f, &up])
        .unwrap()
        .get(0);
    c.query_one("SELECT * FROM ff_hold_execution($1)", &[&down]).unwrap();
    let lu = claim_one(&mut c, "hold-up", "w").unwrap();
    c.query_one("SELECT * FROM ff_complete($1, $2, $3)", &[&up, &lu.lease_id, &lu.lease_epoch]).unwrap();
    assert_eq!(states(&mut c, &down).2, "blocked_by_operator", "a release of dependencies leaves it held");
    c.query_one("SELECT * FROM ff_release_execution($1)", &[&down]).unwrap();
    assert_eq!(claim_one(&mut c, "hold3", "w").unwrap().execution_id, down);
    assert_code(&mut c, "SELECT * FROM ff_hold_execution('nope')", &[], "WF001");
    assert_code(&mut c, "SELECT * FROM ff_hold_execution(NULL)", &[], "WF001");
    assert_code(&mut c, "SELECT * FROM ff_release_execution('{fp:1}:00000000-0000-4000-8000-000000000000')", &[], "WF010");
    assert_code(&mut c, "SELECT * FROM ff_hold_execution($1, '')", &[&down], "WF001");
}

/// A hold racing claims: for each execution exactly one wins — held and never handed out, or
/// claimed and the hold refused.
#[test]
fn holds_racing_sixteen_claimers_exactly_one_wins() {
    let (db, mut c) = seeded("op_hold_race");
    let ids: Vec<String> = (0..64).map(|_| create_in(&mut c, "race", "")).collect();
    let barrier = std::sync::Arc::new(std::sync::Barrier::new(17));
    let claimers: Vec<_> = (0..16)
        .map(|_| {
            let (barrier, ci) = (barrier.clone(), db.conninfo("postgres"));
            std::thread::spawn(move || {
                let mut c = postgres::Client::connect(&ci, postgres::NoTls).unwrap();
                barrier.wait();
                let mut got = Vec::new();
                while let Some(l) = claim_one(&mut c, "race", "w") {
                    got.push(l.execution_id);
                }
                got
            })
        })
        .collect();
    let holder = {
        let (barrier, ci, ids) = (barrier.clone(), db.conninfo("postgres"), ids.clone());
        std::thread::spawn(move || {
            let mut c = postgres::Client::connect(&ci, postgres::NoTls).unwrap();
            barrier.wait();
            ids.iter()
                .filter(|id| {
                    c.query_one("SELECT outcome FROM ff_hold_execution($1)", &[id])
                        .map(|r| r.get::<_, String>(0) == "held")
                        .unwrap_or(false)
                })
                .cloned()
                .collect::<Vec<_>>()
        })
    };
    let claimed: Vec<String> = claimers.into_iter().flat_map(|h| h.join().unwrap()).collect();
    let held = holder.join().unwrap();
    let claimed_set: std::collections::HashSet<&String> = claimed.iter().collect();
    assert_eq!(claimed_set.len(), claimed.len(), "nothing claimed twice");
    assert!(held.iter().all(|h| !claimed_set.contains(h)), "a held execution was handed out");
    assert_eq!(claimed.len() + held.len(), ids.len(), "each went one way");
    for h in &held {
        assert_eq!(states(&mut c, h).2, "blocked_by_operator");
    }
}
