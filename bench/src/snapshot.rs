//! Held-snapshot mode: workload 3 (claim + complete at a fixed queue depth) for minutes, once
//! as is and once while another session of the same database holds a REPEATABLE READ snapshot open, so
//! no row version written during the run can be removed. Reported per 5 s window: cycles per second,
//! the claim call's p50 / p99, and index tuples read per cycle (all the database's indexes, from
//! pg_stat_user_indexes); per run: the first and last 30 s side by side, table and index sizes, dead
//! tuples, the index that grew most, and for ff_engine `EXPLAIN (ANALYZE, BUFFERS)` of one claim scan
//! from its claim start and from the head at 150 s (half time in a shorter run) and at the end. Per
//! window too: the CPU seconds autovacuum spent (its workers' log lines, `log_autovacuum_min_duration
//! = 0`, counted in the window they ended in) — with a held snapshot it removes nothing, finds the dead
//! tuples again and scans every table again each naptime, on the cores the workload runs on.
//! Output: `<out>/snapshot.csv` and `<out>/snapshot.md`.

use crate::stats::{percentiles, BResult, Pcts, Rec};
use crate::{prepare, run_clients, Env, Mode, Opts, Run, Workload};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

/// What else happens while workload 3 runs (ff_engine's modes; the others run `OneLane`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Variant {
    /// One lane, one priority.
    #[default]
    OneLane,
    /// One lane, its executions spread over three priorities.
    Priorities3,
    /// 16 lanes, each client claiming from them in turn.
    Lanes16,
    /// Every tenth execution fails once and is retried (promoted by a ticker every 50 ms).
    Retries10,
    /// Every hundredth claim is made in a transaction that rolls back.
    Rollback1,
    /// Every 50 ms a queued execution is raised to a higher priority.
    Raises,
    /// A producer keeps a create's transaction open for 5 s, one after the other.
    ProducerHold,
}

impl Variant {
    pub fn parse(name: &str) -> Result<Variant, String> {
        Ok(match name {
            "one-lane" => Variant::OneLane,
            "priorities3" => Variant::Priorities3,
            "lanes16" => Variant::Lanes16,
            "retries10" => Variant::Retries10,
            "rollback1" => Variant::Rollback1,
            "raises" => Variant::Raises,
            "producer-hold" => Variant::ProducerHold,
            _ => return Err(format!("unknown variant {name}")),
        })
    }

    fn name(self) -> &'static str {
        match self {
            Variant::OneLane => "one-lane",
            Variant::Priorities3 => "priorities3",
            Variant::Lanes16 => "lanes16",
            Variant::Retries10 => "retries10",
            Variant::Rollback1 => "rollback1",
            Variant::Raises => "raises",
            Variant::ProducerHold => "producer-hold",
        }
    }

    /// The statement a side session runs over and over during the run, and how long it waits between.
    fn side_work(self) -> Option<(&'static str, Duration)> {
        match self {
            Variant::Retries10 => Some(("SELECT ff_promote_delayed()", Duration::from_millis(50))),
            Variant::Raises => Some((
                "SELECT ff_change_priority(x.id, 1) FROM (SELECT '{fp:' || partition_key || '}:' || execution_id AS id \
                 FROM ff_exec_core WHERE hashtext(lane_id) = hashtext('bulk') AND lane_id = 'bulk' \
                   AND lifecycle_phase = 'runnable' AND eligibility_state = 'eligible_now' AND priority = 0 \
                 ORDER BY queue_seq DESC OFFSET (random() * 200)::int LIMIT 1) x",
                Duration::from_millis(50),
            )),
            Variant::ProducerHold => {
                Some(("BEGIN; SELECT ff_create_execution('bulk'); SELECT pg_sleep(5); COMMIT", Duration::from_millis(0)))
            }
            _ => None,
        }
    }
}

static VARIANT: OnceLock<Variant> = OnceLock::new();

/// The held-snapshot variant of this run (`OneLane` outside held-snapshot mode).
pub fn variant() -> Variant {
    VARIANT.get().copied().unwrap_or_default()
}

/// A session that runs the variant's side work until `stop`.
fn side_session(conninfo: String, variant: Variant, stop: Arc<AtomicBool>) -> Option<std::thread::JoinHandle<()>> {
    let (sql, pause) = variant.side_work()?;
    Some(std::thread::spawn(move || {
        let Ok(mut c) = postgres::Client::connect(&conninfo, postgres::NoTls) else { return };
        while !stop.load(Ordering::Relaxed) {
            if let Err(e) = c.batch_execute(sql) {
                eprintln!("    side session ({}): {e}", variant.name());
                let _ = c.batch_execute("ROLLBACK");
            }
            std::thread::sleep(pause);
        }
    }))
}

/// The window the per-window figures are cut into.
const WINDOW: Duration = Duration::from_secs(5);

/// The span the summary compares at the start and at the end of a run.
const SPAN: Duration = Duration::from_secs(30);

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
    /// Index tuples read per cycle (NaN when not sampled).
    index_tuples_per_cycle: f64,
    /// Share of one core autovacuum's workers used (their CPU seconds over the window's length).
    autovacuum_cores: f64,
}

/// What the sampler saw: the database's index tuples read at each window's start, the server log's
/// length then, and the claim scan's plans.
#[derive(Default)]
struct Samples {
    index_tuples: Vec<i64>,
    log_offsets: Vec<u64>,
    plans: Vec<(String, String)>,
}

/// CPU seconds (user + system) of the autovacuum and autoanalyze runs logged in `log`.
fn autovacuum_cpu(log: &str) -> f64 {
    let mut total = 0.0;
    let mut in_autovacuum = false;
    for line in log.lines() {
        if line.contains("automatic vacuum of table") || line.contains("automatic analyze of table") {
            in_autovacuum = true;
        } else if !line.starts_with(char::is_whitespace) {
            in_autovacuum = false;
        }
        if let (true, Some(at)) = (in_autovacuum, line.find("CPU: user: ")) {
            total += seconds_after(&line[at..], "user: ") + seconds_after(&line[at..], "system: ");
        }
    }
    total
}

/// The number of seconds following `label` in `text` ("user: 0.41 s").
fn seconds_after(text: &str, label: &str) -> f64 {
    text.find(label).and_then(|at| text[at + label.len()..].split_whitespace().next()).and_then(|n| n.parse().ok()).unwrap_or(0.0)
}

/// One run: a mode, with or without the held snapshot.
struct Pass {
    mode: &'static str,
    held: bool,
    windows: Vec<Window>,
    /// The first and the last SPAN: cycles/s, claim p50 and p99, index tuples per cycle.
    first: Window,
    last: Window,
    plans: Vec<(String, String)>,
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
    let log = env.cluster.log_path();
    let mut holder = env.cluster.connect(db, "postgres");
    if held {
        // The snapshot is taken by the first statement and kept until COMMIT: what a long report, a
        // forgotten psql session or a logical replication slot's initial copy does to the server.
        holder.batch_execute("BEGIN ISOLATION LEVEL REPEATABLE READ; SELECT count(*) FROM pg_class")?;
    }
    let clients = opts.clients.iter().copied().max().unwrap_or(4);
    let explain = matches!(mode, Mode::Ext | Mode::ExtQuiet | Mode::ExtAlways | Mode::SqlEdition);
    let sampler = {
        let (conninfo, warmup) = (env.conninfo(db), opts.warmup);
        let log = log.clone();
        std::thread::spawn(move || sample(&conninfo, &log, warmup, duration, explain))
    };
    let stop = Arc::new(AtomicBool::new(false));
    let side = if explain { side_session(env.conninfo(db), variant(), stop.clone()) } else { None };
    let run = Run { w: Workload::ClaimComplete, mode, clients, warmup: opts.warmup, duration, window: Some(WINDOW) };
    let rec = run_clients(env, run);
    stop.store(true, Ordering::Relaxed);
    if let Some(side) = side {
        let _ = side.join();
    }
    let samples = sampler.join().unwrap_or_default();
    let after = sizes(env, db);
    if held {
        holder.batch_execute("COMMIT")?;
    }
    let rec = rec?;
    let autovacuum = autovacuum_per_window(&log, &samples.log_offsets);
    let sampled = Sampled { index_tuples: &samples.index_tuples, autovacuum_cpu: &autovacuum };
    let windows = windows(&rec, duration, &sampled);
    let span = (SPAN.as_secs() / WINDOW.as_secs()) as u32;
    let count = windows.len() as u32;
    let (first, last) = (summary(&rec, 0..span.min(count), &sampled), summary(&rec, count.saturating_sub(span)..count, &sampled));
    Ok(Pass { mode: mode.name(), held, windows, first, last, plans: samples.plans, before, after })
}

/// The claim scan of workload 3's first lane, prepared as the engine's functions plan it (a generic
/// plan, no sequential or bitmap scans), to show with EXPLAIN from its claim start and from the head.
const PREPARE_SCAN: &str = "SET plan_cache_mode = force_generic_plan; SET enable_seqscan = off; \
     SET enable_bitmapscan = off; SET jit = off; \
     PREPARE ff_claim_scan(text, bigint) AS SELECT e.execution_id FROM ff_exec_core e \
     WHERE hashtext(e.lane_id) = hashtext($1) AND e.lane_id = $1 AND e.priority = 0 AND e.queue_seq >= $2 \
       AND e.lifecycle_phase = 'runnable' AND e.eligibility_state = 'eligible_now' \
     ORDER BY e.queue_seq LIMIT 1";

/// Workload 3's first lane in the variant run.
fn first_lane() -> &'static str {
    if variant() == Variant::Lanes16 {
        "bulk0"
    } else {
        "bulk"
    }
}

/// When the claim scan's plans are taken besides the end: 150 s in, or half time in a shorter run.
const EXPLAIN_AT: Duration = Duration::from_secs(150);

/// Autovacuum's CPU seconds logged in each window: between consecutive offsets of the server log.
fn autovacuum_per_window(log: &std::path::Path, offsets: &[u64]) -> Vec<f64> {
    let Ok(text) = std::fs::read(log) else { return Vec::new() };
    let slice = |a: u64, b: u64| String::from_utf8_lossy(&text[(a as usize).min(text.len())..(b as usize).min(text.len())]).into_owned();
    offsets.windows(2).map(|w| autovacuum_cpu(&slice(w[0], w[1]))).collect()
}

/// The server log's length now (0 when it cannot be read).
fn log_length(log: &std::path::Path) -> u64 {
    std::fs::metadata(log).map(|m| m.len()).unwrap_or(0)
}

/// Index tuples read and the server log's length at the start of each window (after the warm-up),
/// and the claim scan's plans at 150 s (half time in a shorter run) and at the end.
fn sample(conninfo: &str, log: &std::path::Path, warmup: Duration, duration: Duration, explain: bool) -> Samples {
    let mut out = Samples::default();
    let Ok(mut c) = postgres::Client::connect(conninfo, postgres::NoTls) else { return out };
    let read = |c: &mut postgres::Client| -> i64 {
        let _ = c.batch_execute("SELECT pg_stat_clear_snapshot()");
        c.query_one("SELECT coalesce(sum(idx_tup_read), 0)::bigint FROM pg_stat_user_indexes", &[]).map(|r| r.get(0)).unwrap_or(0)
    };
    if explain {
        let _ = c.batch_execute(PREPARE_SCAN);
    }
    std::thread::sleep(warmup);
    let start = std::time::Instant::now();
    let windows = (duration.as_secs_f64() / WINDOW.as_secs_f64()).ceil() as u32;
    let early = if duration > EXPLAIN_AT { (EXPLAIN_AT.as_secs() / WINDOW.as_secs()) as u32 } else { windows / 2 };
    for w in 0..=windows {
        let at = WINDOW * w;
        if let Some(wait) = at.checked_sub(start.elapsed()) {
            std::thread::sleep(wait);
        }
        out.index_tuples.push(read(&mut c));
        out.log_offsets.push(log_length(log));
        if explain && (w == early || w == windows) {
            out.plans.extend(plans(&mut c, at));
        }
    }
    out
}

fn plans(c: &mut postgres::Client, at: Duration) -> Vec<(String, String)> {
    let lane = first_lane();
    let start: i64 = c
        .query_one(
            "SELECT coalesce(min(coalesce(pg_sequence_last_value(start_seq), 0)), 0) FROM ff_claim_start \
             WHERE lane_id = $1 AND priority = 0",
            &[&lane],
        )
        .map(|r| r.get(0))
        .unwrap_or(0);
    [(format!("at {} s, from the claim start ({start})", at.as_secs()), start), (format!("at {} s, from the head", at.as_secs()), 0)]
        .into_iter()
        .map(|(what, from)| {
            let explain = format!("EXPLAIN (ANALYZE, BUFFERS, COSTS OFF, TIMING OFF) EXECUTE ff_claim_scan('{lane}', {from})");
            let lines: Vec<String> =
                c.query(explain.as_str(), &[]).map(|rows| rows.iter().map(|r| r.get::<_, String>(0)).collect()).unwrap_or_default();
            (what, lines.join("\n"))
        })
        .collect()
}

/// What the sampler's figures give per window: index tuples read at each window's start, autovacuum's
/// CPU seconds in each window.
struct Sampled<'a> {
    index_tuples: &'a [i64],
    autovacuum_cpu: &'a [f64],
}

fn windows(rec: &Rec, duration: Duration, sampled: &Sampled) -> Vec<Window> {
    let count = (duration.as_secs_f64() / WINDOW.as_secs_f64()).ceil() as u32;
    (0..count).map(|w| summary(rec, w..w + 1, sampled)).collect()
}

/// The windows `range` taken together.
fn summary(rec: &Rec, range: std::ops::Range<u32>, sampled: &Sampled) -> Window {
    let index_tuples = sampled.index_tuples;
    let len = WINDOW.as_secs_f64() * range.len() as f64;
    let mut claims: Vec<u32> = range.clone().flat_map(|w| rec.window_lat.get(&(w, "claim")).cloned().unwrap_or_default()).collect();
    let cycles: u64 = range.clone().map(|w| rec.window_cycles.get(&w).copied().unwrap_or(0)).sum();
    let tuples = match (index_tuples.get(range.start as usize), index_tuples.get(range.end as usize)) {
        (Some(a), Some(b)) if cycles > 0 => (b - a) as f64 / cycles as f64,
        _ => f64::NAN,
    };
    let autovacuum: f64 = range.clone().filter_map(|w| sampled.autovacuum_cpu.get(w as usize)).sum();
    Window {
        cycles_per_s: cycles as f64 / len,
        claim: percentiles(&mut claims),
        index_tuples_per_cycle: tuples,
        autovacuum_cores: autovacuum / len,
    }
}

/// The held-snapshot comparison for every mode given (workload-3 capable ones).
pub fn main(env: &Env, opts: &Opts, modes: &[Mode], duration: Duration) -> BResult<()> {
    let _ = VARIANT.set(opts.held_variant);
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
                for (name, w) in [("first 30 s", &p.first), ("last 30 s", &p.last)] {
                    eprintln!(
                        "    {name}: {:>7.0} cycles/s  claim p50 {:.2} ms  p99 {:.2} ms  {:.1} index tuples per cycle",
                        w.cycles_per_s, w.claim.p50, w.claim.p99, w.index_tuples_per_cycle
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
    let mut csv =
        String::from("mode,snapshot_held,window,cycles_per_s,claim_p50_ms,claim_p99_ms,index_tuples_per_cycle,autovacuum_cores\n");
    let mut md = format!(
        "PostgreSQL {}, workload 3 at depth {DEPTH}, variant {} (ff_engine's modes), {} clients, {}s per run after a {}s \
         warm-up; the first and the last {} s of each run (every {} s window: snapshot.csv).\n\n\
         | mode | snapshot | first: cycles/s | p50 / p99 ms | index tuples per cycle | autovacuum cores | last: cycles/s | p50 / p99 ms | index tuples per cycle | autovacuum cores |\n\
         |---|---|---:|---:|---:|---:|---:|---:|---:|---:|\n",
        env.version,
        opts.held_variant.name(),
        opts.clients.iter().max().unwrap_or(&4),
        duration.as_secs(),
        opts.warmup.as_secs(),
        SPAN.as_secs(),
        WINDOW.as_secs(),
    );
    for p in passes {
        let held = if p.held { "held" } else { "none" };
        for (n, w) in p.windows.iter().enumerate() {
            csv += &format!(
                "{},{},{n},{:.1},{:.3},{:.3},{:.1},{:.3}\n",
                p.mode, p.held, w.cycles_per_s, w.claim.p50, w.claim.p99, w.index_tuples_per_cycle, w.autovacuum_cores
            );
        }
        let cell = |w: &Window| {
            format!(
                "{:.0} | {:.2} / {:.2} | {:.1} | {:.2}",
                w.cycles_per_s, w.claim.p50, w.claim.p99, w.index_tuples_per_cycle, w.autovacuum_cores
            )
        };
        md += &format!("| {} | {held} | {} | {} |\n", p.mode, cell(&p.first), cell(&p.last));
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
    for p in passes.iter().filter(|p| !p.plans.is_empty()) {
        md += &format!("\n### {} (snapshot {})\n", p.mode, if p.held { "held" } else { "not held" });
        for (what, plan) in &p.plans {
            md += &format!("\nThe claim scan {what}:\n\n```text\n{plan}\n```\n");
        }
    }
    std::fs::write(opts.out.join("snapshot.csv"), csv)?;
    std::fs::write(opts.out.join("snapshot.md"), md)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::autovacuum_cpu;

    #[test]
    fn autovacuum_cpu_adds_up_the_runs_logged_and_nothing_else() {
        let log = "2026-12-06 09:40:01.123 UTC [77] LOG:  automatic vacuum of table \"b.public.ff_exec_core\": index scans: 0\n\
                   \tpages: 0 removed, 9000 remain, 9000 scanned (100.00% of total)\n\
                   \tsystem usage: CPU: user: 0.41 s, system: 0.02 s, elapsed: 0.50 s\n\
                   2026-12-06 09:40:02.000 UTC [78] LOG:  automatic analyze of table \"b.public.ff_attempt\"\n\
                   \tsystem usage: CPU: user: 0.10 s, system: 0.00 s, elapsed: 0.11 s\n\
                   2026-12-06 09:40:03.000 UTC [79] LOG:  duration: 12 ms\n\
                   \tsystem usage: CPU: user: 9.00 s, system: 9.00 s, elapsed: 9.00 s\n";
        assert!((autovacuum_cpu(log) - 0.53).abs() < 1e-9, "{}", autovacuum_cpu(log));
    }
}
