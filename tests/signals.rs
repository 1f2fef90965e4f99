//! Acceptance, "Tokens and delivery", "Composite conditions", "Suspend", "Timeouts": suspend, signal,
//! resume and timeouts through real (and racing) sessions.

use ff_engine_tests::*;
use postgres::Client;
use std::sync::{Arc, Barrier};
use std::time::Duration;
use uuid::Uuid;

/// A leased execution in its own lane.
fn leased(c: &mut Client, lane: &str) -> Lease {
    create_in(c, lane, "");
    claim_one(c, lane, "w").unwrap()
}

/// Suspend on `cond`; returns (outcome, suspension_id, [(waitpoint_id, key, token)]).
/// What a suspend returned: outcome, suspension id, and (waitpoint id, key, token) per bound waitpoint.
type Suspended = (String, Uuid, Vec<(Uuid, String, String)>);

fn suspend(c: &mut Client, l: &Lease, cond: &str, extra: &str) -> Result<Suspended, DbErr> {
    let sql = format!("SELECT * FROM ff_suspend($1, $2, $3, $4::text::jsonb{}{extra})", if extra.is_empty() { "" } else { ", " });
    let rows = c.query(&sql, &[&l.execution_id, &l.lease_id, &l.lease_epoch, &cond]).map_err(|e| db_err(&e))?;
    let wps = rows
        .iter()
        .filter_map(|r| Some((r.get::<_, Option<Uuid>>(2)?, r.get::<_, Option<String>>(3)?, r.get::<_, Option<String>>(4)?)))
        .collect();
    Ok((rows[0].get(0), rows[0].get(1), wps))
}

fn single(key: &str, name: &str) -> String {
    format!(r#"{{"Single":{{"waitpoint_key":"{key}","matcher":{{"ByName":"{name}"}}}}}}"#)
}

fn deliver(c: &mut Client, eid: &str, wp: &Uuid, token: &str, name: &str, extra: &str) -> Result<(String, Uuid, Option<String>), DbErr> {
    let sql = format!("SELECT * FROM ff_deliver_signal($1, $2, $3, $4{}{extra})", if extra.is_empty() { "" } else { ", " });
    c.query_one(&sql, &[&eid, wp, &token, &name]).map(|r| (r.get(0), r.get(1), r.get(2))).map_err(|e| db_err(&e))
}

fn effect(c: &mut Client, eid: &str, wp: &(Uuid, String, String), name: &str, extra: &str) -> String {
    deliver(c, eid, &wp.0, &wp.2, name, extra).unwrap().2.unwrap()
}

#[test]
fn token_vector_through_suspend_and_bad_tokens() {
    let (_db, mut c) = seeded("sig_tokens");
    create_in(&mut c, "lane", "execution_id => '{fp:7}:6f1c1e9e-0000-4000-8000-000000000001'");
    let l = claim_one(&mut c, "lane", "w").unwrap();
    let (outcome, _, wps) = suspend(
        &mut c,
        &l,
        &single("k", "approved"),
        "waitpoints => '[{\"waitpoint_id\":\"6f1c1e9e-0000-4000-8000-0000000000aa\",\"waitpoint_key\":\"k\"}]'",
    )
    .unwrap();
    assert_eq!(outcome, "suspended");
    assert!(wps[0].2.starts_with("k1:") && wps[0].2.len() == 3 + 64);
    let eid = l.execution_id.clone();
    let (wp, token) = (wps[0].0, wps[0].2.clone());
    let mut flipped = token.clone().into_bytes();
    let n = flipped.len() - 1;
    flipped[n] = if flipped[n] == b'0' { b'1' } else { b'0' };
    let flipped = String::from_utf8(flipped).unwrap();
    for bad in ["", "k1:", "nope", &flipped, &token.replacen("k1:", "k9:", 1)] {
        assert_eq!(deliver(&mut c, &eid, &wp, bad, "approved", "").unwrap_err().code, "WF002", "{bad}");
    }
    // Unknown waitpoint with a bogus token: WF002, never WF010.
    assert_eq!(deliver(&mut c, &eid, &Uuid::new_v4(), &token, "approved", "").unwrap_err().code, "WF002");
    assert_eq!(deliver(&mut c, "{fp:1}:6f1c1e9e-0000-4000-8000-00000000dead", &wp, &token, "approved", "").unwrap_err().code, "WF002");
    assert_eq!(deliver(&mut c, "garbage", &wp, &token, "approved", "").unwrap_err().code, "WF001");
    // The documented test vector (docs/semantics.md §4 format), with its kid.
    let db2 = Cluster::shared().fresh_db("sig_vector");
    let mut v = db2.connect();
    v.query_one("SELECT * FROM ff_seed_hmac('kid-1', repeat('11', 32))", &[]).unwrap();
    create_in(&mut v, "lane", "execution_id => '{fp:7}:6f1c1e9e-0000-4000-8000-000000000001'");
    let l = claim_one(&mut v, "lane", "w").unwrap();
    let (_, _, wps) = suspend(
        &mut v,
        &l,
        &single("k", "approved"),
        "waitpoints => '[{\"waitpoint_id\":\"6f1c1e9e-0000-4000-8000-0000000000aa\",\"waitpoint_key\":\"k\"}]'",
    )
    .unwrap();
    assert_eq!(wps[0].2, "kid-1:b5ac18077d52b2213024ce556a24d956c88d10a92c80ac7dd85d36be5dd0d048");
}

/// The key's grace window is checked after the digest, so with an expired key a caller
/// without the secret gets the same error for an existing and a missing waitpoint; only a valid digest
/// learns that its key has expired.
#[test]
fn expired_key_reveals_nothing_before_the_digest_verifies() {
    let (_db, mut c) = seeded("sig_oracle");
    let l = leased(&mut c, "lane");
    let (_, _, wps) = suspend(&mut c, &l, &single("k", "go"), "").unwrap();
    let (wp, token) = (wps[0].0, wps[0].2.clone());
    // Retire k1 with no grace: tokens minted under it are expired from now on.
    c.query_one("SELECT * FROM ff_rotate_hmac('k2', repeat('22', 32), 0)", &[]).unwrap();
    let forged = format!("k1:{}", "ab".repeat(32));
    let existing = deliver(&mut c, &l.execution_id, &wp, &forged, "go", "").unwrap_err();
    let missing = deliver(&mut c, &l.execution_id, &Uuid::new_v4(), &forged, "go", "").unwrap_err();
    assert_eq!((existing.code.as_str(), missing.code.as_str()), ("WF002", "WF002"), "{existing:?} / {missing:?}");
    assert_eq!(existing.message, missing.message);
    // The real token verifies, and only then is its key's expiry told.
    assert_eq!(deliver(&mut c, &l.execution_id, &wp, &token, "go", "").unwrap_err().code, "WF003");
    assert_eq!(states(&mut c, &l.execution_id).0, "suspended", "nothing was delivered");
}

#[test]
fn single_resume_reclaim_observe() {
    let (_db, mut c) = seeded("sig_single");
    let l = leased(&mut c, "lane");
    let eid = l.execution_id.clone();
    let (_, _, wps) = suspend(&mut c, &l, &single("k", "approved"), "").unwrap();
    assert!(!wps[0].2.is_empty());
    assert_eq!(states(&mut c, &eid).4, "suspended");
    assert_code(&mut c, "SELECT * FROM ff_complete($1, $2, $3)", &[&eid, &l.lease_id, &l.lease_epoch], "WF020");
    assert_eq!(effect(&mut c, &eid, &wps[0], "rejected", ""), "no_op");
    assert_eq!(states(&mut c, &eid).4, "suspended");
    assert_eq!(effect(&mut c, &eid, &wps[0], "approved", "payload => '\\xbeef'"), "resume_condition_satisfied");
    assert_eq!(count(&mut c, &format!("SELECT count(*) FROM ff_completion_event WHERE execution_id = '{eid}' AND outcome = 'resumed'")), 1);
    // The waitpoint is closed now; the execution is live: WF030.
    assert_eq!(deliver(&mut c, &eid, &wps[0].0, &wps[0].2, "approved", "").unwrap_err().code, "WF030");
    let r = claim_one(&mut c, "lane", "w").unwrap();
    assert!(r.resumed);
    assert_eq!(r.attempt_index, l.attempt_index);
    assert!(r.lease_epoch > l.lease_epoch);
    let obs: Vec<(String, Option<Vec<u8>>)> =
        c.query("SELECT signal_name, payload FROM ff_observe_signals($1)", &[&eid]).unwrap().iter().map(|r| (r.get(0), r.get(1))).collect();
    assert_eq!(obs, vec![("approved".to_string(), Some(vec![0xbe, 0xef]))]);
    c.query_one("SELECT * FROM ff_complete($1, $2, $3)", &[&eid, &r.lease_id, &r.lease_epoch]).unwrap();
    assert_eq!(deliver(&mut c, &eid, &wps[0].0, &wps[0].2, "approved", "").unwrap_err().code, "WF031");
}

#[test]
fn reused_waitpoint_id_is_refused_and_writes_nothing() {
    let (_db, mut c) = seeded("sig_wp_reuse");
    let l = leased(&mut c, "lane");
    let eid = l.execution_id.clone();
    let fixed = Uuid::new_v4();
    let bind = format!("waitpoints => '[{{\"waitpoint_id\": \"{fixed}\", \"waitpoint_key\": \"k\"}}]'");
    let (_, _, wps) = suspend(&mut c, &l, &single("k", "go"), &bind).unwrap();
    assert_eq!(wps[0].0, fixed, "the caller's waitpoint id is used");
    assert_eq!(effect(&mut c, &eid, &wps[0], "go", ""), "resume_condition_satisfied");
    let r = claim_one(&mut c, "lane", "w").unwrap();
    let before = (count(&mut c, "SELECT count(*) FROM ff_suspension"), count(&mut c, "SELECT count(*) FROM ff_lease_event"));
    let e = suspend(&mut c, &r, &single("k", "go"), &bind).unwrap_err();
    assert_eq!((e.code.as_str(), e.detail.as_deref()), ("WF001", Some("waitpoint_id_exists")));
    let after = (count(&mut c, "SELECT count(*) FROM ff_suspension"), count(&mut c, "SELECT count(*) FROM ff_lease_event"));
    assert_eq!(before, after, "no suspension, no lease event");
    assert_eq!(states(&mut c, &eid).4, "active", "the lease is intact");
    c.query_one("SELECT * FROM ff_complete($1, $2, $3)", &[&eid, &r.lease_id, &r.lease_epoch]).unwrap();
}

#[test]
fn idempotency_limit_and_delay() {
    let (_db, mut c) = seeded("sig_dedup");
    let l = leased(&mut c, "lane");
    let eid = l.execution_id.clone();
    let cond = r#"{"Composite":{"kind":"Count","n":5,"count_kind":"DistinctSignals","waitpoints":["k"]}}"#;
    let (_, _, wps) = suspend(&mut c, &l, cond, "").unwrap();
    let first = deliver(&mut c, &eid, &wps[0].0, &wps[0].2, "x", "idempotency_key => 'once', dedup_ttl_ms => 200").unwrap();
    let events = count(&mut c, "SELECT count(*) FROM ff_signal_event");
    let dup = deliver(&mut c, &eid, &wps[0].0, &wps[0].2, "x", "idempotency_key => 'once', dedup_ttl_ms => 200").unwrap();
    assert_eq!((dup.0.as_str(), dup.1, dup.2), ("duplicate", first.1, None));
    assert_eq!(count(&mut c, "SELECT count(*) FROM ff_signal_event"), events, "no event for a duplicate");
    std::thread::sleep(Duration::from_millis(250));
    assert_eq!(deliver(&mut c, &eid, &wps[0].0, &wps[0].2, "x", "idempotency_key => 'once'").unwrap().0, "accepted");
    // The per-execution limit: 2 recorded, limit 2 -> WF032.
    assert_eq!(deliver(&mut c, &eid, &wps[0].0, &wps[0].2, "x", "max_signals_per_execution => 2").unwrap_err().code, "WF032");
    // resume_delay_ms: delayed, claimable only after the delay and a tick.
    for _ in 0..3 {
        deliver(&mut c, &eid, &wps[0].0, &wps[0].2, "x", "resume_delay_ms => 150").unwrap();
    }
    assert_eq!(states(&mut c, &eid).4, "delayed");
    assert!(claim_one(&mut c, "lane", "w").is_none());
    std::thread::sleep(Duration::from_millis(200));
    c.query("SELECT * FROM ff_tick()", &[]).unwrap();
    assert!(claim_one(&mut c, "lane", "w").unwrap().resumed);
}

#[test]
fn approval_signal() {
    let (_db, mut c) = seeded("sig_approval");
    let l = leased(&mut c, "lane");
    let eid = l.execution_id.clone();
    let (_, _, wps) = suspend(&mut c, &l, &single("approval", "approved"), "reason_code => 'waiting_for_approval'").unwrap();
    assert_code(&mut c, "SELECT * FROM ff_deliver_approval_signal($1, 'other-lane', $2, 'approved', 'op-1')", &[&eid, &wps[0].0], "WF001");
    assert_code(&mut c, "SELECT * FROM ff_deliver_approval_signal($1, 'lane', gen_random_uuid(), 'approved', 'op-1')", &[&eid], "WF010");
    let r = c
        .query_one("SELECT outcome, effect FROM ff_deliver_approval_signal($1, 'lane', $2, 'approved', 'op-1')", &[&eid, &wps[0].0])
        .unwrap();
    assert_eq!(r.get::<_, Option<String>>(1).as_deref(), Some("resume_condition_satisfied"));
    let o = c.query_one("SELECT signal_category, source_type FROM ff_observe_signals($1)", &[&eid]).unwrap();
    assert_eq!((o.get::<_, String>(0), o.get::<_, String>(1)), ("approval".into(), "operator".into()));
}

#[test]
fn composite_conditions() {
    let (_db, mut c) = seeded("sig_composite");
    // AllOf of two ByName leaves on one waitpoint.
    let l = leased(&mut c, "a");
    let cond = r#"{"Composite":{"kind":"AllOf","members":[{"Single":{"waitpoint_key":"k","matcher":{"ByName":"x"}}},{"Single":{"waitpoint_key":"k","matcher":{"ByName":"y"}}}]}}"#;
    let (_, _, w) = suspend(&mut c, &l, cond, "").unwrap();
    assert_eq!(effect(&mut c, &l.execution_id, &w[0], "x", ""), "appended_to_waitpoint");
    assert_eq!(effect(&mut c, &l.execution_id, &w[0], "x", ""), "appended_to_waitpoint_duplicate");
    assert_eq!(effect(&mut c, &l.execution_id, &w[0], "zz", ""), "signal_ignored_matcher_failed");
    assert_eq!(effect(&mut c, &l.execution_id, &w[0], "y", ""), "resume_condition_satisfied");

    // Count DistinctWaitpoints n=2 over 3 waitpoints; each waitpoint has its own token.
    let l = leased(&mut c, "b");
    let cond = r#"{"Composite":{"kind":"Count","n":2,"count_kind":"DistinctWaitpoints","waitpoints":["p","q","r"]}}"#;
    let (_, _, w) = suspend(&mut c, &l, cond, "").unwrap();
    assert_eq!(w.iter().map(|x| x.1.as_str()).collect::<Vec<_>>(), vec!["p", "q", "r"]);
    assert_eq!(
        deliver(&mut c, &l.execution_id, &w[1].0, &w[0].2, "s", "").unwrap_err().code,
        "WF002",
        "a token of one waitpoint is rejected on another"
    );
    assert_eq!(effect(&mut c, &l.execution_id, &w[0], "s", ""), "appended_to_waitpoint");
    assert_eq!(effect(&mut c, &l.execution_id, &w[0], "s", ""), "appended_to_waitpoint_duplicate");
    assert_eq!(effect(&mut c, &l.execution_id, &w[2], "s", ""), "resume_condition_satisfied");

    // DistinctSignals: the same signal id twice counts once. DistinctSources likewise.
    let l = leased(&mut c, "c");
    let (_, _, w) =
        suspend(&mut c, &l, r#"{"Composite":{"kind":"Count","n":2,"count_kind":"DistinctSignals","waitpoints":["k"]}}"#, "").unwrap();
    let sid = Uuid::new_v4();
    let extra = format!("signal_id => '{sid}'");
    assert_eq!(effect(&mut c, &l.execution_id, &w[0], "s", &extra), "appended_to_waitpoint");
    assert_eq!(effect(&mut c, &l.execution_id, &w[0], "s", &extra), "appended_to_waitpoint_duplicate");
    let l = leased(&mut c, "d");
    let (_, _, w) =
        suspend(&mut c, &l, r#"{"Composite":{"kind":"Count","n":2,"count_kind":"DistinctSources","waitpoints":["k"]}}"#, "").unwrap();
    assert_eq!(effect(&mut c, &l.execution_id, &w[0], "s", "source_type => 'user', source_identity => 'ann'"), "appended_to_waitpoint");
    assert_eq!(
        effect(&mut c, &l.execution_id, &w[0], "s", "source_type => 'user', source_identity => 'ann'"),
        "appended_to_waitpoint_duplicate"
    );
    assert_eq!(
        effect(&mut c, &l.execution_id, &w[0], "s", "source_type => 'user', source_identity => 'bob'"),
        "resume_condition_satisfied"
    );

    // Nested: AllOf[Count n=2 over {a,b,c}, Single d]; satisfiers in acceptance order with payloads.
    let l = leased(&mut c, "e");
    let cond = r#"{"Composite":{"kind":"AllOf","members":[{"Composite":{"kind":"Count","n":2,"count_kind":"DistinctWaitpoints","waitpoints":["a","b","c"]}},{"Single":{"waitpoint_key":"d","matcher":"Wildcard"}}]}}"#;
    let (_, _, w) = suspend(&mut c, &l, cond, "").unwrap();
    assert_eq!(effect(&mut c, &l.execution_id, &w[0], "one", "payload => '\\x01'"), "appended_to_waitpoint");
    assert_eq!(effect(&mut c, &l.execution_id, &w[3], "two", "payload => '\\x02'"), "appended_to_waitpoint");
    assert_eq!(effect(&mut c, &l.execution_id, &w[1], "three", "payload => '\\x03'"), "resume_condition_satisfied");
    let obs: Vec<(String, String, Option<Vec<u8>>)> = c
        .query("SELECT waitpoint_key, signal_name, payload FROM ff_observe_signals($1)", &[&l.execution_id])
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2)))
        .collect();
    assert_eq!(
        obs,
        vec![
            ("a".into(), "one".into(), Some(vec![1])),
            ("d".into(), "two".into(), Some(vec![2])),
            ("b".into(), "three".into(), Some(vec![3]))
        ]
    );
}

#[test]
fn buffering_pending_waitpoints_and_listing() {
    let (_db, mut c) = seeded("sig_buffer");
    let l = leased(&mut c, "lane");
    let eid = l.execution_id.clone();
    let wp = c
        .query_one("SELECT waitpoint_id, token FROM ff_create_waitpoint($1, $2, $3, 'early')", &[&eid, &l.lease_id, &l.lease_epoch])
        .unwrap();
    let (early_id, early_token): (Uuid, String) = (wp.get(0), wp.get(1));
    let side = c
        .query_one(
            "SELECT waitpoint_id, token FROM ff_create_waitpoint($1, $2, $3, 'side', expires_in_ms => 1)",
            &[&eid, &l.lease_id, &l.lease_epoch],
        )
        .unwrap();
    let (side_id, side_token): (Uuid, String) = (side.get(0), side.get(1));
    assert_eq!(deliver(&mut c, &eid, &early_id, &early_token, "done", "").unwrap().2.as_deref(), Some("buffered_for_pending_waitpoint"));
    std::thread::sleep(Duration::from_millis(5));
    assert_eq!(deliver(&mut c, &eid, &side_id, &side_token, "x", "").unwrap_err().code, "WF030", "expired pending waitpoint");
    let e = suspend(&mut c, &l, &single("side", "x"), &format!("waitpoints => '[{{\"use_pending\":\"{side_id}\"}}]'")).unwrap_err();
    assert_eq!(e.detail.as_deref(), Some("pending_waitpoint_expired"));
    // Binding the pending waitpoint (derived) replays the buffered signal: already satisfied, lease kept.
    let (outcome, _, wps) = suspend(&mut c, &l, &single("early", "done"), "").unwrap();
    assert_eq!(outcome, "already_satisfied");
    assert_eq!(wps[0].0, early_id);
    assert_eq!(states(&mut c, &eid).4, "active");
    c.query_one("SELECT * FROM ff_renew_lease($1, $2, $3)", &[&eid, &l.lease_id, &l.lease_epoch]).unwrap();
    assert_eq!(c.query("SELECT * FROM ff_observe_signals($1)", &[&eid]).unwrap().len(), 1);
    // Now a real suspension over two keys: a signal on a key the condition does not reference.
    let fresh = c
        .query_one("SELECT waitpoint_id, token FROM ff_create_waitpoint($1, $2, $3, 'unused')", &[&eid, &l.lease_id, &l.lease_epoch])
        .unwrap();
    let (unused_id, unused_token): (Uuid, String) = (fresh.get(0), fresh.get(1));
    let (outcome, _, w) = suspend(&mut c, &l, &single("k", "go"), "").unwrap();
    assert_eq!(outcome, "suspended");
    assert_eq!(deliver(&mut c, &eid, &unused_id, &unused_token, "go", "").unwrap().2.as_deref(), Some("buffered_for_pending_waitpoint"));
    assert_eq!(effect(&mut c, &eid, &w[0], "go", ""), "resume_condition_satisfied");
    // Listing: state, required names, fingerprint, never the token; pagination.
    let rows = c.query("SELECT waitpoint_id, waitpoint_key, state, required_signal_names, token_fingerprint, ff_list_pending_waitpoints::text FROM ff_list_pending_waitpoints($1, include_closed => true)", &[&eid]).unwrap();
    assert!(rows.len() >= 4);
    for r in &rows {
        let whole: String = r.get(5);
        assert!(!whole.contains(&early_token[3..]) && !whole.contains(&w[0].2[3..]), "token leaked: {whole}");
        assert_eq!(r.get::<_, String>(4).len(), 16);
    }
    let k = rows.iter().find(|r| r.get::<_, String>(1) == "k").unwrap();
    assert_eq!(k.get::<_, Vec<String>>(3), vec!["go"]);
    assert_eq!(k.get::<_, String>(2), "closed");
    let page1 = c.query("SELECT waitpoint_id FROM ff_list_pending_waitpoints($1, max_rows => 2, include_closed => true)", &[&eid]).unwrap();
    let last: Uuid = page1[1].get(0);
    let page2 = c
        .query("SELECT waitpoint_id FROM ff_list_pending_waitpoints($1, after_waitpoint_id => $2, include_closed => true)", &[&eid, &last])
        .unwrap();
    assert_eq!(page1.len() + page2.len(), rows.len());
    assert_eq!(
        c.query("SELECT * FROM ff_list_pending_waitpoints($1)", &[&eid]).unwrap().len(),
        2,
        "unused, and side (expired, not yet scanned)"
    );
    assert_eq!(count(&mut c, "SELECT ff_expire_pending_waitpoints()::bigint"), 1);
    let reason: String = c.query_one("SELECT close_reason FROM ff_waitpoint WHERE waitpoint_id = $1", &[&side_id]).unwrap().get(0);
    assert_eq!(reason, "never_committed");
    assert_eq!(c.query("SELECT * FROM ff_list_pending_waitpoints($1)", &[&eid]).unwrap().len(), 1, "only the open one (unused)");
}

/// Two open pending waitpoints with the same key: a suspend that derives its bindings binds the older
/// one (then the smaller id), in both editions, whatever order the rows are stored in.
#[test]
fn derived_binding_reuses_the_oldest_pending_waitpoint_of_a_key() {
    let (_db, mut c) = seeded("sig_oldest_pending");
    let create = "SELECT waitpoint_id FROM ff_create_waitpoint($1, $2, $3, 'dup')";
    for i in 0..8 {
        let l = leased(&mut c, &format!("lane{i}"));
        let older: Uuid = c.query_one(create, &[&l.execution_id, &l.lease_id, &l.lease_epoch]).unwrap().get(0);
        std::thread::sleep(Duration::from_millis(2));
        let newer: Uuid = c.query_one(create, &[&l.execution_id, &l.lease_id, &l.lease_epoch]).unwrap().get(0);
        // A new version of the older row (an indexed column written: not HOT), so that it now comes
        // after the newer one in the table and in its key's index.
        c.execute("UPDATE ff_waitpoint SET expires_at_ms = expires_at_ms + 1 WHERE waitpoint_id = $1", &[&older]).unwrap();
        let (outcome, _, wps) = suspend(&mut c, &l, &single("dup", "go"), "").unwrap();
        assert_eq!(outcome, "suspended");
        assert_eq!(wps.iter().map(|w| w.0).collect::<Vec<_>>(), vec![older], "execution {i}: the older of {older} and {newer}");
        let state: String = c.query_one("SELECT state::text FROM ff_waitpoint WHERE waitpoint_id = $1", &[&newer]).unwrap().get(0);
        assert_eq!(state, "pending", "the newer one stays pending");
    }
}

#[test]
fn suspend_rules() {
    let (db, mut c) = seeded("sig_suspend_rules");
    let l = leased(&mut c, "lane");
    let eid = l.execution_id.clone();
    let check = |c: &mut Client, cond: &str, extra: &str, code: &str| {
        let e = suspend(c, &l, cond, extra).unwrap_err();
        assert_eq!(e.detail.as_deref(), Some(code), "{cond} {extra}: {e:?}");
    };
    check(&mut c, &single("k", "x"), "waitpoints => '[]'", "waitpoints_empty");
    check(&mut c, &single("k", "x"), "waitpoints => '[{\"waitpoint_key\":\"other\"}]'", "waitpoint_key_mismatch");
    check(&mut c, "\"TimeoutOnly\"", "", "timeout_only_without_deadline");
    check(&mut c, &single("k", "x"), "timeout_at_ms => 1", "timeout_at_in_past");
    let two = r#"{"Composite":{"kind":"Count","n":1,"count_kind":"DistinctWaitpoints","waitpoints":["a","b"]}}"#;
    check(&mut c, two, "waitpoints => '[{\"waitpoint_key\":\"a\"}]'", "referenced_waitpoint_key_missing_binding");
    check(
        &mut c,
        two,
        "waitpoints => '[{\"waitpoint_key\":\"a\"},{\"waitpoint_key\":\"b\"},{\"waitpoint_key\":\"c\"}]'",
        "extra_binding_not_referenced_by_condition",
    );
    check(&mut c, r#"{"Composite":{"kind":"AllOf","members":[]}}"#, "", "allof_empty_members");
    check(&mut c, r#"{"Composite":{"kind":"Count","n":0,"count_kind":"DistinctSignals","waitpoints":["a"]}}"#, "", "count_n_zero");
    check(&mut c, r#"{"Composite":{"kind":"Count","n":1,"count_kind":"DistinctSignals","waitpoints":[]}}"#, "", "count_waitpoints_empty");
    check(
        &mut c,
        r#"{"Composite":{"kind":"Count","n":3,"count_kind":"DistinctWaitpoints","waitpoints":["a","b"]}}"#,
        "",
        "count_exceeds_waitpoint_set",
    );
    check(&mut c, &single("k", ""), "", "empty_signal_name");
    check(&mut c, &single("k", &"x".repeat(9000)), "", "condition_too_large");
    check(&mut c, r#"{"AnyOf":[]}"#, "", "unknown_condition");
    check(&mut c, &single("k", "x"), "timeout_behavior => 'nap'", "invalid_timeout_behavior");
    let leaf = single("k", "x");
    let nest = |d: usize| (0..d).fold(leaf.clone(), |acc, _| format!(r#"{{"Composite":{{"kind":"AllOf","members":[{acc}]}}}}"#));
    check(&mut c, &nest(5), "", "depth_exceeded");
    // Failed suspends changed nothing: the lease is intact. Depth 4 is accepted, with idempotent replay.
    let first = suspend(&mut c, &l, &nest(4), "idempotency_key => 'S1'").unwrap();
    assert_eq!(first.0, "suspended");
    let again = suspend(&mut c, &l, &nest(4), "idempotency_key => 'S1'").unwrap();
    assert_eq!(first, again, "replay returns identical rows");
    let e = suspend(&mut c, &l, &nest(4), "idempotency_key => 'S2'").unwrap_err();
    assert_eq!(e.code, "WF023");
    // Old fence is dead; other fences conflict; an expired lease is WF021.
    assert_code(&mut c, "SELECT * FROM ff_renew_lease($1, $2, $3)", &[&eid, &l.lease_id, &l.lease_epoch], "WF020");
    let l2 = leased(&mut c, "lane2");
    let stale = Lease { lease_epoch: l2.lease_epoch - 1, ..l2.clone() };
    assert_eq!(suspend(&mut c, &stale, &leaf, "").unwrap_err().code, "WF020");
    let l3 = lease_from_row(&{
        create_in(&mut c, "lane3", "");
        c.query_one("SELECT * FROM ff_claim('lane3', 'w', 'i', lease_ttl_ms => 1)", &[]).unwrap()
    });
    std::thread::sleep(Duration::from_millis(5));
    assert_eq!(suspend(&mut c, &l3, &leaf, "").unwrap_err().code, "WF021");
    // Empty keystore: WF004 for suspend and create_waitpoint.
    let db2 = Cluster::shared().fresh_db("sig_nokeys");
    let mut n = db2.connect();
    let ln = leased(&mut n, "lane");
    assert_eq!(suspend(&mut n, &ln, &leaf, "").unwrap_err().code, "WF004");
    assert_code(&mut n, "SELECT * FROM ff_create_waitpoint($1, $2, $3, 'k')", &[&ln.execution_id, &ln.lease_id, &ln.lease_epoch], "WF004");
    // ff_list_suspended shows only open suspensions, paginated.
    let _ = db;
    for lane in ["s1", "s2", "s3"] {
        let x = leased(&mut c, lane);
        suspend(&mut c, &x, &leaf, "").unwrap();
    }
    let all: Vec<String> = column(&mut c, "SELECT execution_id FROM ff_list_suspended()", &[]);
    assert_eq!(all.len(), 4);
    let p1: Vec<String> = column(&mut c, "SELECT execution_id FROM ff_list_suspended(max_rows => 3)", &[]);
    let p2: Vec<String> = column(&mut c, "SELECT execution_id FROM ff_list_suspended($1)", &[&p1[2]]);
    assert_eq!([p1, p2].concat(), all);
    let view: Vec<(String, i64, i64)> = c
        .query("SELECT execution_id, waitpoints, signals_received FROM ff_suspensions WHERE execution_id = $1", &[&eid])
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2)))
        .collect();
    assert_eq!(view, vec![(eid.clone(), 1, 0)], "the operator view shows the open suspension");
    c.query_one("SELECT * FROM ff_resume_execution($1)", &[&eid]).unwrap();
    assert_eq!(c.query("SELECT * FROM ff_list_suspended()", &[]).unwrap().len(), 3);
    assert_eq!(count(&mut c, "SELECT count(*) FROM ff_suspensions"), 3);
    assert_code(&mut c, "SELECT * FROM ff_resume_execution($1)", &[&eid], "WF033");
}

#[test]
fn cancel_closes_waitpoints_and_timeouts() {
    let (_db, mut c) = seeded("sig_timeouts");
    let l = leased(&mut c, "cancel");
    let (_, _, w) =
        suspend(&mut c, &l, r#"{"Composite":{"kind":"Count","n":1,"count_kind":"DistinctWaitpoints","waitpoints":["a","b"]}}"#, "")
            .unwrap();
    c.query_one("SELECT * FROM ff_cancel($1)", &[&l.execution_id]).unwrap();
    let states_: Vec<String> =
        column(&mut c, "SELECT state FROM ff_list_pending_waitpoints($1, include_closed => true)", &[&l.execution_id]);
    assert_eq!(states_, vec!["closed", "closed"]);
    for x in &w {
        assert_eq!(deliver(&mut c, &l.execution_id, &x.0, &x.2, "s", "").unwrap_err().code, "WF031");
    }
    let now: i64 = c.query_one("SELECT (extract(epoch from clock_timestamp()) * 1000)::bigint", &[]).unwrap().get(0);
    let mut cases = Vec::new();
    for behavior in ["fail", "cancel", "expire", "auto_resume", "escalate"] {
        let l = leased(&mut c, behavior);
        let (_, _, w) =
            suspend(&mut c, &l, &single("k", "x"), &format!("timeout_at_ms => {}, timeout_behavior => '{behavior}'", now + 100)).unwrap();
        cases.push((behavior, l, w));
    }
    assert_eq!(count(&mut c, "SELECT ff_expire_suspensions()::bigint"), 0, "not due yet");
    std::thread::sleep(Duration::from_millis(150));
    let tick: Vec<(String, i32)> = c.query("SELECT * FROM ff_tick()", &[]).unwrap().iter().map(|r| (r.get(0), r.get(1))).collect();
    assert!(tick.contains(&("expire_suspensions".to_string(), 5)), "{tick:?}");
    assert!(
        c.query("SELECT processed FROM ff_tick()", &[]).unwrap().iter().all(|r| r.get::<_, i32>(0) == 0),
        "second tick processes nothing"
    );
    for (behavior, l, w) in cases {
        let (_, _, elig, _, public) = states(&mut c, &l.execution_id);
        let wp_state: String = c.query_one("SELECT state || ':' || coalesce((SELECT close_reason FROM ff_waitpoint WHERE waitpoint_id = $2), '') FROM ff_list_pending_waitpoints($1, include_closed => true)", &[&l.execution_id, &w[0].0]).unwrap().get(0);
        match behavior {
            "fail" | "cancel" | "expire" => {
                let expected = match behavior {
                    "fail" => "failed",
                    "cancel" => "cancelled",
                    _ => "expired",
                };
                assert_eq!(public, expected);
                assert_eq!(wp_state, format!("closed:timed_out_{behavior}"));
                assert_eq!(deliver(&mut c, &l.execution_id, &w[0].0, &w[0].2, "x", "").unwrap_err().code, "WF031");
            }
            "auto_resume" => {
                assert_eq!(public, "waiting");
                assert_eq!(wp_state, "closed:timed_out_auto_resume");
                let obs: Vec<(String, String)> = c
                    .query("SELECT signal_name, source_type FROM ff_observe_signals($1)", &[&l.execution_id])
                    .unwrap()
                    .iter()
                    .map(|r| (r.get(0), r.get(1)))
                    .collect();
                assert_eq!(obs, vec![("timeout".to_string(), "system".to_string())]);
                assert_eq!(deliver(&mut c, &l.execution_id, &w[0].0, &w[0].2, "x", "").unwrap_err().code, "WF030");
            }
            _ => {
                assert_eq!(public, "suspended");
                assert_eq!(elig, "blocked_by_operator");
                let r = c
                    .query_one("SELECT reason_code, timeout_at_ms FROM ff_list_suspended() WHERE execution_id = $1", &[&l.execution_id])
                    .unwrap();
                assert_eq!((r.get::<_, String>(0), r.get::<_, Option<i64>>(1)), ("waiting_for_operator_review".to_string(), None));
            }
        }
    }
}

#[test]
fn satisfying_signal_races_timeout_exactly_one_wins() {
    let (db, mut c) = seeded("sig_vs_timeout");
    for round in 0..20 {
        let l = leased(&mut c, &format!("race{round}"));
        let now: i64 = c.query_one("SELECT (extract(epoch from clock_timestamp()) * 1000)::bigint", &[]).unwrap().get(0);
        let (_, _, w) =
            suspend(&mut c, &l, &single("k", "go"), &format!("timeout_at_ms => {}, timeout_behavior => 'fail'", now + 30)).unwrap();
        std::thread::sleep(Duration::from_millis(30));
        let barrier = Arc::new(Barrier::new(2));
        let (b1, ci1, eid, wp) = (barrier.clone(), db.conninfo("postgres"), l.execution_id.clone(), w[0].clone());
        let signaler = std::thread::spawn(move || {
            let mut c = postgres::Client::connect(&ci1, postgres::NoTls).unwrap();
            b1.wait();
            deliver(&mut c, &eid, &wp.0, &wp.2, "go", "")
        });
        let (b2, ci2) = (barrier.clone(), db.conninfo("postgres"));
        let scanner = std::thread::spawn(move || {
            let mut c = postgres::Client::connect(&ci2, postgres::NoTls).unwrap();
            b2.wait();
            let mut n = 0;
            for _ in 0..3 {
                n += c.query_one("SELECT ff_expire_suspensions()", &[]).unwrap().get::<_, i32>(0);
            }
            n
        });
        let sig = signaler.join().unwrap();
        let expired = scanner.join().unwrap();
        let public = states(&mut c, &l.execution_id).4;
        let resumed = count(
            &mut c,
            &format!("SELECT count(*) FROM ff_completion_event WHERE execution_id = '{}' AND outcome = 'resumed'", l.execution_id),
        );
        let failed = count(
            &mut c,
            &format!("SELECT count(*) FROM ff_completion_event WHERE execution_id = '{}' AND outcome = 'failed'", l.execution_id),
        );
        match sig {
            Ok((_, _, eff)) => {
                assert_eq!(eff.as_deref(), Some("resume_condition_satisfied"), "round {round}");
                assert_eq!((expired, public.as_str(), resumed, failed), (0, "waiting", 1, 0), "round {round}");
            }
            Err(e) => {
                assert_eq!(e.code, "WF031", "round {round}");
                assert_eq!((expired, public.as_str(), resumed, failed), (1, "failed", 0, 1), "round {round}");
            }
        }
    }
    assert_no_orphans(&mut c);
}

#[test]
fn thirty_two_sessions_signal_one_execution() {
    let (db, mut c) = seeded("sig_storm");
    let l = leased(&mut c, "lane");
    let cond = r#"{"Composite":{"kind":"Count","n":20,"count_kind":"DistinctSources","waitpoints":["k"]}}"#;
    let (_, _, w) = suspend(&mut c, &l, cond, "").unwrap();
    let sessions = 32;
    let barrier = Arc::new(Barrier::new(sessions));
    let handles: Vec<_> = (0..sessions)
        .map(|s| {
            let (barrier, ci, eid, wp) = (barrier.clone(), db.conninfo("postgres"), l.execution_id.clone(), w[0].clone());
            std::thread::spawn(move || {
                let mut c = postgres::Client::connect(&ci, postgres::NoTls).unwrap();
                barrier.wait();
                let mut effects = Vec::new();
                for i in 0..3 {
                    match deliver(&mut c, &eid, &wp.0, &wp.2, "vote", &format!("source_type => 'user', source_identity => 'u{s}-{i}'")) {
                        Ok((_, _, e)) => effects.push(e.unwrap()),
                        Err(e) => assert_eq!(e.code, "WF030", "after the resume the waitpoint is closed"),
                    }
                }
                effects
            })
        })
        .collect();
    let effects: Vec<String> = handles.into_iter().flat_map(|h| h.join().unwrap()).collect();
    assert_eq!(effects.iter().filter(|e| *e == "resume_condition_satisfied").count(), 1);
    assert_eq!(effects.len(), 20, "exactly the satisfying signals were accepted before the resume closed the waitpoint");
    let recorded = count(&mut c, &format!("SELECT count(*) FROM ff_signal_event WHERE execution_id = '{}'", l.execution_id));
    assert_eq!(recorded as usize, effects.len(), "no signal lost");
    assert_eq!(c.query("SELECT * FROM ff_observe_signals($1)", &[&l.execution_id]).unwrap().len(), 20);
    assert_no_orphans(&mut c);
}

#[test]
fn robustness_of_suspend_and_signal_functions() {
    let (_db, mut c) = seeded("sig_robust");
    let l = leased(&mut c, "lane");
    let huge = "x".repeat(1 << 20);
    let texts: Vec<Option<String>> = vec![
        None,
        Some(String::new()),
        Some(huge),
        Some("{\"Single\":".into()),
        Some("{fp:1}:6f1c1e9e-0000-4000-8000-000000000001".into()),
    ];
    let stmts = [
        "SELECT * FROM ff_suspend($1, gen_random_uuid(), 1, $2::text::jsonb)",
        "SELECT * FROM ff_suspend(coalesce($1, ''), NULL, NULL, '\"OperatorOnly\"', waitpoints => $2::text::jsonb)",
        "SELECT * FROM ff_create_waitpoint($1, gen_random_uuid(), 1, $2)",
        "SELECT * FROM ff_deliver_signal($1, gen_random_uuid(), $2, $2)",
        "SELECT * FROM ff_deliver_signal($1, gen_random_uuid(), 'k1:' || repeat('0', 64), $2, idempotency_key => $2)",
        "SELECT * FROM ff_deliver_approval_signal($1, $2, gen_random_uuid(), $2, $2)",
        "SELECT * FROM ff_resume_execution($1, length(coalesce($2, ''))::bigint)",
        "SELECT * FROM ff_observe_signals(coalesce($1, $2))",
        "SELECT * FROM ff_list_suspended($1, length(coalesce($2, '')))",
        "SELECT * FROM ff_list_pending_waitpoints($1, NULL, length(coalesce($2, '')) + 1)",
        "SELECT * FROM ff_read_waitpoint_token(coalesce($1, $2), gen_random_uuid())",
    ];
    for sql in stmts {
        for a in &texts {
            for b in &texts {
                if let Err(e) = c.query(sql, &[a, b]) {
                    let e = db_err(&e);
                    let ok = (e.code.starts_with("WF") && e.code != "WF099") || e.code == "22P02";
                    assert!(ok, "{sql} ({:?}, {:?}): {e:?}", a.as_ref().map(|s| s.len()), b.as_ref().map(|s| s.len()));
                    assert!(!looks_like_backtrace(&e.message));
                }
            }
        }
    }
    // The lease survived all of it.
    c.query_one("SELECT * FROM ff_renew_lease($1, $2, $3)", &[&l.execution_id, &l.lease_id, &l.lease_epoch]).unwrap();
    assert_no_orphans(&mut c);
}
