//! Acceptance, "Keys" security lines: roles, ownership, pinned search_path, trusted install by a
//! non-superuser database owner, hostile search_path.

use ff_engine_tests::*;

#[test]
fn signaler_cannot_touch_keys() {
    let db = Cluster::shared().fresh_db("signaler_keys");
    let mut su = db.connect();
    su.batch_execute(
        "DO $$ BEGIN
           IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'it_signaler') THEN CREATE ROLE it_signaler LOGIN; END IF;
           IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'it_admin') THEN CREATE ROLE it_admin LOGIN; END IF;
         END $$;
         GRANT ff_signaler TO it_signaler; GRANT ff_admin TO it_admin;
         SELECT * FROM ff_seed_hmac('k1');",
    )
    .unwrap();
    let mut sig = db.connect_as("it_signaler");
    for sql in [
        "SELECT * FROM ff_seed_hmac('k2')",
        "SELECT * FROM ff_rotate_hmac('k2')",
        "SELECT * FROM ff_hmac_kids()",
        "SELECT * FROM ff_keystore",
        "SELECT secret FROM ff_keystore",
    ] {
        assert_code(&mut sig, sql, &[], "42501");
    }
    // The admin role can call the key functions but still cannot read the keystore table.
    let mut admin = db.connect_as("it_admin");
    admin.query_one("SELECT * FROM ff_rotate_hmac('k2')", &[]).unwrap();
    assert_eq!(admin.query("SELECT * FROM ff_hmac_kids()", &[]).unwrap().len(), 2);
    assert_code(&mut admin, "SELECT * FROM ff_keystore", &[], "42501");
    // PUBLIC has nothing: a plain login role can call no function and read no table.
    su.batch_execute(
        "DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'it_nobody') THEN CREATE ROLE it_nobody LOGIN; END IF; END $$;",
    )
    .unwrap();
    let mut nobody = db.connect_as("it_nobody");
    assert_code(&mut nobody, "SELECT * FROM ff_hmac_kids()", &[], "42501");
    assert_code(&mut nobody, "SELECT * FROM ff_signal_event", &[], "42501");
}

#[test]
fn kid_listing_never_shows_secret() {
    let db = Cluster::shared().fresh_db("kids_no_secret");
    let mut c = db.connect();
    let s = hex32(0x42);
    c.query_one("SELECT * FROM ff_seed_hmac('k1', $1)", &[&s]).unwrap();
    let cols: Vec<String> =
        column(&mut c, "SELECT column_name::text FROM information_schema.columns WHERE table_name = 'ff_hmac_kids'", &[]);
    assert!(cols.is_empty(), "ff_hmac_kids is a function, not a table");
    let out: Vec<String> = column(&mut c, "SELECT ff_hmac_kids()::text", &[]);
    assert_eq!(out.len(), 1);
    assert!(!out[0].contains(&s) && !out[0].contains("\\x42"), "{}", out[0]);
    // No view of the extension exposes a bytea column called secret.
    let leaks: i64 = c
        .query_one(
            "SELECT count(*) FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
             WHERE c.relkind = 'v' AND c.relname LIKE 'ff\\_%' AND a.attname ILIKE '%secret%'",
            &[],
        )
        .unwrap()
        .get(0);
    assert_eq!(leaks, 0);
}

#[test]
fn security_definer_functions_are_owned_by_non_superuser_with_pinned_search_path() {
    let db = Cluster::shared().fresh_db("definer_owner");
    let mut c = db.connect();
    let rows = c
        .query(
            "SELECT p.proname::text, r.rolname::text, r.rolsuper, p.proconfig::text[]
             FROM pg_proc p
             JOIN pg_roles r ON r.oid = p.proowner
             JOIN pg_depend d ON d.classid = 'pg_proc'::regclass AND d.objid = p.oid AND d.deptype = 'e'
             JOIN pg_extension e ON e.oid = d.refobjid AND e.extname = 'ff_engine'
             WHERE p.prosecdef",
            &[],
        )
        .unwrap();
    assert!(rows.len() >= 3, "the key functions are SECURITY DEFINER");
    for r in rows {
        let name: String = r.get(0);
        assert_eq!(r.get::<_, String>(1), "ff_engine_owner", "{name}");
        assert!(!r.get::<_, bool>(2), "{name} is owned by a superuser");
        let config: Option<Vec<String>> = r.get(3);
        let config = config.unwrap_or_default();
        assert!(
            config.iter().any(|c| c.starts_with("search_path=") && c.ends_with("pg_temp")),
            "{name}: search_path not pinned: {config:?}"
        );
    }
    let owner_super: bool =
        c.query_one("SELECT rolsuper OR rolcanlogin FROM pg_roles WHERE rolname = 'ff_engine_owner'", &[]).unwrap().get(0);
    assert!(!owner_super, "ff_engine_owner must be NOLOGIN and not superuser");
    // Every table is owned by ff_engine_owner and has a comment.
    let bad: Vec<String> = column(
            &mut c,
            "SELECT c.relname::text FROM pg_class c
             JOIN pg_depend d ON d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'e'
             JOIN pg_extension e ON e.oid = d.refobjid AND e.extname = 'ff_engine'
             WHERE c.relkind IN ('r','v') AND (pg_get_userbyid(c.relowner) <> 'ff_engine_owner' OR obj_description(c.oid, 'pg_class') IS NULL)",
            &[],
        );
    assert!(bad.is_empty(), "tables without owner/comment: {bad:?}");
    let uncommented: Vec<String> = column(
        &mut c,
        "SELECT p.oid::regprocedure::text FROM pg_proc p
             JOIN pg_depend d ON d.classid = 'pg_proc'::regclass AND d.objid = p.oid AND d.deptype = 'e'
             JOIN pg_extension e ON e.oid = d.refobjid AND e.extname = 'ff_engine'
             WHERE obj_description(p.oid, 'pg_proc') IS NULL",
        &[],
    );
    assert!(uncommented.is_empty(), "functions without COMMENT: {uncommented:?}");
    let domains: Vec<(String, String, bool)> = c
        .query(
            "SELECT t.typname::text, pg_get_userbyid(t.typowner)::text, obj_description(t.oid, 'pg_type') IS NOT NULL FROM pg_type t
             JOIN pg_depend d ON d.classid = 'pg_type'::regclass AND d.objid = t.oid AND d.deptype = 'e'
             JOIN pg_extension e ON e.oid = d.refobjid AND e.extname = 'ff_engine'
             WHERE t.typtype = 'd' ORDER BY 1",
            &[],
        )
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2)))
        .collect();
    assert!(domains.len() >= 10, "{domains:?}");
    assert!(domains.iter().all(|(_, owner, commented)| owner == "ff_engine_owner" && *commented), "{domains:?}");
}

#[test]
fn non_superuser_database_owner_can_create_extension() {
    let cluster = Cluster::shared();
    let mut su = cluster.connect("postgres", "postgres");
    su.batch_execute("DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'it_dbowner') THEN CREATE ROLE it_dbowner LOGIN NOSUPERUSER; END IF; END $$")
        .unwrap();
    su.batch_execute("DROP DATABASE IF EXISTS t_owned WITH (FORCE)").unwrap();
    su.batch_execute("CREATE DATABASE t_owned OWNER it_dbowner").unwrap();
    if through_pgtle() {
        // pg_tle runs the extension's script as the creating role, with no switch to a superuser, and
        // the script hands every object to ff_engine_owner: the documented step is this grant.
        su.batch_execute("GRANT ff_engine_owner TO it_dbowner").unwrap();
    }
    let mut owner = cluster.connect("t_owned", "it_dbowner");
    let is_super: bool = owner.query_one("SELECT rolsuper FROM pg_roles WHERE rolname = current_user", &[]).unwrap().get(0);
    assert!(!is_super);
    owner.batch_execute("CREATE EXTENSION ff_engine").unwrap();
    if through_pgtle() {
        // Needed to create the extension only: once it exists, the membership goes (docs/sql-edition.md).
        su.batch_execute("REVOKE ff_engine_owner FROM it_dbowner").unwrap();
        owner = cluster.connect("t_owned", "it_dbowner");
    }
    // The owner can grant itself ff_admin? No: it must be granted by a role admin. As database owner
    // it can still not read secrets.
    assert_code(&mut owner, "SELECT * FROM ff_keystore", &[], "42501");
    su.batch_execute("GRANT ff_admin TO it_dbowner").unwrap();
    let mut owner = cluster.connect("t_owned", "it_dbowner");
    let r = owner.query_one("SELECT outcome FROM ff_seed_hmac('k1')", &[]).unwrap();
    assert_eq!(r.get::<_, String>(0), "seeded");
    let fn_owner: String =
        owner.query_one("SELECT pg_get_userbyid(proowner)::text FROM pg_proc WHERE proname = 'ff_seed_hmac'", &[]).unwrap().get(0);
    assert_eq!(fn_owner, "ff_engine_owner");
    owner.batch_execute("DROP EXTENSION ff_engine").unwrap();
}

#[test]
fn hostile_search_path_does_not_change_behaviour() {
    let db = Cluster::shared().fresh_db("hostile_path");
    let mut c = db.connect();
    c.query_one("SELECT * FROM ff_seed_hmac('real')", &[]).unwrap();
    c.batch_execute(
        "CREATE SCHEMA evil;
         CREATE TABLE evil.ff_keystore (kid text, secret bytea, created_at_ms bigint, rotated_at_ms bigint, active boolean, expires_at_ms bigint);
         INSERT INTO evil.ff_keystore VALUES ('fake', '\\x00', 0, NULL, true, NULL);
         CREATE FUNCTION evil.lower(text) RETURNS text LANGUAGE sql AS 'SELECT ''pwned''';
         SET search_path = evil, public;",
    )
    .unwrap();
    let kids: Vec<String> = column(&mut c, "SELECT kid FROM public.ff_hmac_kids()", &[]);
    assert_eq!(kids, vec!["real"]);
    c.query_one("SELECT * FROM public.ff_rotate_hmac('next')", &[]).unwrap();
    let n: i64 = c.query_one("SELECT count(*) FROM evil.ff_keystore", &[]).unwrap().get(0);
    assert_eq!(n, 1, "nothing was written into the attacker's table");
    let active: String = c.query_one("SELECT kid FROM public.ff_hmac_kids() WHERE active", &[]).unwrap().get(0);
    assert_eq!(active, "next");
}

#[test]
fn robustness_of_key_functions() {
    let db = Cluster::shared().fresh_db("key_robustness");
    let mut c = db.connect();
    let huge = "x".repeat(1 << 20);
    let inputs: Vec<Option<String>> =
        vec![None, Some(String::new()), Some(huge.clone()), Some("{\"a\":".into()), Some("{fp:999}:nope".into()), Some("\u{1F600}".into())];
    for a in &inputs {
        for b in &inputs {
            for sql in ["SELECT * FROM ff_seed_hmac($1, $2)", "SELECT * FROM ff_rotate_hmac($1, $2)"] {
                match c.query(sql, &[a, b]) {
                    Ok(_) => {}
                    Err(e) => {
                        let e = db_err(&e);
                        assert!(
                            e.code.starts_with("WF"),
                            "{sql} {:?}/{:?} gave {e:?}",
                            a.as_ref().map(|s| s.len()),
                            b.as_ref().map(|s| s.len())
                        );
                        assert_ne!(e.code, "WF099");
                    }
                }
            }
        }
    }
    let alive: i32 = c.query_one("SELECT 1", &[]).unwrap().get(0);
    assert_eq!(alive, 1);
}

/// No function of either edition builds SQL at run time from its arguments: no PL/pgSQL EXECUTE, so no
/// statement text can come from an argument. (The Rust edition's functions are C; its SQL-language
/// ones are the condition builders and the pg_cron helpers. The ownership and grant blocks that do use
/// EXECUTE run once, at install, over names read from the catalog.) One function takes no argument and
/// sends a constant command to every Citus node, whose EXECUTE alters the extension's functions by the
/// names that node's catalog holds, as the install's blocks do: `ff_distribute_nodes()`.
#[test]
fn no_function_builds_sql_from_its_arguments() {
    let db = Cluster::shared().fresh_db("no_dynamic_sql");
    let mut c = db.connect();
    let dynamic: Vec<String> = column(
        &mut c,
        "SELECT p.oid::regprocedure::text FROM pg_proc p
         JOIN pg_depend d ON d.classid = 'pg_proc'::regclass AND d.objid = p.oid AND d.deptype = 'e'
         JOIN pg_extension e ON e.oid = d.refobjid AND e.extname = 'ff_engine'
         JOIN pg_language l ON l.oid = p.prolang AND l.lanname IN ('sql', 'plpgsql')
         WHERE p.prosrc ~* '\\mexecute\\M'",
        &[],
    );
    assert_eq!(dynamic, ["ff_distribute_nodes()"], "functions with EXECUTE");
    let arguments: i64 = count(&mut c, "SELECT pronargs::bigint FROM pg_proc WHERE proname = 'ff_distribute_nodes'");
    assert_eq!(arguments, 0, "ff_distribute_nodes takes no argument");
    let in_sql: i64 = count(
        &mut c,
        "SELECT count(*) FROM pg_proc p
         JOIN pg_depend d ON d.classid = 'pg_proc'::regclass AND d.objid = p.oid AND d.deptype = 'e'
         JOIN pg_extension e ON e.oid = d.refobjid AND e.extname = 'ff_engine'
         JOIN pg_language l ON l.oid = p.prolang AND l.lanname IN ('sql', 'plpgsql')",
    );
    let least = match edition() {
        Edition::Rust => 8,
        Edition::Sql => 140,
    };
    assert!(in_sql >= least, "{in_sql} SQL and PL/pgSQL functions: the check above read them all");
}
