//! Retention of finished executions: `ff_prune_executions` and `ff_tick`'s
//! `prune_executions` delete a finished execution with every row that belongs to it, in batches of
//! `max_rows`, and leave live and recently finished executions alone.

use ff_engine_tests::*;
use postgres::Client;

const CHILD_TABLES: &[&str] = &[
    "ff_attempt",
    "ff_claim_grant",
    "ff_suspension",
    "ff_waitpoint",
    "ff_signal",
    "ff_signal_dedup",
    "ff_suspend_dedup",
    "ff_usage_dedup",
    "ff_quota_admission",
    "ff_deadline",
];

/// Rows of `id` in ff_exec_core and every child table.
fn rows_of(c: &mut Client, id: &str) -> i64 {
    let uuid = id.split("}:").nth(1).unwrap();
    ["ff_exec_core"].iter().chain(CHILD_TABLES).map(|t| count(c, &format!("SELECT count(*) FROM {t} WHERE execution_id = '{uuid}'"))).sum()
}

/// An execution that suspended, took a deduplicated signal, resumed, reported usage and completed.
fn completed_with_history(c: &mut Client, lane: &str) -> String {
    c.batch_execute(
        "SELECT ff_create_budget('b1', '{\"tokens\": 1000000}') WHERE NOT EXISTS (SELECT 1 FROM ff_budget WHERE budget_id = 'b1')",
    )
    .unwrap();
    let id = create_in(c, lane, "budget_ids => '{b1}', deadline_at_ms => 9000000000000");
    let l = claim_one(c, lane, "w").unwrap();
    let r = c
        .query_one(
            "SELECT waitpoint_id, token FROM ff_suspend($1, $2, $3, ff_cond_single('k'), idempotency_key => 'once')",
            &[&id, &l.lease_id, &l.lease_epoch],
        )
        .unwrap();
    let (wp, token): (uuid::Uuid, String) = (r.get(0), r.get(1));
    c.query_one("SELECT * FROM ff_deliver_signal($1, $2, $3, 'go', idempotency_key => 'sig')", &[&id, &wp, &token]).unwrap();
    let l2 = claim_one(c, lane, "w").unwrap();
    c.query("SELECT * FROM ff_report_usage($1, $2, $3, '{\"tokens\": 5}', 'u1')", &[&id, &l2.lease_id, &l2.lease_epoch]).unwrap();
    c.query_one("SELECT * FROM ff_complete($1, $2, $3, 'done')", &[&id, &l2.lease_id, &l2.lease_epoch]).unwrap();
    id
}

fn backdate(c: &mut Client, id: &str, ms: i64) {
    let uuid: uuid::Uuid = id.split("}:").nth(1).unwrap().parse().unwrap();
    c.execute("UPDATE ff_exec_core SET completed_at_ms = completed_at_ms - $2 WHERE execution_id = $1", &[&uuid, &ms]).unwrap();
}

#[test]
fn pruning_deletes_a_finished_execution_with_everything_it_owns_in_batches() {
    let (_db, mut c) = seeded("ret_prune");
    let old_done = completed_with_history(&mut c, "a");
    let old_failed = create_in(&mut c, "b", "");
    let l = claim_one(&mut c, "b", "w").unwrap();
    c.query_one("SELECT * FROM ff_fail($1, $2, $3, 'x')", &[&old_failed, &l.lease_id, &l.lease_epoch]).unwrap();
    let recent_done = completed_with_history(&mut c, "c");
    let live = create_in(&mut c, "d", "");
    let live_lease = claim_one(&mut c, "d", "w").unwrap();
    let day = 86_400_000i64;
    backdate(&mut c, &old_done, 2 * day);
    backdate(&mut c, &old_failed, 2 * day);
    let before: Vec<i64> = [&old_done, &old_failed, &recent_done, &live].iter().map(|id| rows_of(&mut c, id)).collect();
    assert!(before[0] > 5, "the completed execution owns rows in several tables: {before:?}");
    let cutoff = "(extract(epoch from clock_timestamp()) * 1000)::bigint - 86400000";
    let prune = format!("SELECT ff_prune_executions({cutoff}, max_rows => 1)");
    assert_eq!(count(&mut c, &prune), 1, "one per batch");
    assert_eq!(count(&mut c, &prune), 1);
    assert_eq!(count(&mut c, &prune), 0, "nothing older is left");
    for id in [&old_done, &old_failed] {
        assert_eq!(rows_of(&mut c, id), 0, "{id}: no row left in any table");
        assert_code(&mut c, "SELECT * FROM ff_get_execution($1)", &[id], "WF010");
    }
    assert_eq!(rows_of(&mut c, &recent_done), before[2], "recently finished: untouched");
    assert_eq!(rows_of(&mut c, &live), before[3], "live: untouched");
    c.query_one("SELECT * FROM ff_complete($1, $2, $3)", &[&live, &live_lease.lease_id, &live_lease.lease_epoch]).unwrap();
    assert_no_orphans(&mut c);
    // Only the states asked for.
    backdate(&mut c, &recent_done, 2 * day);
    assert_eq!(count(&mut c, &format!("SELECT ff_prune_executions({cutoff}, '{{failed}}')")), 0);
    assert_eq!(count(&mut c, &format!("SELECT ff_prune_executions({cutoff}, '{{completed}}')")), 1);
}

#[test]
fn tick_prunes_by_the_retention_settings_and_zero_keeps_forever() {
    let (_db, mut c) = seeded("ret_tick");
    let done = completed_with_history(&mut c, "a");
    backdate(&mut c, &done, 10_000);
    let tick = "SELECT processed::bigint FROM ff_tick() WHERE task = 'prune_executions'";
    assert_eq!(count(&mut c, tick), 0, "kept for a day by default");
    c.batch_execute("SET ff_engine.retention_completed_s = 0").unwrap();
    assert_eq!(count(&mut c, tick), 0, "0 keeps forever");
    c.batch_execute("SET ff_engine.retention_completed_s = 5").unwrap();
    assert_eq!(count(&mut c, tick), 1);
    assert_eq!(rows_of(&mut c, &done), 0);
}

#[test]
fn bad_input_to_prune_executions_is_a_documented_error() {
    let (db, mut c) = seeded("ret_errors");
    for sql in [
        "SELECT ff_prune_executions(NULL)",
        "SELECT ff_prune_executions(0, NULL)",
        "SELECT ff_prune_executions(0, '{}')",
        "SELECT ff_prune_executions(0, '{waiting}')",
        "SELECT ff_prune_executions(0, ARRAY[NULL]::text[])",
        "SELECT ff_prune_executions(0, max_rows => 0)",
    ] {
        assert_code(&mut c, sql, &[], "WF001");
    }
    c.batch_execute(
        "DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'ret_worker') THEN CREATE ROLE ret_worker LOGIN; END IF; END $$;
         GRANT ff_worker TO ret_worker;",
    )
    .unwrap();
    let mut w = db.connect_as("ret_worker");
    // Load the library first, so the setting is the extension's and not a placeholder.
    w.query_one("SELECT ff_cond_check('\"TimeoutOnly\"')", &[]).unwrap();
    assert_code(&mut w, "SELECT ff_prune_executions(0)", &[], "42501");
    match (edition(), w.batch_execute("SET ff_engine.retention_completed_s = 1")) {
        (Edition::Rust, Err(e)) => assert_eq!(db_err(&e).code, "42501", "{e:?}"),
        // The SQL edition cannot register a superuser-only setting, so the SET of a placeholder is
        // accepted; a non-superuser session's own value is never read (sql/edition/settings.sql,
        // checked by tests/limits.rs: an_api_role_cannot_set_a_ceiling).
        (Edition::Sql, Ok(())) => {}
        (edition, result) => panic!("SET on the {edition:?} edition: {result:?}"),
    }
}
