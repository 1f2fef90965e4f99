//! Mode "limit": pgbench's single-row UPDATE transaction (prepared), at the same client counts: the cost
//! of one durable commit, which no design can beat. "limit-notify" is the same transaction with one
//! `pg_notify` in it (one statement): the ceiling of notifying commits, which PostgreSQL serialises
//! (a cluster-wide lock from PreCommit_Notify until the commit record is flushed).

use crate::stats::{percentiles, BResult, Pcts};
use crate::{Env, Row};
use std::process::Command;
use std::time::Duration;

fn pgbench() -> std::path::PathBuf {
    ff_engine_tests::pg_bindir().join("pgbench")
}

const SCRIPT: &str = "\\set aid random(1, 1000000)\nUPDATE pgbench_accounts SET abalance = abalance + 1 WHERE aid = :aid;\n";
const SCRIPT_NOTIFY: &str = "\\set aid random(1, 1000000)\n\
    WITH u AS (UPDATE pgbench_accounts SET abalance = abalance + 1 WHERE aid = :aid RETURNING aid) \
    SELECT pg_notify('ff_bench_limit', '') FROM u;\n";

fn base_args(env: &Env, db: &str) -> Vec<String> {
    vec![
        "-h".into(),
        env.cluster.socket_dir.display().to_string(),
        "-p".into(),
        env.cluster.port.to_string(),
        "-U".into(),
        "postgres".into(),
        db.into(),
    ]
}

pub fn init(env: &Env, db: &str) -> bool {
    let mut args = vec!["-i".to_string(), "-q".into(), "-s".into(), "10".into()];
    args.extend(base_args(env, db));
    match Command::new(pgbench()).args(&args).output() {
        Ok(o) if o.status.success() => true,
        Ok(o) => {
            eprintln!("pgbench -i failed: {}", String::from_utf8_lossy(&o.stderr));
            false
        }
        Err(e) => {
            eprintln!("pgbench not found: {e}");
            false
        }
    }
}

/// The transactions per second of a pgbench report.
fn tps_of(report: &str) -> BResult<f64> {
    Ok(report
        .lines()
        .find(|l| l.starts_with("tps = "))
        .and_then(|l| l.split_whitespace().nth(2))
        .and_then(|v| v.parse().ok())
        .ok_or("no tps line in pgbench output")?)
}

/// Every transaction's latency (µs) from pgbench's per-transaction logs (`-l`) in `dir`.
fn logged_latencies_us(dir: &std::path::Path) -> BResult<Vec<u32>> {
    let mut lat = Vec::new();
    for f in std::fs::read_dir(dir)? {
        let p = f?.path();
        if p.file_name().is_some_and(|n| n.to_string_lossy().starts_with("log")) {
            for line in std::fs::read_to_string(&p)?.lines() {
                if let Some(us) = line.split_whitespace().nth(2).and_then(|v| v.parse::<u32>().ok()) {
                    lat.push(us);
                }
            }
        }
    }
    Ok(lat)
}

pub fn run(env: &Env, db: &str, clients: usize, notify: bool, warmup: Duration, duration: Duration, out: &std::path::Path) -> BResult<Row> {
    let dir = out.join("pgbench");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir)?;
    let script = dir.join("update.sql");
    std::fs::write(&script, if notify { SCRIPT_NOTIFY } else { SCRIPT })?;
    let jobs = clients.min(2).to_string();
    let go = |secs: u64, log: bool| -> BResult<String> {
        let mut args = vec![
            "-n".to_string(),
            "-M".into(),
            "prepared".into(),
            "-c".into(),
            clients.to_string(),
            "-j".into(),
            jobs.clone(),
            "-T".into(),
            secs.to_string(),
            "-f".into(),
            script.display().to_string(),
        ];
        if log {
            args.extend(["-l".into(), "--log-prefix".into(), dir.join("log").display().to_string()]);
        }
        args.extend(base_args(env, db));
        let o = Command::new(pgbench()).args(&args).current_dir(&dir).output()?;
        if !o.status.success() {
            return Err(format!("pgbench failed: {}", String::from_utf8_lossy(&o.stderr)).into());
        }
        Ok(String::from_utf8_lossy(&o.stdout).into_owned())
    };
    go(warmup.as_secs().max(1), false)?;
    let wal_before = env.wal_bytes();
    let cpu_before = crate::busy_cpu_us();
    let report = go(duration.as_secs().max(1), true)?;
    let cpu = crate::busy_cpu_us() - cpu_before;
    let wal = env.wal_bytes() - wal_before;
    let tps = tps_of(&report)?;
    let mut lat = logged_latencies_us(&dir)?;
    let txns = lat.len().max(1) as f64;
    let p: Pcts = percentiles(&mut lat);
    Ok(Row {
        workload: 0,
        mode: if notify { "limit-notify" } else { "limit" },
        clients,
        depth: 0,
        cycles_per_s: tps,
        calls_per_s: tps,
        all: p,
        key_op: "update",
        key: p,
        statements_per_cycle: 1.0,
        wal_bytes_per_cycle: wal as f64 / txns,
        cpu_us_per_cycle: cpu / txns,
        retries: 0,
    })
}
