//! The SQL edition's install artifacts (scripts/sql-edition.sh): the pg_tle installer carries the
//! extension script byte for byte and calls pg_tle's documented functions (pg_tle itself is not
//! reachable here, so it is not run); the standalone script installs with psql -f into a schema of its
//! own, does nothing the second time, leaves PUBLIC nothing, works, and its uninstall script removes it;
//! in a schema it shares it leaves the other objects as they are.

use ff_engine_tests::*;
use std::path::{Path, PathBuf};
use std::process::Command;

fn build(schema: &str) -> PathBuf {
    build_with(schema, &[])
}

fn build_with(schema: &str, extra: &[&str]) -> PathBuf {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    static SEQ: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let seq = SEQ.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    let out = std::env::temp_dir().join(format!("ff_sql_edition_{schema}_{}_{seq}", std::process::id()));
    let status = Command::new("bash")
        .arg(repo.join("scripts/sql-edition.sh"))
        .args(["--out", out.to_str().unwrap(), "--schema", schema])
        .args(extra)
        .current_dir(&repo)
        .output()
        .unwrap();
    assert!(status.status.success(), "{}", String::from_utf8_lossy(&status.stderr));
    out
}

/// The text between the `n`-th pair of body tags.
fn body(installer: &str, n: usize) -> &str {
    let tag = "$_ff_engine_extension_body_$";
    let mut rest = installer;
    for _ in 0..n {
        let end = rest.find(tag).unwrap() + tag.len();
        rest = &rest[end + rest[end..].find(tag).unwrap() + tag.len()..];
    }
    let start = rest.find(tag).unwrap() + tag.len();
    &rest[start..start + rest[start..].find(tag).unwrap()]
}

/// Run an SQL file with psql as `user` (ON_ERROR_STOP); its output.
fn psql_file(db: &TestDb, user: &str, file: &Path) -> String {
    let o = psql_run(db, user, file);
    assert!(o.status.success(), "{} as {user}: {}", file.display(), String::from_utf8_lossy(&o.stderr));
    String::from_utf8_lossy(&o.stdout).to_string()
}

/// Run an SQL file with psql as `user` (ON_ERROR_STOP), whatever comes of it.
fn psql_run(db: &TestDb, user: &str, file: &Path) -> std::process::Output {
    let cluster = db.cluster;
    Command::new(psql_path())
        .args(["-h", cluster.socket_dir.to_str().unwrap(), "-p", &cluster.port.to_string(), "-U", user, "-d", &db.name])
        .args(["-v", "ON_ERROR_STOP=1", "-q", "-f"])
        .arg(file)
        .output()
        .unwrap()
}

fn version() -> String {
    let cargo = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../Cargo.toml")).unwrap();
    cargo.lines().find_map(|l| l.strip_prefix("version = \"")).unwrap().trim_end_matches('"').to_string()
}

#[test]
fn the_pg_tle_installer_carries_the_extension_script_byte_for_byte() {
    let out = build("ff_engine");
    let v = version();
    let script = std::fs::read_to_string(out.join(format!("extension/ff_engine--{v}.sql"))).unwrap();
    let installer = std::fs::read_to_string(out.join(format!("pgtle/ff_engine--{v}.pgtle.sql"))).unwrap();
    assert_eq!(body(&installer, 0), script, "the body is the extension script");
    assert!(
        installer.contains(&format!("THEN pgtle.install_extension_version_sql('ff_engine', '{v}', ext)"))
            && installer.contains(&format!("ELSE pgtle.install_extension('ff_engine', '{v}', 'ff_engine (SQL edition)")),
        "pgtle.install_extension(name, version, description, ext), or install_extension_version_sql(name, version, ext) beside an earlier version"
    );
    assert!(installer.ends_with(&format!("SELECT pgtle.set_default_version('ff_engine', '{v}');\n")), "the release becomes the default");
    assert!(!installer.contains("install_update_path"), "the SQL edition's first release has no update path");
    assert!(installer.contains("pgtle.available_extension_versions()"), "idempotent per version");
    assert!(installer.contains("extname = 'pg_tle'"), "checks that pg_tle is there");
    assert!(!script.lines().any(|l| l.starts_with('\\')), "no psql meta-commands in an extension body");
    let control = std::fs::read_to_string(out.join("extension/ff_engine.control")).unwrap();
    assert!(control.contains(&format!("default_version = '{v}'")) && !control.contains("module_pathname"), "{control}");
    std::fs::remove_dir_all(out).unwrap();
}

/// An update script (none exists before the SQL edition's second release) becomes an update path:
/// copied beside the extension script, and in the pg_tle installer an install_update_path call with the
/// script byte for byte, once.
#[test]
fn each_update_script_becomes_an_update_path() {
    let dir = std::env::temp_dir().join(format!("ff_sql_edition_upgrades_{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let v = version();
    let update = "-- the next release\nALTER TABLE ff_exec_core ADD COLUMN note text;\n";
    std::fs::write(dir.join(format!("ff_engine--{v}--9.9.9.sql")), update).unwrap();
    let out = build_with("ff_engine", &["--upgrades", dir.to_str().unwrap()]);
    let installer = std::fs::read_to_string(out.join(format!("pgtle/ff_engine--{v}.pgtle.sql"))).unwrap();
    assert_eq!(std::fs::read_to_string(out.join(format!("extension/ff_engine--{v}--9.9.9.sql"))).unwrap(), update);
    assert_eq!(body(&installer, 1), update, "the update path's body is the update script");
    assert!(installer.contains(&format!("SELECT pgtle.install_update_path('ff_engine', '{v}', '9.9.9', ")));
    assert!(installer.contains(&format!("WHERE source = '{v}' AND target = '9.9.9' AND path = '{v}--9.9.9'")), "once");
    std::fs::remove_dir_all(out).unwrap();
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn the_standalone_script_installs_once_works_and_uninstalls() {
    let out = build("ff_sa");
    let v = version();
    let db = Cluster::shared().fresh_db("sqled_standalone");
    let psql = |file: &str| psql_file(&db, "postgres", &out.join(file));
    psql(&format!("standalone/ff_engine--{v}.sql"));
    assert!(psql(&format!("standalone/ff_engine--{v}.sql")).contains("already installed"), "the second run does nothing");
    let mut c = db.connect();
    c.batch_execute("SET search_path = ff_sa").unwrap();
    c.query_one("SELECT * FROM ff_seed_hmac('k1')", &[]).unwrap();
    let id: String = c.query_one("SELECT execution_id FROM ff_create_execution('l')", &[]).unwrap().get(0);
    let r = c.query_one("SELECT execution_id, lease_id, lease_epoch FROM ff_claim('l', 'w', 'i')", &[]).unwrap();
    assert_eq!(r.get::<_, String>(0), id);
    let (lease, epoch): (uuid::Uuid, i64) = (r.get(1), r.get(2));
    c.query_one("SELECT * FROM ff_complete($1, $2, $3)", &[&id, &lease, &epoch]).unwrap();
    let privileges: (bool, bool, bool, bool) = {
        let r = c
            .query_one(
                "SELECT has_function_privilege('public', 'ff_sa.ff_claim(text,text,text,text[],bigint,integer)', 'EXECUTE'), \
                 has_function_privilege('ff_worker', 'ff_sa.ff_claim(text,text,text,text[],bigint,integer)', 'EXECUTE'), \
                 has_function_privilege('ff_signaler', 'ff_sa.ff_deliver_signal(text,uuid,text,text,uuid,text,text,text,bytea,text,text,bigint,bigint,integer)', 'EXECUTE'), \
                 has_table_privilege('ff_worker', 'ff_sa.ff_keystore', 'SELECT')",
                &[],
            )
            .unwrap();
        (r.get(0), r.get(1), r.get(2), r.get(3))
    };
    assert_eq!(privileges, (false, true, true, false), "PUBLIC nothing; roles their functions; the keystore to nobody");
    psql(&format!("standalone/ff_engine--{v}.uninstall.sql"));
    assert_eq!(count(&mut c, "SELECT count(*) FROM pg_namespace WHERE nspname = 'ff_sa'"), 0);
    std::fs::remove_dir_all(out).unwrap();
}

/// The standalone script into a schema it shares with an application: it grants and hands over only
/// its own objects (named ff_*), and its uninstall script refuses to drop the schema.
#[test]
fn a_shared_schema_keeps_the_applications_objects() {
    let out = build("ff_shared");
    let v = version();
    let db = Cluster::shared().fresh_db("sqled_shared_schema");
    let mut c = db.connect();
    c.batch_execute(
        "CREATE SCHEMA ff_shared; CREATE TABLE ff_shared.orders (id int); GRANT SELECT ON ff_shared.orders TO PUBLIC; \
         CREATE FUNCTION ff_shared.order_total() RETURNS int LANGUAGE sql AS 'SELECT 1'",
    )
    .unwrap();
    psql_file(&db, "postgres", &out.join(format!("standalone/ff_engine--{v}.sql")));
    let kept: (bool, bool, String) = {
        let r = c
            .query_one(
                "SELECT has_table_privilege('public', 'ff_shared.orders', 'SELECT'), \
                        has_function_privilege('public', 'ff_shared.order_total()', 'EXECUTE'), \
                        pg_get_userbyid((SELECT relowner FROM pg_class WHERE oid = 'ff_shared.orders'::regclass))::text",
                &[],
            )
            .unwrap();
        (r.get(0), r.get(1), r.get(2))
    };
    assert_eq!(kept, (true, true, "postgres".to_string()), "the application's objects are left as they were");
    let o = psql_run(&db, "postgres", &out.join(format!("standalone/ff_engine--{v}.uninstall.sql")));
    assert!(!o.status.success(), "the uninstall script refuses a shared schema");
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("holds objects that are not ff_engine's"),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert_eq!(count(&mut c, "SELECT count(*) FROM pg_class WHERE oid = 'ff_shared.orders'::regclass"), 1);
    std::fs::remove_dir_all(out).unwrap();
}

/// The standalone script run by a role that is not a superuser, as on a managed service (a CREATEROLE
/// admin role that is a member of ff_engine_owner, as rds_superuser or Supabase's postgres can make
/// themselves): the objects go to ff_engine_owner, the API roles get their functions, a worker login
/// runs a lease cycle, and no API role reads the keystore.
#[test]
fn the_standalone_script_installs_without_a_superuser() {
    let out = build("ff_nsu");
    let v = version();
    let db = Cluster::shared().fresh_db("sqled_standalone_nsu");
    let mut su = db.connect();
    su.batch_execute(&format!(
        "DO $$ BEGIN
           IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'nsu_admin') THEN CREATE ROLE nsu_admin LOGIN CREATEROLE; END IF;
           IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'nsu_worker') THEN CREATE ROLE nsu_worker LOGIN; END IF;
           IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'nsu_signaler') THEN CREATE ROLE nsu_signaler LOGIN; END IF;
         END $$;
         GRANT CREATE ON DATABASE {} TO nsu_admin;
         GRANT ff_engine_owner TO nsu_admin;
         GRANT ff_worker TO nsu_worker;
         GRANT ff_signaler TO nsu_signaler;",
        db.name
    ))
    .unwrap();
    psql_file(&db, "nsu_admin", &out.join(format!("standalone/ff_engine--{v}.sql")));
    let owners: Vec<String> = column(
        &mut su,
        "SELECT DISTINCT pg_get_userbyid(relowner)::text FROM pg_class WHERE relnamespace = 'ff_nsu'::regnamespace AND relkind IN ('r', 'v')
         UNION SELECT DISTINCT pg_get_userbyid(proowner)::text FROM pg_proc WHERE pronamespace = 'ff_nsu'::regnamespace",
        &[],
    );
    assert_eq!(owners, vec!["ff_engine_owner".to_string()], "every object is ff_engine_owner's");
    let mut admin = db.connect_as("nsu_admin");
    admin.batch_execute("SET search_path = ff_nsu; SELECT * FROM ff_seed_hmac('k1')").unwrap();
    let mut w = db.connect_as("nsu_worker");
    w.batch_execute("SET search_path = ff_nsu").unwrap();
    let id: String = w.query_one("SELECT execution_id FROM ff_create_execution('l')", &[]).unwrap().get(0);
    let r = w.query_one("SELECT execution_id, lease_id, lease_epoch FROM ff_claim('l', 'w', 'i')", &[]).unwrap();
    assert_eq!(r.get::<_, String>(0), id);
    let (lease, epoch): (uuid::Uuid, i64) = (r.get(1), r.get(2));
    w.query_one("SELECT * FROM ff_complete($1, $2, $3)", &[&id, &lease, &epoch]).unwrap();
    for login in ["nsu_worker", "nsu_signaler"] {
        let mut c = db.connect_as(login);
        assert_code(&mut c, "SELECT * FROM ff_nsu.ff_keystore", &[], "42501");
        assert_code(&mut c, "SELECT * FROM ff_nsu.ff_active_key()", &[], "42501");
    }
    std::fs::remove_dir_all(out).unwrap();
}

/// pg_tle's way of creating an extension, simulated with the file-based SQL extension: the script runs
/// as the role that runs CREATE EXTENSION, with no switch to a superuser (a version whose secondary
/// control file says `superuser = false`, `trusted = false`, with the release's script). The role is
/// what the pg_tle installer leaves: a member of ff_engine_owner, here the database's owner, not a
/// superuser. Every object must still end up ff_engine_owner's, and the API must work.
#[test]
fn the_extension_script_runs_without_a_superuser_as_pg_tle_runs_it() {
    if sql_edition_only("pg_tle carries the SQL edition; the Rust edition's C functions need the switch to a superuser") {
        return;
    }
    if through_pgtle() {
        record_skip("the simulation of pg_tle is not needed where pg_tle itself installed ff_engine (this pass)");
        return;
    }
    let v = version();
    let ext_dir = extension_dir();
    let tle = format!("{v}_tle");
    let control = ext_dir.join(format!("ff_engine--{tle}.control"));
    let script = ext_dir.join(format!("ff_engine--{tle}.sql"));
    std::fs::write(&control, "superuser = false\ntrusted = false\n").unwrap();
    std::fs::copy(ext_dir.join(format!("ff_engine--{v}.sql")), &script).unwrap();
    let db = Cluster::shared().fresh_db("sqled_tle");
    let mut su = db.connect();
    su.batch_execute(&format!(
        "DROP EXTENSION ff_engine CASCADE;
         DO $$ BEGIN
           IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'tle_admin') THEN CREATE ROLE tle_admin LOGIN CREATEROLE; END IF;
           IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'tle_worker') THEN CREATE ROLE tle_worker LOGIN; END IF;
         END $$;
         GRANT ff_engine_owner TO tle_admin;
         GRANT ff_worker TO tle_worker;
         ALTER DATABASE {} OWNER TO tle_admin;",
        db.name
    ))
    .unwrap();
    let mut admin = db.connect_as("tle_admin");
    let created = admin.batch_execute(&format!("CREATE EXTENSION ff_engine VERSION '{tle}'"));
    std::fs::remove_file(&control).unwrap();
    std::fs::remove_file(&script).unwrap();
    created.unwrap_or_else(|e| panic!("CREATE EXTENSION as tle_admin: {:?}", db_err(&e)));
    assert!(!admin.query_one("SELECT rolsuper FROM pg_roles WHERE rolname = current_user", &[]).unwrap().get::<_, bool>(0));
    let owners: Vec<String> = column(
        &mut su,
        "SELECT DISTINCT pg_get_userbyid(coalesce(c.relowner, p.proowner))::text FROM pg_depend d
         JOIN pg_extension e ON e.oid = d.refobjid AND e.extname = 'ff_engine'
         LEFT JOIN pg_class c ON d.classid = 'pg_class'::regclass AND c.oid = d.objid
         LEFT JOIN pg_proc p ON d.classid = 'pg_proc'::regclass AND p.oid = d.objid
         WHERE d.deptype = 'e' AND (c.oid IS NOT NULL OR p.oid IS NOT NULL)",
        &[],
    );
    assert_eq!(owners, vec!["ff_engine_owner".to_string()], "every table and function is ff_engine_owner's");
    admin.batch_execute("SELECT * FROM ff_seed_hmac('k1')").unwrap();
    let mut w = db.connect_as("tle_worker");
    let id: String = w.query_one("SELECT execution_id FROM ff_create_execution('l')", &[]).unwrap().get(0);
    let r = w.query_one("SELECT execution_id, lease_id, lease_epoch FROM ff_claim('l', 'w', 'i')", &[]).unwrap();
    assert_eq!(r.get::<_, String>(0), id);
    assert_code(&mut w, "SELECT * FROM ff_keystore", &[], "42501");
    admin.batch_execute("DROP EXTENSION ff_engine").unwrap();
}
