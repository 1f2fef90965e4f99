//! The engine's controls: failure classes, throttled usage answers, scanner filters and paused
//! lanes. Real sessions, real scanner runs, a real race of sixteen claimers against a pause; the same
//! file runs against both editions.

use ff_engine_tests::*;
use postgres::Client;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Barrier};

/// An attempt's (outcome, failure_class, failure_detail).
type AttemptEnd = (Option<String>, Option<String>, Option<Vec<u8>>);

/// Each attempt's end, oldest first.
fn attempts(c: &mut Client, id: &str) -> Vec<AttemptEnd> {
    c.query("SELECT outcome, failure_class, failure_detail FROM ff_list_attempts($1)", &[&id])
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2)))
        .collect()
}

/// (outcome, failure_class) of the execution's completion events, in order.
fn completions(c: &mut Client, id: &str) -> Vec<(String, Option<String>)> {
    c.query("SELECT outcome::text, failure_class::text FROM ff_completions WHERE execution_id = $1 ORDER BY event_id", &[&id])
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect()
}

fn fail(c: &mut Client, l: &Lease, class: Option<&str>, detail: Option<&[u8]>) -> String {
    c.query_one(
        "SELECT outcome FROM ff_fail($1, $2, $3, 'broken', failure_class => $4, detail => $5)",
        &[&l.execution_id, &l.lease_id, &l.lease_epoch, &class, &detail],
    )
    .unwrap()
    .get(0)
}

/// A login role that is a member of `role` (cluster-wide, so created once; tests running at the
/// same time may race to create it, and the loser finds it there).
fn login(c: &mut Client, name: &str, role: &str) {
    c.batch_execute(&format!(
        "DO $$ BEGIN CREATE ROLE {name} LOGIN IN ROLE {role}; \
         EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL; END $$"
    ))
    .unwrap();
}

/// A session as a login member of each role: superuser, ff_admin, ff_worker, ff_signaler.
fn role_session(db: &TestDb<'_>, c: &mut Client, role: &str) -> Client {
    if role == "postgres" {
        return db.connect();
    }
    let name = format!("ctl_{}", role.trim_start_matches("ff_"));
    login(c, &name, role);
    db.connect_as(&name)
}

fn s(v: &str) -> Option<String> {
    Some(v.to_string())
}

#[test]
fn failure_classes_decide_retries_and_are_recorded_on_attempts_and_events() {
    let (_db, mut c) = seeded("ctl_fail_class");
    // transient (the default) and timeout retry while attempts remain; the last attempt fails for good.
    let id = create_in(&mut c, "f", "max_attempts => 3, retry_backoff_ms => 0");
    let l = claim_one(&mut c, "f", "w").unwrap();
    assert_eq!(fail(&mut c, &l, None, Some(b"trace 1")), "retry_scheduled");
    let l = claim_one(&mut c, "f", "w").unwrap();
    assert_eq!(fail(&mut c, &l, Some("timeout"), None), "retry_scheduled");
    let l = claim_one(&mut c, "f", "w").unwrap();
    assert_eq!(fail(&mut c, &l, Some("infra_crash"), None), "terminal_failed");
    assert_eq!(
        attempts(&mut c, &id),
        [
            (s("failed"), s("transient"), Some(b"trace 1".to_vec())),
            (s("failed"), s("timeout"), None),
            (s("failed"), s("infra_crash"), None)
        ]
    );
    assert_eq!(completions(&mut c, &id), [("failed".to_string(), s("infra_crash"))]);

    // permanent ends the execution at once, attempts left or not.
    let id = create_in(&mut c, "p", "max_attempts => 5");
    let l = claim_one(&mut c, "p", "w").unwrap();
    assert_eq!(fail(&mut c, &l, Some("permanent"), Some(b"\x00\xff")), "terminal_failed");
    assert_eq!(states(&mut c, &id).4, "failed");
    assert_eq!(attempts(&mut c, &id), [(s("failed"), s("permanent"), Some(vec![0, 255]))]);
    assert_eq!(completions(&mut c, &id), [("failed".to_string(), s("permanent"))]);

    // retryable => false without a class records permanent; a success records none.
    let id = create_in(&mut c, "r", "max_attempts => 5");
    let l = claim_one(&mut c, "r", "w").unwrap();
    let out: String =
        c.query_one("SELECT outcome FROM ff_fail($1, $2, $3, 'no', false)", &[&id, &l.lease_id, &l.lease_epoch]).unwrap().get(0);
    assert_eq!(out, "terminal_failed");
    assert_eq!(attempts(&mut c, &id)[0].1, s("permanent"));
    let id = create_in(&mut c, "ok", "");
    let l = claim_one(&mut c, "ok", "w").unwrap();
    c.query_one("SELECT * FROM ff_complete($1, $2, $3)", &[&id, &l.lease_id, &l.lease_epoch]).unwrap();
    assert_eq!(attempts(&mut c, &id), [(s("success"), None, None)]);
    assert_eq!(completions(&mut c, &id), [("success".to_string(), None)]);

    // A cancellation records cancelled, on the running attempt and on the event.
    let id = create_in(&mut c, "c", "");
    claim_one(&mut c, "c", "w").unwrap();
    c.query_one("SELECT * FROM ff_cancel($1)", &[&id]).unwrap();
    assert_eq!(attempts(&mut c, &id), [(s("cancelled"), s("cancelled"), None)]);
    assert_eq!(completions(&mut c, &id), [("cancelled".to_string(), s("cancelled"))]);
    // A deadline records timeout.
    let id = create_in(&mut c, "d", "deadline_at_ms => (extract(epoch from clock_timestamp()) * 1000)::bigint + 50");
    claim_one(&mut c, "d", "w").unwrap();
    std::thread::sleep(std::time::Duration::from_millis(80));
    assert_eq!(c.query_one("SELECT ff_expire_deadlines()", &[]).unwrap().get::<_, i32>(0), 1);
    assert_eq!(attempts(&mut c, &id), [(s("expired"), s("timeout"), None)]);
    assert_eq!(completions(&mut c, &id), [("expired".to_string(), s("timeout"))]);
    assert_no_orphans(&mut c);
}

#[test]
fn an_expired_lease_records_infra_crash_and_max_reclaims_closes_the_attempt() {
    let (_db, mut c) = seeded("ctl_infra_crash");
    c.batch_execute("SET ff_engine.max_reclaims = 1").unwrap();
    let id = create_in(&mut c, "x", "");
    let claim = "SELECT * FROM ff_claim('x', 'w', 'i', lease_ttl_ms => 1)";
    let first = lease_from_row(&c.query_one(claim, &[]).unwrap());
    std::thread::sleep(std::time::Duration::from_millis(5));
    assert_eq!(c.query_one("SELECT ff_expire_leases()", &[]).unwrap().get::<_, i32>(0), 1);
    // Reclaimable: the attempt stays open, marked; the reclaim resumes it.
    assert_eq!(attempts(&mut c, &id), [(None, s("infra_crash"), None)]);
    let second = lease_from_row(&c.query_one(claim, &[]).unwrap());
    assert_eq!((second.attempt_index, second.resumed), (first.attempt_index, true));
    std::thread::sleep(std::time::Duration::from_millis(5));
    assert_eq!(c.query_one("SELECT ff_expire_leases()", &[]).unwrap().get::<_, i32>(0), 1);
    // The second expiry is past max_reclaims: failed for good, the attempt closed.
    assert_eq!(states(&mut c, &id).4, "failed");
    assert_eq!(attempts(&mut c, &id), [(s("failed"), s("infra_crash"), None)]);
    assert_eq!(completions(&mut c, &id), [("failed".to_string(), s("infra_crash"))]);
    let ended: Option<i64> = c.query_one("SELECT ended_at_ms FROM ff_list_attempts($1)", &[&id]).unwrap().get(0);
    assert!(ended.is_some());
    // A reclaimed attempt that then completes records no failure.
    c.batch_execute("RESET ff_engine.max_reclaims").unwrap();
    let id = create_in(&mut c, "x", "");
    lease_from_row(&c.query_one(claim, &[]).unwrap());
    std::thread::sleep(std::time::Duration::from_millis(5));
    c.query_one("SELECT ff_expire_leases()", &[]).unwrap();
    let again = lease_from_row(&c.query_one(claim.replace("lease_ttl_ms => 1", "lease_ttl_ms => 60000").as_str(), &[]).unwrap());
    c.query_one("SELECT * FROM ff_complete($1, $2, $3)", &[&id, &again.lease_id, &again.lease_epoch]).unwrap();
    assert_eq!(attempts(&mut c, &id), [(s("success"), None, None)]);
}

#[test]
fn bad_failure_classes_and_details_are_refused_and_change_nothing() {
    let (db, mut c) = seeded("ctl_fail_bad");
    let id = create_in(&mut c, "b", "");
    let l = claim_one(&mut c, "b", "w").unwrap();
    let big = vec![7u8; 65_537];
    for user in ["postgres", "ff_admin", "ff_worker"] {
        let mut u = role_session(&db, &mut c, user);
        let sql = "SELECT * FROM ff_fail($1, $2, $3, 'x', failure_class => $4, detail => $5)";
        for (class, detail, code) in [
            (Some("cancelled"), None, "invalid_failure_class"),
            (Some("Transient"), None, "invalid_failure_class"),
            (Some(""), None, "invalid_failure_class"),
            (None, Some(big.as_slice()), "detail_too_long"),
        ] {
            let e = assert_code(&mut u, sql, &[&id, &l.lease_id, &l.lease_epoch, &class, &detail], "WF001");
            assert_eq!(e.detail.as_deref(), Some(code), "{user}: {class:?}");
        }
    }
    let mut signaler = role_session(&db, &mut c, "ff_signaler");
    assert_code(
        &mut signaler,
        "SELECT * FROM ff_fail($1, $2, $3, 'x', failure_class => 'permanent')",
        &[&id, &l.lease_id, &l.lease_epoch],
        "42501",
    );
    assert_eq!(states(&mut c, &id).4, "active", "nothing changed");
    assert_eq!(attempts(&mut c, &id), [(None, None, None)]);
}

#[test]
fn a_full_rate_window_answers_throttled_with_when_to_come_back() {
    let (_db, mut c) = seeded("ctl_throttle");
    c.query_one("SELECT * FROM ff_create_budget('rate', '{\"calls\": 2}', '{}', 60000)", &[]).unwrap();
    c.query_one("SELECT * FROM ff_create_budget('total', '{\"tokens\": 100}')", &[]).unwrap();
    let id = create_in(&mut c, "t", "budget_ids => '{rate,total}'");
    let l = claim_one(&mut c, "t", "w").unwrap();
    let report = |c: &mut Client, usage: &str| -> (String, Option<String>, Option<i64>) {
        let r =
            c.query_one("SELECT * FROM ff_report_usage($1, $2, $3, $4::text::jsonb)", &[&id, &l.lease_id, &l.lease_epoch, &usage]).unwrap();
        (r.get(0), r.get(1), r.get(2))
    };
    assert_eq!(report(&mut c, r#"{"calls": 1}"#), ("admitted".into(), None, None));
    let (decision, dimension, after) = report(&mut c, r#"{"calls": 1}"#);
    assert_eq!((decision.as_str(), dimension.as_deref()), ("throttled", Some("calls")));
    assert!(after.is_some_and(|ms| (59_000..=60_000).contains(&ms)), "{after:?}");
    // A budget that never resets outranks the window: waiting would not help.
    let (decision, dimension, after) = report(&mut c, r#"{"tokens": 100}"#);
    assert_eq!((decision.as_str(), dimension.as_deref(), after), ("hard_breach", Some("tokens"), None));
    // Once the window has passed, the lazy reset admits again.
    c.batch_execute(
        "UPDATE ff_budget SET last_reset_at_ms = last_reset_at_ms - 61000 WHERE budget_id = 'rate'; \
                     UPDATE ff_budget_usage SET used = 0 WHERE budget_id = 'total'",
    )
    .unwrap();
    assert_eq!(report(&mut c, r#"{"calls": 1}"#), ("admitted".into(), None, None));
}

#[test]
fn a_filtered_tick_touches_only_the_executions_it_names() {
    let (_db, mut c) = seeded("ctl_filter");
    let claim = "SELECT * FROM ff_claim($1, 'w', 'i', lease_ttl_ms => 1)";
    let mut leased = Vec::new();
    for (lane, ns, tags) in
        [("a", "tenant_a", r#"{"region": "eu"}"#), ("b", "tenant_b", r#"{"region": "eu"}"#), ("c", "tenant_b", r#"{"region": "us"}"#)]
    {
        let id = create_in(&mut c, lane, &format!("namespace => '{ns}', tags => '{tags}'"));
        c.query_one(claim, &[&lane]).unwrap();
        leased.push(id);
    }
    std::thread::sleep(std::time::Duration::from_millis(5));
    let tick = |c: &mut Client, args: &str| -> Vec<(String, i32)> {
        c.query(&format!("SELECT task, processed FROM ff_tick({args})"), &[]).unwrap().iter().map(|r| (r.get(0), r.get(1))).collect()
    };
    let expired = |rows: &[(String, i32)]| rows.iter().find(|(t, _)| t == "expire_leases").map(|r| r.1);
    let rows = tick(&mut c, "namespace => 'tenant_b', tag_key => 'region', tag_value => 'us'");
    assert_eq!(expired(&rows), Some(1));
    assert!(
        rows.iter().all(|(t, _)| t != "gc_keys" && t != "verify_claim_starts"),
        "a filtered tick leaves the keystore and the claim starts alone: {rows:?}"
    );
    assert_eq!(states(&mut c, &leased[2]).1, "unowned");
    assert_eq!(states(&mut c, &leased[1]).1, "leased", "another tag of the same tenant is untouched");
    assert_eq!(c.query_one("SELECT ff_expire_leases(namespace => 'tenant_a')", &[]).unwrap().get::<_, i32>(0), 1);
    assert_eq!(states(&mut c, &leased[1]).1, "leased");
    assert_eq!(expired(&tick(&mut c, "namespace => 'nobody'")), Some(0));
    let rows = tick(&mut c, "");
    assert_eq!(expired(&rows), Some(1));
    assert!(rows.iter().any(|(t, _)| t == "gc_keys"));
    // Delayed promotion and grants follow the same filter.
    let d =
        create_in(&mut c, "d", "namespace => 'tenant_a', delay_until_ms => (extract(epoch from clock_timestamp()) * 1000)::bigint + 30");
    std::thread::sleep(std::time::Duration::from_millis(50));
    assert_eq!(c.query_one("SELECT ff_promote_delayed(namespace => 'tenant_b')", &[]).unwrap().get::<_, i32>(0), 0);
    assert_eq!(c.query_one("SELECT ff_promote_delayed(namespace => 'tenant_a')", &[]).unwrap().get::<_, i32>(0), 1);
    assert_eq!(states(&mut c, &d).4, "waiting");
    for (args, code) in [
        ("tag_key => 'region'", "invalid_tag_filter"),
        ("tag_value => 'eu'", "invalid_tag_filter"),
        ("namespace => ''", "invalid_namespace"),
    ] {
        for f in ["ff_tick", "ff_expire_leases", "ff_gc_dedup", "ff_prune_by_retention"] {
            let e = assert_code(&mut c, &format!("SELECT * FROM {f}({args})"), &[], "WF001");
            assert_eq!(e.detail.as_deref(), Some(code), "{f}({args})");
        }
    }
}

#[test]
fn a_paused_lane_accepts_work_hands_out_none_and_resuming_restores_it() {
    let (db, mut c) = seeded("ctl_pause");
    let a = create_in(&mut c, "p", "");
    let grant = c.query_one("SELECT grant_key FROM ff_claim_for_worker('p', 'w', 'i')", &[]).unwrap().get::<_, String>(0);
    let r = c.query_one("SELECT outcome FROM ff_pause_lane('p', 'maintenance')", &[]).unwrap();
    assert_eq!(r.get::<_, String>(0), "paused");
    assert_eq!(c.query_one("SELECT outcome FROM ff_pause_lane('p')", &[]).unwrap().get::<_, String>(0), "already_paused");
    let b = create_in(&mut c, "p", "");
    assert!(claim_one(&mut c, "p", "w").is_none(), "a paused lane hands out nothing");
    assert!(c.query("SELECT * FROM ff_claim_for_worker('p', 'w', 'i')", &[]).unwrap().is_empty());
    let e = assert_code(&mut c, "SELECT * FROM ff_claim_execution($1, 'w', 'i')", &[&grant], "WF025");
    assert!(e.message.contains("paused"), "{e:?}");
    let holdback: Vec<(String, i64)> =
        c.query("SELECT reason, executions FROM ff_lane_holdback('p')", &[]).unwrap().iter().map(|r| (r.get(0), r.get(1))).collect();
    assert!(holdback.contains(&("lane_paused".to_string(), 2)), "{holdback:?}");
    let lane = c.query_one("SELECT state, depth, pause_reason, paused_at_ms FROM ff_list_lanes() WHERE lane_id = 'p'", &[]).unwrap();
    assert_eq!(
        (lane.get::<_, String>(0).as_str(), lane.get::<_, i64>(1), lane.get::<_, Option<String>>(2)),
        ("paused", 2, s("maintenance"))
    );
    assert!(lane.get::<_, Option<i64>>(3).is_some());
    // Other lanes are untouched.
    create_in(&mut c, "q", "");
    assert!(claim_one(&mut c, "q", "w").is_some());

    // Resuming wakes the lane's announced worker in the resuming transaction.
    let mut worker = db.connect();
    let pid: i32 = worker.query_one("SELECT pg_backend_pid()", &[]).unwrap().get(0);
    worker.batch_execute(&format!("LISTEN ff_wake_{pid}")).unwrap();
    worker.batch_execute("SELECT ff_await_lane('p')").unwrap();
    assert_eq!(c.query_one("SELECT outcome FROM ff_resume_lane('p')", &[]).unwrap().get::<_, String>(0), "resumed");
    assert_eq!(c.query_one("SELECT outcome FROM ff_resume_lane('p')", &[]).unwrap().get::<_, String>(0), "not_paused");
    {
        use postgres::fallible_iterator::FallibleIterator;
        let mut n = worker.notifications();
        let woken = n.timeout_iter(std::time::Duration::from_secs(5)).next().unwrap().expect("the resume woke the worker");
        assert_eq!(woken.payload(), "p");
    }
    // The grant issued before the pause is still valid for its TTL (its execution stayed reserved).
    let l = lease_from_row(&c.query_one("SELECT * FROM ff_claim_execution($1, 'w', 'i')", &[&grant]).unwrap());
    assert_eq!(l.execution_id, a);
    assert_eq!(claim_one(&mut c, "p", "w").unwrap().execution_id, b);
    assert_eq!(c.query_one("SELECT state FROM ff_list_lanes() WHERE lane_id = 'p'", &[]).unwrap().get::<_, String>(0), "open");

    // Both actions are operator events about the lane, with the session user.
    type LaneEvent = (String, Option<String>, Option<String>, Option<String>);
    let events: Vec<LaneEvent> = c
        .query("SELECT action::text, lane_id, execution_id, reason FROM ff_operator_event WHERE lane_id = 'p' ORDER BY event_id", &[])
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2), r.get(3)))
        .collect();
    assert_eq!(events, [("lane_paused".into(), s("p"), None, s("maintenance")), ("lane_resumed".into(), s("p"), None, None)]);
}

#[test]
fn bad_input_to_lane_controls_is_a_documented_error() {
    let (db, mut c) = seeded("ctl_pause_bad");
    let long = "x".repeat(257);
    for user in ["postgres", "ff_admin"] {
        let mut u = role_session(&db, &mut c, user);
        assert_eq!(assert_code(&mut u, "SELECT * FROM ff_pause_lane(NULL)", &[], "WF001").detail.as_deref(), Some("lane_id_required"));
        assert_eq!(
            assert_code(&mut u, "SELECT * FROM ff_pause_lane('l', $1)", &[&long], "WF001").detail.as_deref(),
            Some("invalid_reason")
        );
        assert_eq!(assert_code(&mut u, "SELECT * FROM ff_pause_lane('l', '')", &[], "WF001").detail.as_deref(), Some("invalid_reason"));
        assert_code(&mut u, "SELECT * FROM ff_pause_lane($1)", &[&long], "WF001");
        assert_eq!(assert_code(&mut u, "SELECT * FROM ff_resume_lane(NULL)", &[], "WF001").detail.as_deref(), Some("lane_id_required"));
    }
    for user in ["ff_worker", "ff_signaler"] {
        let mut u = role_session(&db, &mut c, user);
        for sql in ["SELECT * FROM ff_pause_lane('l')", "SELECT * FROM ff_resume_lane('l')", "SELECT * FROM ff_list_lanes()"] {
            assert_code(&mut u, sql, &[], "42501");
        }
    }
    assert_eq!(count(&mut c, "SELECT count(*) FROM ff_lane_pause"), 0, "nothing written");
    assert_eq!(count(&mut c, "SELECT count(*) FROM ff_operator_event"), 0);
}

/// Sixteen sessions claim in a loop while the lane is paused: no claim that starts after the pause
/// commits hands anything out (an attempt's start is its claim's clock reading, taken before the
/// claim's statements run), and nothing is handed out twice.
#[test]
fn a_pause_racing_sixteen_claimers_stops_every_hand_out_after_it_commits() {
    let (db, mut c) = seeded("ctl_pause_race");
    c.batch_execute("SELECT ff_create_execution('race') FROM generate_series(1, 3000)").unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let start = Arc::new(Barrier::new(17));
    let workers: Vec<_> = (0..16)
        .map(|w| {
            let (conninfo, stop, start) = (db.conninfo("postgres"), stop.clone(), start.clone());
            std::thread::spawn(move || {
                let mut c = postgres::Client::connect(&conninfo, postgres::NoTls).unwrap();
                start.wait();
                let mut got = Vec::new();
                while !stop.load(Ordering::Relaxed) {
                    let grant = w % 2 == 1;
                    let lease = if grant {
                        c.query("SELECT grant_key FROM ff_claim_for_worker('race', 'w', 'i')", &[])
                            .unwrap()
                            .first()
                            .map(|r| r.get::<_, String>(0))
                            .and_then(|g| match c.query("SELECT * FROM ff_claim_execution($1, 'w', 'i')", &[&g]) {
                                Ok(rows) => rows.first().map(lease_from_row),
                                Err(e) => {
                                    assert_eq!(db_err(&e).code, "WF025", "{e}");
                                    None
                                }
                            })
                    } else {
                        claim_one(&mut c, "race", "w")
                    };
                    if let Some(l) = lease {
                        c.query_one("SELECT * FROM ff_complete($1, $2, $3)", &[&l.execution_id, &l.lease_id, &l.lease_epoch]).unwrap();
                        got.push(l.execution_id);
                    }
                }
                got
            })
        })
        .collect();
    start.wait();
    std::thread::sleep(std::time::Duration::from_millis(300));
    c.query_one("SELECT * FROM ff_pause_lane('race')", &[]).unwrap();
    let committed_at: i64 = c.query_one("SELECT (extract(epoch from clock_timestamp()) * 1000)::bigint", &[]).unwrap().get(0);
    std::thread::sleep(std::time::Duration::from_millis(500));
    stop.store(true, Ordering::Relaxed);
    let mut all: Vec<String> = workers.into_iter().flat_map(|w| w.join().unwrap()).collect();
    let handed_out = all.len();
    all.sort();
    all.dedup();
    assert_eq!(all.len(), handed_out, "nothing handed out twice");
    assert!(handed_out > 0 && handed_out < 3000, "the race ran: {handed_out} handed out");
    let late = count(&mut c, &format!("SELECT count(*) FROM ff_attempt WHERE started_at_ms > {committed_at}"));
    assert_eq!(late, 0, "no hand-out started after the pause committed");
    assert_eq!(count(&mut c, "SELECT count(*) FROM ff_exec_core WHERE public_state = 'completed'"), handed_out as i64);
    c.query_one("SELECT * FROM ff_resume_lane('race')", &[]).unwrap();
    assert!(claim_one(&mut c, "race", "w").is_some());
}
