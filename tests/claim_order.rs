//! Claim order under races: claims hand out priority first, then the oldest, and a row that becomes
//! claimable again through a race (a claim that rolled back, a producer that committed after newer
//! rows were claimed) is handed out within a second — it may follow newer rows only that long, never
//! starve. Real concurrent sessions; the same file runs against both editions.

use ff_engine_tests::*;
use postgres::Client;
use std::time::{Duration, Instant};

/// Claims on `lane` (one at a time, each committed) until `wanted` is handed out or `within` has
/// passed; the ids handed out, in order.
fn claim_until(c: &mut Client, lane: &str, wanted: &str, within: Duration) -> Vec<String> {
    let deadline = Instant::now() + within;
    let mut got = Vec::new();
    while Instant::now() < deadline {
        match claim_one(c, lane, "w") {
            Some(l) => {
                let found = l.execution_id == wanted;
                got.push(l.execution_id);
                if found {
                    break;
                }
            }
            None => std::thread::sleep(Duration::from_millis(10)),
        }
    }
    got
}

#[test]
fn a_rolled_back_claim_hands_its_execution_out_again_within_a_second() {
    let (db, mut c) = seeded("order_rollback");
    let first = create_in(&mut c, "lane", "");
    let second = create_in(&mut c, "lane", "");
    let mut a = db.connect();
    let mut tx = a.transaction().unwrap();
    let held = lease_from_row(&tx.query_one("SELECT * FROM ff_claim('lane', 'a', 'i')", &[]).unwrap());
    assert_eq!(held.execution_id, first, "the oldest first");
    // While the claim is open its row is skipped, not waited for.
    assert_eq!(claim_one(&mut c, "lane", "b").unwrap().execution_id, second);
    let third = create_in(&mut c, "lane", "");
    tx.rollback().unwrap();
    let got = claim_until(&mut c, "lane", &first, Duration::from_secs(1));
    assert_eq!(got.last(), Some(&first), "the rolled-back claim's execution within a second: {got:?}");
    assert!(got.len() <= 2 && got.iter().all(|id| *id == first || *id == third), "{got:?}");
    assert_eq!(claim_until(&mut c, "lane", &third, Duration::from_secs(1)).last(), Some(&third));
    assert!(claim_one(&mut c, "lane", "w").is_none(), "each handed out once");
}

#[test]
fn a_late_committing_producer_is_not_starved() {
    let (db, mut c) = seeded("order_late_producer");
    // The producer's execution is older (created first) but commits after newer ones were claimed.
    let mut p = db.connect();
    let mut tx = p.transaction().unwrap();
    let late: String = tx.query_one("SELECT execution_id FROM ff_create_execution('lane')", &[]).unwrap().get(0);
    let newer: Vec<String> = (0..3).map(|_| create_in(&mut c, "lane", "")).collect();
    assert_eq!(claim_one(&mut c, "lane", "w").unwrap().execution_id, newer[0], "the uncommitted one is not visible yet");
    tx.commit().unwrap();
    let got = claim_until(&mut c, "lane", &late, Duration::from_secs(1));
    assert_eq!(got.last(), Some(&late), "the late commit's execution within a second: {got:?}");
    let rest: Vec<String> = std::iter::from_fn(|| claim_one(&mut c, "lane", "w").map(|l| l.execution_id)).collect();
    let mut all: Vec<String> = got.into_iter().chain(rest).collect();
    all.sort();
    let mut expected = vec![late, newer[1].clone(), newer[2].clone()];
    expected.sort();
    assert_eq!(all, expected, "every execution handed out once");
}

#[test]
fn priorities_interleave_with_races_and_raises() {
    let (db, mut c) = seeded("order_priorities");
    let low_old = create_in(&mut c, "lane", "priority => 1");
    let high_old = create_in(&mut c, "lane", "priority => 5");
    let mut a = db.connect();
    let mut tx = a.transaction().unwrap();
    let held = lease_from_row(&tx.query_one("SELECT * FROM ff_claim('lane', 'a', 'i')", &[]).unwrap());
    assert_eq!(held.execution_id, high_old);
    let high_new = create_in(&mut c, "lane", "priority => 5");
    let low_new = create_in(&mut c, "lane", "priority => 1");
    let raised = create_in(&mut c, "lane", "priority => 0");
    c.query_one("SELECT * FROM ff_change_priority($1, 9)", &[&raised]).unwrap();
    tx.rollback().unwrap();
    // Priority first (the raised one, then both 5s oldest first, the rolled-back one among them),
    // then the oldest of priority 1.
    let order: Vec<String> = std::iter::from_fn(|| claim_one(&mut c, "lane", "w").map(|l| l.execution_id)).collect();
    assert_eq!(order, vec![raised, high_old, high_new, low_old, low_new]);
}

// Claim starts (sql/shared/claim_start.sql): where each priority's scan begins. These move them (a
// start moves once a claim lands 16 numbers past it) and check, after every step, that no claimable
// row is below its start, and that the order above still holds.

/// The claim start of a lane's priority (the lower one when it has two slots).
fn start_of(c: &mut Client, lane: &str, priority: i32) -> i64 {
    c.query_one(
        "SELECT min(coalesce(pg_sequence_last_value(start_seq), 0)) FROM ff_claim_start WHERE lane_id = $1 AND priority = $2",
        &[&lane, &priority],
    )
    .unwrap()
    .get::<_, Option<i64>>(0)
    .expect("the priority is registered")
}

/// The queue_seq of an execution (as `c`, a session or an open transaction, sees it).
fn seq_of(c: &mut impl postgres::GenericClient, execution_id: &str) -> i64 {
    c.query_one("SELECT queue_seq FROM ff_exec_core WHERE '{fp:' || partition_key || '}:' || execution_id = $1", &[&execution_id])
        .unwrap()
        .get(0)
}

/// No claimable row of the lane is below its priority's start.
fn assert_starts_are_lower_bounds(c: &mut Client, lane: &str) {
    let below = count(
        c,
        &format!(
            "SELECT count(*) FROM ff_exec_core e WHERE e.lane_id = '{lane}' AND e.lifecycle_phase = 'runnable' \
               AND e.eligibility_state = 'eligible_now' AND e.queue_seq < (SELECT min(coalesce(pg_sequence_last_value(s.start_seq), 0)) \
               FROM ff_claim_start s WHERE s.lane_id = e.lane_id AND s.priority = e.priority)"
        ),
    );
    assert_eq!(below, 0, "claimable rows below their claim start");
}

fn create_many(c: &mut Client, lane: &str, n: i32, priority: i32) -> Vec<String> {
    column(c, "SELECT (ff_create_execution($1, priority => $3)).execution_id FROM generate_series(1, $2)", &[&lane, &n, &priority])
}

/// Claim and complete `n` executions of the lane, one call each; their ids in order.
fn drain(c: &mut Client, lane: &str, n: usize) -> Vec<String> {
    (0..n)
        .map(|_| {
            let l = claim_one(c, lane, "w").expect("work left");
            c.query_one("SELECT * FROM ff_complete($1, $2, $3)", &[&l.execution_id, &l.lease_id, &l.lease_epoch]).unwrap();
            l.execution_id
        })
        .collect()
}

#[test]
fn the_claim_start_moves_past_claimed_rows_under_a_held_snapshot() {
    let (db, mut c) = seeded("start_held");
    let ids = create_many(&mut c, "lane", 300, 0);
    // A session holding a snapshot: nothing claimed from here on can be vacuumed away.
    let mut holder = db.connect();
    holder.batch_execute("BEGIN ISOLATION LEVEL REPEATABLE READ; SELECT count(*) FROM ff_exec_core").unwrap();
    let before = start_of(&mut c, "lane", 0);
    assert!(before <= seq_of(&mut c, &ids[0]));
    assert_eq!(drain(&mut c, "lane", 250), ids[..250].to_vec(), "oldest first");
    assert_starts_are_lower_bounds(&mut c, "lane");
    let after = start_of(&mut c, "lane", 0);
    assert!(after > seq_of(&mut c, &ids[150]), "the start moved up with the claims: {before} -> {after}");
    assert!(after <= seq_of(&mut c, &ids[250]), "and not past the next claimable row");
    assert_eq!(drain(&mut c, "lane", 50), ids[250..].to_vec());
    assert!(claim_one(&mut c, "lane", "w").is_none());
    assert_starts_are_lower_bounds(&mut c, "lane");
    holder.batch_execute("COMMIT").unwrap();
}

#[test]
fn a_claim_held_open_keeps_the_start_below_its_row() {
    let (db, mut c) = seeded("start_rollback");
    let ids = create_many(&mut c, "lane", 200, 0);
    let mut a = db.connect();
    let mut tx = a.transaction().unwrap();
    let held = lease_from_row(&tx.query_one("SELECT * FROM ff_claim('lane', 'a', 'i')", &[]).unwrap());
    assert_eq!(held.execution_id, ids[0]);
    // Others claim far past it; the row another claimer holds counts as claimable for the start.
    assert_eq!(drain(&mut c, "lane", 150), ids[1..151].to_vec());
    assert!(start_of(&mut c, "lane", 0) <= seq_of(&mut c, &ids[0]));
    tx.rollback().unwrap();
    assert_eq!(claim_one(&mut c, "lane", "w").unwrap().execution_id, ids[0], "handed out next, not a second later");
    assert_starts_are_lower_bounds(&mut c, "lane");
}

#[test]
fn a_transition_lowers_the_start_to_its_row() {
    let (_db, mut c) = seeded("start_lowered");
    let ids = create_many(&mut c, "lane", 200, 0);
    let first = claim_one(&mut c, "lane", "w").unwrap();
    assert_eq!(first.execution_id, ids[0]);
    assert_eq!(drain(&mut c, "lane", 150), ids[1..151].to_vec());
    let moved = start_of(&mut c, "lane", 0);
    assert!(moved > seq_of(&mut c, &ids[0]), "the start passed the leased row");
    // Revoking the lease makes the oldest row claimable again: the start comes down to it.
    c.query_one("SELECT * FROM ff_revoke_lease($1, 'stuck')", &[&ids[0]]).unwrap();
    assert!(start_of(&mut c, "lane", 0) <= seq_of(&mut c, &ids[0]));
    assert_eq!(claim_one(&mut c, "lane", "w").unwrap().execution_id, ids[0], "the oldest first again");
    // A priority change is a transition too: an old row raised to a new priority is next.
    let old_low = create_in(&mut c, "lane", "priority => -1");
    assert_eq!(drain(&mut c, "lane", 49), ids[151..].to_vec());
    assert_eq!(drain(&mut c, "lane", 1), vec![old_low.clone()]);
    let more = create_many(&mut c, "lane", 100, 0);
    let raised = more[90].clone();
    assert_eq!(drain(&mut c, "lane", 80), more[..80].to_vec());
    c.query_one("SELECT * FROM ff_change_priority($1, 3)", &[&raised]).unwrap();
    assert_eq!(claim_one(&mut c, "lane", "w").unwrap().execution_id, raised);
    assert_starts_are_lower_bounds(&mut c, "lane");
}

#[test]
fn a_producer_committing_after_the_start_passed_its_row_is_found_by_the_verifier() {
    let (db, mut c) = seeded("start_late");
    // The lane's priority is registered (committed) before the producer starts.
    create_in(&mut c, "lane", "");
    drain(&mut c, "lane", 1);
    let mut p = db.connect();
    let mut tx = p.transaction().unwrap();
    let late: String = tx.query_one("SELECT execution_id FROM ff_create_execution('lane')", &[]).unwrap().get(0);
    let late_seq = seq_of(&mut tx, &late);
    let newer = create_many(&mut c, "lane", 200, 0);
    assert_eq!(drain(&mut c, "lane", 200), newer, "the uncommitted one is not visible");
    assert!(claim_one(&mut c, "lane", "w").is_none());
    assert!(start_of(&mut c, "lane", 0) > late_seq, "the start passed the uncommitted row");
    tx.commit().unwrap();
    // The next claims find the priority empty from its start; the verifier (at most once a second)
    // brings the start back down to the late row.
    let got = claim_until(&mut c, "lane", &late, Duration::from_millis(2500));
    assert_eq!(got, vec![late.clone()], "the late row, within the verifier's second");
    assert_starts_are_lower_bounds(&mut c, "lane");
    // ff_tick's task does the same at once.
    let mut tx = p.transaction().unwrap();
    let late2: String = tx.query_one("SELECT execution_id FROM ff_create_execution('lane')", &[]).unwrap().get(0);
    let newer = create_many(&mut c, "lane", 100, 0);
    assert_eq!(drain(&mut c, "lane", 100), newer);
    tx.commit().unwrap();
    let lowered = count(&mut c, "SELECT processed::bigint FROM ff_tick() WHERE task = 'verify_claim_starts'");
    assert_eq!(lowered, 1, "one start lowered");
    assert_eq!(claim_one(&mut c, "lane", "w").unwrap().execution_id, late2);
}

/// The verifier's floor of a lane's priority (its lowest slot): where ff_claim_start_verify scans from.
fn floor_of(c: &mut Client, lane: &str, priority: i32) -> i64 {
    c.query_one(
        "SELECT coalesce(pg_sequence_last_value(('ff_claim_floor_' || slot)::regclass), 0) FROM ff_claim_start \
         WHERE lane_id = $1 AND priority = $2 ORDER BY slot LIMIT 1",
        &[&lane, &priority],
    )
    .unwrap()
    .get(0)
}

/// Rows and index entries of ff_exec_core one verification of a lane's priority reads (ff_claim_start_verify, the
/// task ff_tick runs for every slot), by its transaction's statistics, on a new connection (a session's
/// are pending until flushed, and count from the last flush). Sequential scans are off, as the planner
/// chooses on a large table (this one is small).
fn verification_reads(db: &TestDb<'_>, lane: &str, priority: i32) -> i64 {
    let mut c = db.connect();
    let mut tx = c.transaction().unwrap();
    tx.batch_execute("SET LOCAL enable_seqscan = off").unwrap();
    tx.query_one("SELECT ff_claim_start_verify($1, $2, (extract(epoch FROM clock_timestamp()) * 1000)::bigint, 0)", &[&lane, &priority])
        .unwrap();
    let read: i64 = tx
        .query_one(
            "SELECT (SELECT seq_tup_read FROM pg_stat_xact_user_tables WHERE relname = 'ff_exec_core') \
                    + (SELECT sum(pg_stat_get_xact_tuples_returned(indexrelid))::bigint FROM pg_index WHERE indrelid = 'ff_exec_core'::regclass)",
            &[],
        )
        .unwrap()
        .get(0);
    tx.commit().unwrap();
    read
}

#[test]
fn the_verifier_scans_from_a_floor_that_stops_below_open_producers() {
    let (db, mut c) = seeded("start_floor");
    let first = create_many(&mut c, "lane", 400, 5);
    let mut holder = db.connect();
    holder.batch_execute("BEGIN ISOLATION LEVEL REPEATABLE READ; SELECT count(*) FROM ff_exec_core").unwrap();
    let mut p = db.connect();
    let mut producer = p.transaction().unwrap();
    let late: String = producer.query_one("SELECT execution_id FROM ff_create_execution('lane', priority => 5)", &[]).unwrap().get(0);
    let late_seq = seq_of(&mut producer, &late);
    assert_eq!(drain(&mut c, "lane", 400), first);
    // Verifications while the producer is open: the floor never passes its row.
    for _ in 0..3 {
        c.batch_execute("SELECT * FROM ff_tick()").unwrap();
    }
    assert!(floor_of(&mut c, "lane", 5) <= late_seq, "the floor stays below an open producer's row");
    producer.commit().unwrap();
    c.batch_execute("SELECT * FROM ff_tick()").unwrap();
    assert_eq!(drain(&mut c, "lane", 1), vec![late], "the verifier found the late row");
    // With no transaction open but the snapshot's reader (it has no id), two verifications move the
    // floor past every row claimed: the next reads none of the entries the snapshot keeps. (Two once
    // every transaction in progress at the first has ended: the marks see the whole server's, and
    // another test's may be open; so verify until then.)
    let second = create_many(&mut c, "lane", 400, 5);
    assert_eq!(drain(&mut c, "lane", 400), second);
    let last_seq = seq_of(&mut c, &second[399]);
    let deadline = Instant::now() + Duration::from_secs(30);
    while floor_of(&mut c, "lane", 5) <= last_seq && Instant::now() < deadline {
        c.batch_execute("SELECT * FROM ff_tick()").unwrap();
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(floor_of(&mut c, "lane", 5) > last_seq, "the floor passed the claimed rows");
    let read = verification_reads(&db, "lane", 5);
    assert!(read < 20, "a verification read {read} rows and index entries (800 claimed under the held snapshot)");
    assert_starts_are_lower_bounds(&mut c, "lane");
    holder.batch_execute("COMMIT").unwrap();
}

/// A mark taken while the producer is the youngest transaction: no transaction with a larger id has
/// completed, so the producer's id is at or above the snapshot's xmax (one past the latest completed
/// transaction). A mark bounded by that xmax settles as soon as the producer is the oldest transaction
/// running, and the floor passes its row for good; the mark's horizon must pass every transaction in
/// progress. (On a server where another database keeps an older transaction open, the old rule holds
/// too: this test can then not tell them apart.)
#[test]
fn a_mark_taken_while_the_youngest_producer_is_open_waits_for_it() {
    let (db, mut c) = seeded("start_young_producer");
    create_in(&mut c, "lane", "");
    drain(&mut c, "lane", 1);
    c.batch_execute("SELECT * FROM ff_tick()").unwrap();
    let mut p = db.connect();
    let mut producer = p.transaction().unwrap();
    let late: String = producer.query_one("SELECT execution_id FROM ff_create_execution('lane')", &[]).unwrap().get(0);
    let late_seq = seq_of(&mut producer, &late);
    // Nothing younger than the producer has completed when this tick takes its mark.
    c.batch_execute("SELECT * FROM ff_tick()").unwrap();
    let newer = create_many(&mut c, "lane", 200, 0);
    assert_eq!(drain(&mut c, "lane", 200), newer, "the uncommitted one is not visible");
    assert!(start_of(&mut c, "lane", 0) > late_seq, "the start passed the uncommitted row");
    // The producer is now the oldest transaction running.
    for _ in 0..3 {
        c.batch_execute("SELECT * FROM ff_tick()").unwrap();
    }
    assert!(floor_of(&mut c, "lane", 0) <= late_seq, "the floor stays below the open producer's row");
    producer.commit().unwrap();
    c.batch_execute("SELECT * FROM ff_tick()").unwrap();
    assert_eq!(drain(&mut c, "lane", 1), vec![late], "the verifier found the late row");
    assert_starts_are_lower_bounds(&mut c, "lane");
}

#[test]
fn priorities_keep_their_order_as_their_starts_move() {
    let (_db, mut c) = seeded("start_priorities");
    let mut low = Vec::new();
    let mut high = Vec::new();
    for _ in 0..4 {
        low.extend(create_many(&mut c, "lane", 40, 1));
        high.extend(create_many(&mut c, "lane", 40, 5));
    }
    let got = drain(&mut c, "lane", 320);
    assert_eq!(got, high.iter().chain(low.iter()).cloned().collect::<Vec<_>>(), "priority first, then the oldest");
    // A new priority appears above the others: it is registered and visited first.
    let low2 = create_many(&mut c, "lane", 3, 1);
    let top = create_in(&mut c, "lane", "priority => 100");
    assert_eq!(drain(&mut c, "lane", 4), std::iter::once(top).chain(low2).collect::<Vec<_>>());
    assert_starts_are_lower_bounds(&mut c, "lane");
    let registered = count(&mut c, "SELECT count(*) FROM ff_claim_start WHERE lane_id = 'lane'");
    assert_eq!(registered, 3, "one slot per priority");
}

#[test]
fn a_claim_start_survives_a_crash_of_the_server() {
    // Its own cluster, durable settings: the starts are sequences, WAL-logged with the claims that
    // move them, so crash recovery brings them back as they were.
    let cluster = Cluster::start(&[]);
    let db = cluster.fresh_db("start_crash");
    let mut c = db.connect();
    c.query_one("SELECT * FROM ff_seed_hmac('k1')", &[]).unwrap();
    let ids = create_many(&mut c, "lane", 300, 0);
    assert_eq!(drain(&mut c, "lane", 200), ids[..200].to_vec());
    let before = start_of(&mut c, "lane", 0);
    assert!(before > seq_of(&mut c, &ids[100]), "the start moved: {before}");
    drop(c);
    cluster.crash_and_restart();
    let mut c = db.connect();
    assert_eq!(start_of(&mut c, "lane", 0), before, "the start is what it was");
    assert_starts_are_lower_bounds(&mut c, "lane");
    assert_eq!(drain(&mut c, "lane", 100), ids[200..].to_vec(), "and claims go on in order");
    cluster.stop();
}

/// The server's clock, in ms since the epoch.
fn now_ms(c: &mut Client) -> i64 {
    c.query_one("SELECT (extract(epoch FROM clock_timestamp()) * 1000)::bigint", &[]).unwrap().get(0)
}

/// Claim `x`, the lane's only claimable row (it must be its oldest).
fn claim_x(c: &mut Client, lane: &str, x: &str, lease_ttl_ms: i64) -> Lease {
    let l = lease_from_row(&c.query_one("SELECT * FROM ff_claim($1, 'w', 'i', lease_ttl_ms => $2)", &[&lane, &lease_ttl_ms]).unwrap());
    assert_eq!(l.execution_id, x);
    l
}

/// Suspend a leased execution on waitpoint key `k`; its waitpoint id and token.
fn suspend_x(c: &mut Client, l: &Lease, extra: &str) -> (uuid::Uuid, String) {
    let r = c
        .query_one(
            &format!(
                "SELECT waitpoint_id, token FROM ff_suspend($1, $2, $3, '{{\"Single\":{{\"waitpoint_key\":\"k\",\"matcher\":{{\"ByName\":\"go\"}}}}}}'{extra})"
            ),
            &[&l.execution_id, &l.lease_id, &l.lease_epoch],
        )
        .unwrap();
    (r.get(0), r.get(1))
}

/// `x` (the lane's oldest row, out of the claimable set now) is passed by claims of 40 newer rows,
/// which move the start above it; then `transition` makes it claimable again: the start comes back
/// down to it at once (no claim, no verifier in between) and it is handed out next.
fn check_transition(c: &mut Client, lane: &str, x: &str, transition: impl FnOnce(&mut Client)) {
    let newer = create_many(c, lane, 40, 0);
    assert_eq!(drain(c, lane, 40), newer, "{lane}: the row is not claimable before the transition");
    let seq = seq_of(c, x);
    assert!(start_of(c, lane, 0) > seq, "{lane}: the claims moved the start past the row");
    transition(c);
    assert!(start_of(c, lane, 0) <= seq, "{lane}: the transition lowered the start to its row");
    assert_eq!(claim_one(c, lane, "w").map(|l| l.execution_id), Some(x.to_string()), "{lane}: handed out next");
    assert_starts_are_lower_bounds(c, lane);
}

/// A filtered tick (namespace `ns`): its tasks run, the claim-start verifier does not.
fn tick_ns(c: &mut Client) {
    c.query("SELECT * FROM ff_tick(namespace => 'ns')", &[]).unwrap();
}

#[test]
fn every_transition_that_makes_a_row_claimable_lowers_its_start() {
    let (_db, mut c) = seeded("start_transitions");
    // Resumed by a signal.
    let x = create_in(&mut c, "signal", "");
    let l = claim_x(&mut c, "signal", &x, 30000);
    let (wp, token) = suspend_x(&mut c, &l, "");
    check_transition(&mut c, "signal", &x, |c| {
        c.query_one("SELECT * FROM ff_deliver_signal($1, $2, $3, 'go')", &[&x, &wp, &token]).unwrap();
    });
    // Resumed by an operator.
    let x = create_in(&mut c, "operator_resume", "");
    let l = claim_x(&mut c, "operator_resume", &x, 30000);
    suspend_x(&mut c, &l, "");
    check_transition(&mut c, "operator_resume", &x, |c| {
        c.query_one("SELECT * FROM ff_resume_execution($1)", &[&x]).unwrap();
    });
    // Resumed by its suspension's timeout.
    let x = create_in(&mut c, "timeout", "namespace => 'ns'");
    let l = claim_x(&mut c, "timeout", &x, 30000);
    let due = now_ms(&mut c) + 300;
    suspend_x(&mut c, &l, &format!(", timeout_at_ms => {due}, timeout_behavior => 'auto_resume'"));
    check_transition(&mut c, "timeout", &x, |c| {
        std::thread::sleep(Duration::from_millis((due - now_ms(c) + 20).max(0) as u64));
        tick_ns(c);
    });
    // Retried at once (no backoff).
    let x = create_in(&mut c, "retry", "max_attempts => 2, retry_backoff_ms => 0");
    let l = claim_x(&mut c, "retry", &x, 30000);
    check_transition(&mut c, "retry", &x, |c| {
        let r = c.query_one("SELECT outcome FROM ff_fail($1, $2, $3, 'boom')", &[&x, &l.lease_id, &l.lease_epoch]).unwrap();
        assert_eq!(r.get::<_, String>(0), "retry_scheduled");
    });
    // Reclaimed when its lease expired.
    let x = create_in(&mut c, "reclaim", "namespace => 'ns'");
    claim_x(&mut c, "reclaim", &x, 300);
    let due = now_ms(&mut c) + 300;
    check_transition(&mut c, "reclaim", &x, |c| {
        std::thread::sleep(Duration::from_millis((due - now_ms(c) + 20).max(0) as u64));
        tick_ns(c);
    });
    // Promoted when its delay ended.
    let due = now_ms(&mut c) + 300;
    let x = create_in(&mut c, "promote", &format!("namespace => 'ns', delay_until_ms => {due}"));
    check_transition(&mut c, "promote", &x, |c| {
        std::thread::sleep(Duration::from_millis((due - now_ms(c) + 20).max(0) as u64));
        tick_ns(c);
    });
    // Replayed after a permanent failure.
    let x = create_in(&mut c, "replay", "");
    let l = claim_x(&mut c, "replay", &x, 30000);
    c.query_one("SELECT * FROM ff_fail($1, $2, $3, 'boom', retryable => false)", &[&x, &l.lease_id, &l.lease_epoch]).unwrap();
    check_transition(&mut c, "replay", &x, |c| {
        c.query_one("SELECT * FROM ff_replay_execution($1)", &[&x]).unwrap();
    });
    // Its lease revoked.
    let x = create_in(&mut c, "revoke", "");
    claim_x(&mut c, "revoke", &x, 30000);
    check_transition(&mut c, "revoke", &x, |c| {
        c.query_one("SELECT * FROM ff_revoke_lease($1, 'stuck')", &[&x]).unwrap();
    });
    // Released from an operator's hold.
    let x = create_in(&mut c, "hold", "");
    c.query_one("SELECT * FROM ff_hold_execution($1)", &[&x]).unwrap();
    check_transition(&mut c, "hold", &x, |c| {
        c.query_one("SELECT * FROM ff_release_execution($1)", &[&x]).unwrap();
    });
    // Released when its upstream (in another lane) completed.
    let flow: uuid::Uuid = c.query_one("SELECT flow_id FROM ff_create_flow()", &[]).unwrap().get(0);
    let up = create_in(&mut c, "upstream", &format!("flow_id => '{flow}'"));
    let x = create_in(&mut c, "dependency", &format!("flow_id => '{flow}', depends_on => ARRAY['{up}']"));
    check_transition(&mut c, "dependency", &x, |c| {
        assert_eq!(drain(c, "upstream", 1), vec![up.clone()]);
    });
}
