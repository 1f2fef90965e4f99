//! Plan stability: every backend prepares each statement once and keeps the plan. A backend whose
//! first call comes while the tables are empty (just created, or vacuumed empty: relpages = 0) must
//! still plan index look-ups, or it scans whole tables for the rest of its life. The extension's
//! SQL-running functions carry `enable_seqscan = off`, `enable_bitmapscan = off` (a claim in one of
//! many lanes would read every claimable row of its lane), `plan_cache_mode = force_generic_plan` and
//! `jit = off` (a generic plan costed for a deep queue would otherwise be JIT-compiled on every call).

use ff_engine_tests::*;

#[test]
fn first_calls_on_empty_tables_plan_index_lookups() {
    let db = Cluster::shared().fresh_db("plans_empty");
    let mut setup = db.connect();
    setup.query_one("SELECT * FROM ff_seed_hmac('k1', repeat('11', 32))", &[]).unwrap();
    setup.batch_execute("VACUUM ANALYZE").unwrap(); // every ff_ table empty, relpages = 0

    // A fresh backend: no kept plans yet. One whole cycle (create, claim, suspend, deliver, claim the
    // resumed execution, complete) in one transaction, so pg_stat_xact_user_tables counts its scans.
    let mut c = db.connect();
    let mut tx = c.transaction().unwrap();
    let id: String = tx.query_one("SELECT execution_id FROM ff_create_execution('lane')", &[]).unwrap().get(0);
    let lease = lease_from_row(&tx.query_one("SELECT * FROM ff_claim('lane', 'w', 'i')", &[]).unwrap());
    let cond = r#"{"Single":{"waitpoint_key":"k","matcher":{"ByName":"go"}}}"#;
    let s = tx
        .query_one(
            "SELECT waitpoint_id, token FROM ff_suspend($1, $2, $3, $4::text::jsonb)",
            &[&id, &lease.lease_id, &lease.lease_epoch, &cond],
        )
        .unwrap();
    let (wp, token): (uuid::Uuid, String) = (s.get(0), s.get(1));
    let effect: String = tx.query_one("SELECT effect FROM ff_deliver_signal($1, $2, $3, 'go')", &[&id, &wp, &token]).unwrap().get(0);
    assert_eq!(effect, "resume_condition_satisfied");
    let resumed = lease_from_row(&tx.query_one("SELECT * FROM ff_claim('lane', 'w', 'i')", &[]).unwrap());
    assert!(resumed.resumed);
    let outcome: String =
        tx.query_one("SELECT outcome FROM ff_complete($1, $2, $3)", &[&id, &resumed.lease_id, &resumed.lease_epoch]).unwrap().get(0);
    assert_eq!(outcome, "completed");
    let scans: Vec<(String, i64, i64)> = tx
        .query(
            "SELECT relname::text, seq_scan, coalesce(idx_scan, 0) FROM pg_stat_xact_user_tables \
             WHERE relname LIKE 'ff\\_%' AND (seq_scan > 0 OR idx_scan > 0) ORDER BY relname",
            &[],
        )
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2)))
        .collect();
    tx.commit().unwrap();
    let seq: Vec<_> = scans.iter().filter(|(_, s, _)| *s > 0).collect();
    assert!(seq.is_empty(), "sequential scans planned on empty tables: {seq:?}");
    // And the cycle did read through indexes (the counters work).
    assert!(scans.iter().any(|(t, _, i)| t == "ff_waitpoint" && *i > 0), "{scans:?}");
    assert!(scans.iter().any(|(t, _, i)| t == "ff_exec_core" && *i > 0), "{scans:?}");
}

#[test]
fn every_sql_running_function_pins_its_plan_settings() {
    let db = Cluster::shared().fresh_db("plans_config");
    let mut c = db.connect();
    let missing: Vec<String> = column(
            &mut c,
            "SELECT p.proname::text FROM pg_proc p JOIN pg_depend d ON d.objid = p.oid AND d.classid = 'pg_proc'::regclass \
             JOIN pg_extension x ON x.oid = d.refobjid AND x.extname = 'ff_engine' \
             WHERE p.proconfig IS NOT NULL AND NOT (p.proconfig @> ARRAY['enable_seqscan=off', 'enable_bitmapscan=off', 'plan_cache_mode=force_generic_plan', 'jit=off'])",
            &[],
        );
    assert!(missing.is_empty(), "{missing:?}");
    let with_config = count(
        &mut c,
        "SELECT count(*) FROM pg_proc p JOIN pg_depend d ON d.objid = p.oid AND d.classid = 'pg_proc'::regclass \
         JOIN pg_extension x ON x.oid = d.refobjid AND x.extname = 'ff_engine' WHERE p.proconfig IS NOT NULL",
    );
    assert!(with_config >= 30, "{with_config}");
}

#[test]
fn claims_in_one_of_many_lanes_read_from_the_head_of_the_lane() {
    // With many lanes the generic plan's estimate for one lane is a few rows; left to choose, the
    // planner read every claimable row of the lane through a bitmap and sorted them for the first.
    let db = Cluster::shared().fresh_db("plans_lanes");
    let mut setup = db.connect();
    setup
        .batch_execute(
            "SELECT count(*) FROM (SELECT ff_create_execution(lane_id => 'lane' || (g % 16)) FROM generate_series(1, 4000) g) s; \
             ANALYZE",
        )
        .unwrap();
    let mut c = db.connect();
    let mut tx = c.transaction().unwrap();
    for _ in 0..5 {
        let rows = tx.query("SELECT * FROM ff_claim('lane3', 'w', 'i')", &[]).unwrap();
        assert_eq!(rows.len(), 1);
    }
    let fetched: i64 =
        tx.query_one("SELECT coalesce(idx_tup_fetch, 0) FROM pg_stat_xact_user_tables WHERE relname = 'ff_exec_core'", &[]).unwrap().get(0);
    tx.commit().unwrap();
    // Five claims of one row each: a few look-ups apiece, not the lane's 250 claimable rows.
    assert!(fetched <= 50, "five claims fetched {fetched} rows of ff_exec_core");
}
