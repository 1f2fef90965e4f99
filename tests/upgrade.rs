//! Upgrades: a database created with the previous release's SQL (`sql/releases/`), used
//! against this release's library (what a package upgrade does before anyone runs ALTER EXTENSION),
//! filled with executions in every state, then `ALTER EXTENSION ff_engine UPDATE`. Afterwards the
//! schema equals a fresh install's (catalogs compared object by object: functions with their
//! arguments, results, settings, owners, grants and comments; tables and columns; indexes; views;
//! domains; constraints), and every execution carries on: leases renew and complete, suspended
//! executions resume on their old tokens, delayed ones are promoted, keys rotate.

use ff_engine_tests::*;
use postgres::Client;
use std::collections::BTreeSet;

const PREVIOUS: &str = "0.1.0";

/// Every object of the extension, one line each, comparable between databases.
fn catalog(c: &mut Client) -> BTreeSet<String> {
    let queries = [
        // Functions.
        "SELECT 'function ' || p.proname || '(' || pg_get_function_arguments(p.oid) || ') -> ' || pg_get_function_result(p.oid)
                || ' src=' || p.prosrc || ' config=' || coalesce(array_to_string(p.proconfig, ','), '')
                || ' owner=' || pg_get_userbyid(p.proowner) || ' acl=' || coalesce(p.proacl::text, '')
                || ' secdef=' || p.prosecdef || ' volatile=' || p.provolatile::text || ' parallel=' || p.proparallel::text
                || ' strict=' || p.proisstrict || ' comment=' || coalesce(obj_description(p.oid, 'pg_proc'), '')
         FROM pg_proc p JOIN pg_depend d ON d.objid = p.oid AND d.classid = 'pg_proc'::regclass AND d.deptype = 'e'
         JOIN pg_extension x ON x.oid = d.refobjid AND x.extname = 'ff_engine'",
        // Tables, views, sequences, indexes.
        "SELECT 'relation ' || c.relkind::text || ' ' || c.relname || ' owner=' || pg_get_userbyid(c.relowner)
                || ' acl=' || coalesce(c.relacl::text, '') || ' options=' || coalesce(array_to_string(c.reloptions, ','), '')
                || ' comment=' || coalesce(obj_description(c.oid, 'pg_class'), '')
                || CASE c.relkind WHEN 'i' THEN ' def=' || pg_get_indexdef(c.oid)
                                  WHEN 'v' THEN ' def=' || pg_get_viewdef(c.oid) ELSE '' END
         FROM pg_class c WHERE c.relnamespace = current_schema()::regnamespace AND c.relname LIKE 'ff\\_%'",
        // Columns, by position among the live ones.
        "SELECT 'column ' || c.relname || ' #' || row_number() OVER (PARTITION BY c.oid ORDER BY a.attnum) || ' ' || a.attname
                || ' ' || format_type(a.atttypid, a.atttypmod) || ' notnull=' || a.attnotnull
                || ' identity=' || a.attidentity::text || ' generated=' || a.attgenerated::text
                || ' default=' || coalesce(pg_get_expr(ad.adbin, ad.adrelid), '')
         FROM pg_class c JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
         LEFT JOIN pg_attrdef ad ON ad.adrelid = c.oid AND ad.adnum = a.attnum
         WHERE c.relnamespace = current_schema()::regnamespace AND c.relname LIKE 'ff\\_%' AND c.relkind IN ('r', 'v')",
        // Constraints of tables and domains.
        "SELECT 'constraint ' || coalesce(c.relname, t.typname) || ' ' || k.conname || ' ' || pg_get_constraintdef(k.oid)
         FROM pg_constraint k LEFT JOIN pg_class c ON c.oid = k.conrelid LEFT JOIN pg_type t ON t.oid = k.contypid
         WHERE k.connamespace = current_schema()::regnamespace",
        // Domains.
        "SELECT 'domain ' || t.typname || ' ' || format_type(t.typbasetype, t.typtypmod) || ' owner=' || pg_get_userbyid(t.typowner)
                || ' comment=' || coalesce(obj_description(t.oid, 'pg_type'), '')
         FROM pg_type t WHERE t.typnamespace = current_schema()::regnamespace AND t.typtype = 'd'",
    ];
    queries.iter().flat_map(|q| c.query(*q, &[]).unwrap().into_iter().map(|r| r.get::<_, String>(0))).collect()
}

fn version(c: &mut Client) -> String {
    c.query_one("SELECT extversion FROM pg_extension WHERE extname = 'ff_engine'", &[]).unwrap().get(0)
}

/// What the filled database holds, to carry on with after the update.
struct Filled {
    queued: String,
    leased: Lease,
    suspended: String,
    /// (waitpoint id, token) of the suspended execution's still-pending waitpoint.
    pending_wp: (uuid::Uuid, String),
    delayed: String,
    failed: String,
    completed: String,
}

/// Executions in every state, through the previous release's SQL running on this library.
fn fill(c: &mut Client) -> Filled {
    c.query_one("SELECT * FROM ff_seed_hmac('k1', repeat('11', 32))", &[]).unwrap();
    let queued = create_in(c, "q", "");
    create_in(c, "l", "");
    let leased = claim_one(c, "l", "w").unwrap();
    let suspended = create_in(c, "s", "");
    let ls = claim_one(c, "s", "w").unwrap();
    let cond = r#"{"Composite":{"kind":"AllOf","members":[{"Single":{"waitpoint_key":"a","matcher":"Wildcard"}},{"Single":{"waitpoint_key":"b","matcher":"Wildcard"}}]}}"#;
    let rows = c
        .query(
            "SELECT waitpoint_key, waitpoint_id, token FROM ff_suspend($1, $2, $3, $4::text::jsonb)",
            &[&suspended, &ls.lease_id, &ls.lease_epoch, &cond],
        )
        .unwrap();
    let wp =
        |key: &str| rows.iter().find(|r| r.get::<_, String>(0) == key).map(|r| (r.get::<_, uuid::Uuid>(1), r.get::<_, String>(2))).unwrap();
    // One waitpoint satisfied before the update, one still pending.
    let (a_id, a_token) = wp("a");
    let effect: Option<String> =
        c.query_one("SELECT effect FROM ff_deliver_signal($1, $2, $3, 'go')", &[&suspended, &a_id, &a_token]).unwrap().get(0);
    assert_eq!(effect.as_deref(), Some("appended_to_waitpoint"));
    let delayed = create_in(c, "d", "delay_until_ms => (extract(epoch from clock_timestamp()) * 1000)::bigint + 300");
    let failed = create_in(c, "f", "");
    let lf = claim_one(c, "f", "w").unwrap();
    c.query_one("SELECT * FROM ff_fail($1, $2, $3, 'broken')", &[&failed, &lf.lease_id, &lf.lease_epoch]).unwrap();
    let completed = create_in(c, "c", "");
    let lc = claim_one(c, "c", "w").unwrap();
    c.query_one("SELECT * FROM ff_complete($1, $2, $3, 'ok')", &[&completed, &lc.lease_id, &lc.lease_epoch]).unwrap();
    Filled { queued, leased, suspended, pending_wp: wp("b"), delayed, failed, completed }
}

#[test]
fn previous_release_runs_on_this_library_and_updates_to_a_fresh_install() {
    if rust_edition_only("the SQL edition's first release is 0.2.0: there is no earlier SQL-edition release to update from") {
        return;
    }
    let fresh_db = Cluster::shared().fresh_db("upgrade_fresh");
    let fresh = catalog(&mut fresh_db.connect());
    let current = version(&mut fresh_db.connect());
    assert_ne!(current, PREVIOUS);

    let db = Cluster::shared().fresh_db("upgrade_old");
    let mut c = db.connect();
    c.batch_execute(&format!("DROP EXTENSION ff_engine CASCADE; CREATE EXTENSION ff_engine VERSION '{PREVIOUS}'")).unwrap();
    assert_eq!(version(&mut c), PREVIOUS);
    let old = catalog(&mut c);
    assert_ne!(old, fresh, "the releases differ, so the comparison below means something");
    let f = fill(&mut c);
    // The previous release's scanners on its own schema: its seven tasks, its three event tables
    // (this library's statements name a deadline column and an operator table it does not have).
    let tasks: Vec<String> = column(&mut c, "SELECT task FROM ff_tick()", &[]);
    assert_eq!(tasks.len(), 7, "{tasks:?}");
    assert_eq!(count(&mut c, "SELECT count(*) FROM ff_prune_events(0)"), 3);

    c.batch_execute("ALTER EXTENSION ff_engine UPDATE").unwrap();
    assert_eq!(version(&mut c), current);
    let upgraded = catalog(&mut c);
    let missing: Vec<_> = fresh.difference(&upgraded).collect();
    let extra: Vec<_> = upgraded.difference(&fresh).collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "after the update the schema differs from a fresh install:\nmissing {missing:#?}\nextra {extra:#?}"
    );

    // Every execution carries on.
    c.query_one("SELECT * FROM ff_renew_lease($1, $2, $3)", &[&f.leased.execution_id, &f.leased.lease_id, &f.leased.lease_epoch]).unwrap();
    c.query_one("SELECT * FROM ff_complete($1, $2, $3, 'after')", &[&f.leased.execution_id, &f.leased.lease_id, &f.leased.lease_epoch])
        .unwrap();
    let (b_id, b_token) = &f.pending_wp;
    let effect: Option<String> =
        c.query_one("SELECT effect FROM ff_deliver_signal($1, $2, $3, 'go')", &[&f.suspended, b_id, b_token]).unwrap().get(0);
    assert_eq!(effect.as_deref(), Some("resume_condition_satisfied"), "the old token resumes it");
    let resumed = claim_one(&mut c, "s", "w").unwrap();
    assert!(resumed.resumed);
    c.query_one("SELECT * FROM ff_complete($1, $2, $3)", &[&f.suspended, &resumed.lease_id, &resumed.lease_epoch]).unwrap();
    std::thread::sleep(std::time::Duration::from_millis(400));
    c.batch_execute("SELECT * FROM ff_tick()").unwrap();
    assert_eq!(claim_one(&mut c, "d", "w").unwrap().execution_id, f.delayed, "the delayed one was promoted");
    assert_eq!(claim_one(&mut c, "q", "w").unwrap().execution_id, f.queued);
    c.query_one("SELECT * FROM ff_rotate_hmac('k2')", &[]).unwrap();
    // And the new API works on the old rows.
    let result: Option<Vec<u8>> = c.query_one("SELECT result FROM ff_get_execution($1)", &[&f.completed]).unwrap().get(0);
    assert_eq!(result.as_deref(), Some(&b"ok"[..]));
    c.query_one("SELECT * FROM ff_replay_execution($1)", &[&f.failed]).unwrap();
    assert_eq!(claim_one(&mut c, "f", "w").unwrap().attempt_index, 1);
    assert_eq!(count(&mut c, "SELECT count(*) FROM ff_operator_event"), 1);
    assert_no_orphans(&mut c);
}
