//! Acceptance, "Keys": seed, rotate, grace, GC, validation, concurrent rotation, through real sessions.

use ff_engine_tests::*;
use std::sync::{Arc, Barrier};

#[test]
fn rotate_on_empty_keystore() {
    let db = Cluster::shared().fresh_db("rotate_empty");
    let mut c = db.connect();
    let row = c.query_one("SELECT outcome, previous_kid, new_kid, gc_count FROM ff_rotate_hmac('k1')", &[]).unwrap();
    assert_eq!(row.get::<_, String>(0), "rotated");
    assert_eq!(row.get::<_, Option<String>>(1), None);
    assert_eq!(row.get::<_, String>(2), "k1");
    assert_eq!(row.get::<_, i32>(3), 0);
    let active: Vec<String> = column(&mut c, "SELECT kid FROM ff_hmac_kids() WHERE active", &[]);
    assert_eq!(active, vec!["k1"]);
}

#[test]
fn rotate_same_kid_noop_or_conflict() {
    let db = Cluster::shared().fresh_db("rotate_same");
    let mut c = db.connect();
    let s1 = hex32(0x11);
    c.query_one("SELECT * FROM ff_rotate_hmac('k1', $1)", &[&s1]).unwrap();
    let row = c.query_one("SELECT outcome, gc_count FROM ff_rotate_hmac('k1', $1)", &[&s1]).unwrap();
    assert_eq!(row.get::<_, String>(0), "noop");
    assert_eq!(row.get::<_, i32>(1), 0);
    let e = assert_code(&mut c, "SELECT * FROM ff_rotate_hmac('k1', $1)", &[&hex32(0x22)], "WF005");
    assert!(e.message.starts_with("rotation_conflict"), "{e:?}");
    assert!(!e.message.contains(&hex32(0x22)) && !e.message.contains(&s1));
    // Nothing changed: still exactly one key, the original.
    let n: i64 = c.query_one("SELECT count(*) FROM ff_hmac_kids()", &[]).unwrap().get(0);
    assert_eq!(n, 1);
}

#[test]
fn rotation_retires_with_grace_and_reaps_past_grace() {
    let db = Cluster::shared().fresh_db("rotate_gc");
    let mut c = db.connect();
    c.query_one("SELECT * FROM ff_rotate_hmac('a')", &[]).unwrap();
    // a → b with grace 0: a is retired and already past grace (expires_at_ms = now).
    let row = c.query_one("SELECT previous_kid, gc_count FROM ff_rotate_hmac('b', NULL, 0)", &[]).unwrap();
    assert_eq!(row.get::<_, Option<String>>(0).as_deref(), Some("a"));
    assert_eq!(row.get::<_, i32>(1), 0, "the key retired by this rotation is never reaped by it");
    let a = c.query_one("SELECT active, rotated_at_ms, expires_at_ms FROM ff_hmac_kids() WHERE kid = 'a'", &[]).unwrap();
    assert!(!a.get::<_, bool>(0));
    assert_eq!(a.get::<_, Option<i64>>(1), a.get::<_, Option<i64>>(2), "grace 0 expires at the rotation time");
    // b → c (long grace): a is past grace and reaped; b is kept for its grace window.
    std::thread::sleep(std::time::Duration::from_millis(5));
    let row = c.query_one("SELECT previous_kid, gc_count FROM ff_rotate_hmac('c', NULL, 60000)", &[]).unwrap();
    assert_eq!(row.get::<_, Option<String>>(0).as_deref(), Some("b"));
    assert_eq!(row.get::<_, i32>(1), 1);
    let kids: Vec<(String, bool)> =
        c.query("SELECT kid, active FROM ff_hmac_kids() ORDER BY kid", &[]).unwrap().iter().map(|r| (r.get(0), r.get(1))).collect();
    assert_eq!(kids, vec![("b".to_string(), false), ("c".to_string(), true)]);
    let b = c.query_one("SELECT expires_at_ms - rotated_at_ms FROM ff_hmac_kids() WHERE kid = 'b'", &[]).unwrap();
    assert_eq!(b.get::<_, i64>(0), 60000);
}

#[test]
fn rotate_chain_within_grace_keeps_all_keys() {
    let db = Cluster::shared().fresh_db("rotate_chain");
    let mut c = db.connect();
    for kid in ["a", "b", "c"] {
        c.query_one("SELECT * FROM ff_rotate_hmac($1)", &[&kid]).unwrap();
    }
    let rows = c.query("SELECT kid, active, expires_at_ms IS NULL FROM ff_hmac_kids() ORDER BY kid", &[]).unwrap();
    let got: Vec<(String, bool, bool)> = rows.iter().map(|r| (r.get(0), r.get(1), r.get(2))).collect();
    assert_eq!(got, vec![("a".into(), false, false), ("b".into(), false, false), ("c".into(), true, true)]);
}

#[test]
fn validation_errors_are_wf001() {
    let db = Cluster::shared().fresh_db("key_validation");
    let mut c = db.connect();
    let long_kid = "k".repeat(65);
    let cases: Vec<(&str, Vec<String>, &str)> = vec![
        ("SELECT * FROM ff_rotate_hmac($1)", vec!["".into()], "invalid_kid"),
        ("SELECT * FROM ff_rotate_hmac($1)", vec!["a:b".into()], "invalid_kid"),
        ("SELECT * FROM ff_rotate_hmac($1)", vec!["a b".into()], "invalid_kid"),
        ("SELECT * FROM ff_rotate_hmac($1)", vec![long_kid.clone()], "invalid_kid"),
        ("SELECT * FROM ff_seed_hmac($1)", vec!["".into()], "invalid_kid"),
        ("SELECT * FROM ff_rotate_hmac('k', $1)", vec!["123".into()], "invalid_secret"),
        ("SELECT * FROM ff_rotate_hmac('k', $1)", vec!["zz".repeat(32)], "invalid_secret"),
        ("SELECT * FROM ff_rotate_hmac('k', $1)", vec!["".into()], "invalid_secret"),
        ("SELECT * FROM ff_rotate_hmac('k', $1)", vec!["11".repeat(31)], "invalid_secret"),
        ("SELECT * FROM ff_seed_hmac('k', $1)", vec!["11".repeat(65)], "invalid_secret"),
    ];
    for (sql, args, detail) in cases {
        let e = assert_code(&mut c, sql, &[&args[0]], "WF001");
        assert_eq!(e.detail.as_deref(), Some(detail), "{sql} {args:?}");
        assert!(e.message.starts_with("invalid_input"), "{e:?}");
    }
    let e = assert_code(&mut c, "SELECT * FROM ff_rotate_hmac('k', NULL, -1)", &[], "WF001");
    assert_eq!(e.detail.as_deref(), Some("invalid_grace_ms"));
    assert_code(&mut c, "SELECT * FROM ff_rotate_hmac('k', NULL, 9007199254740992)", &[], "WF001");
    assert_code(&mut c, "SELECT * FROM ff_rotate_hmac('k', NULL, NULL)", &[], "WF001");
    assert_code(&mut c, "SELECT * FROM ff_rotate_hmac(NULL)", &[], "WF001");
    assert_code(&mut c, "SELECT * FROM ff_seed_hmac(NULL)", &[], "WF001");
    // Largest grace is accepted; the failed calls above wrote nothing.
    let n: i64 = c.query_one("SELECT count(*) FROM ff_hmac_kids()", &[]).unwrap().get(0);
    assert_eq!(n, 0);
    c.query_one("SELECT * FROM ff_rotate_hmac('k', NULL, 9007199254740991)", &[]).unwrap();
}

#[test]
fn seed_rules() {
    let db = Cluster::shared().fresh_db("seed_rules");
    let mut c = db.connect();
    let s = hex32(0x11);
    let r = c.query_one("SELECT outcome, kid, same_secret FROM ff_seed_hmac('k1', $1)", &[&s]).unwrap();
    assert_eq!((r.get::<_, String>(0), r.get::<_, String>(1), r.get::<_, Option<bool>>(2)), ("seeded".into(), "k1".into(), None));
    let r = c.query_one("SELECT outcome, same_secret FROM ff_seed_hmac('k1', $1)", &[&s]).unwrap();
    assert_eq!((r.get::<_, String>(0), r.get::<_, Option<bool>>(1)), ("already_seeded".into(), Some(true)));
    // Upper-case hex is the same secret.
    let r = c.query_one("SELECT same_secret FROM ff_seed_hmac('k1', $1)", &[&s.to_uppercase()]).unwrap();
    assert_eq!(r.get::<_, Option<bool>>(0), Some(true));
    let r = c.query_one("SELECT outcome, same_secret FROM ff_seed_hmac('k1', $1)", &[&hex32(0x22)]).unwrap();
    assert_eq!((r.get::<_, String>(0), r.get::<_, Option<bool>>(1)), ("already_seeded".into(), Some(false)));
    let r = c.query_one("SELECT outcome, same_secret FROM ff_seed_hmac('k1')", &[]).unwrap();
    assert_eq!((r.get::<_, String>(0), r.get::<_, Option<bool>>(1)), ("already_seeded".into(), None));
    let e = assert_code(&mut c, "SELECT * FROM ff_seed_hmac('k2', $1)", &[&s], "WF001");
    assert_eq!(e.detail.as_deref(), Some("another_kid_active"));
    // The stored secret is still the first one (checked as the owner would: by comparison only).
    let same: bool = c.query_one("SELECT secret = decode($1, 'hex') FROM ff_keystore WHERE kid = 'k1'", &[&s]).unwrap().get(0);
    assert!(same);
}

#[test]
fn concurrent_rotations_never_leave_two_active_keys() {
    let db = Cluster::shared().fresh_db("rotate_race");
    let sessions = 8;
    let rounds = 25;
    let barrier = Arc::new(Barrier::new(sessions));
    let handles: Vec<_> = (0..sessions)
        .map(|s| {
            let barrier = barrier.clone();
            let conninfo = db.conninfo("postgres");
            std::thread::spawn(move || {
                let mut c = postgres::Client::connect(&conninfo, postgres::NoTls).unwrap();
                barrier.wait();
                let mut rotated = 0;
                for r in 0..rounds {
                    let kid = format!("s{s}-r{r}");
                    let row = c.query_one("SELECT outcome FROM ff_rotate_hmac($1, NULL, 60000)", &[&kid]).unwrap();
                    assert_eq!(row.get::<_, String>(0), "rotated");
                    rotated += 1;
                    let active: i64 = c.query_one("SELECT count(*) FROM ff_hmac_kids() WHERE active", &[]).unwrap().get(0);
                    assert_eq!(active, 1, "two active keys seen by session {s}");
                }
                rotated
            })
        })
        .collect();
    let total: usize = handles.into_iter().map(|h| h.join().unwrap()).sum();
    assert_eq!(total, sessions * rounds);
    let mut c = db.connect();
    let (active, all): (i64, i64) = {
        let r = c.query_one("SELECT count(*) FILTER (WHERE active), count(*) FROM ff_hmac_kids()", &[]).unwrap();
        (r.get(0), r.get(1))
    };
    assert_eq!(active, 1);
    assert_eq!(all as usize, sessions * rounds, "every rotation retired exactly the key before it");
    // The retirement chain is linear: every non-final key was retired exactly once, in created order.
    let chain_ok: bool =
        c.query_one("SELECT bool_and(rotated_at_ms IS NOT NULL) FROM ff_hmac_kids() WHERE NOT active", &[]).unwrap().get(0);
    assert!(chain_ok);
}
