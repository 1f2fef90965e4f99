//! Wake-ups (docs/wakeups.md): writers notify only announced waiters, every transition that makes work
//! claimable wakes its lane, the announce/commit race is closed (and is real without the locks), and a
//! killed waiter costs one notification, not one per write.

use ff_engine_tests::*;
use postgres::fallible_iterator::FallibleIterator;
use postgres::Client;
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

/// Every notification that arrives within `wait` (channel, payload).
fn drain(listener: &mut Client, wait: Duration) -> Vec<(String, String)> {
    let mut got = Vec::new();
    let mut it = listener.notifications();
    let mut timeout = it.timeout_iter(wait);
    while let Some(n) = timeout.next().unwrap() {
        got.push((n.channel().to_string(), n.payload().to_string()));
    }
    got
}

/// The notification of `ff_engine.notify = always` for a lane.
fn lane_ready(lane: &str) -> (String, String) {
    ("ff_lane_ready".to_string(), lane.to_string())
}

/// The notification that wakes the announced worker with backend `pid` for `lane`.
fn woken(pid: i32, lane: &str) -> (String, String) {
    (format!("ff_wake_{pid}"), lane.to_string())
}

fn pid_of(c: &mut Client) -> i32 {
    c.query_one("SELECT pg_backend_pid()", &[]).unwrap().get(0)
}

/// A session listening on every channel, its own wake-up channel included.
fn listener(db: &TestDb<'_>) -> Client {
    let mut l = db.connect();
    let pid = pid_of(&mut l);
    l.batch_execute(&format!(
        "LISTEN ff_wake_{pid}; LISTEN ff_lane_ready; LISTEN ff_lease_event; LISTEN ff_completion; LISTEN ff_signal_event; LISTEN ff_operator_event"
    ))
    .unwrap();
    l
}

#[test]
fn nobody_announced_nobody_notified() {
    let (db, mut c) = seeded("wake_busy");
    let mut l = listener(&db);
    for _ in 0..5 {
        let id = create_in(&mut c, "busy", "");
        let lease = claim_one(&mut c, "busy", "w").unwrap();
        c.query_one("SELECT * FROM ff_complete($1, $2, $3)", &[&id, &lease.lease_id, &lease.lease_epoch]).unwrap();
    }
    assert_eq!(drain(&mut l, Duration::from_millis(300)), vec![], "a busy system sends no NOTIFY");
    assert_eq!(count(&mut c, "SELECT count(*) FROM ff_lease_event"), 10, "the events are written all the same");
}

#[test]
fn an_announcement_is_consumed_by_the_first_notification() {
    let (db, mut c) = seeded("wake_consume");
    let mut l = listener(&db);
    let pid = pid_of(&mut l);
    l.batch_execute("SELECT ff_await_lane('a')").unwrap();
    create_in(&mut c, "other", "");
    assert_eq!(drain(&mut l, Duration::from_millis(200)), vec![], "another lane's work wakes nobody here");
    create_in(&mut c, "a", "delay_until_ms => (extract(epoch from now()) * 1000)::bigint + 3600000");
    assert_eq!(drain(&mut l, Duration::from_millis(200)), vec![], "delayed work is not claimable: no wake-up");
    create_in(&mut c, "a", "");
    assert_eq!(drain(&mut l, Duration::from_millis(300)), vec![woken(pid, "a")]);
    assert_eq!(count(&mut c, "SELECT count(*) FROM ff_waiter"), 0, "consumed");
    create_in(&mut c, "a", "");
    assert_eq!(drain(&mut l, Duration::from_millis(200)), vec![], "one announcement, one notification");
    // Events: only the announced channels.
    l.batch_execute("SELECT ff_await_events('{ff_completion}')").unwrap();
    let lease = claim_one(&mut c, "a", "w").unwrap();
    assert_eq!(drain(&mut l, Duration::from_millis(200)), vec![], "ff_lease_event was not announced");
    c.query_one("SELECT * FROM ff_complete($1, $2, $3)", &[&lease.execution_id, &lease.lease_id, &lease.lease_epoch]).unwrap();
    assert_eq!(drain(&mut l, Duration::from_millis(300)), vec![("ff_completion".to_string(), String::new())]);
    // always: every write notifies, announced or not (0.1.0's behaviour); off: nothing.
    c.batch_execute("SET ff_engine.notify = always").unwrap();
    create_in(&mut c, "b", "");
    assert_eq!(drain(&mut l, Duration::from_millis(300)), vec![lane_ready("b")]);
    c.batch_execute("SET ff_engine.notify = off").unwrap();
    l.batch_execute("SELECT ff_await_lane('b')").unwrap();
    create_in(&mut c, "b", "");
    assert_eq!(drain(&mut l, Duration::from_millis(200)), vec![]);
    assert_eq!(count(&mut c, "SELECT count(*) FROM ff_waiter"), 1, "off consumes nothing");
}

/// Each transition into "claimable now" wakes the lane: create, promotion of delayed work, a retry
/// without backoff, a resume by signal and by operator, a suspension timeout's auto-resume, lease
/// expiry, revocation and replay.
#[test]
fn every_transition_to_claimable_wakes_its_lane() {
    let (db, mut c) = seeded("wake_transitions");
    let mut l = listener(&db);
    let pid = pid_of(&mut l);
    let now = || "(extract(epoch from now()) * 1000)::bigint";
    let expect_wake = |c: &mut Client, l: &mut Client, what: &str, act: &dyn Fn(&mut Client)| {
        l.batch_execute("SELECT ff_await_lane('t')").unwrap();
        act(c);
        let got: Vec<_> = drain(l, Duration::from_millis(300)).into_iter().filter(|(ch, _)| ch.starts_with("ff_wake_")).collect();
        assert_eq!(got, vec![woken(pid, "t")], "{what}");
    };
    expect_wake(&mut c, &mut l, "create", &|c| {
        create_in(c, "t", "");
    });
    claim_one(&mut c, "t", "w").unwrap();
    // Promotion.
    let delayed = create_in(&mut c, "t", &format!("delay_until_ms => {} + 200", now()));
    std::thread::sleep(Duration::from_millis(250));
    expect_wake(&mut c, &mut l, "promote_delayed", &|c| {
        c.query_one("SELECT ff_promote_delayed()", &[]).unwrap();
    });
    let lease = claim_one(&mut c, "t", "w").unwrap();
    assert_eq!(lease.execution_id, delayed);
    // Retry without backoff.
    let retry = create_in(&mut c, "t", "max_attempts => 2, retry_backoff_ms => 0");
    let lease = claim_one(&mut c, "t", "w").unwrap();
    assert_eq!(lease.execution_id, retry);
    expect_wake(&mut c, &mut l, "fail with a retry", &|c| {
        c.query_one("SELECT * FROM ff_fail($1, $2, $3, 'boom')", &[&lease.execution_id, &lease.lease_id, &lease.lease_epoch]).unwrap();
    });
    let lease = claim_one(&mut c, "t", "w").unwrap();
    // Resume by signal.
    let wp: (uuid::Uuid, String) = {
        let r = c
            .query_one(
                "SELECT waitpoint_id, token FROM ff_suspend($1, $2, $3, ff_cond_single('k1'))",
                &[&lease.execution_id, &lease.lease_id, &lease.lease_epoch],
            )
            .unwrap();
        (r.get(0), r.get(1))
    };
    expect_wake(&mut c, &mut l, "resume by signal", &|c| {
        c.query_one(
            "SELECT * FROM ff_deliver_signal($1, $2, $3, 'go', gen_random_uuid(), '', 'test', 't', NULL, NULL, NULL)",
            &[&lease.execution_id, &wp.0, &wp.1],
        )
        .unwrap();
    });
    let lease = claim_one(&mut c, "t", "w").unwrap();
    assert!(lease.resumed);
    // Resume by operator.
    c.query("SELECT * FROM ff_suspend($1, $2, $3, ff_cond_single('k2'))", &[&lease.execution_id, &lease.lease_id, &lease.lease_epoch])
        .unwrap();
    expect_wake(&mut c, &mut l, "resume by operator", &|c| {
        c.query_one("SELECT * FROM ff_resume_execution($1)", &[&lease.execution_id]).unwrap();
    });
    let lease = claim_one(&mut c, "t", "w").unwrap();
    // A suspension timeout's auto-resume.
    c.query(
        &format!("SELECT * FROM ff_suspend($1, $2, $3, ff_cond_single('k3'), timeout_at_ms => {} + 100, timeout_behavior => 'auto_resume_with_timeout_signal')", now()),
        &[&lease.execution_id, &lease.lease_id, &lease.lease_epoch],
    )
    .unwrap();
    std::thread::sleep(Duration::from_millis(150));
    expect_wake(&mut c, &mut l, "suspension timeout", &|c| {
        c.query_one("SELECT ff_expire_suspensions()", &[]).unwrap();
    });
    let lease = claim_one(&mut c, "t", "w").unwrap();
    // Lease expiry.
    c.query("SELECT * FROM ff_renew_lease($1, $2, $3, 1)", &[&lease.execution_id, &lease.lease_id, &lease.lease_epoch]).unwrap();
    std::thread::sleep(Duration::from_millis(20));
    expect_wake(&mut c, &mut l, "lease expiry", &|c| {
        c.query_one("SELECT ff_expire_leases()", &[]).unwrap();
    });
    let lease = claim_one(&mut c, "t", "w").unwrap();
    // Revocation.
    expect_wake(&mut c, &mut l, "revoke", &|c| {
        c.query_one("SELECT * FROM ff_revoke_lease($1)", &[&lease.execution_id]).unwrap();
    });
    let lease = claim_one(&mut c, "t", "w").unwrap();
    // Replay.
    c.query_one("SELECT * FROM ff_fail($1, $2, $3, 'final', false)", &[&lease.execution_id, &lease.lease_id, &lease.lease_epoch]).unwrap();
    expect_wake(&mut c, &mut l, "replay", &|c| {
        c.query_one("SELECT * FROM ff_replay_execution($1)", &[&lease.execution_id]).unwrap();
    });
    assert!(claim_one(&mut c, "t", "w").is_some());
}

/// The hard case, made deterministic: the writer has checked for waiters (none) and not committed yet
/// when the waiter announces and looks again. Without the lock the waiter sleeps on work that exists;
/// `ff_await_lane` waits for the writer's commit instead, so the look after it finds the work.
#[test]
fn the_announce_commit_race_is_closed_and_real_without_the_lock() {
    let (db, mut writer) = seeded("wake_race_hard");
    let mut waiter = listener(&db);
    let pid = pid_of(&mut waiter);

    // Control: an announcement inserted by hand, without the lock.
    writer.batch_execute("BEGIN").unwrap();
    create_in(&mut writer, "r", "");
    waiter.execute("INSERT INTO ff_waiter VALUES ('ff_lane_ready', 'r', pg_backend_pid(), 0)", &[]).unwrap();
    assert!(claim_one(&mut waiter, "r", "w").is_none(), "the writer has not committed");
    writer.batch_execute("COMMIT").unwrap();
    assert_eq!(drain(&mut waiter, Duration::from_millis(300)), vec![], "missed: the writer looked before the announcement");
    assert!(claim_one(&mut waiter, "r", "w").is_some(), "the work was there all along");
    waiter.batch_execute("DELETE FROM ff_waiter").unwrap();

    // The real thing: ff_await_lane waits for the writer in flight.
    writer.batch_execute("BEGIN").unwrap();
    create_in(&mut writer, "r", "");
    let hold = Duration::from_millis(400);
    let committer = std::thread::spawn(move || {
        std::thread::sleep(hold);
        writer.batch_execute("COMMIT").unwrap();
        writer
    });
    let started = Instant::now();
    waiter.batch_execute("SELECT ff_await_lane('r')").unwrap();
    let waited = started.elapsed();
    let mut writer = committer.join().unwrap();
    assert!(waited >= hold - Duration::from_millis(50), "the announcement waited for the writer: {waited:?}");
    assert!(claim_one(&mut waiter, "r", "w").is_some(), "the look after the announcement finds the work");
    // And a writer after the announcement notifies.
    waiter.batch_execute("SELECT ff_await_lane('r')").unwrap();
    create_in(&mut writer, "r", "");
    assert_eq!(drain(&mut waiter, Duration::from_millis(300)), vec![woken(pid, "r")]);
    assert_eq!(count(&mut writer, &format!("SELECT count(*) FROM ff_waiter WHERE backend_pid = {pid}")), 0);
}

/// 1 000 races of a writer against a waiter going to sleep, with random timing on both sides (the
/// writer commits at a random point inside a random hold). The waiter follows the worker loop's
/// protocol: claim; if empty, announce, claim again; if still empty, sleep until notified or the
/// fallback poll. Nothing may be lost, and no work may be found only by the fallback poll.
#[test]
fn a_thousand_races_lose_nothing() {
    let (db, mut waiter) = seeded("wake_race_1000");
    let pid = pid_of(&mut waiter);
    waiter.batch_execute(&format!("LISTEN ff_wake_{pid}")).unwrap();
    let mut su = db.connect();
    let rounds = 1000;
    let fallback = Duration::from_millis(1000);
    let start = Arc::new(Barrier::new(2));
    let done = Arc::new(Barrier::new(2));
    let mut writer = db.connect();
    let (s2, d2) = (start.clone(), done.clone());
    let writer_thread = std::thread::spawn(move || {
        let mut seed: u64 = 0x9E37_79B9_7F4A_7C15;
        let mut rand = move |n: u64| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed % n
        };
        for _ in 0..rounds {
            s2.wait();
            std::thread::sleep(Duration::from_micros(rand(3000)));
            writer.batch_execute("BEGIN").unwrap();
            create_in(&mut writer, "race", "");
            std::thread::sleep(Duration::from_micros(rand(2000)));
            writer.batch_execute("COMMIT").unwrap();
            d2.wait();
        }
    });
    let (mut first_claim, mut after_announce, mut notified, mut by_fallback) = (0, 0, 0, 0);
    for round in 0..rounds {
        start.wait();
        let found = if claim_one(&mut waiter, "race", "w").is_some() {
            first_claim += 1;
            true
        } else {
            waiter.batch_execute("SELECT ff_await_lane('race')").unwrap();
            if claim_one(&mut waiter, "race", "w").is_some() {
                after_announce += 1;
                true
            } else {
                let woke = {
                    let mut it = waiter.notifications();
                    let mut t = it.timeout_iter(fallback);
                    t.next().unwrap().is_some()
                };
                let got = claim_one(&mut waiter, "race", "w").is_some();
                if woke {
                    notified += 1;
                } else {
                    by_fallback += 1;
                }
                got
            }
        };
        done.wait();
        assert!(found, "round {round}: the execution was not found");
        // A clean slate: no stale announcement or notification carries into the next round.
        su.batch_execute("DELETE FROM ff_waiter").unwrap();
        drain(&mut waiter, Duration::ZERO);
    }
    writer_thread.join().unwrap();
    eprintln!(
        "1000 races: found by the first claim {first_claim}, by the claim after announcing {after_announce}, \
         woken by NOTIFY {notified}, only by the fallback poll {by_fallback}"
    );
    assert_eq!(first_claim + after_announce + notified + by_fallback, rounds);
    assert_eq!(by_fallback, 0, "a wake-up was lost and only the fallback poll found the work");
    assert!(notified > 0 && after_announce + first_claim > 0, "both sides of the race were exercised");
    assert_eq!(count(&mut su, "SELECT count(*) FROM ff_exec_core WHERE public_state = 'waiting'"), 0);
}

/// A waiter killed with pg_terminate_backend leaves its announcements behind; the first writer
/// consumes each with one notification, and the writers after it notify nobody.
#[test]
fn a_terminated_waiter_does_not_leave_writers_notifying() {
    let (db, mut c) = seeded("wake_terminated");
    let mut doomed = db.connect();
    let pid = pid_of(&mut doomed);
    doomed.batch_execute(&format!("LISTEN ff_wake_{pid}")).unwrap();
    doomed.batch_execute("SELECT ff_await_lane('k')").unwrap();
    doomed.batch_execute("SELECT ff_await_events('{ff_lease_event}')").unwrap();
    assert!(c.query_one("SELECT pg_terminate_backend($1, 5000)", &[&pid]).unwrap().get::<_, bool>(0));
    drop(doomed);
    let mut l = listener(&db);
    l.batch_execute(&format!("LISTEN ff_wake_{pid}")).unwrap(); // anyone may listen on the dead waiter's channel
    for _ in 0..20 {
        create_in(&mut c, "k", "");
        claim_one(&mut c, "k", "w").unwrap();
    }
    let got = drain(&mut l, Duration::from_millis(400));
    assert_eq!(got, vec![woken(pid, "k"), ("ff_lease_event".to_string(), String::new())], "one each, then none");
    assert_eq!(count(&mut c, "SELECT count(*) FROM ff_waiter"), 0);
}

/// One piece of work wakes one announced worker of the lane, the one asleep longest; the next piece
/// the next one; subscribers of an outbox channel are all woken.
#[test]
fn work_wakes_one_worker_events_wake_every_subscriber() {
    let (db, mut c) = seeded("wake_one");
    let mut workers: Vec<(Client, i32)> = (0..3)
        .map(|_| {
            let mut w = listener(&db);
            let pid = pid_of(&mut w);
            w.batch_execute("SELECT ff_await_lane('m')").unwrap();
            w.batch_execute("SELECT ff_await_events('{ff_completion}')").unwrap();
            std::thread::sleep(Duration::from_millis(5)); // distinct announcement times
            (w, pid)
        })
        .collect();
    for round in 0..3 {
        create_in(&mut c, "m", "");
        for (i, (w, pid)) in workers.iter_mut().enumerate() {
            let got: Vec<_> = drain(w, Duration::from_millis(150)).into_iter().filter(|(ch, _)| ch.starts_with("ff_wake_")).collect();
            let expected = if i == round { vec![woken(*pid, "m")] } else { vec![] };
            assert_eq!(got, expected, "round {round}, worker {i}");
        }
    }
    let lease = claim_one(&mut c, "m", "w").unwrap();
    c.query_one("SELECT * FROM ff_complete($1, $2, $3)", &[&lease.execution_id, &lease.lease_id, &lease.lease_epoch]).unwrap();
    for (w, _) in workers.iter_mut() {
        assert_eq!(drain(w, Duration::from_millis(200)), vec![("ff_completion".to_string(), String::new())]);
    }
}

#[test]
fn bad_input_to_the_announcements() {
    let (db, mut c) = seeded("wake_bad_input");
    for (sql, code) in [
        ("SELECT ff_await_lane(NULL)", "WF001"),
        ("SELECT ff_await_lane('')", "WF001"),
        ("SELECT ff_await_lane(repeat('x', 65))", "WF001"),
        ("SELECT ff_await_lane(repeat('x', 1048576))", "WF001"),
        ("SELECT ff_await_events(NULL)", "WF001"),
        ("SELECT ff_await_events('{}')", "WF001"),
        ("SELECT ff_await_events('{ff_lane_ready}')", "WF001"),
        ("SELECT ff_await_events(ARRAY[NULL])", "WF001"),
        ("SELECT ff_await_events(ARRAY['ff_completion', ''])", "WF001"),
        ("SELECT ff_await_events(array_fill('ff_completion'::text, ARRAY[6]))", "WF001"),
    ] {
        assert_code(&mut c, sql, &[], code);
    }
    // The SQL edition cannot refuse a call inside a transaction block: PL/pgSQL has no
    // IsTransactionBlock(), and comparing transaction and statement timestamps is wrong under the
    // extended protocol. There the announcement is accepted and takes effect at COMMIT (the one
    // difference docs/sql-edition.md lists).
    if !rust_edition_only("ff_await_* in a transaction block is accepted by the SQL edition") {
        c.batch_execute("BEGIN").unwrap();
        let e = assert_code(&mut c, "SELECT ff_await_lane('x')", &[], "WF001");
        assert!(e.message.contains("transaction of its own"), "{}", e.message);
        c.batch_execute("ROLLBACK").unwrap();
        let e = db_err(&c.batch_execute("SELECT 1; SELECT ff_await_events('{ff_completion}')").unwrap_err());
        assert_eq!(e.code, "WF001");
        assert!(e.message.contains("transaction of its own"), "{}", e.message);
    }
    assert_eq!(count(&mut c, "SELECT count(*) FROM ff_waiter"), 0, "nothing written by a failed call");
    // Roles: a signaler may announce on events, not on a lane.
    c.batch_execute(
        "DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'it_wake_sig') THEN CREATE ROLE it_wake_sig LOGIN; END IF; END $$;
         GRANT ff_signaler TO it_wake_sig;",
    )
    .unwrap();
    let mut s = db.connect_as("it_wake_sig");
    s.batch_execute("SELECT ff_await_events('{ff_signal_event}')").unwrap();
    assert_code(&mut s, "SELECT ff_await_lane('x')", &[], "42501");
    assert_code(&mut s, "SELECT * FROM ff_waiter", &[], "42501");
}

/// Writers (share) and waiters (exclusive) take the wake-up locks of several keys in one order, so a
/// subscriber announcing on two channels never deadlocks with writers that write both (complete writes
/// ff_lease_event and ff_completion): 3 s of both, no 40P01.
#[test]
fn announcing_on_two_channels_never_deadlocks_with_writers() {
    let (db, mut c) = seeded("wake_lock_order");
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let mut threads = Vec::new();
    for _ in 0..2 {
        let (mut s, stop) = (db.connect(), stop.clone());
        threads.push(std::thread::spawn(move || {
            let mut n = 0u64;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                s.batch_execute("SELECT ff_await_events('{ff_lease_event,ff_completion}')").map_err(|e| db_err(&e).code)?;
                n += 1;
            }
            Ok::<u64, String>(n)
        }));
    }
    for w in 0..3 {
        let (mut s, stop) = (db.connect(), stop.clone());
        threads.push(std::thread::spawn(move || {
            let lane = format!("lo{w}");
            let mut n = 0u64;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                s.query_one("SELECT ff_create_execution($1)", &[&lane]).map_err(|e| db_err(&e).code)?;
                let l = s.query_one("SELECT * FROM ff_claim($1, 'w', 'i')", &[&lane]).map_err(|e| db_err(&e).code)?;
                let (id, lid, ep): (String, uuid::Uuid, i64) = (l.get("execution_id"), l.get("lease_id"), l.get("lease_epoch"));
                s.query_one("SELECT * FROM ff_complete($1, $2, $3)", &[&id, &lid, &ep]).map_err(|e| db_err(&e).code)?;
                n += 1;
            }
            Ok::<u64, String>(n)
        }));
    }
    std::thread::sleep(Duration::from_secs(3));
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let results: Vec<Result<u64, String>> = threads.into_iter().map(|t| t.join().unwrap()).collect();
    assert!(results.iter().all(Result::is_ok), "a session failed (40P01 = deadlock): {results:?}");
    assert!(results.iter().all(|r| *r.as_ref().unwrap() > 0), "{results:?}");
    assert!(count(&mut c, "SELECT count(*) FROM ff_completion_event") > 0);
}

/// Writers skip reading ff_waiter while it has no blocks (nobody announced since it was vacuumed
/// empty); the first announcement after a vacuum extends it again and is seen.
#[test]
fn an_empty_waiter_table_is_skipped_and_an_announcement_after_vacuum_is_seen() {
    let (db, mut c) = seeded("wake_vacuumed");
    let mut l = listener(&db);
    let pid = pid_of(&mut l);
    for round in 0..3 {
        l.batch_execute("SELECT ff_await_lane('v')").unwrap();
        create_in(&mut c, "v", "");
        assert_eq!(drain(&mut l, Duration::from_millis(300)), vec![woken(pid, "v")], "round {round}");
        c.batch_execute("VACUUM ff_waiter").unwrap();
        assert_eq!(count(&mut c, "SELECT pg_relation_size('ff_waiter')"), 0, "vacuumed empty");
        create_in(&mut c, "v", "");
        assert_eq!(drain(&mut l, Duration::from_millis(200)), vec![], "nobody announced");
    }
}
