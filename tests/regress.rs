//! SQL-level tests the Postgres way: pg_regress runs every script of pgrx-tests/regress/sql against a
//! real cluster and diffs the output with pgrx-tests/regress/expected. The README demo is one of them.

use ff_engine_tests::*;
use std::path::PathBuf;
use std::process::Command;

#[test]
fn pg_regress_scripts_match_expected_output() {
    let cluster = Cluster::shared();
    let regress_dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../pgrx-tests/regress");
    let mut tests: Vec<String> = std::fs::read_dir(regress_dir.join("sql"))
        .unwrap()
        .filter_map(|e| e.ok())
        .filter_map(|e| e.file_name().to_str().and_then(|n| n.strip_suffix(".sql")).map(str::to_string))
        .collect();
    tests.sort();
    assert!(!tests.is_empty());
    let out_dir = cluster.root.join("regress_out");
    std::fs::create_dir_all(&out_dir).unwrap();
    let pg_regress =
        std::env::var("FF_PG_REGRESS").unwrap_or_else(|_| "/usr/lib/postgresql/15/lib/pgxs/src/test/regress/pg_regress".to_string());
    let output = Command::new(pg_regress)
        .arg(format!("--inputdir={}", regress_dir.display()))
        .arg(format!("--outputdir={}", out_dir.display()))
        .arg(format!("--bindir={}", pg_bindir().display()))
        .arg(format!("--host={}", cluster.socket_dir.display()))
        .arg(format!("--port={}", cluster.port))
        .arg("--user=postgres")
        .arg("--dbname=ff_regress")
        .args(&tests)
        .env_remove("PGOPTIONS")
        .output()
        .expect("pg_regress must be installed (postgresql-server-dev-15)");
    let stdout = String::from_utf8_lossy(&output.stdout);
    if !output.status.success() {
        let diffs = std::fs::read_to_string(out_dir.join("regression.diffs")).unwrap_or_default();
        panic!("pg_regress failed:\n{stdout}\n{}\n{diffs}", String::from_utf8_lossy(&output.stderr));
    }
    assert!(stdout.contains(&format!("All {} tests passed", tests.len())), "{stdout}");
}
