//! The SQL edition's install artifacts (scripts/sql-edition.sh): the pg_tle installer carries the
//! extension script byte for byte and calls pg_tle's documented functions (pg_tle itself is not
//! reachable here, so it is not run); the standalone script installs with psql -f into a schema of its
//! own, does nothing the second time, leaves PUBLIC nothing, works, and its uninstall script removes it.

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
    let cluster = Cluster::shared();
    let psql = |file: &str| {
        let o = Command::new(pg_bindir().join("psql"))
            .args(["-h", cluster.socket_dir.to_str().unwrap(), "-p", &cluster.port.to_string(), "-U", "postgres", "-d", &db.name])
            .args(["-v", "ON_ERROR_STOP=1", "-q", "-f"])
            .arg(out.join(file))
            .output()
            .unwrap();
        assert!(o.status.success(), "{file}: {}", String::from_utf8_lossy(&o.stderr));
        String::from_utf8_lossy(&o.stdout).to_string()
    };
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
