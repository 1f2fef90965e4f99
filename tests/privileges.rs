//! The privilege matrix: (superuser, database owner, ff_admin, ff_worker, ff_signaler, a plain login
//! role) × every ff_ function, table and view. What each role may do is read from one place, the
//! README (its API table's roles column, and the sentences naming the readable tables and views);
//! everything else must be `42501`. Functions are really called (with NULL arguments: a permitted
//! call then fails validation with a WF code, a forbidden one with 42501); tables and views are
//! really selected from.

use ff_engine_tests::*;
use std::collections::{BTreeMap, BTreeSet};

type Expect = BTreeMap<String, BTreeSet<String>>;

/// From the README: function → API roles, and table or view → API roles.
fn readme_expectations() -> (Expect, Expect) {
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../README.md")).unwrap();
    let role = |short: &str| format!("ff_{}", short.trim());
    let mut functions = Expect::new();
    for line in readme.lines().filter(|l| l.starts_with("| `ff_")) {
        let cells: Vec<&str> = line.split('|').collect();
        let roles: BTreeSet<String> = cells[cells.len() - 2].split(',').map(role).collect();
        for name in cells[1].split('`').filter(|s| s.starts_with("ff_")) {
            let name = name.split('(').next().unwrap().to_string();
            functions.insert(name, roles.clone());
        }
    }
    let names_after = |marker: &str| -> Vec<String> {
        let start = readme.find(marker).unwrap_or_else(|| panic!("README lost '{marker}'")) + marker.len();
        let sentence = &readme[start..start + readme[start..].find(['(', '.']).unwrap()];
        sentence.split('`').filter(|s| s.starts_with("ff_")).map(str::to_string).collect()
    };
    let mut relations = Expect::new();
    for t in names_after("Tables readable by all three roles:") {
        relations.insert(t, ["ff_admin", "ff_worker", "ff_signaler"].iter().map(|s| s.to_string()).collect());
    }
    for v in names_after("Views for `ff_admin`:") {
        relations.insert(v, ["ff_admin".to_string()].into());
    }
    (functions, relations)
}

#[test]
fn every_role_can_do_exactly_what_the_readme_says() {
    let db = Cluster::shared().fresh_db("privileges");
    let mut su = db.connect();
    su.batch_execute(
        "DO $$ BEGIN
           IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'pm_plain') THEN CREATE ROLE pm_plain LOGIN; END IF;
           IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'pm_owner') THEN CREATE ROLE pm_owner LOGIN; END IF;
           IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'pm_admin') THEN CREATE ROLE pm_admin LOGIN IN ROLE ff_admin; END IF;
           IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'pm_worker') THEN CREATE ROLE pm_worker LOGIN IN ROLE ff_worker; END IF;
           IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'pm_signaler') THEN CREATE ROLE pm_signaler LOGIN IN ROLE ff_signaler; END IF;
           EXECUTE format('ALTER DATABASE %I OWNER TO pm_owner', current_database());
         END $$;
         SELECT * FROM ff_seed_hmac('k1');",
    )
    .unwrap();
    let (functions, relations) = readme_expectations();
    // (name, a typed NULL for each argument, whether it is an internal helper, which no API role may call: the
    // SQL edition's, and in both editions those of sql/shared/ and the two the flow code calls)
    let in_db: Vec<(String, Vec<String>, bool)> = su
        .query(
            &format!(
                "SELECT p.proname::text,
                        ARRAY(SELECT CASE WHEN p.provariadic <> 0 AND i = p.pronargs THEN 'VARIADIC ' ELSE '' END || format('(SELECT NULL::%s)', format_type(t, NULL))
                              FROM unnest(p.proargtypes) WITH ORDINALITY a(t, i) ORDER BY i),
                        {IS_INTERNAL} FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
                 WHERE p.proname LIKE 'ff\\_%' AND n.nspname = current_schema()
                   -- trigger functions: nobody can call them but their trigger
                   AND p.prorettype <> 'trigger'::regtype ORDER BY 1"
            ),
            &[],
        )
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2)))
        .collect();
    // A function's body (`<name>_body`, the SQL edition's and sql/shared/'s) has the function's grants
    // (finalize.sql): the API name it answers to.
    let names: std::collections::BTreeSet<String> = in_db.iter().map(|f| f.0.clone()).collect();
    let api_name = |name: &str| -> String {
        match name.strip_suffix("_body") {
            Some(shell) if names.contains(shell) => shell.to_string(),
            _ => name.to_string(),
        }
    };
    let in_db: Vec<(String, Vec<String>, bool)> =
        in_db.iter().map(|(n, t, internal)| (n.clone(), t.clone(), *internal && api_name(n) == *n)).collect();
    let internal = in_db.iter().filter(|f| f.2).count();
    match edition() {
        Edition::Rust => assert!((20..70).contains(&internal), "the Rust edition's helpers are sql/shared/'s and the schema's: {internal}"),
        Edition::Sql => assert!(internal > 50, "the SQL edition's helpers: {internal}"),
    }
    let tables: Vec<(String, bool)> = su
        .query(
            "SELECT relname::text, relkind = 'r' FROM pg_class WHERE relkind IN ('r', 'v') AND relname LIKE 'ff\\_%'
               AND relnamespace = current_schema()::regnamespace ORDER BY 1",
            &[],
        )
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    let mut wrong = Vec::new();
    // (login, API role it holds or none, is superuser)
    for (login, api_role, superuser) in [
        ("postgres", None, true),
        ("pm_owner", None, false),
        ("pm_admin", Some("ff_admin"), false),
        ("pm_worker", Some("ff_worker"), false),
        ("pm_signaler", Some("ff_signaler"), false),
        ("pm_plain", None, false),
    ] {
        let mut c = db.connect_as(login);
        for (name, types, internal) in &in_db {
            let allowed = superuser
                || !internal && {
                    let api = api_name(name);
                    let roles = functions.get(&api).unwrap_or_else(|| panic!("{api} is not in the README's API table"));
                    api_role.is_some_and(|r| roles.contains(r))
                };
            // Typed NULLs the planner cannot fold (a STRICT function called with a constant NULL is
            // reduced to NULL before any privilege check).
            let args = types.join(", ");
            let denied = match c.query(&format!("SELECT * FROM {name}({args})"), &[]) {
                Ok(_) => false,
                Err(e) => db_err(&e).code == "42501",
            };
            if denied == allowed {
                wrong.push(format!("{login} {} {name}", if allowed { "was refused" } else { "could call" }));
            }
        }
        for (t, is_table) in &tables {
            let allowed = superuser || api_role.is_some_and(|r| relations.get(t).is_some_and(|roles| roles.contains(r)));
            let denied = match c.query(&format!("SELECT 1 FROM {t} LIMIT 1"), &[]) {
                Ok(_) => false,
                Err(e) => db_err(&e).code == "42501",
            };
            if denied == allowed {
                wrong.push(format!("{login} {} {t}", if allowed { "could not read" } else { "could read" }));
            }
            if !superuser && *is_table {
                let e = expect_err(&mut c, &format!("DELETE FROM {t} WHERE false"), &[]);
                if e.code != "42501" {
                    wrong.push(format!("{login} could write {t} ({})", e.code));
                }
            }
        }
    }
    assert!(in_db.len() >= 30 && tables.len() >= 15, "{} functions, {} tables", in_db.len(), tables.len());
    assert!(wrong.is_empty(), "the privileges differ from the README's:\n{}", wrong.join("\n"));
}

/// `CREATE EXTENSION ff_engine SCHEMA s` into a schema the installer owns: the SECURITY DEFINER
/// functions run as ff_engine_owner, which needs USAGE on that schema to find its tables (finalize.sql
/// grants it). Without it every call was "relation does not exist".
#[test]
fn extension_in_a_schema_of_its_own_works() {
    let cluster = Cluster::shared();
    let mut admin = cluster.connect("postgres", "postgres");
    admin.batch_execute("DROP DATABASE IF EXISTS t_own_schema WITH (FORCE)").unwrap();
    admin.batch_execute("CREATE DATABASE t_own_schema").unwrap();
    let mut c = cluster.connect("t_own_schema", "postgres");
    c.batch_execute("CREATE SCHEMA wf; CREATE EXTENSION ff_engine SCHEMA wf").unwrap();
    c.query_one("SELECT * FROM wf.ff_seed_hmac('k1')", &[]).unwrap();
    let id: String = c.query_one("SELECT execution_id FROM wf.ff_create_execution('l')", &[]).unwrap().get(0);
    let claimed: String = c.query_one("SELECT execution_id FROM wf.ff_claim('l', 'w', 'i')", &[]).unwrap().get(0);
    assert_eq!(claimed, id);
}
