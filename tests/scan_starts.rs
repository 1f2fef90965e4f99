//! Scan starts of the time-ordered scanners (sql/shared/scan_starts.sql): under a snapshot held by
//! another session, lease expiry and delayed promotion scan from their start and skip the entries
//! left behind, a run every ten seconds scans from the earliest key (the verifier), and a lease
//! written by a transaction that stayed open past the start is expired by the verifier. Real sessions;
//! the same file runs against both editions.

use ff_engine_tests::*;
use postgres::Client;
use std::time::{Duration, Instant};

/// Index entries read from `index` so far, as the statistics show them once this session's are
/// flushed. PostgreSQL 15 on flushes on request (at the next idle moment: before the next query is
/// read); 14's collector takes the counts asynchronously (a backend sends them at most every 500 ms,
/// the collector writes them later), so there the counts are read until two reads 600 ms apart agree.
fn entries_so_far(c: &mut Client, index: &str) -> i64 {
    let read = |c: &mut Client| -> i64 {
        c.batch_execute("SELECT pg_stat_clear_snapshot()").unwrap();
        c.query_one("SELECT idx_tup_read FROM pg_stat_user_indexes WHERE indexrelname = $1", &[&index]).unwrap().get(0)
    };
    let version: i32 = c.query_one("SELECT current_setting('server_version_num')::int", &[]).unwrap().get(0);
    if version >= 150000 {
        c.batch_execute("SELECT pg_stat_force_next_flush()").unwrap();
        return read(c);
    }
    let settled = |c: &mut Client| -> i64 {
        std::thread::sleep(Duration::from_millis(600));
        read(c)
    };
    let mut last = settled(c);
    for _ in 0..15 {
        let now = settled(c);
        if now == last {
            return now;
        }
        last = now;
    }
    last
}

/// Index entries the statements of `sql` read from `index`.
fn entries_read(c: &mut Client, sql: &str, index: &str) -> i64 {
    let before = entries_so_far(c, index);
    c.batch_execute(sql).unwrap();
    entries_so_far(c, index) - before
}

/// A session that holds a REPEATABLE READ snapshot until dropped (its transaction stays open).
fn hold_snapshot(db: &TestDb<'_>) -> Client {
    let mut holder = db.connect();
    holder.batch_execute("BEGIN ISOLATION LEVEL REPEATABLE READ; SELECT count(*) FROM ff_exec_core").unwrap();
    holder
}

/// Create `n` executions in `lane`, claim each with a 300 ms lease and complete it: each leaves an
/// entry of ff_exec_core_leases with a key in the past once the leases' time has gone by.
fn leases_ended(c: &mut Client, lane: &str, n: usize) {
    for _ in 0..n {
        create_in(c, lane, "");
    }
    for _ in 0..n {
        let l = lease_from_row(&c.query_one("SELECT * FROM ff_claim($1, 'w1', 'inst-1', lease_ttl_ms => 300)", &[&lane]).unwrap());
        c.query_one("SELECT * FROM ff_complete($1, $2, $3)", &[&l.execution_id, &l.lease_id, &l.lease_epoch]).unwrap();
    }
}

#[test]
fn under_a_held_snapshot_lease_expiry_scans_from_its_start() {
    let (db, mut c) = seeded("scan_starts_leases");
    let _holder = hold_snapshot(&db);
    leases_ended(&mut c, "ss-lane", 400);
    std::thread::sleep(Duration::from_millis(1500)); // every key now more than a second in the past
                                                     // The first run is the verifier (never verified): it walks every entry left behind.
    let first = entries_read(&mut c, "SELECT * FROM ff_expire_leases()", "ff_exec_core_leases");
    assert!(first >= 400, "the verifier walks the entries of ended leases: {first}");
    // It processed everything it found, so the start moved to a second before its now: the next run
    // skips those entries.
    let second = entries_read(&mut c, "SELECT * FROM ff_expire_leases()", "ff_exec_core_leases");
    assert!(second < 20, "a run from the start reads {second} entries (the verifier read {first})");
    let through_tick = entries_read(&mut c, "SELECT * FROM ff_tick()", "ff_exec_core_leases");
    assert!(through_tick < 20, "ff_tick's run reads {through_tick} entries");
}

#[test]
fn under_a_held_snapshot_delayed_promotion_scans_from_its_start() {
    let (db, mut c) = seeded("scan_starts_delayed");
    let _holder = hold_snapshot(&db);
    for _ in 0..300 {
        c.query_one("SELECT * FROM ff_create_execution('sd-lane', delay_until_ms => ff_now_ms() + 50)", &[]).unwrap();
    }
    std::thread::sleep(Duration::from_millis(1300));
    let first = entries_read(&mut c, "SELECT * FROM ff_promote_delayed()", "ff_exec_core_delayed");
    assert!(first >= 300, "the verifier promotes every due row: {first}");
    let promoted: i64 =
        c.query_one("SELECT count(*) FROM ff_executions WHERE lane_id = 'sd-lane' AND public_state = 'waiting'", &[]).unwrap().get(0);
    assert_eq!(promoted, 300);
    let second = entries_read(&mut c, "SELECT * FROM ff_promote_delayed()", "ff_exec_core_delayed");
    assert!(second < 20, "a run from the start reads {second} entries (the verifier read {first})");
}

#[test]
fn a_lease_committed_after_the_start_passed_it_is_expired_by_the_verifier() {
    let (db, mut c) = seeded("scan_starts_late");
    create_in(&mut c, "sl-lane", "");
    // The verifier runs now, so the next ten seconds' runs scan from the start.
    c.query("SELECT * FROM ff_expire_leases()", &[]).unwrap();
    // A worker claims with a 100 ms lease and holds its transaction open for 1.5 s.
    let mut worker = db.connect();
    worker.batch_execute("BEGIN").unwrap();
    let lease = lease_from_row(&worker.query_one("SELECT * FROM ff_claim('sl-lane', 'w1', 'inst-1', lease_ttl_ms => 100)", &[]).unwrap());
    std::thread::sleep(Duration::from_millis(1500));
    // A run meanwhile moves the start past the lease's expiry (it cannot see the claim).
    c.query("SELECT * FROM ff_expire_leases()", &[]).unwrap();
    worker.batch_execute("COMMIT").unwrap();
    let committed = Instant::now();
    // The runs from the start pass it; the verifier (within ten seconds of the last) expires it.
    loop {
        let expired: i32 = c.query_one("SELECT ff_expire_leases()", &[]).unwrap().get(0);
        if expired > 0 {
            break;
        }
        assert!(committed.elapsed() < Duration::from_secs(12), "the lease was never expired");
        std::thread::sleep(Duration::from_millis(250));
    }
    assert!(committed.elapsed() > Duration::from_secs(1), "expired before the verifier ran: the start did not pass it");
    let (_, ownership, ..) = states(&mut c, &lease.execution_id);
    assert_eq!(ownership, "unowned");
}

#[test]
fn a_filtered_run_does_not_move_the_start() {
    let (_db, mut c) = seeded("scan_starts_filtered");
    // An unfiltered run verifies now: for ten seconds the runs scan from the start.
    c.query("SELECT ff_expire_leases()", &[]).unwrap();
    create_in(&mut c, "sf-lane", "namespace => 'a'");
    let l = lease_from_row(&c.query_one("SELECT * FROM ff_claim('sf-lane', 'w1', 'inst-1', lease_ttl_ms => 100)", &[]).unwrap());
    std::thread::sleep(Duration::from_millis(1500));
    // A run filtered to another namespace finds nothing due; were it to move the start, the lease
    // (due for more than a second) would be below it.
    let filtered: i32 = c.query_one("SELECT ff_expire_leases(namespace => 'b')", &[]).unwrap().get(0);
    assert_eq!(filtered, 0);
    let expired: i32 = c.query_one("SELECT ff_expire_leases()", &[]).unwrap().get(0);
    assert_eq!(expired, 1, "the unfiltered run after a filtered one expires {}", l.execution_id);
}
