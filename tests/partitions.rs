//! The partition-first forms of the hot calls (`ff_create_execution_in`, `ff_claim_in`,
//! `ff_renew_lease_in`, `ff_complete_in`, `ff_fail_in`, `ff_suspend_in`, `ff_deliver_signal_in`) on
//! one node: each refuses a partition that is not its arguments', and otherwise does what the plain
//! function does, in that partition only. `ff_distribute` without Citus is a clear WF035. The same
//! file runs against both editions; tests/citus.rs runs them on a Citus cluster.

use ff_engine_tests::*;
use postgres::Client;

/// The partition of a new execution of `lane` without a flow, as the server computes it.
fn partition_of(c: &mut Client, lane: &str) -> i16 {
    c.query_one("SELECT ff_partition_for($1, NULL)", &[&lane]).unwrap().get(0)
}

fn create_at(c: &mut Client, partition: i16, lane: &str) -> String {
    c.query_one("SELECT execution_id FROM ff_create_execution_in($1, $2, '\\x01')", &[&partition, &lane]).unwrap().get(0)
}

fn claim_at(c: &mut Client, partition: i16, lane: &str) -> Option<Lease> {
    c.query("SELECT * FROM ff_claim_in($1, $2, 'w1', 'inst-1')", &[&partition, &lane]).unwrap().first().map(lease_from_row)
}

#[test]
fn a_partition_first_call_refuses_a_partition_its_arguments_are_not_in() {
    let (_db, mut c) = seeded("partitions_mismatch");
    let home = partition_of(&mut c, "lane-a");
    let other = (home + 1) % 256;
    let e = assert_code(&mut c, "SELECT * FROM ff_create_execution_in($1, 'lane-a')", &[&other], "WF001");
    assert_eq!(e.detail.as_deref(), Some("partition_mismatch"), "{e:?}");
    let e = assert_code(&mut c, "SELECT * FROM ff_create_execution_in(NULL, 'lane-a')", &[], "WF001");
    assert_eq!(e.detail.as_deref(), Some("partition_key_required"), "{e:?}");
    // A given execution id decides the partition, as for ff_create_execution.
    let given = format!("{{fp:{other}}}:6f1c1e9e-0000-4000-8000-000000000001");
    let e = assert_code(&mut c, "SELECT * FROM ff_create_execution_in($1, 'lane-a', execution_id => $2)", &[&home, &given], "WF001");
    assert_eq!(e.detail.as_deref(), Some("partition_mismatch"), "{e:?}");
    let created: String =
        c.query_one("SELECT execution_id FROM ff_create_execution_in($1, 'lane-a', execution_id => $2)", &[&other, &given]).unwrap().get(0);
    assert_eq!(created, given);

    let id = create_at(&mut c, home, "lane-a");
    let lease = claim_at(&mut c, home, "lane-a").expect("a claim in the execution's partition");
    assert!(lease.execution_id == id || lease.execution_id == given, "{lease:?}");
    for (sql, what) in [
        ("SELECT * FROM ff_renew_lease_in($1, $2, $3, $4)", "renew"),
        ("SELECT * FROM ff_complete_in($1, $2, $3, $4)", "complete"),
        ("SELECT * FROM ff_fail_in($1, $2, $3, $4, 'broken')", "fail"),
    ] {
        let wrong = if lease.execution_id == id { other } else { home };
        let e = assert_code(&mut c, sql, &[&wrong, &lease.execution_id, &lease.lease_id, &lease.lease_epoch], "WF001");
        assert_eq!(e.detail.as_deref(), Some("partition_mismatch"), "{what}: {e:?}");
    }
    let e = assert_code(&mut c, "SELECT * FROM ff_claim_in(256::smallint, 'lane-a', 'w1', 'inst-1')", &[], "WF001");
    assert_eq!(e.detail.as_deref(), Some("invalid_partition_key"), "{e:?}");
    let e = assert_code(&mut c, "SELECT * FROM ff_claim_in(NULL, 'lane-a', 'w1', 'inst-1')", &[], "WF001");
    assert_eq!(e.detail.as_deref(), Some("partition_key_required"), "{e:?}");
    // The argument checks come in the plain function's order: the lane before the range.
    let e = assert_code(&mut c, "SELECT * FROM ff_claim_in(-1::smallint, '', 'w1', 'inst-1')", &[], "WF001");
    assert_eq!(e.detail.as_deref(), Some("invalid_lane_id"), "{e:?}");
}

#[test]
fn a_claim_in_a_partition_hands_out_that_partitions_rows_only_in_claim_order() {
    let (_db, mut c) = seeded("partitions_claim");
    let home = partition_of(&mut c, "lane-b");
    let elsewhere = (home + 7) % 256;
    let first = create_at(&mut c, home, "lane-b");
    // Another partition of the same lane (as a flow member would be), created in between.
    let away = format!("{{fp:{elsewhere}}}:6f1c1e9e-0000-4000-8000-0000000000b1");
    c.query_one("SELECT * FROM ff_create_execution_in($1, 'lane-b', execution_id => $2)", &[&elsewhere, &away]).unwrap();
    let second = create_at(&mut c, home, "lane-b");
    c.query_one("SELECT * FROM ff_create_execution_in($1, 'lane-b', priority => 5)", &[&home]).unwrap();
    let urgent: String =
        c.query_one("SELECT execution_id FROM ff_executions WHERE lane_id = 'lane-b' AND priority = 5", &[]).unwrap().get(0);

    let order: Vec<String> = std::iter::from_fn(|| claim_at(&mut c, home, "lane-b").map(|l| l.execution_id)).collect();
    assert_eq!(order, vec![urgent, first, second], "priority first, then oldest, in the partition only");
    let away_lease = claim_at(&mut c, elsewhere, "lane-b").expect("the other partition's row");
    assert_eq!(away_lease.execution_id, away);
    let outcome: String = c
        .query_one(
            "SELECT outcome FROM ff_complete_in($1, $2, $3, $4)",
            &[&elsewhere, &away_lease.execution_id, &away_lease.lease_id, &away_lease.lease_epoch],
        )
        .unwrap()
        .get(0);
    assert_eq!(outcome, "completed");
    assert!(claim_at(&mut c, elsewhere, "lane-b").is_none());
    assert_no_orphans(&mut c);
}

#[test]
fn distributing_without_citus_is_a_clear_feature_unavailable() {
    let (_db, mut c) = seeded("partitions_no_citus");
    let e = assert_code(&mut c, "SELECT * FROM ff_distribute()", &[], "WF035");
    assert_eq!(e.detail.as_deref(), Some("citus"), "{e:?}");
    assert!(e.message.starts_with("feature_unavailable: "), "{e:?}");
}
