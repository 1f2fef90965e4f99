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
