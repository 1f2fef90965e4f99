//! Held-snapshot mode: workload 3 (claim + complete at a fixed queue depth) for minutes, once
//! as is and once while another session of the same database holds a REPEATABLE READ snapshot open, so
//! no row version written during the run can be removed. Reported per 30 s window: cycles per second and
//! the claim call's p50 / p99; per run: the database's table and index sizes, dead tuples, and the index
//! that grew most. Output: `<out>/snapshot.csv` and `<out>/snapshot.md`.

use crate::stats::{percentiles, BResult, Pcts, Rec};
use crate::{prepare, run_clients, Env, Mode, Opts, Run, Workload};
use std::time::Duration;

/// The window the per-window figures are cut into.
const WINDOW: Duration = Duration::from_secs(30);

/// The queue depth kept during the run (workload 3's default).
const DEPTH: usize = 10_000;

/// Sizes of the user tables and indexes of one database.
#[derive(Debug, Clone, Default)]
struct Sizes {
    heap_bytes: i64,
    index_bytes: i64,
    dead_tuples: i64,
    /// Every user index and its size, to find the one that grew most.
    indexes: Vec<(String, i64)>,
}

/// One window of one run.
struct Window {
    cycles_per_s: f64,
    claim: Pcts,
}

/// One run: a mode, with or without the held snapshot.
struct Pass {
    mode: &'static str,
    held: bool,
    windows: Vec<Window>,
    before: Sizes,
    after: Sizes,
}

const SIZES_SQL: &str = "SELECT c.relkind::text, c.relname::text, pg_relation_size(c.oid)::bigint, \
       coalesce(pg_relation_size(c.reltoastrelid), 0)::bigint \
     FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
     WHERE n.nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast') AND c.relkind IN ('r', 'i')";

const DEAD_SQL: &str = "SELECT coalesce(sum(n_dead_tup), 0)::bigint FROM pg_stat_user_tables";

fn sizes(env: &Env, db: &str) -> Sizes {
    let mut c = env.cluster.connect(db, "postgres");
    // Statistics reach pg_stat_user_tables when a backend flushes them; ask for a fresh view.
    c.batch_execute("SELECT pg_stat_clear_snapshot()").unwrap();
    let mut s = Sizes { dead_tuples: c.query_one(DEAD_SQL, &[]).unwrap().get(0), ..Sizes::default() };
    for r in c.query(SIZES_SQL, &[]).unwrap() {
        let (kind, name, bytes, toast): (String, String, i64, i64) = (r.get(0), r.get(1), r.get(2), r.get(3));
        if kind == "i" {
            s.index_bytes += bytes;
            s.indexes.push((name, bytes));
        } else {
            s.heap_bytes += bytes + toast;
        }
    }
    s
}

/// The index that grew most between `before` and `after`: its name, size before and after.
fn grown_most(before: &Sizes, after: &Sizes) -> (String, i64, i64) {
    let size_before = |name: &str| before.indexes.iter().find(|(n, _)| n == name).map_or(0, |(_, b)| *b);
    after.indexes.iter().map(|(n, b)| (n.clone(), size_before(n), *b)).max_by_key(|(_, b0, b1)| b1 - b0).unwrap_or_default()
}

/// One run of `mode`, holding a snapshot for its whole length when `held`.
fn pass(env: &Env, opts: &Opts, mode: Mode, held: bool, duration: Duration) -> BResult<Pass> {
    let db = Env::db_for(mode);
    prepare(env, opts, Workload::ClaimComplete, mode, DEPTH);
    env.sql(db, "CHECKPOINT");
    let before = sizes(env, db);
    let mut holder = env.cluster.connect(db, "postgres");
    if held {
        // The snapshot is taken by the first statement and kept until COMMIT: what a long report, a
        // forgotten psql session or a logical replication slot's initial copy does to the server.
        holder.batch_execute("BEGIN ISOLATION LEVEL REPEATABLE READ; SELECT count(*) FROM pg_class")?;
    }
    let clients = opts.clients.iter().copied().max().unwrap_or(4);
    let run = Run { w: Workload::ClaimComplete, mode, clients, warmup: opts.warmup, duration, window: Some(WINDOW) };
    let rec = run_clients(env, run);
    let after = sizes(env, db);
    if held {
        holder.batch_execute("COMMIT")?;
    }
    let rec = rec?;
    Ok(Pass { mode: mode.name(), held, windows: windows(&rec, duration), before, after })
}

fn windows(rec: &Rec, duration: Duration) -> Vec<Window> {
    let count = (duration.as_secs_f64() / WINDOW.as_secs_f64()).ceil() as u32;
    (0..count)
        .map(|w| {
            let len = (duration.as_secs_f64() - w as f64 * WINDOW.as_secs_f64()).min(WINDOW.as_secs_f64());
            let mut claims = rec.window_lat.get(&(w, "claim")).cloned().unwrap_or_default();
            let cycles = rec.window_cycles.get(&w).copied().unwrap_or(0);
            Window { cycles_per_s: cycles as f64 / len, claim: percentiles(&mut claims) }
        })
        .collect()
}

/// The held-snapshot comparison for every mode given (workload-3 capable ones).
pub fn main(env: &Env, opts: &Opts, modes: &[Mode], duration: Duration) -> BResult<()> {
    let modes: Vec<Mode> = modes.iter().copied().filter(|m| !matches!(m, Mode::Limit)).collect();
    let mut passes = Vec::new();
    for (i, (&mode, held)) in modes.iter().flat_map(|m| [(m, false), (m, true)]).enumerate() {
        eprintln!(
            "[{:>2}/{}] workload 3 {:<28} {}s, snapshot {} ...",
            i + 1,
            modes.len() * 2,
            mode.name(),
            duration.as_secs(),
            if held { "HELD" } else { "not held" }
        );
        match pass(env, opts, mode, held, duration) {
            Ok(p) => {
                for (n, w) in p.windows.iter().enumerate() {
                    eprintln!(
                        "    window {n}: {:>7.0} cycles/s  claim p50 {:.2} ms  p99 {:.2} ms",
                        w.cycles_per_s, w.claim.p50, w.claim.p99
                    );
                }
                passes.push(p);
                write(opts, &passes, env, duration)?;
            }
            Err(e) => eprintln!("FAILED: {}", crate::describe(&*e)),
        }
    }
    eprintln!("== wrote {}/snapshot.csv, snapshot.md", opts.out.display());
    Ok(())
}

const MB: f64 = 1024.0 * 1024.0;

fn write(opts: &Opts, passes: &[Pass], env: &Env, duration: Duration) -> BResult<()> {
    let mut csv = String::from("mode,snapshot_held,window,cycles_per_s,claim_p50_ms,claim_p99_ms\n");
    let mut md = format!(
        "PostgreSQL {}, workload 3 at depth {DEPTH}, {} clients, {}s per run after a {}s warm-up, windows of {}s.\n\n\
         | mode | snapshot | {} |\n|---|---|{}\n",
        env.version,
        opts.clients.iter().max().unwrap_or(&4),
        duration.as_secs(),
        opts.warmup.as_secs(),
        WINDOW.as_secs(),
        (0..passes.first().map_or(0, |p| p.windows.len())).map(|n| format!("{}–{} s", n * 30, n * 30 + 30)).collect::<Vec<_>>().join(" | "),
        "---:|".repeat(passes.first().map_or(0, |p| p.windows.len()))
    );
    for p in passes {
        let held = if p.held { "held" } else { "none" };
        for (n, w) in p.windows.iter().enumerate() {
            csv += &format!("{},{},{n},{:.1},{:.3},{:.3}\n", p.mode, p.held, w.cycles_per_s, w.claim.p50, w.claim.p99);
        }
        let cells: Vec<String> = p.windows.iter().map(|w| format!("{:.0}/s, p99 {:.2} ms", w.cycles_per_s, w.claim.p99)).collect();
        md += &format!("| {} | {held} | {} |\n", p.mode, cells.join(" | "));
    }
    md += "\n| mode | snapshot | tables MB before → after | indexes MB before → after | dead tuples after | index grown most |\n\
           |---|---|---:|---:|---:|---|\n";
    for p in passes {
        let (name, b0, b1) = grown_most(&p.before, &p.after);
        md += &format!(
            "| {} | {} | {:.1} → {:.1} | {:.1} → {:.1} | {} | {name} {:.1} → {:.1} MB |\n",
            p.mode,
            if p.held { "held" } else { "none" },
            p.before.heap_bytes as f64 / MB,
            p.after.heap_bytes as f64 / MB,
            p.before.index_bytes as f64 / MB,
            p.after.index_bytes as f64 / MB,
            p.after.dead_tuples,
            b0 as f64 / MB,
            b1 as f64 / MB
        );
    }
    std::fs::write(opts.out.join("snapshot.csv"), csv)?;
    std::fs::write(opts.out.join("snapshot.md"), md)?;
    Ok(())
}
