//! Durable steps, the continuation handed back, and output streams, in SQL: what a claim returns
//! through each claim function, first-write-wins steps across attempts and under a race, fences
//! against stale workers, replay and retention, the ceilings, and bad input as every role. The
//! client's step runner and stream tail, and crashes, are in client_progress.rs.

use ff_engine_tests::*;
use postgres::Client;
use std::sync::{Arc, Barrier};

const CLAIM_COLS: &str = "execution_id, attempt_index, lease_id, lease_epoch, resumed, continuation, step_count";

/// Claim `lane` with ff_claim; the lease, its continuation and step count.
fn claim(c: &mut Client, lane: &str) -> (Lease, Option<String>, i32) {
    let r = c.query_one(&format!("SELECT {CLAIM_COLS} FROM ff_claim($1, 'w', 'i')"), &[&lane]).unwrap();
    (lease_from_row(&r), r.get("continuation"), r.get("step_count"))
}

/// Claim `lane` through a grant, with ff_claim_execution or (resumed_only) ff_claim_resumed_execution.
fn claim_by_grant(c: &mut Client, lane: &str, resumed_only: bool) -> (Lease, Option<String>, i32) {
    let grant: String = c.query_one("SELECT grant_key FROM ff_claim_for_worker($1, 'w', 'i')", &[&lane]).unwrap().get(0);
    let f = if resumed_only { "ff_claim_resumed_execution" } else { "ff_claim_execution" };
    let r = c.query_one(&format!("SELECT {CLAIM_COLS} FROM {f}($1, 'w', 'i')"), &[&grant]).unwrap();
    (lease_from_row(&r), r.get("continuation"), r.get("step_count"))
}

/// Suspend on one waitpoint with `continuation`, then resume it with a signal.
fn suspend_and_resume(c: &mut Client, l: &Lease, continuation: Option<&str>) {
    let r = c
        .query_one(
            "SELECT waitpoint_id, token FROM ff_suspend($1, $2, $3, ff_cond_single('k'), continuation => $4)",
            &[&l.execution_id, &l.lease_id, &l.lease_epoch, &continuation],
        )
        .unwrap();
    let (wp, token): (uuid::Uuid, String) = (r.get(0), r.get(1));
    c.query_one("SELECT outcome FROM ff_deliver_signal($1, $2, $3, 'go')", &[&l.execution_id, &wp, &token]).unwrap();
}

fn set_step(c: &mut Client, l: &Lease, name: &str, value: &[u8]) -> Result<String, DbErr> {
    c.query_one("SELECT outcome FROM ff_set_step($1, $2, $3, $4, $5)", &[&l.execution_id, &l.lease_id, &l.lease_epoch, &name, &value])
        .map(|r| r.get(0))
        .map_err(|e| db_err(&e))
}

fn append(c: &mut Client, l: &Lease, kind: &str, bytes: &[u8], seq: Option<i64>) -> Result<i64, DbErr> {
    c.query_one(
        "SELECT seq FROM ff_append_frame($1, $2, $3, $4, $5, $6)",
        &[&l.execution_id, &l.lease_id, &l.lease_epoch, &kind, &bytes, &seq],
    )
    .map(|r| r.get(0))
    .map_err(|e| db_err(&e))
}

/// (step_name, value, attempt_index) of every step, in write order.
fn steps(c: &mut Client, execution_id: &str) -> Vec<(String, Option<Vec<u8>>, i32)> {
    c.query("SELECT step_name, value, attempt_index FROM ff_get_steps($1)", &[&execution_id])
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2)))
        .collect()
}

/// (seq, kind, bytes) of every frame after `after`.
fn frames(c: &mut Client, execution_id: &str, after: i64) -> Vec<(i64, String, Vec<u8>)> {
    c.query("SELECT seq, frame_kind, bytes FROM ff_read_frames($1, $2, 10000)", &[&execution_id, &after])
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2)))
        .collect()
}

#[test]
fn every_claim_hands_back_the_continuation_of_the_attempt_it_resumes() {
    let (_db, mut c) = seeded("progress_continuation");
    let ex = create_in(&mut c, "cont", "max_attempts => 3, retry_backoff_ms => 0");
    let (l, cont, steps) = claim(&mut c, "cont");
    assert_eq!((cont, steps), (None, 0), "a fresh execution has neither");
    // Byte for byte: multi-byte text, quotes, a NUL-free 64 KiB maximum.
    let first = format!("{{\"pc\":2,\"state\":\"é ✓ '\\\"\"}}{}", "x".repeat(1000));
    suspend_and_resume(&mut c, &l, Some(&first));
    let (l, cont, _) = claim_by_grant(&mut c, "cont", true);
    assert!(l.resumed);
    assert_eq!(cont.as_deref(), Some(first.as_str()), "ff_claim_resumed_execution");
    let second = "y".repeat(65536);
    suspend_and_resume(&mut c, &l, Some(&second));
    let (l, cont, _) = claim_by_grant(&mut c, "cont", false);
    assert_eq!(cont.as_deref(), Some(second.as_str()), "ff_claim_execution: the second round's");
    // A reclaim after a revoked lease continues the same attempt: the same continuation.
    c.query_one("SELECT * FROM ff_revoke_lease($1)", &[&l.execution_id]).unwrap();
    let (l, cont, _) = claim(&mut c, "cont");
    assert!(l.resumed);
    assert_eq!(cont.as_deref(), Some(second.as_str()), "ff_claim after a revocation");
    let shown: Option<String> = c.query_one("SELECT continuation FROM ff_get_execution($1)", &[&ex]).unwrap().get(0);
    assert_eq!(shown.as_deref(), Some(second.as_str()), "ff_get_execution");
    // A suspension without one replaces it.
    suspend_and_resume(&mut c, &l, None);
    let (l, cont, _) = claim(&mut c, "cont");
    assert_eq!(cont, None);
    // A retry is a new attempt: it starts from the beginning.
    suspend_and_resume(&mut c, &l, Some("third"));
    let (l, cont, _) = claim(&mut c, "cont");
    assert_eq!(cont.as_deref(), Some("third"));
    c.query_one("SELECT * FROM ff_fail($1, $2, $3, 'boom')", &[&l.execution_id, &l.lease_id, &l.lease_epoch]).unwrap();
    let (l, cont, _) = claim(&mut c, "cont");
    assert_eq!((l.attempt_index, l.resumed, cont), (1, false, None), "a new attempt has no continuation");
    let shown: Option<String> = c.query_one("SELECT continuation FROM ff_get_execution($1)", &[&ex]).unwrap().get(0);
    assert_eq!(shown, None);
}

#[test]
fn steps_are_first_write_wins_across_attempts_and_replays() {
    let (_db, mut c) = seeded("progress_steps");
    let ex = create_in(&mut c, "steps", "max_attempts => 2, retry_backoff_ms => 0");
    let (l, _, _) = claim(&mut c, "steps");
    assert_eq!(set_step(&mut c, &l, "fetch", b"v1").unwrap(), "stored");
    assert_eq!(set_step(&mut c, &l, "fetch", b"other").unwrap(), "exists");
    assert_eq!(set_step(&mut c, &l, "charge", b"").unwrap(), "stored");
    assert_eq!(append(&mut c, &l, "stdout", b"hello", None).unwrap(), 1);
    c.query_one("SELECT * FROM ff_fail($1, $2, $3, 'boom')", &[&l.execution_id, &l.lease_id, &l.lease_epoch]).unwrap();
    let (l, cont, count) = claim(&mut c, "steps");
    assert_eq!((l.attempt_index, cont, count), (1, None, 2), "the retry is told two steps exist");
    assert_eq!(set_step(&mut c, &l, "fetch", b"v2").unwrap(), "exists");
    assert_eq!(set_step(&mut c, &l, "ship", b"s").unwrap(), "stored");
    assert_eq!(
        steps(&mut c, &ex),
        [
            ("fetch".to_string(), Some(b"v1".to_vec()), 0),
            ("charge".to_string(), Some(Vec::new()), 0),
            ("ship".to_string(), Some(b"s".to_vec()), 1)
        ]
    );
    assert_eq!(append(&mut c, &l, "stderr", b"again", None).unwrap(), 2, "the stream goes on across attempts");
    c.query_one("SELECT * FROM ff_fail($1, $2, $3, 'boom')", &[&l.execution_id, &l.lease_id, &l.lease_epoch]).unwrap();
    // Replay keeps the steps by default ...
    c.query_one("SELECT * FROM ff_replay_execution($1)", &[&ex]).unwrap();
    let (l, _, count) = claim(&mut c, "steps");
    assert_eq!((l.attempt_index, count), (2, 3));
    c.query_one("SELECT * FROM ff_fail($1, $2, $3, 'boom', false)", &[&l.execution_id, &l.lease_id, &l.lease_epoch]).unwrap();
    // ... and forgets them when asked; the frames stay.
    c.query_one("SELECT * FROM ff_replay_execution($1, keep_steps => false)", &[&ex]).unwrap();
    let (l, _, count) = claim(&mut c, "steps");
    assert_eq!(count, 0);
    assert!(steps(&mut c, &ex).is_empty());
    assert_eq!(frames(&mut c, &ex, 0).len(), 2);
    assert_eq!(set_step(&mut c, &l, "fetch", b"v3").unwrap(), "stored");
    let count: i32 = c.query_one("SELECT step_count FROM ff_get_execution($1)", &[&ex]).unwrap().get(0);
    assert_eq!(count, 1);
}

#[test]
fn eight_sessions_racing_to_store_one_step_store_it_once() {
    let (db, mut c) = seeded("progress_step_race");
    for round in 0..5 {
        let lane = format!("race{round}");
        let ex = create_in(&mut c, &lane, "");
        let (l, _, _) = claim(&mut c, &lane);
        let barrier = Arc::new(Barrier::new(8));
        let handles: Vec<_> = (0..8u8)
            .map(|i| {
                let (barrier, l, ci) = (barrier.clone(), l.clone(), db.conninfo("postgres"));
                std::thread::spawn(move || {
                    let mut c = postgres::Client::connect(&ci, postgres::NoTls).unwrap();
                    barrier.wait();
                    (i, set_step(&mut c, &l, "once", &[i]).unwrap())
                })
            })
            .collect();
        let outcomes: Vec<(u8, String)> = handles.into_iter().map(|h| h.join().unwrap()).collect();
        let stored: Vec<u8> = outcomes.iter().filter(|(_, o)| o == "stored").map(|(i, _)| *i).collect();
        assert_eq!(stored.len(), 1, "{outcomes:?}");
        assert_eq!(outcomes.iter().filter(|(_, o)| o == "exists").count(), 7, "{outcomes:?}");
        assert_eq!(steps(&mut c, &ex), [("once".to_string(), Some(vec![stored[0]]), 0)], "the stored value is the winner's");
    }
}

#[test]
fn a_stale_worker_can_neither_store_a_step_nor_append_a_frame() {
    let (_db, mut c) = seeded("progress_fences");
    // Revoked.
    let ex = create_in(&mut c, "fence", "");
    let (old, _, _) = claim(&mut c, "fence");
    c.query_one("SELECT * FROM ff_revoke_lease($1)", &[&ex]).unwrap();
    assert_eq!(set_step(&mut c, &old, "s", b"stale").unwrap_err().code, "WF020");
    assert_eq!(append(&mut c, &old, "stdout", b"stale", None).unwrap_err().code, "WF020");
    // Reclaimed by another worker: the old fence stays dead, the new one works.
    let (new, _, _) = claim(&mut c, "fence");
    assert_eq!(set_step(&mut c, &old, "s", b"stale").unwrap_err().code, "WF020");
    assert_eq!(set_step(&mut c, &new, "s", b"fresh").unwrap(), "stored");
    // Expired, not yet reclaimed.
    let ex2 = create_in(&mut c, "fence2", "");
    let l: Lease = lease_from_row(&c.query_one("SELECT * FROM ff_claim('fence2', 'w', 'i', lease_ttl_ms => 1)", &[]).unwrap());
    std::thread::sleep(std::time::Duration::from_millis(20));
    assert_eq!(set_step(&mut c, &l, "s", b"late").unwrap_err().code, "WF021");
    assert_eq!(append(&mut c, &l, "event", b"late", None).unwrap_err().code, "WF021");
    // Ended: nothing after the execution ended.
    c.query_one("SELECT * FROM ff_complete($1, $2, $3)", &[&new.execution_id, &new.lease_id, &new.lease_epoch]).unwrap();
    assert_eq!(append(&mut c, &new, "stdout", b"after", None).unwrap_err().code, "WF020");
    assert_eq!(steps(&mut c, &ex), [("s".to_string(), Some(b"fresh".to_vec()), 0)]);
    assert!(steps(&mut c, &ex2).is_empty() && frames(&mut c, &ex, 0).is_empty() && frames(&mut c, &ex2, 0).is_empty());
}

#[test]
fn frames_take_assigned_or_increasing_seqs_and_read_from_any_seq() {
    let (_db, mut c) = seeded("progress_frames");
    let ex = create_in(&mut c, "frames", "");
    let (l, _, _) = claim(&mut c, "frames");
    assert_eq!(append(&mut c, &l, "stdout", b"a", None).unwrap(), 1);
    assert_eq!(append(&mut c, &l, "stderr", b"b", None).unwrap(), 2);
    assert_eq!(append(&mut c, &l, "event", b"c", Some(10)).unwrap(), 10);
    assert_eq!(append(&mut c, &l, "blob", &[0, 255], None).unwrap(), 11);
    for backwards in [11, 5, 0, -1] {
        let e = append(&mut c, &l, "stdout", b"x", Some(backwards)).unwrap_err();
        assert_eq!((e.code.as_str(), e.detail.as_deref()), ("WF001", Some("seq_not_increasing")), "{backwards}");
    }
    let all = frames(&mut c, &ex, 0);
    assert_eq!(all.iter().map(|f| f.0).collect::<Vec<_>>(), [1, 2, 10, 11]);
    assert_eq!(all[3], (11, "blob".to_string(), vec![0, 255]));
    assert_eq!(frames(&mut c, &ex, 2).iter().map(|f| f.0).collect::<Vec<_>>(), [10, 11], "a late reader starts at its after_seq");
    let page: Vec<i64> = c.query("SELECT seq FROM ff_read_frames($1, 0, 2)", &[&ex]).unwrap().iter().map(|r| r.get(0)).collect();
    assert_eq!(page, [1, 2]);
    assert!(frames(&mut c, &ex, 11).is_empty());
}

#[test]
fn ceilings_no_caller_can_lift_refuse_and_write_nothing() {
    let db = Cluster::shared().fresh_db("progress_ceilings");
    let mut su = db.connect();
    su.batch_execute(
        "SELECT * FROM ff_seed_hmac('k1');
         DO $$ BEGIN
           EXECUTE format('ALTER DATABASE %I SET ff_engine.max_steps_per_execution = 2', current_database());
           EXECUTE format('ALTER DATABASE %I SET ff_engine.max_frame_bytes = 8', current_database());
           EXECUTE format('ALTER DATABASE %I SET ff_engine.max_frames_per_execution = 3', current_database());
           EXECUTE format('ALTER DATABASE %I SET ff_engine.max_stream_bytes_per_execution = 20', current_database());
           EXECUTE format('ALTER DATABASE %I SET ff_engine.max_payload_bytes = 16', current_database());
         END $$",
    )
    .unwrap();
    let mut c = db.connect();
    let ex = create_in(&mut c, "ceil", "");
    let (l, _, _) = claim(&mut c, "ceil");
    let detail = |r: Result<String, DbErr>| r.unwrap_err().detail;
    assert_eq!(detail(set_step(&mut c, &l, "big", &[0; 17])).as_deref(), Some("value_too_large"));
    assert_eq!(set_step(&mut c, &l, "a", b"1").unwrap(), "stored");
    assert_eq!(set_step(&mut c, &l, "b", b"2").unwrap(), "stored");
    assert_eq!(detail(set_step(&mut c, &l, "c", b"3")).as_deref(), Some("too_many_steps"));
    assert_eq!(set_step(&mut c, &l, "a", b"9").unwrap(), "exists", "an existing name is exists, even at the ceiling");
    let frame = |c: &mut Client, bytes: &[u8]| append(c, &l, "blob", bytes, None).map(|s| s.to_string());
    assert_eq!(detail(frame(&mut c, &[0; 9])).as_deref(), Some("bytes_too_large"));
    assert_eq!(frame(&mut c, &[0; 8]).unwrap(), "1");
    assert_eq!(frame(&mut c, &[0; 8]).unwrap(), "2");
    assert_eq!(detail(frame(&mut c, &[0; 8])).as_deref(), Some("stream_too_large"));
    assert_eq!(frame(&mut c, &[0; 4]).unwrap(), "3");
    assert_eq!(detail(frame(&mut c, &[])).as_deref(), Some("too_many_frames"));
    assert_eq!(steps(&mut c, &ex).len(), 2);
    assert_eq!(frames(&mut c, &ex, 0).len(), 3);
}

#[test]
fn bad_input_is_a_documented_error_as_every_role_and_writes_nothing() {
    let db = Cluster::shared().fresh_db("progress_bad_input");
    let mut su = db.connect();
    su.batch_execute(
        "DO $$ BEGIN
           IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'prog_worker') THEN CREATE ROLE prog_worker LOGIN; END IF;
           IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'prog_admin') THEN CREATE ROLE prog_admin LOGIN; END IF;
           IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'prog_signaler') THEN CREATE ROLE prog_signaler LOGIN; END IF;
           IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'prog_plain') THEN CREATE ROLE prog_plain LOGIN; END IF;
         END $$;
         GRANT ff_worker TO prog_worker; GRANT ff_admin TO prog_admin; GRANT ff_signaler TO prog_signaler;
         SELECT * FROM ff_seed_hmac('k1');",
    )
    .unwrap();
    let ex = create_in(&mut su, "bad", "");
    let (l, _, _) = claim(&mut su, "bad");
    assert_eq!(set_step(&mut su, &l, "kept", b"v").unwrap(), "stored");
    assert_eq!(append(&mut su, &l, "stdout", b"kept", None).unwrap(), 1);
    let unknown = "{fp:1}:00000000-0000-4000-8000-000000000000";
    let eid = l.execution_id.as_str();
    let (lid, ep) = (l.lease_id, l.lease_epoch);
    let none_s: Option<&str> = None;
    let none_b: Option<&[u8]> = None;
    let none_u: Option<uuid::Uuid> = None;
    let none_i: Option<i64> = None;
    let big_name = "n".repeat(257);
    let stale = ep + 1;
    let (v, x): (&[u8], &[u8]) = (b"v", b"x");
    // (sql, params, SQLSTATE, DETAIL) for a role that may call the function.
    type Case<'a> = (&'a str, Vec<&'a (dyn postgres::types::ToSql + Sync)>, &'a str, Option<&'a str>);
    let set = "SELECT * FROM ff_set_step($1, $2, $3, $4, $5)";
    let app = "SELECT * FROM ff_append_frame($1, $2, $3, $4, $5, $6)";
    let cases: Vec<Case> = vec![
        (set, vec![&none_s, &lid, &ep, &"s", &v], "WF001", Some("execution_id_required")),
        (set, vec![&"nonsense", &lid, &ep, &"s", &v], "WF001", Some("invalid_execution_id")),
        (set, vec![&unknown, &lid, &ep, &"s", &v], "WF010", Some("execution")),
        (set, vec![&eid, &none_u, &ep, &"s", &v], "WF001", Some("lease_id_required")),
        (set, vec![&eid, &lid, &none_i, &"s", &v], "WF001", Some("lease_epoch_required")),
        (set, vec![&eid, &lid, &stale, &"s", &v], "WF020", None),
        (set, vec![&eid, &lid, &ep, &none_s, &v], "WF001", Some("step_name_required")),
        (set, vec![&eid, &lid, &ep, &"", &v], "WF001", Some("invalid_step_name")),
        (set, vec![&eid, &lid, &ep, &big_name, &v], "WF001", Some("invalid_step_name")),
        (app, vec![&eid, &lid, &ep, &"stdout", &none_b, &none_i], "WF001", Some("bytes_required")),
        (app, vec![&eid, &lid, &ep, &none_s, &x, &none_i], "WF001", Some("frame_kind_required")),
        (app, vec![&eid, &lid, &ep, &"STDOUT", &x, &none_i], "WF001", Some("invalid_frame_kind")),
        (app, vec![&eid, &lid, &ep, &"log", &x, &none_i], "WF001", Some("invalid_frame_kind")),
        (app, vec![&eid, &lid, &ep, &"stdout", &x, &Some(1i64)], "WF001", Some("seq_not_increasing")),
        (app, vec![&unknown, &lid, &ep, &"stdout", &x, &none_i], "WF010", Some("execution")),
        (app, vec![&eid, &none_u, &ep, &"stdout", &x, &none_i], "WF001", Some("lease_id_required")),
        ("SELECT * FROM ff_get_steps($1)", vec![&none_s], "WF001", Some("execution_id_required")),
        ("SELECT * FROM ff_get_steps($1)", vec![&unknown], "WF010", Some("execution")),
        ("SELECT * FROM ff_read_frames($1)", vec![&unknown], "WF010", Some("execution")),
        ("SELECT * FROM ff_read_frames($1, $2)", vec![&eid, &none_i], "WF001", Some("after_seq_required")),
        ("SELECT * FROM ff_read_frames($1, 0, 0)", vec![&eid], "WF001", Some("invalid_max_rows")),
        ("SELECT * FROM ff_read_frames($1, 0, 10001)", vec![&eid], "WF001", Some("invalid_max_rows")),
    ];
    for role in ["postgres", "prog_admin", "prog_worker", "prog_signaler", "prog_plain"] {
        let mut c = db.connect_as(role);
        for (sql, params, code, detail) in &cases {
            let e = expect_err(&mut c, sql, params);
            if matches!(role, "prog_signaler" | "prog_plain") {
                assert_eq!(e.code, "42501", "{role}: {sql}: {e:?}");
            } else {
                assert_eq!(
                    (e.code.as_str(), e.detail.as_deref().filter(|_| detail.is_some())),
                    (*code, *detail),
                    "{role}: {sql} {params:?}"
                );
            }
        }
    }
    assert_eq!(steps(&mut su, &ex), [("kept".to_string(), Some(b"v".to_vec()), 0)]);
    assert_eq!(frames(&mut su, &ex, 0).len(), 1);
}

#[test]
fn retention_deletes_steps_and_frames_with_their_execution() {
    let (_db, mut c) = seeded("progress_retention");
    let ex = create_in(&mut c, "ret", "");
    let (l, _, _) = claim(&mut c, "ret");
    set_step(&mut c, &l, "s", b"v").unwrap();
    append(&mut c, &l, "stdout", b"f", None).unwrap();
    c.query_one("SELECT * FROM ff_complete($1, $2, $3)", &[&l.execution_id, &l.lease_id, &l.lease_epoch]).unwrap();
    let deleted: i64 =
        c.query_one("SELECT ff_prune_executions((extract(epoch FROM clock_timestamp()) * 1000)::bigint + 1000)", &[]).unwrap().get(0);
    assert_eq!(deleted, 1);
    for t in ["ff_step", "ff_frame", "ff_stream"] {
        assert_eq!(count(&mut c, &format!("SELECT count(*) FROM {t}")), 0, "{t}");
    }
    assert_eq!(assert_code(&mut c, "SELECT * FROM ff_get_steps($1)", &[&ex], "WF010").detail.as_deref(), Some("execution"));
}
