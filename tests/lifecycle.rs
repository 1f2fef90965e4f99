//! Acceptance, "Claims and leases": create, claim (grant + consume, and batch), renew, complete,
//! fail, cancel, budgets, quotas, scanners and events, through real (and racing) sessions.

use ff_engine_tests::*;
use postgres::fallible_iterator::FallibleIterator;
use std::collections::HashSet;
use std::sync::{Arc, Barrier, Mutex};
use std::time::Duration;

fn grant(c: &mut postgres::Client, lane: &str, worker: &str) -> Option<(String, String, i64)> {
    c.query("SELECT execution_id, grant_key, expires_at_ms FROM ff_claim_for_worker($1, $2, 'inst-1')", &[&lane, &worker])
        .unwrap()
        .first()
        .map(|r| (r.get(0), r.get(1), r.get(2)))
}

#[test]
fn grant_verifies_and_is_consumed_once() {
    let (_db, mut c) = seeded("grant_once");
    let id = create_in(&mut c, "lane", "payload => '\\xcafe'");
    let (gid, key, expires) = grant(&mut c, "lane", "w1").unwrap();
    assert_eq!(gid, id);
    // The grant key is pg:<execution id>:<expires>:<kid>:<hex>, hex = HMAC of semantics §4 under the stored secret.
    let (prefix, hex_sig) = key.rsplit_once(':').unwrap();
    assert_eq!(prefix, format!("pg:{id}:{expires}:k1"));
    let (fp, uuid) = id.split_once("}:").unwrap();
    let message = format!("k1:{fp}}}|{uuid}|w1|inst-1|{expires}");
    use hmac::Mac;
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(&[0x11; 32]).unwrap();
    mac.update(message.as_bytes());
    assert_eq!(hex_sig, hex::encode(mac.finalize().into_bytes()));
    let r = c.query_one("SELECT * FROM ff_claim_execution($1, 'w1', 'inst-1')", &[&key]).unwrap();
    let lease = lease_from_row(&r);
    assert_eq!((lease.execution_id.as_str(), lease.attempt_index, lease.resumed), (id.as_str(), 0, false));
    assert_eq!(r.get::<_, Option<Vec<u8>>>("payload"), Some(vec![0xca, 0xfe]));
    assert_eq!(states(&mut c, &id), ("active".into(), "leased".into(), "not_applicable".into(), "running_attempt".into(), "active".into()));
    assert_code(&mut c, "SELECT * FROM ff_claim_execution($1, 'w1', 'inst-1')", &[&key], "WF025");
}

#[test]
fn grant_misuse_is_refused() {
    let (_db, mut c) = seeded("grant_misuse");
    create_in(&mut c, "lane", "");
    let (_, key, _) = grant(&mut c, "lane", "w1").unwrap();
    assert_code(&mut c, "SELECT * FROM ff_claim_execution($1, 'w2', 'inst-1')", &[&key], "WF025");
    assert_code(&mut c, "SELECT * FROM ff_claim_execution($1, 'w1', 'inst-2')", &[&key], "WF025");
    let mut tampered = key.clone().into_bytes();
    let n = tampered.len() - 1;
    tampered[n] = if tampered[n] == b'0' { b'1' } else { b'0' };
    let tampered = String::from_utf8(tampered).unwrap();
    assert_code(&mut c, "SELECT * FROM ff_claim_execution($1, 'w1', 'inst-1')", &[&tampered], "WF025");
    for junk in ["", "pg:", "garbage", "pg:{fp:1}:nope"] {
        assert_code(&mut c, "SELECT * FROM ff_claim_execution($1, 'w1', 'inst-1')", &[&junk], "WF025");
    }
    // Still consumable by its own worker after all that.
    c.query_one("SELECT * FROM ff_claim_execution($1, 'w1', 'inst-1')", &[&key]).unwrap();

    // Expired grant: WF026, and the execution is claimable again at once, without any scanner.
    let id2 = create_in(&mut c, "lane2", "");
    let (_, key2, _) = c
        .query_one(
            "SELECT execution_id, grant_key, expires_at_ms FROM ff_claim_for_worker('lane2', 'w1', 'inst-1', grant_ttl_ms => 300)",
            &[],
        )
        .map(|r| (r.get::<_, String>(0), r.get::<_, String>(1), r.get::<_, i64>(2)))
        .unwrap();
    assert!(grant(&mut c, "lane2", "w2").is_none(), "an unexpired grant reserves the execution");
    assert!(claim_one(&mut c, "lane2", "w2").is_none(), "also against the batch claim");
    std::thread::sleep(Duration::from_millis(350));
    assert_code(&mut c, "SELECT * FROM ff_claim_execution($1, 'w1', 'inst-1')", &[&key2], "WF026");
    let (again, key3, _) = grant(&mut c, "lane2", "w2").unwrap();
    assert_eq!(again, id2);
    // The old grant was replaced: it is unknown now even to its worker.
    assert_code(&mut c, "SELECT * FROM ff_claim_execution($1, 'w2', 'inst-1')", &[&key2], "WF025");
    c.query_one("SELECT * FROM ff_claim_execution($1, 'w2', 'inst-1')", &[&key3]).unwrap();
}

#[test]
fn batch_claim_consumes_a_stale_grant_and_only_then_deletes() {
    let (_db, mut c) = seeded("grant_stale_batch");
    let grants = |c: &mut postgres::Client| count(c, "SELECT count(*) FROM ff_claim_grant");
    // An expired, unconsumed grant: ff_claim takes the execution and its grant row goes with it,
    // so the old grant key cannot lease the execution later.
    let id = create_in(&mut c, "lane", "");
    let key: String =
        c.query_one("SELECT grant_key FROM ff_claim_for_worker('lane', 'w1', 'inst-1', grant_ttl_ms => 100)", &[]).unwrap().get(0);
    assert_eq!(grants(&mut c), 1);
    std::thread::sleep(Duration::from_millis(150));
    let l = claim_one(&mut c, "lane", "w2").expect("the reservation expired");
    assert_eq!(l.execution_id, id);
    assert_eq!(grants(&mut c), 0, "the stale grant is consumed by the batch claim");
    assert_code(&mut c, "SELECT * FROM ff_claim_execution($1, 'w1', 'inst-1')", &[&key], "WF026");
    // Never reserved: the batch claim leases it and there is no grant to delete; a grant made for
    // another execution meanwhile is untouched.
    let plain = create_in(&mut c, "lane", "");
    let other = create_in(&mut c, "lane2", "");
    let (gid, _, _) = grant(&mut c, "lane2", "w1").unwrap();
    assert_eq!(gid, other);
    assert_eq!(claim_one(&mut c, "lane", "w2").unwrap().execution_id, plain);
    assert_eq!(grants(&mut c), 1);
    assert_no_orphans(&mut c);
}

#[test]
fn empty_keystore_and_empty_lane() {
    let db = Cluster::shared().fresh_db("empty_keystore");
    let mut c = db.connect();
    create_in(&mut c, "lane", "");
    assert_code(&mut c, "SELECT * FROM ff_claim_for_worker('lane', 'w', 'i')", &[], "WF004");
    c.query_one("SELECT * FROM ff_seed_hmac('k1')", &[]).unwrap();
    assert!(grant(&mut c, "empty-lane", "w").is_none());
    assert!(claim_one(&mut c, "empty-lane", "w").is_none());
}

#[test]
fn capabilities_priority_and_order() {
    let (_db, mut c) = seeded("caps_priority");
    let gpu = create_in(&mut c, "lane", "priority => 10, required_capabilities => '{gpu,cuda}'");
    let low_old = create_in(&mut c, "lane", "priority => 1");
    let high_a = create_in(&mut c, "lane", "priority => 5");
    let high_b = create_in(&mut c, "lane", "priority => 5");
    let low_new = create_in(&mut c, "lane", "priority => 1");
    // Without gpu the gpu execution is skipped, not blocking; order: priority desc, then oldest.
    let order: Vec<String> = (0..4).map(|_| claim_one(&mut c, "lane", "w").unwrap().execution_id).collect();
    assert_eq!(order, vec![high_a, high_b, low_old, low_new]);
    assert!(claim_one(&mut c, "lane", "w").is_none());
    let r = c.query_one("SELECT execution_id FROM ff_claim('lane', 'w', 'i', capabilities => '{cuda,gpu,extra}')", &[]).unwrap();
    assert_eq!(r.get::<_, String>(0), gpu);
}

/// Each bound of the hot calls' arguments, just past it (refused with its reason) and at it (accepted:
/// the call goes on to what follows the checks). The SQL edition tells arguments that all pass by one
/// expression before its checks; this holds both editions to the same bounds.
#[test]
fn hot_call_arguments_are_refused_just_past_each_bound() {
    let (_db, mut c) = seeded("arg_bounds");
    let past = [
        ("SELECT * FROM ff_create_execution(E'la\\tne')", "invalid_lane_id"),
        ("SELECT * FROM ff_create_execution('l', namespace => repeat('n', 257))", "invalid_namespace"),
        ("SELECT * FROM ff_create_execution('l', idempotency_key => '')", "invalid_idempotency_key"),
        ("SELECT * FROM ff_create_execution('l', max_attempts => 100001)", "invalid_max_attempts"),
        ("SELECT * FROM ff_create_execution('l', retry_backoff_ms => 9007199254740992)", "invalid_retry_backoff_ms"),
        ("SELECT * FROM ff_claim(E'la\\tne', 'w', 'i')", "invalid_lane_id"),
        ("SELECT * FROM ff_claim(repeat('l', 65), 'w', 'i')", "invalid_lane_id"),
        ("SELECT * FROM ff_claim('l', repeat('w', 257), 'i')", "invalid_worker_id"),
        ("SELECT * FROM ff_claim('l', 'w', '')", "invalid_worker_instance_id"),
        ("SELECT * FROM ff_claim('l', 'w', 'i', lease_ttl_ms => 0)", "invalid_lease_ttl_ms"),
        ("SELECT * FROM ff_claim('l', 'w', 'i', capabilities => '{\"\"}')", "invalid_capabilities"),
    ];
    let token = format!("kid-1:{}", "0".repeat(64));
    let deliver = |extra: &str| {
        format!("SELECT * FROM ff_deliver_signal('{{fp:1}}:00000000-0000-4000-8000-000000000000', gen_random_uuid(), '{token}', {extra})")
    };
    let past_delivery = [
        ("repeat('s', 257)", "invalid_signal_name"),
        ("''", "invalid_signal_name"),
        ("'s', signal_category => repeat('c', 257)", "invalid_signal_category"),
        ("'s', source_identity => repeat('c', 257)", "invalid_source_identity"),
        ("'s', correlation_id => repeat('c', 257)", "invalid_correlation_id"),
        ("'s', idempotency_key => repeat('k', 257)", "invalid_idempotency_key"),
        ("'s', dedup_ttl_ms => -1", "invalid_dedup_ttl_ms"),
        ("'s', resume_delay_ms => 9007199254740992", "invalid_resume_delay_ms"),
        ("'s', max_signals_per_execution => NULL", "max_signals_per_execution_required"),
    ];
    let delivered: Vec<(String, &str)> = past_delivery.iter().map(|(extra, why)| (deliver(extra), *why)).collect();
    for (sql, why) in past.iter().map(|(s, w)| (s.to_string(), *w)).chain(delivered) {
        let e = assert_code(&mut c, &sql, &[], "WF001");
        assert_eq!(e.detail.as_deref(), Some(why), "{sql}");
    }
    // At each bound: created, nothing to claim, and a delivery that reaches the token's verification.
    let created: bool = c
        .query_one(
            "SELECT created FROM ff_create_execution(' ~' || repeat('l', 62), namespace => repeat('n', 256), tags => '{\"a\": 1}',
                 idempotency_key => repeat('k', 256), max_attempts => 100000, retry_backoff_ms => 9007199254740991)",
            &[],
        )
        .unwrap()
        .get(0);
    assert!(created);
    let claimed = c
        .query("SELECT * FROM ff_claim(repeat('l', 64), repeat('w', 256), repeat('i', 256), lease_ttl_ms => 9007199254740991)", &[])
        .unwrap();
    assert!(claimed.is_empty());
    let at = deliver(
        "repeat('s', 256), signal_category => repeat('c', 256), source_type => repeat('c', 256), source_identity => repeat('c', 256),
         correlation_id => repeat('c', 256), idempotency_key => repeat('k', 256), dedup_ttl_ms => 9007199254740991,
         resume_delay_ms => 9007199254740991",
    );
    assert_code(&mut c, &at, &[], "WF002");
}

#[test]
fn create_validation_idempotency_and_delay() {
    let (_db, mut c) = seeded("create_rules");
    let a: (String, bool) =
        c.query_one("SELECT * FROM ff_create_execution('lane', idempotency_key => 'k')", &[]).map(|r| (r.get(0), r.get(1))).unwrap();
    let b: (String, bool) =
        c.query_one("SELECT * FROM ff_create_execution('lane', idempotency_key => 'k')", &[]).map(|r| (r.get(0), r.get(1))).unwrap();
    assert!(a.1 && !b.1);
    assert_eq!(a.0, b.0);
    let other: bool = c.query_one("SELECT created FROM ff_create_execution('lane-2', idempotency_key => 'k')", &[]).unwrap().get(0);
    assert!(other, "idempotency keys are per lane");
    // Minting: solo by lane crc16, flow member by flow id, explicit id kept.
    let explicit = "{fp:7}:6f1c1e9e-0000-4000-8000-000000000001";
    let got: String = c.query_one("SELECT execution_id FROM ff_create_execution('lane', execution_id => $1)", &[&explicit]).unwrap().get(0);
    assert_eq!(got, explicit);
    assert_code(&mut c, "SELECT * FROM ff_create_execution('lane', execution_id => $1)", &[&explicit], "WF001");
    for (sql, detail) in [
        ("SELECT * FROM ff_create_execution('')", "invalid_lane_id"),
        ("SELECT * FROM ff_create_execution(NULL)", "lane_id_required"),
        ("SELECT * FROM ff_create_execution(repeat('x', 65))", "invalid_lane_id"),
        ("SELECT * FROM ff_create_execution('l', max_attempts => 0)", "invalid_max_attempts"),
        ("SELECT * FROM ff_create_execution('l', retry_backoff_ms => -1)", "invalid_retry_backoff_ms"),
        ("SELECT * FROM ff_create_execution('l', required_capabilities => '{\"\"}')", "invalid_required_capabilities"),
        ("SELECT * FROM ff_create_execution('l', execution_id => 'nope')", "invalid_execution_id"),
        ("SELECT * FROM ff_create_execution('l', tags => '[1]')", "invalid_tags"),
    ] {
        let e = assert_code(&mut c, sql, &[], "WF001");
        assert_eq!(e.detail.as_deref(), Some(detail), "{sql}");
    }
    assert_code(&mut c, "SELECT * FROM ff_create_execution('l', budget_ids => '{nope}')", &[], "WF010");
    assert_code(&mut c, "SELECT * FROM ff_create_execution('l', quota_policy_id => gen_random_uuid())", &[], "WF010");
    // Delayed: not claimable until promoted after its time.
    let d: String = c
        .query_one("SELECT execution_id FROM ff_create_execution('delayed', delay_until_ms => (extract(epoch from clock_timestamp()) * 1000)::bigint + 150)", &[])
        .unwrap()
        .get(0);
    assert_eq!(states(&mut c, &d).4, "delayed");
    assert!(claim_one(&mut c, "delayed", "w").is_none());
    assert_eq!(count(&mut c, "SELECT ff_promote_delayed()::bigint"), 0, "not due yet");
    std::thread::sleep(Duration::from_millis(200));
    assert_eq!(count(&mut c, "SELECT ff_promote_delayed()::bigint"), 1);
    assert_eq!(count(&mut c, "SELECT ff_promote_delayed()::bigint"), 0, "idempotent");
    assert_eq!(states(&mut c, &d).4, "waiting");
    assert_eq!(claim_one(&mut c, "delayed", "w").unwrap().execution_id, d);
}

#[test]
fn complete_twice_or_stale_is_lease_conflict_with_one_event() {
    let (_db, mut c) = seeded("complete_twice");
    let id = create_in(&mut c, "lane", "");
    let l = claim_one(&mut c, "lane", "w").unwrap();
    let renewed =
        c.query_one("SELECT lease_epoch FROM ff_renew_lease($1, $2, $3, 60000)", &[&l.execution_id, &l.lease_id, &l.lease_epoch]).unwrap();
    assert_eq!(renewed.get::<_, i64>(0), l.lease_epoch, "renew keeps the epoch");
    assert_code(&mut c, "SELECT * FROM ff_complete($1, $2, $3)", &[&id, &l.lease_id, &(l.lease_epoch - 1)], "WF020");
    assert_code(&mut c, "SELECT * FROM ff_complete($1, gen_random_uuid(), $2)", &[&id, &l.lease_epoch], "WF020");
    let out: String =
        c.query_one("SELECT outcome FROM ff_complete($1, $2, $3, '\\x01')", &[&id, &l.lease_id, &l.lease_epoch]).unwrap().get(0);
    assert_eq!(out, "completed");
    assert_code(&mut c, "SELECT * FROM ff_complete($1, $2, $3)", &[&id, &l.lease_id, &l.lease_epoch], "WF020");
    assert_code(&mut c, "SELECT * FROM ff_renew_lease($1, $2, $3)", &[&id, &l.lease_id, &l.lease_epoch], "WF020");
    assert_eq!(count(&mut c, &format!("SELECT count(*) FROM ff_completion_event WHERE execution_id = '{id}' AND outcome = 'success'")), 1);
    assert_eq!(states(&mut c, &id).4, "completed");
    assert_code(&mut c, "SELECT * FROM ff_complete('{fp:1}:6f1c1e9e-0000-4000-8000-000000000009', gen_random_uuid(), 1)", &[], "WF010");
    assert_code(&mut c, "SELECT * FROM ff_complete('bad', gen_random_uuid(), 1)", &[], "WF001");
    assert_code(&mut c, "SELECT * FROM ff_complete($1, NULL, 1)", &[&id], "WF001");
}

#[test]
fn eight_sessions_complete_one_lease_one_wins() {
    // ff_complete writes first, fenced, and locks only when the fence fails: racing completes of one
    // lease must still produce one completion, one result, one pair of events, the rest WF020.
    let (db, mut c) = seeded("complete_race");
    for round in 0..20 {
        let lane = format!("race{round}");
        let id = create_in(&mut c, &lane, "");
        let l = claim_one(&mut c, &lane, "w").unwrap();
        let barrier = Arc::new(Barrier::new(8));
        let handles: Vec<_> = (0..8u8)
            .map(|s| {
                let (barrier, ci, l) = (barrier.clone(), db.conninfo("postgres"), l.clone());
                std::thread::spawn(move || {
                    let mut c = postgres::Client::connect(&ci, postgres::NoTls).unwrap();
                    barrier.wait();
                    c.query_one(
                        "SELECT outcome FROM ff_complete($1, $2, $3, $4)",
                        &[&l.execution_id, &l.lease_id, &l.lease_epoch, &vec![s]],
                    )
                    .map(|_| s)
                    .map_err(|e| db_err(&e).code)
                })
            })
            .collect();
        let results: Vec<Result<u8, String>> = handles.into_iter().map(|h| h.join().unwrap()).collect();
        let winners: Vec<u8> = results.iter().filter_map(|r| r.as_ref().ok().copied()).collect();
        assert_eq!(winners.len(), 1, "round {round}: {results:?}");
        assert!(results.iter().all(|r| r.as_ref().map_or_else(|code| code == "WF020", |_| true)), "round {round}: {results:?}");
        let stored: Option<Vec<u8>> = c.query_one("SELECT result FROM ff_exec_core WHERE lane_id = $1", &[&lane]).unwrap().get(0);
        assert_eq!(stored, Some(vec![winners[0]]), "round {round}: the winner's result is stored");
        let events = |c: &mut postgres::Client, t: &str| count(c, &format!("SELECT count(*) FROM {t} WHERE execution_id = '{id}'"));
        assert_eq!((events(&mut c, "ff_completion_event"), events(&mut c, "ff_lease_event")), (1, 2), "round {round}");
        assert_eq!(states(&mut c, &id).4, "completed");
        let ended: i64 = count(&mut c, &format!("SELECT count(*) FROM ff_attempt WHERE outcome = 'success' AND ended_at_ms IS NOT NULL AND execution_id = (SELECT execution_id FROM ff_exec_core WHERE lane_id = '{lane}')"));
        assert_eq!(ended, 1, "round {round}: the attempt is closed once");
    }
}

#[test]
fn expired_lease_is_wf021_and_scanner_reclaims_with_resumed_claim() {
    let (_db, mut c) = seeded("lease_expiry");
    let id = create_in(&mut c, "lane", "");
    let l = lease_from_row(&c.query_one("SELECT * FROM ff_claim('lane', 'w', 'i', lease_ttl_ms => 1)", &[]).unwrap());
    std::thread::sleep(Duration::from_millis(10));
    assert_code(&mut c, "SELECT * FROM ff_complete($1, $2, $3)", &[&id, &l.lease_id, &l.lease_epoch], "WF021");
    let tick: Vec<(String, i32)> = c.query("SELECT * FROM ff_tick()", &[]).unwrap().iter().map(|r| (r.get(0), r.get(1))).collect();
    assert!(tick.contains(&("expire_leases".to_string(), 1)), "{tick:?}");
    let again: Vec<i32> = column(&mut c, "SELECT processed FROM ff_tick()", &[]);
    assert!(again.iter().all(|n| *n == 0), "second tick processes nothing: {again:?}");
    assert_eq!(
        states(&mut c, &id),
        ("runnable".into(), "unowned".into(), "eligible_now".into(), "attempt_interrupted".into(), "waiting".into())
    );
    // The old fence is dead; the reclaim re-leases the same attempt with a higher epoch.
    assert_code(&mut c, "SELECT * FROM ff_complete($1, $2, $3)", &[&id, &l.lease_id, &l.lease_epoch], "WF020");
    let (_, key, _) = grant(&mut c, "lane", "w2").unwrap();
    let r = lease_from_row(&c.query_one("SELECT * FROM ff_claim_resumed_execution($1, 'w2', 'inst-1')", &[&key]).unwrap());
    assert!(r.resumed);
    assert_eq!(r.attempt_index, l.attempt_index);
    assert!(r.lease_epoch > l.lease_epoch);
    let events: Vec<String> = column(&mut c, "SELECT event_type FROM ff_lease_event WHERE execution_id = $1 ORDER BY event_id", &[&id]);
    assert_eq!(events, vec!["acquired", "expired", "reclaimed"]);
    // A fresh attempt is not a resumed execution.
    create_in(&mut c, "fresh", "");
    let (_, fresh_key, _) = grant(&mut c, "fresh", "w").unwrap();
    assert_code(&mut c, "SELECT * FROM ff_claim_resumed_execution($1, 'w', 'inst-1')", &[&fresh_key], "WF024");
}

#[test]
fn max_reclaims_fails_the_execution() {
    let (_db, mut c) = seeded("max_reclaims");
    let id = create_in(&mut c, "lane", "");
    c.batch_execute("SET ff_engine.max_reclaims = 1").unwrap();
    for round in 0..2 {
        let l = c.query("SELECT * FROM ff_claim('lane', 'w', 'i', lease_ttl_ms => 1)", &[]).unwrap();
        assert_eq!(l.len(), 1, "round {round}");
        std::thread::sleep(Duration::from_millis(5));
        assert_eq!(count(&mut c, "SELECT ff_expire_leases()::bigint"), 1);
    }
    assert_eq!(states(&mut c, &id).4, "failed");
    assert_eq!(count(&mut c, &format!("SELECT count(*) FROM ff_completion_event WHERE execution_id = '{id}' AND outcome = 'failed'")), 1);
}

#[test]
fn fail_retries_with_backoff_then_terminal() {
    let (_db, mut c) = seeded("fail_retry");
    let id = create_in(&mut c, "lane", "max_attempts => 2, retry_backoff_ms => 100");
    let l = claim_one(&mut c, "lane", "w").unwrap();
    let r = c.query_one("SELECT outcome, retry_at_ms FROM ff_fail($1, $2, $3, 'boom')", &[&id, &l.lease_id, &l.lease_epoch]).unwrap();
    assert_eq!(r.get::<_, String>(0), "retry_scheduled");
    assert!(r.get::<_, Option<i64>>(1).is_some());
    assert_eq!(states(&mut c, &id).3, "pending_retry_attempt");
    assert_eq!(states(&mut c, &id).4, "delayed");
    assert!(claim_one(&mut c, "lane", "w").is_none(), "not before the backoff");
    std::thread::sleep(Duration::from_millis(150));
    c.query("SELECT * FROM ff_tick()", &[]).unwrap();
    let l2 = claim_one(&mut c, "lane", "w").unwrap();
    assert_eq!(l2.attempt_index, 1);
    assert!(!l2.resumed);
    let r =
        c.query_one("SELECT outcome, retry_at_ms FROM ff_fail($1, $2, $3, 'boom again')", &[&id, &l2.lease_id, &l2.lease_epoch]).unwrap();
    assert_eq!(r.get::<_, String>(0), "terminal_failed");
    assert_eq!(r.get::<_, Option<i64>>(1), None);
    assert_eq!(states(&mut c, &id).4, "failed");
    assert_eq!(count(&mut c, &format!("SELECT count(*) FROM ff_attempt a JOIN ff_executions e ON e.execution_id = '{{fp:' || a.partition_key || '}}:' || a.execution_id WHERE e.execution_id = '{id}'")), 2);
    // Not retryable: terminal at once.
    let id3 = create_in(&mut c, "lane3", "max_attempts => 5");
    let l3 = claim_one(&mut c, "lane3", "w").unwrap();
    let out: String = c
        .query_one("SELECT outcome FROM ff_fail($1, $2, $3, 'fatal', retryable => false)", &[&id3, &l3.lease_id, &l3.lease_epoch])
        .unwrap()
        .get(0);
    assert_eq!(out, "terminal_failed");
}

#[test]
fn cancel_and_complete_many() {
    let (_db, mut c) = seeded("cancel_many");
    let queued = create_in(&mut c, "lane", "");
    assert_eq!(c.query_one("SELECT outcome FROM ff_cancel($1)", &[&queued]).unwrap().get::<_, String>(0), "cancelled");
    assert_eq!(c.query_one("SELECT outcome FROM ff_cancel($1)", &[&queued]).unwrap().get::<_, String>(0), "already_terminal");
    assert_eq!(states(&mut c, &queued).4, "cancelled");
    let a = create_in(&mut c, "lane", "");
    let la = claim_one(&mut c, "lane", "w").unwrap();
    c.query_one("SELECT * FROM ff_cancel($1, 'operator said so')", &[&a]).unwrap();
    assert_code(&mut c, "SELECT * FROM ff_complete($1, $2, $3)", &[&a, &la.lease_id, &la.lease_epoch], "WF020");
    assert_code(&mut c, "SELECT * FROM ff_cancel('{fp:1}:6f1c1e9e-0000-4000-8000-000000000009')", &[], "WF010");

    let ids: Vec<String> = (0..3).map(|_| create_in(&mut c, "many", "")).collect();
    let leases: Vec<Lease> =
        c.query("SELECT * FROM ff_claim('many', 'w', 'i', max_items => 10)", &[]).unwrap().iter().map(lease_from_row).collect();
    assert_eq!(leases.len(), 3);
    let mut arr: Vec<String> = leases
        .iter()
        .enumerate()
        .map(|(i, l)| {
            let epoch = if i == 1 { l.lease_epoch + 7 } else { l.lease_epoch };
            format!(r#"{{"execution_id":"{}","lease_id":"{}","lease_epoch":{},"result_hex":"ff"}}"#, l.execution_id, l.lease_id, epoch)
        })
        .collect();
    arr.push(r#"{"execution_id":"junk"}"#.to_string());
    let json = format!("[{}]", arr.join(","));
    let rows: Vec<(String, String)> =
        c.query("SELECT * FROM ff_complete_many($1::text::jsonb)", &[&json]).unwrap().iter().map(|r| (r.get(0), r.get(1))).collect();
    assert_eq!(rows.len(), 4);
    assert_eq!(rows[0], (leases[0].execution_id.clone(), "completed".to_string()));
    assert_eq!(rows[1], (leases[1].execution_id.clone(), "lease_conflict".to_string()));
    assert_eq!(rows[2], (leases[2].execution_id.clone(), "completed".to_string()));
    assert_eq!(rows[3].1, "invalid_input");
    assert_eq!(states(&mut c, &leases[1].execution_id).4, "active", "a bad fence fails only its element");
    assert!(ids.contains(&leases[0].execution_id));
    assert_code(&mut c, "SELECT * FROM ff_complete_many('{}')", &[], "WF001");
}

#[test]
fn budget_over_hard_limit_is_skipped_not_blocking() {
    let (_db, mut c) = seeded("budgets");
    let r = c.query_one("SELECT * FROM ff_create_budget('b1', '{\"tokens\": 10}', '{\"tokens\": 5}')", &[]).unwrap();
    assert!(r.get::<_, bool>(1));
    assert!(!c.query_one("SELECT created FROM ff_create_budget('b1', '{\"tokens\": 99}')", &[]).unwrap().get::<_, bool>(0));
    assert_code(&mut c, "SELECT * FROM ff_create_budget('b2', '{\"tokens\": -1}')", &[], "WF001");
    assert_code(&mut c, "SELECT * FROM ff_budget_status('nope')", &[], "WF010");
    let first = create_in(&mut c, "lane", "priority => 9, budget_ids => '{b1}'");
    let l = claim_one(&mut c, "lane", "w").unwrap();
    assert_eq!(l.execution_id, first);
    let report = |c: &mut postgres::Client, usage: &str, key: &str| -> (String, Option<String>) {
        let r = c
            .query_one(
                "SELECT * FROM ff_report_usage($1, $2, $3, $4::text::jsonb, $5)",
                &[&l.execution_id, &l.lease_id, &l.lease_epoch, &usage, &key],
            )
            .unwrap();
        (r.get(0), r.get(1))
    };
    assert_eq!(report(&mut c, r#"{"tokens": 4}"#, "r1"), ("admitted".into(), None));
    assert_eq!(report(&mut c, r#"{"tokens": 4}"#, "r1"), ("duplicate".into(), None));
    assert_eq!(report(&mut c, r#"{"tokens": 2}"#, "r2"), ("soft_breach".into(), Some("tokens".into())));
    assert_eq!(report(&mut c, r#"{"tokens": 4}"#, "r3"), ("hard_breach".into(), Some("tokens".into())));
    let status: Vec<(String, i64, Option<i64>, Option<i64>)> =
        c.query("SELECT * FROM ff_budget_status('b1')", &[]).unwrap().iter().map(|r| (r.get(0), r.get(1), r.get(2), r.get(3))).collect();
    assert_eq!(status, vec![("tokens".to_string(), 10, Some(5), Some(10))]);
    // Over the hard limit: the budgeted head stays eligible but is skipped; the next candidate is claimed.
    let blocked = create_in(&mut c, "lane", "priority => 9, budget_ids => '{b1}'");
    let free = create_in(&mut c, "lane", "priority => 1");
    assert_eq!(claim_one(&mut c, "lane", "w").unwrap().execution_id, free);
    assert_eq!(states(&mut c, &blocked).2, "eligible_now");
    assert!(claim_one(&mut c, "lane", "w").is_none());
}

#[test]
fn quota_concurrency_cap_and_window() {
    let (_db, mut c) = seeded("quotas");
    let cap: uuid::Uuid = c.query_one("SELECT * FROM ff_create_quota_policy(active_concurrency_cap => 1)", &[]).unwrap().get(0);
    let win: uuid::Uuid =
        c.query_one("SELECT * FROM ff_create_quota_policy(max_requests_per_window => 2, window_ms => 300)", &[]).unwrap().get(0);
    assert_code(&mut c, "SELECT * FROM ff_create_quota_policy(window_ms => 0)", &[], "WF001");
    let a = create_in(&mut c, "cap", &format!("quota_policy_id => '{cap}'"));
    let b = create_in(&mut c, "cap", &format!("quota_policy_id => '{cap}'"));
    let other = create_in(&mut c, "cap", "priority => -1");
    let la = claim_one(&mut c, "cap", "w").unwrap();
    assert_eq!(la.execution_id, a);
    assert_eq!(claim_one(&mut c, "cap", "w").unwrap().execution_id, other, "b refused by the cap, the lane moves on");
    assert!(claim_one(&mut c, "cap", "w").is_none());
    c.query_one("SELECT * FROM ff_complete($1, $2, $3)", &[&la.execution_id, &la.lease_id, &la.lease_epoch]).unwrap();
    assert_eq!(claim_one(&mut c, "cap", "w").unwrap().execution_id, b);

    for _ in 0..3 {
        create_in(&mut c, "win", &format!("quota_policy_id => '{win}'"));
    }
    assert!(claim_one(&mut c, "win", "w").is_some());
    assert!(claim_one(&mut c, "win", "w").is_some());
    assert!(claim_one(&mut c, "win", "w").is_none(), "two requests per window");
    std::thread::sleep(Duration::from_millis(350));
    assert!(claim_one(&mut c, "win", "w").is_some(), "the window slid");
}

#[test]
fn sixteen_sessions_claim_two_thousand_exactly_once() {
    let (db, mut c) = seeded("claim_race");
    c.batch_execute("SELECT ff_create_execution('race') FROM generate_series(1, 2000)").unwrap();
    let sessions = 16;
    let barrier = Arc::new(Barrier::new(sessions));
    let seen = Arc::new(Mutex::new(Vec::<String>::new()));
    let handles: Vec<_> = (0..sessions)
        .map(|s| {
            let (barrier, seen, conninfo) = (barrier.clone(), seen.clone(), db.conninfo("postgres"));
            std::thread::spawn(move || {
                let mut c = postgres::Client::connect(&conninfo, postgres::NoTls).unwrap();
                barrier.wait();
                let worker = format!("w{s}");
                loop {
                    // Half the sessions use grant + consume, half the batch form.
                    let leases: Vec<Lease> = if s % 2 == 0 {
                        let g = c.query("SELECT grant_key FROM ff_claim_for_worker('race', $1, 'i')", &[&worker]).unwrap();
                        let Some(g) = g.first() else { break };
                        let key: String = g.get(0);
                        vec![lease_from_row(&c.query_one("SELECT * FROM ff_claim_execution($1, $2, 'i')", &[&key, &worker]).unwrap())]
                    } else {
                        let rows = c.query("SELECT * FROM ff_claim('race', $1, 'i', max_items => 7)", &[&worker]).unwrap();
                        if rows.is_empty() {
                            break;
                        }
                        rows.iter().map(lease_from_row).collect()
                    };
                    for l in leases {
                        c.query_one("SELECT * FROM ff_complete($1, $2, $3)", &[&l.execution_id, &l.lease_id, &l.lease_epoch]).unwrap();
                        seen.lock().unwrap().push(l.execution_id);
                    }
                }
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
    let seen = seen.lock().unwrap();
    let unique: HashSet<&String> = seen.iter().collect();
    assert_eq!(seen.len(), 2000, "every execution claimed, none twice");
    assert_eq!(unique.len(), 2000);
    assert_eq!(count(&mut c, "SELECT count(*) FROM ff_executions WHERE public_state = 'completed'"), 2000);
    assert_eq!(count(&mut c, "SELECT count(*) FROM ff_completion_event"), 2000);
    assert_eq!(count(&mut c, "SELECT count(*) FROM ff_lease_event WHERE event_type = 'acquired'"), 2000);
    assert_no_orphans(&mut c);
}

#[test]
fn stale_complete_racing_lease_expiry_has_one_winner() {
    let (db, mut c) = seeded("complete_vs_expiry");
    for round in 0..30 {
        let id = create_in(&mut c, "lane", "");
        let l = lease_from_row(&c.query_one("SELECT * FROM ff_claim('lane', 'w', 'i', lease_ttl_ms => 20)", &[]).unwrap());
        std::thread::sleep(Duration::from_millis(19));
        let barrier = Arc::new(Barrier::new(2));
        let (b1, ci1) = (barrier.clone(), db.conninfo("postgres"));
        let lc = l.clone();
        let completer = std::thread::spawn(move || {
            let mut c = postgres::Client::connect(&ci1, postgres::NoTls).unwrap();
            b1.wait();
            c.query_one("SELECT outcome FROM ff_complete($1, $2, $3)", &[&lc.execution_id, &lc.lease_id, &lc.lease_epoch])
                .map(|_| ())
                .map_err(|e| db_err(&e).code)
        });
        let (b2, ci2) = (barrier.clone(), db.conninfo("postgres"));
        let scanner = std::thread::spawn(move || {
            let mut c = postgres::Client::connect(&ci2, postgres::NoTls).unwrap();
            b2.wait();
            std::thread::sleep(Duration::from_millis(1));
            c.query_one("SELECT ff_expire_leases()", &[]).unwrap().get::<_, i32>(0)
        });
        let completed = completer.join().unwrap();
        let mut expired = scanner.join().unwrap();
        if completed.is_err() && expired == 0 {
            // The complete saw an expired lease before the scanner's turn: the scanner reclaims it now.
            expired = c.query_one("SELECT ff_expire_leases()", &[]).unwrap().get(0);
        }
        let (_, _, _, _, public) = states(&mut c, &id);
        match completed {
            Ok(()) => {
                assert_eq!(expired, 0, "round {round}: both the complete and the expiry won");
                assert_eq!(public, "completed");
            }
            Err(code) => {
                assert!(code == "WF021" || code == "WF020", "round {round}: {code}");
                assert_eq!(expired, 1, "round {round}");
                assert_eq!(public, "waiting", "round {round}");
            }
        }
        let events = count(&mut c, &format!("SELECT count(*) FROM ff_completion_event WHERE execution_id = '{id}'"));
        assert!(events <= 1);
        // Leave the lane empty for the next round.
        if public != "completed" {
            c.query_one("SELECT * FROM ff_cancel($1)", &[&id]).unwrap();
        }
    }
}

#[test]
fn notify_once_per_transaction_and_setting_off() {
    let (db, mut c) = seeded("notify");
    let mut listener = db.connect();
    listener.batch_execute("LISTEN ff_lease_event; LISTEN ff_completion").unwrap();
    // With the default ff_engine.notify = on only announced waiters are notified (tests/wakeups.rs).
    listener.batch_execute("SELECT ff_await_events('{ff_lease_event,ff_completion}')").unwrap();
    for _ in 0..5 {
        create_in(&mut c, "lane", "");
    }
    c.batch_execute("BEGIN; SELECT * FROM ff_claim('lane', 'w', 'i', max_items => 3); SELECT * FROM ff_claim('lane', 'w', 'i', max_items => 2); COMMIT;").unwrap();
    let mut got = Vec::new();
    {
        let mut it = listener.notifications();
        let mut timeout = it.timeout_iter(Duration::from_millis(300));
        while let Some(n) = timeout.next().unwrap() {
            got.push((n.channel().to_string(), n.payload().to_string()));
        }
    }
    assert_eq!(got, vec![("ff_lease_event".to_string(), String::new())], "one empty-payload NOTIFY for 5 events");
    assert_eq!(count(&mut c, "SELECT count(*) FROM ff_lease_event"), 5);
    c.batch_execute("SET ff_engine.notify = off").unwrap();
    listener.batch_execute("SELECT ff_await_events('{ff_lease_event,ff_completion}')").unwrap();
    create_in(&mut c, "lane2", "");
    claim_one(&mut c, "lane2", "w").unwrap();
    let mut it = listener.notifications();
    assert!(it.timeout_iter(Duration::from_millis(300)).next().unwrap().is_none(), "no NOTIFY when off");
    assert_eq!(count(&mut c, "SELECT count(*) FROM ff_lease_event"), 6, "events are still written");
}

#[test]
fn worker_role_can_work_signaler_cannot() {
    let (db, mut su) = seeded("worker_role");
    su.batch_execute(
        "DO $$ BEGIN
           IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'it_worker') THEN CREATE ROLE it_worker LOGIN; END IF;
           IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'it_sig2') THEN CREATE ROLE it_sig2 LOGIN; END IF;
         END $$;
         GRANT ff_worker TO it_worker; GRANT ff_signaler TO it_sig2;",
    )
    .unwrap();
    let mut w = db.connect_as("it_worker");
    let id = create_in(&mut w, "lane", "");
    let l = claim_one(&mut w, "lane", "w").unwrap();
    w.query_one("SELECT * FROM ff_complete($1, $2, $3)", &[&id, &l.lease_id, &l.lease_epoch]).unwrap();
    assert_code(&mut w, "SELECT * FROM ff_cancel($1)", &[&id], "42501");
    assert_code(&mut w, "SELECT * FROM ff_tick()", &[], "42501");
    assert_code(&mut w, "SELECT * FROM ff_executions", &[], "42501");
    assert_code(&mut w, "SELECT * FROM ff_exec_core", &[], "42501");
    assert_eq!(count(&mut w, "SELECT count(*) FROM ff_completion_event"), 1, "event tables are readable");
    let mut s = db.connect_as("it_sig2");
    assert_code(&mut s, "SELECT * FROM ff_claim('lane', 'w', 'i')", &[], "42501");
    assert_code(&mut s, "SELECT * FROM ff_create_execution('lane')", &[], "42501");
}

#[test]
fn robustness_of_lifecycle_functions() {
    let (_db, mut c) = seeded("lifecycle_robust");
    let huge = "x".repeat(1 << 20);
    let texts: Vec<Option<String>> = vec![None, Some(String::new()), Some(huge), Some("{fp:999}:x".into()), Some("pg:{fp:1}:".into())];
    let stmts = [
        "SELECT * FROM ff_create_execution($1, idempotency_key => $2)",
        "SELECT * FROM ff_claim_for_worker($1, $2, 'i')",
        "SELECT * FROM ff_claim($1, $2, 'i')",
        "SELECT * FROM ff_claim_execution($1, $2, 'i')",
        "SELECT * FROM ff_complete($1, gen_random_uuid(), 1, convert_to(coalesce($2, ''), 'UTF8'))",
        "SELECT * FROM ff_fail($1, gen_random_uuid(), 1, $2)",
        "SELECT * FROM ff_cancel($1, $2)",
        "SELECT * FROM ff_create_budget($1, $2::text::jsonb)",
        "SELECT * FROM ff_budget_status(coalesce($1, $2))",
    ];
    for sql in stmts {
        for a in &texts {
            for b in &texts {
                if let Err(e) = c.query(sql, &[a, b]) {
                    let e = db_err(&e);
                    let ok = e.code.starts_with("WF") && e.code != "WF099" || e.code == "22P02";
                    assert!(ok, "{sql}: {e:?}");
                }
            }
        }
    }
    for sql in [
        "SELECT * FROM ff_claim('l', 'w', 'i', max_items => 0)",
        "SELECT * FROM ff_claim('l', 'w', 'i', lease_ttl_ms => 0)",
        "SELECT * FROM ff_claim_for_worker('l', 'w', 'i', grant_ttl_ms => -5)",
        "SELECT * FROM ff_tick(0)",
        "SELECT * FROM ff_tick(NULL)",
        "SELECT * FROM ff_complete_many(NULL)",
        "SELECT * FROM ff_complete_many('[1, \"x\", null]')",
    ] {
        match c.query(sql, &[]) {
            Ok(rows) => assert!(sql.contains("complete_many('[1"), "{sql} returned {} rows", rows.len()),
            Err(e) => assert_eq!(db_err(&e).code, "WF001", "{sql}"),
        }
    }
    assert_eq!(count(&mut c, "SELECT 1::bigint"), 1);
}

#[test]
fn state_columns_reject_unknown_literals() {
    // The state literals are checked by domains (compiled once per backend), not table CHECKs: a
    // direct write of a non-canonical literal (FlowFabric's backend wrote 'running', 'released') fails.
    let (_db, mut c) = seeded("state_domains");
    let id = create_in(&mut c, "lane", "");
    let (fp, uuid) = id.trim_start_matches("{fp:").split_once("}:").unwrap();
    for (col, bad) in [
        ("lifecycle_phase", "running"),
        ("ownership_state", "released"),
        ("eligibility_state", "pending_claim"),
        ("attempt_state", "x"),
        ("public_state", "resumable2"),
        ("interrupt_reason", "nope"),
    ] {
        let sql = format!("UPDATE ff_exec_core SET {col} = $1::text WHERE partition_key = {fp} AND execution_id = '{uuid}'");
        let e = expect_err(&mut c, &sql, &[&bad]);
        assert_eq!(e.code, "23514", "{col}: {e:?}");
    }
    let e = expect_err(&mut c, "UPDATE ff_exec_core SET max_attempts = 0", &[]);
    assert_eq!(e.code, "23514");
    assert_eq!(
        states(&mut c, &id),
        ("runnable".into(), "unowned".into(), "eligible_now".into(), "pending_first_attempt".into(), "waiting".into())
    );
}

/// An empty claim is explained: ff_lane_holdback names what holds the lane's runnable work back and
/// when it could pass.
#[test]
fn lane_holdback_explains_an_empty_claim() {
    let (_db, mut c) = seeded("holdback");
    let now: i64 = c.query_one("SELECT (extract(epoch FROM clock_timestamp()) * 1000)::bigint", &[]).unwrap().get(0);
    c.query_one("SELECT * FROM ff_create_budget('hb', '{\"tokens\": 1}', '{}', 3600000)", &[]).unwrap();
    let rate: uuid::Uuid =
        c.query_one("SELECT * FROM ff_create_quota_policy(max_requests_per_window => 1, window_ms => 600000)", &[]).unwrap().get(0);
    let cap: uuid::Uuid = c.query_one("SELECT * FROM ff_create_quota_policy(active_concurrency_cap => 1)", &[]).unwrap().get(0);
    // Use up the budget and both quotas with executions of another lane.
    create_in(&mut c, "other", "budget_ids => '{hb}'");
    let l = claim_one(&mut c, "other", "w").unwrap();
    c.query_one("SELECT * FROM ff_report_usage($1, $2, $3, '{\"tokens\": 1}')", &[&l.execution_id, &l.lease_id, &l.lease_epoch]).unwrap();
    create_in(&mut c, "other", &format!("quota_policy_id => '{rate}'"));
    create_in(&mut c, "other", &format!("quota_policy_id => '{cap}'"));
    claim_one(&mut c, "other", "w").unwrap();
    claim_one(&mut c, "other", "w").unwrap();
    // The lane: one of each.
    create_in(&mut c, "held", &format!("delay_until_ms => {}", now + 600_000));
    create_in(&mut c, "held", "budget_ids => '{hb}'");
    create_in(&mut c, "held", &format!("quota_policy_id => '{rate}'"));
    create_in(&mut c, "held", &format!("quota_policy_id => '{cap}'"));
    let f: uuid::Uuid = c.query_one("SELECT flow_id FROM ff_create_flow()", &[]).unwrap().get(0);
    let up = c.query_one("SELECT execution_id FROM ff_create_execution('held-up', flow_id => $1)", &[&f]).unwrap().get::<_, String>(0);
    c.query_one("SELECT * FROM ff_create_execution('held', flow_id => $1, depends_on => ARRAY[$2])", &[&f, &up]).unwrap();
    assert!(claim_one(&mut c, "held", "w").is_none(), "nothing can be handed out");
    let rows: Vec<(String, i64, Option<i64>)> =
        c.query("SELECT * FROM ff_lane_holdback('held')", &[]).unwrap().iter().map(|r| (r.get(0), r.get(1), r.get(2))).collect();
    let reasons: Vec<&str> = rows.iter().map(|r| r.0.as_str()).collect();
    assert_eq!(reasons, ["budget", "delayed", "dependencies", "quota_concurrency", "quota_rate"]);
    assert!(rows.iter().all(|r| r.1 == 1), "{rows:?}");
    let earliest = |reason: &str| rows.iter().find(|r| r.0 == reason).unwrap().2;
    assert_eq!(earliest("delayed"), Some(now + 600_000));
    assert!(earliest("budget").is_some_and(|t| t >= now + 3_600_000 - 60_000), "{rows:?}");
    assert!(earliest("quota_rate").is_some_and(|t| t >= now + 600_000 - 60_000), "{rows:?}");
    assert_eq!((earliest("dependencies"), earliest("quota_concurrency")), (None, None));
    assert!(c.query("SELECT * FROM ff_lane_holdback('empty')", &[]).unwrap().is_empty());
    assert_code(&mut c, "SELECT * FROM ff_lane_holdback(NULL)", &[], "WF001");
}
