//! The benchmark harness: one run, one server, four modes, four workloads, 1/4/16 clients.
//!
//! `./scripts/bench.sh` builds the extension in release mode, installs it and runs this binary (release
//! build). It starts its own cluster with the settings in `SERVER_SETTINGS` (recorded in
//! `bench/results/postgresql.conf`), prepares one database per mode, and measures each workload × mode ×
//! client count for a fixed time after a warm-up, printing a progress line per run. Output:
//! `bench/results/results.csv`, `bench/results/chart.svg`, `bench/results/table.md`.

mod absurd;
mod baseline;
mod chart;
mod ext;
mod limit;
mod snapshot;
mod stats;
mod wakeup;

use ff_engine_tests::Cluster;
use stats::{latencies, percentiles, BResult, Rec};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Workload {
    /// 1: create, claim, suspend, deliver (Single, satisfying), claim resumed, complete.
    SuspendSignalResume,
    /// 2: create, claim, suspend on Count 5 of 5 waitpoints, five delivers (four append, one satisfies),
    /// claim resumed, complete.
    CountOfFive,
    /// 3: claim + complete from one lane kept at a fixed depth.
    ClaimComplete,
    /// 4: claim on an empty lane.
    EmptyClaim,
    /// 5: idle wake-up, create → handler start in the worker loop (`wakeup.rs`).
    IdleWakeup,
    /// 6: signal → resumed handler start in the worker loop (`wakeup.rs`).
    SignalWakeup,
    /// 7: workload 1 with two durable steps and two output frames per cycle (the extension's modes).
    StepsAndFrames,
    /// 8: fan-out / fan-in: a parent creates 100 children, suspends until all have ended, is resumed
    /// by the last child's complete, and completes.
    FanIn,
}

impl Workload {
    fn number(self) -> u8 {
        match self {
            Workload::SuspendSignalResume => 1,
            Workload::CountOfFive => 2,
            Workload::ClaimComplete => 3,
            Workload::EmptyClaim => 4,
            Workload::IdleWakeup => 5,
            Workload::SignalWakeup => 6,
            Workload::StepsAndFrames => 7,
            Workload::FanIn => 8,
        }
    }

    fn parse(n: &str) -> Result<Workload, String> {
        Ok(match n {
            "1" => Workload::SuspendSignalResume,
            "2" => Workload::CountOfFive,
            "3" => Workload::ClaimComplete,
            "4" => Workload::EmptyClaim,
            "5" => Workload::IdleWakeup,
            "6" => Workload::SignalWakeup,
            "7" => Workload::StepsAndFrames,
            "8" => Workload::FanIn,
            other => return Err(format!("unknown workload {other} (1-8)")),
        })
    }

    /// The operation whose latency the table reports besides "all calls".
    fn key_op(self) -> &'static str {
        match self {
            Workload::SuspendSignalResume | Workload::CountOfFive | Workload::StepsAndFrames => "deliver",
            Workload::ClaimComplete | Workload::EmptyClaim => "claim",
            Workload::FanIn => "complete",
            Workload::IdleWakeup | Workload::SignalWakeup => "wake",
        }
    }

    /// Workloads 5 and 6 measure latency through the worker loop, not throughput.
    fn is_latency(self) -> bool {
        matches!(self, Workload::IdleWakeup | Workload::SignalWakeup)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Ext,
    ExtQuiet,
    /// `ff_engine.notify = always`: every write notifies, announced or not (0.1.0's default).
    ExtAlways,
    /// The SQL edition (PL/pgSQL, no module).
    SqlEdition,
    ExtBatch10,
    ExtBatch10Quiet,
    Baseline,
    Absurd,
    Limit,
}

impl Mode {
    fn name(self) -> &'static str {
        match self {
            Mode::Ext => "extension",
            Mode::ExtQuiet => "extension-notify-off",
            Mode::ExtAlways => "extension-notify-always",
            Mode::SqlEdition => "sql-edition",
            Mode::ExtBatch10 => "extension-batch10",
            Mode::ExtBatch10Quiet => "extension-batch10-notify-off",
            Mode::Baseline => "baseline",
            Mode::Absurd => "absurd",
            Mode::Limit => "limit",
        }
    }
}

/// Server settings of the benchmark cluster (besides the harness's socket/port/max_connections).
/// Every autovacuum run is logged with its CPU time, which the held-snapshot mode adds up per window.
const SERVER_SETTINGS: &[&str] = &[
    "synchronous_commit=on",
    "fsync=on",
    "shared_buffers=2GB",
    "max_wal_size=16GB",
    "checkpoint_timeout=1h",
    "autovacuum_naptime=10s",
    "log_autovacuum_min_duration=0",
];

struct Opts {
    duration: Duration,
    warmup: Duration,
    clients: Vec<usize>,
    workloads: Vec<Workload>,
    modes: Vec<Mode>,
    /// Whether --modes was given (held-snapshot mode has its own default).
    modes_given: bool,
    depths: Vec<usize>,
    out: std::path::PathBuf,
    /// Held-snapshot mode: run only workload 3, this long per run, with and without a held snapshot.
    held_snapshot: Option<Duration>,
    /// What else happens during a held-snapshot run (ff_engine's modes).
    held_variant: snapshot::Variant,
}

/// The benchmark: ff_engine's modes beside Absurd, the client-side baseline and pgbench's one-row
/// UPDATE, on one server in one run (BENCHMARKS.md; scripts/bench.sh builds and runs it).
#[derive(clap::Parser)]
#[command(name = "ff-engine-bench")]
struct Args {
    /// Measured seconds per run.
    #[arg(long, default_value_t = 6.0)]
    duration: f64,
    /// Warm-up seconds per run.
    #[arg(long, default_value_t = 2.0)]
    warmup: f64,
    /// Client counts, comma-separated.
    #[arg(long, value_delimiter = ',', default_value = "1,4,16")]
    clients: Vec<usize>,
    /// Workloads, comma-separated: 1 suspend/signal/resume, 2 count 5 of 5, 3 claim + complete,
    /// 4 empty claim, 5 idle wake-up, 6 signal wake-up, 7 workload 1 with two steps and two frames,
    /// 8 fan-out / fan-in of 100 children.
    #[arg(long, value_delimiter = ',', default_value = "1,2,3,4,5,6", value_parser = Workload::parse)]
    workloads: Vec<Workload>,
    /// Modes, comma-separated: extension, extension-notify-off, extension-notify-always, sql-edition,
    /// extension-batch10, extension-batch10-notify-off, baseline, absurd, limit.
    #[arg(long, value_delimiter = ',', value_parser = Mode::parse)]
    modes: Option<Vec<Mode>>,
    /// Queue depths of workload 3's depth runs, comma-separated ("" for none).
    #[arg(long, value_delimiter = ',', default_value = "1000,1000000", num_args = 0..)]
    depths: Vec<String>,
    /// Where the results go.
    #[arg(long, default_value = "bench/results")]
    out: std::path::PathBuf,
    /// Held-snapshot mode: workload 3 only, this many seconds per run, with and without a held snapshot.
    #[arg(long)]
    held_snapshot: Option<f64>,
    /// Held-snapshot variant (ff_engine's modes; Absurd and the baseline run one-lane):
    /// one-lane, priorities3, lanes16, retries10, rollback1, raises, producer-hold.
    #[arg(long, default_value = "one-lane", value_parser = snapshot::Variant::parse)]
    held_variant: snapshot::Variant,
}

impl Mode {
    const ALL: [Mode; 9] = [
        Mode::Ext,
        Mode::ExtQuiet,
        Mode::ExtAlways,
        Mode::SqlEdition,
        Mode::ExtBatch10,
        Mode::ExtBatch10Quiet,
        Mode::Baseline,
        Mode::Absurd,
        Mode::Limit,
    ];

    fn parse(name: &str) -> Result<Mode, String> {
        Mode::ALL.into_iter().find(|m| m.name() == name).ok_or_else(|| format!("unknown mode {name}"))
    }
}

fn parse_opts() -> Opts {
    let a = <Args as clap::Parser>::parse();
    let default_modes = vec![
        Mode::Ext,
        Mode::ExtQuiet,
        Mode::ExtAlways,
        Mode::ExtBatch10,
        Mode::ExtBatch10Quiet,
        Mode::Baseline,
        Mode::Absurd,
        Mode::Limit,
    ];
    let depths = a.depths.iter().filter(|d| !d.is_empty()).map(|d| d.parse().unwrap_or_else(|_| panic!("bad depth {d}"))).collect();
    Opts {
        duration: Duration::from_secs_f64(a.duration),
        warmup: Duration::from_secs_f64(a.warmup),
        clients: a.clients,
        workloads: a.workloads,
        modes_given: a.modes.is_some(),
        modes: a.modes.unwrap_or(default_modes),
        depths,
        out: a.out,
        held_snapshot: a.held_snapshot.map(Duration::from_secs_f64),
        held_variant: a.held_variant,
    }
}

/// One measured run.
#[derive(Debug, Clone)]
pub struct Row {
    pub workload: u8,
    pub mode: &'static str,
    pub clients: usize,
    pub depth: usize,
    pub cycles_per_s: f64,
    pub calls_per_s: f64,
    pub all: stats::Pcts,
    pub key_op: &'static str,
    pub key: stats::Pcts,
    pub statements_per_cycle: f64,
    pub wal_bytes_per_cycle: f64,
    /// Busy CPU time of the whole machine (server, client, everything; `/proc/stat`) per cycle, in µs,
    /// over the run including its warm-up: steadier than throughput on a shared host.
    pub cpu_us_per_cycle: f64,
    pub retries: u64,
}

enum Driver {
    Ext(ext::Ext),
    Baseline(baseline::Baseline),
    Absurd(absurd::Absurd),
}

impl Driver {
    async fn cycle(&mut self, w: Workload, rec: &mut Rec) -> BResult<u64> {
        match self {
            Driver::Ext(d) => d.cycle(w, rec).await,
            Driver::Baseline(d) => d.cycle(w, rec).await,
            Driver::Absurd(d) => d.cycle(w, rec).await,
        }
    }
}

struct Env {
    cluster: Cluster,
    version: String,
}

impl Env {
    fn conninfo(&self, db: &str) -> String {
        self.cluster.conninfo(db, "postgres")
    }

    fn sql(&self, db: &str, sql: &str) {
        let mut c = self.cluster.connect(db, "postgres");
        c.batch_execute(sql).unwrap_or_else(|e| panic!("{db}: {e}\n{sql}"));
    }

    fn wal_bytes(&self) -> i64 {
        let mut c = self.cluster.connect("postgres", "postgres");
        c.query_one("SELECT wal_bytes::bigint FROM pg_stat_wal", &[]).unwrap().get(0)
    }

    fn db_for(mode: Mode) -> &'static str {
        match mode {
            Mode::Ext | Mode::ExtBatch10 => "bench_ext",
            // The same extension with `ff_engine.notify = off` (ALTER DATABASE): no NOTIFY at commit.
            Mode::ExtQuiet | Mode::ExtBatch10Quiet => "bench_ext_quiet",
            // `ff_engine.notify = always`: every commit that writes an event notifies (0.1.0's default).
            Mode::ExtAlways => "bench_ext_always",
            Mode::SqlEdition => "bench_sql_edition",
            Mode::Baseline => "bench_baseline",
            Mode::Absurd => "bench_absurd",
            Mode::Limit => "bench_limit",
        }
    }
}

fn lane_for(w: Workload, client: usize) -> String {
    match w {
        Workload::SuspendSignalResume | Workload::CountOfFive | Workload::StepsAndFrames | Workload::FanIn => {
            format!("w{}c{client}", w.number())
        }
        Workload::ClaimComplete => "bulk".into(),
        Workload::EmptyClaim => "empty".into(),
        Workload::IdleWakeup | Workload::SignalWakeup => unreachable!("latency workloads have their own driver"),
    }
}

fn queue_for(w: Workload, client: usize) -> String {
    match w {
        Workload::SuspendSignalResume | Workload::CountOfFive | Workload::StepsAndFrames | Workload::FanIn => format!("q{client}"),
        Workload::ClaimComplete => "bulk".into(),
        Workload::EmptyClaim => "empty".into(),
        Workload::IdleWakeup | Workload::SignalWakeup => unreachable!("latency workloads have their own driver"),
    }
}

fn reset(env: &Env, mode: Mode, max_clients: usize) {
    let db = Env::db_for(mode);
    match mode {
        Mode::Ext | Mode::ExtBatch10 | Mode::ExtQuiet | Mode::ExtBatch10Quiet | Mode::ExtAlways | Mode::SqlEdition => {
            env.sql(db, ext::RESET_SQL)
        }
        Mode::Baseline => env.sql(db, baseline::RESET_SQL),
        Mode::Absurd => {
            let mut queues: Vec<String> = (0..max_clients).map(|c| format!("q{c}")).collect();
            queues.extend(["bulk".into(), "empty".into()]);
            let sql: String =
                queues.iter().map(|q| format!("SELECT absurd.drop_queue('{q}'); SELECT absurd.create_queue('{q}');")).collect();
            env.sql(db, &sql);
        }
        Mode::Limit => {}
    }
    env.sql(db, "VACUUM ANALYZE");
    env.sql(db, "CHECKPOINT");
}

fn fill_sql(mode: Mode, n: usize) -> String {
    match mode {
        Mode::Ext | Mode::ExtBatch10 | Mode::ExtQuiet | Mode::ExtBatch10Quiet | Mode::ExtAlways | Mode::SqlEdition => {
            ext::fill_sql_for(snapshot::variant(), "bulk", n)
        }
        Mode::Baseline => baseline::fill_sql("bulk", n),
        Mode::Absurd => absurd::fill_sql("bulk", n),
        Mode::Limit => unreachable!(),
    }
}

/// Run `clients` drivers for warm-up + duration; for workload 3 keep the lane at `depth` by refilling
/// what was consumed (one bulk statement every 20 ms).
fn measure(env: &Env, opts: &Opts, w: Workload, mode: Mode, clients: usize, depth: usize) -> BResult<Row> {
    prepare(env, opts, w, mode, depth);
    let wal_before = env.wal_bytes();
    let cpu_before = busy_cpu_us();
    let run = Run { w, mode, clients, warmup: opts.warmup, duration: opts.duration, window: None };
    let rec = run_clients(env, run)?;
    let cpu = busy_cpu_us() - cpu_before;
    let wal = env.wal_bytes() - wal_before;
    let secs = opts.duration.as_secs_f64();
    let mut all = latencies(&rec, &[]);
    let calls = all.len();
    let mut key = latencies(&rec, &[w.key_op()]);
    Ok(Row {
        workload: w.number(),
        mode: mode.name(),
        clients,
        depth,
        cycles_per_s: rec.cycles as f64 / secs,
        calls_per_s: calls as f64 / secs,
        all: percentiles(&mut all),
        key_op: w.key_op(),
        key: percentiles(&mut key),
        statements_per_cycle: rec.statements as f64 / rec.cycles_total.max(1) as f64,
        wal_bytes_per_cycle: wal as f64 / rec.cycles_total.max(1) as f64,
        cpu_us_per_cycle: cpu / rec.cycles_total.max(1) as f64,
        retries: rec.retries,
    })
}

/// Empty the mode's database; for workload 3 queue `depth` executions and vacuum.
fn prepare(env: &Env, opts: &Opts, w: Workload, mode: Mode, depth: usize) {
    let db = Env::db_for(mode);
    reset(env, mode, opts.clients.iter().copied().max().unwrap_or(1));
    if w == Workload::ClaimComplete {
        env.sql(db, &fill_sql(mode, depth));
        env.sql(db, "VACUUM ANALYZE");
    }
}

/// What one timed run drives.
#[derive(Clone, Copy)]
struct Run {
    pub w: Workload,
    pub mode: Mode,
    pub clients: usize,
    pub warmup: Duration,
    pub duration: Duration,
    /// Keep latencies and cycles per window of this length too.
    pub window: Option<Duration>,
}

/// Drive `run.clients` clients for warm-up + duration and return what they recorded together.
/// Keeps workload 3's queue at its depth: every 20 ms, inserts as many executions as were consumed.
async fn refiller(conninfo: String, mode: Mode, consumed: Arc<AtomicU64>, stop: Arc<std::sync::atomic::AtomicBool>) {
    let (c, conn) = tokio_postgres::connect(&conninfo, tokio_postgres::NoTls).await.unwrap();
    tokio::spawn(conn);
    let mut refilled = 0u64;
    while !stop.load(Ordering::Relaxed) {
        let target = consumed.load(Ordering::Relaxed);
        if target > refilled {
            c.batch_execute(&fill_sql(mode, (target - refilled) as usize)).await.unwrap();
            refilled = target;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// One client's part of a run.
#[derive(Clone, Copy)]
struct Drive {
    w: Workload,
    mode: Mode,
    client: usize,
    start: Instant,
    warmup: Duration,
    duration: Duration,
    window: Option<Duration>,
}

/// One client: cycles of the workload through its mode's driver until the run ends, recorded once the
/// warm-up is over.
async fn drive_client(conninfo: &str, d: Drive, consumed: &AtomicU64) -> BResult<Rec> {
    let Drive { w, mode, client, start, warmup, duration, window } = d;
    let mut driver = match mode {
        Mode::Ext | Mode::ExtQuiet | Mode::ExtAlways | Mode::SqlEdition => {
            Driver::Ext(ext::Ext::new(conninfo, lane_for(w, client), client, 1).await?)
        }
        Mode::ExtBatch10 | Mode::ExtBatch10Quiet => Driver::Ext(ext::Ext::new(conninfo, lane_for(w, client), client, 10).await?),
        Mode::Baseline => Driver::Baseline(baseline::Baseline::new(conninfo, lane_for(w, client), client).await?),
        Mode::Absurd => Driver::Absurd(absurd::Absurd::new(conninfo, queue_for(w, client), client).await?),
        Mode::Limit => unreachable!(),
    };
    let mut rec = Rec { window: window.map(|len| (start + warmup, len)), ..Rec::default() };
    loop {
        let elapsed = start.elapsed();
        if elapsed >= warmup + duration {
            break;
        }
        rec.measuring = elapsed >= warmup;
        let measuring = rec.measuring;
        let n = driver.cycle(w, &mut rec).await?;
        consumed.fetch_add(n, Ordering::Relaxed);
        rec.cycles_total += n;
        if measuring {
            rec.count_cycles(n);
        }
    }
    Ok(rec)
}

fn run_clients(env: &Env, run: Run) -> BResult<Rec> {
    let Run { w, mode, clients, warmup, duration, window } = run;
    let conninfo = env.conninfo(Env::db_for(mode));
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build()?;
    rt.block_on(async move {
        let consumed = Arc::new(AtomicU64::new(0));
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let refill = (w == Workload::ClaimComplete).then(|| tokio::spawn(refiller(conninfo.clone(), mode, consumed.clone(), stop.clone())));
        let start = Instant::now();
        let mut tasks = Vec::new();
        for client in 0..clients {
            let conninfo = conninfo.clone();
            let consumed = consumed.clone();
            let d = Drive { w, mode, client, start, warmup, duration, window };
            tasks.push(tokio::spawn(async move { drive_client(&conninfo, d, &consumed).await }));
        }
        let mut total = Rec::default();
        let mut failure = None;
        for t in tasks {
            match t.await.expect("client task") {
                Ok(r) => total.merge(r),
                Err(e) => failure = Some(e),
            }
        }
        stop.store(true, Ordering::Relaxed);
        if let Some(r) = refill {
            let _ = r.await;
        }
        match failure {
            Some(e) => Err(e),
            None => Ok(total),
        }
    })
}

fn setup(env: &Env, modes: &[Mode]) -> Vec<Mode> {
    let mut ok = Vec::new();
    for &m in modes {
        let db = Env::db_for(m);
        let exists = {
            let mut c = env.cluster.connect("postgres", "postgres");
            c.query_opt("SELECT 1 FROM pg_database WHERE datname = $1", &[&db]).unwrap().is_some()
        };
        if !exists {
            env.sql("postgres", &format!("CREATE DATABASE {db}"));
            let ready = match m {
                Mode::Ext | Mode::ExtBatch10 | Mode::ExtQuiet | Mode::ExtBatch10Quiet | Mode::ExtAlways => {
                    env.sql(db, "CREATE EXTENSION ff_engine; SELECT ff_seed_hmac('bench-k1');");
                    if matches!(m, Mode::ExtQuiet | Mode::ExtBatch10Quiet) {
                        env.sql(db, &format!("ALTER DATABASE {db} SET ff_engine.notify = off"));
                    }
                    if m == Mode::ExtAlways {
                        env.sql(db, &format!("ALTER DATABASE {db} SET ff_engine.notify = always"));
                    }
                    if let Ok(extra) = std::env::var("FF_BENCH_EXT_SQL") {
                        env.sql(db, &std::fs::read_to_string(extra).unwrap());
                    }
                    true
                }
                Mode::Baseline => {
                    env.sql(db, baseline::SCHEMA_SQL);
                    true
                }
                Mode::SqlEdition => {
                    let mut c = env.cluster.connect(db, "postgres");
                    // As the standalone script installs it: with finalize's plan settings and grants.
                    ff_engine_tests::install_sql_edition_standalone(&mut c, "public");
                    env.sql(db, "SELECT ff_seed_hmac('bench-k1');");
                    true
                }
                Mode::Absurd => absurd_init(env, db),
                Mode::Limit => limit::init(env, db),
            };
            if !ready {
                eprintln!("!! mode {} unavailable; skipped", m.name());
                continue;
            }
        }
        ok.push(m);
    }
    ok
}

fn absurd_init(env: &Env, db: &str) -> bool {
    let out = std::process::Command::new("absurdctl")
        .args(["init", "-h", env.cluster.socket_dir.to_str().unwrap(), "-p", &env.cluster.port.to_string(), "-U", "postgres", "-d", db])
        .output();
    match out {
        Ok(o) if o.status.success() => true,
        Ok(o) => {
            eprintln!("absurdctl init failed: {}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr));
            false
        }
        Err(e) => {
            eprintln!("absurdctl not found ({e}); install with: pip install absurdctl==0.5.1");
            false
        }
    }
}

fn main() -> BResult<()> {
    let opts = parse_opts();
    std::fs::create_dir_all(&opts.out)?;
    let opts = Opts { out: std::fs::canonicalize(&opts.out)?, ..opts };
    let profile = std::env::var_os("FF_BENCH_PROFILE").is_some();
    let env = start_env(&opts, profile)?;
    if let Some(duration) = opts.held_snapshot {
        let modes = if opts.modes_given { opts.modes.clone() } else { vec![Mode::ExtQuiet, Mode::Baseline, Mode::Absurd] };
        let modes = setup(&env, &modes);
        snapshot::main(&env, &opts, &modes, duration)?;
        env.cluster.stop();
        return Ok(());
    }
    let modes = setup(&env, &opts.modes);
    let cpus = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
    eprintln!(
        "== PostgreSQL {}, {cpus} CPUs, {}s warm-up + {}s per run",
        env.version,
        opts.warmup.as_secs_f64(),
        opts.duration.as_secs_f64()
    );

    let mut rows: Vec<Row> = Vec::new();
    let plan = throughput_plan(&opts, &modes);
    let latency: Vec<(Workload, wakeup::LatencyMode, usize)> = opts
        .workloads
        .iter()
        .filter(|w| w.is_latency())
        .flat_map(|&w| wakeup::MODES.iter().filter(|m| modes.contains(&m.db_mode)).map(move |&m| (w, m)))
        .flat_map(|(w, m)| opts.clients.iter().map(move |&c| (w, m, c)))
        .collect();
    let total = plan.len() + if modes.contains(&Mode::Limit) { 2 * opts.clients.len() } else { 0 } + latency.len();
    run_throughput(&env, &opts, &plan, total, profile, &mut rows)?;
    if modes.contains(&Mode::Limit) {
        run_limits(&env, &opts, plan.len(), total, &mut rows);
    }
    run_latencies(&env, &latency, total, &mut rows);
    write_outputs(&opts, &rows, &env.version, cpus)?;
    env.cluster.stop();
    Ok(())
}

/// The throughput runs of the plan, each printed as it ends and appended to results.csv.
fn run_throughput(
    env: &Env,
    opts: &Opts,
    plan: &[(Workload, Mode, usize, usize)],
    total: usize,
    profile: bool,
    rows: &mut Vec<Row>,
) -> BResult<()> {
    for (i, &(w, m, c, d)) in plan.iter().enumerate() {
        eprint!(
            "[{:>2}/{total}] workload {} {:<18} {:>2} clients{} ... ",
            i + 1,
            w.number(),
            m.name(),
            c,
            if d > 0 { format!(" depth {d}") } else { String::new() }
        );
        if profile {
            env.sql(Env::db_for(m), "CREATE EXTENSION IF NOT EXISTS pg_stat_statements; SELECT pg_stat_statements_reset();");
        }
        let result = measure(env, opts, w, m, c, d);
        if profile {
            write_profile(env, opts, w, m, c, d)?;
        }
        match result {
            Ok(r) => {
                eprintln!(
                    "{:>9.0} cycles/s  p50 {:.2} ms  p99 {:.2} ms  {} p99 {:.2} ms  CPU {:.0} µs/cycle",
                    r.cycles_per_s, r.all.p50, r.all.p99, r.key_op, r.key.p99, r.cpu_us_per_cycle
                );
                rows.push(r);
                write_csv(&opts.out.join("results.csv"), rows)?; // as we go: a late failure loses nothing
            }
            Err(e) => eprintln!("FAILED: {}", describe(&*e)),
        }
    }
    Ok(())
}

/// The wake-up latency runs (workloads 5 and 6), numbered last.
fn run_latencies(env: &Env, latency: &[(Workload, wakeup::LatencyMode, usize)], total: usize, rows: &mut Vec<Row>) {
    let done = total - latency.len();
    for (i, &(w, m, c)) in latency.iter().enumerate() {
        eprint!("[{:>2}/{total}] workload {} {:<18} {:>2} workers ... ", done + i + 1, w.number(), m.name, c);
        match wakeup::run(env, m, w.number(), c) {
            Ok(r) => {
                eprintln!(
                    "{:>9.0} executions/s  wake p50 {:.2} ms  p95 {:.2} ms  p99 {:.2} ms",
                    r.cycles_per_s, r.all.p50, r.all.p95, r.all.p99
                );
                rows.push(r);
            }
            Err(e) => eprintln!("FAILED: {}", describe(&*e)),
        }
    }
}

/// The benchmark cluster, started with the harness's settings (and pg_stat_statements when profiling),
/// its settings recorded in `<out>/postgresql.conf`.
fn start_env(opts: &Opts, profile: bool) -> BResult<Env> {
    eprintln!("== starting the benchmark cluster ({})", SERVER_SETTINGS.join(" "));
    let mut settings_list: Vec<&str> = SERVER_SETTINGS.to_vec();
    if profile {
        // Opt-in: statement-level profile of every run (nested statements included) in <out>/profile/.
        settings_list.extend(["shared_preload_libraries=pg_stat_statements", "pg_stat_statements.track=all"]);
    }
    let cluster = Cluster::start(&settings_list);
    let version: String = cluster.connect("postgres", "postgres").query_one("SHOW server_version", &[])?.get(0);
    let env = Env { cluster, version };
    let settings: Vec<(String, String)> = env
        .cluster
        .connect("postgres", "postgres")
        .query("SELECT name, setting FROM pg_settings WHERE source NOT IN ('default', 'override') ORDER BY name", &[])?
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    std::fs::write(opts.out.join("postgresql.conf"), settings.iter().map(|(k, v)| format!("{k} = '{v}'\n")).collect::<String>())?;
    Ok(env)
}

/// The throughput runs: (workload, mode, clients, queue depth), in order.
fn throughput_plan(opts: &Opts, modes: &[Mode]) -> Vec<(Workload, Mode, usize, usize)> {
    let mut plan: Vec<(Workload, Mode, usize, usize)> = Vec::new();
    for &w in opts.workloads.iter().filter(|w| !w.is_latency()) {
        for &m in modes {
            let batch = matches!(m, Mode::ExtBatch10 | Mode::ExtBatch10Quiet);
            if m == Mode::Limit || (batch && w != Workload::ClaimComplete) {
                continue;
            }
            // Steps and frames exist in the extension's modes only (Absurd's checkpoints are not
            // fenced; the baseline has neither).
            if w == Workload::StepsAndFrames && matches!(m, Mode::Baseline | Mode::Absurd) {
                continue;
            }
            // The baseline has no flows; Absurd runs its nearest equivalent (absurd.rs).
            if w == Workload::FanIn && m == Mode::Baseline {
                continue;
            }
            for &c in &opts.clients {
                plan.push((w, m, c, if w == Workload::ClaimComplete { 10_000 } else { 0 }));
            }
        }
        // Queue depth: one call per execution and the worker's batched path (claim 10, complete 10).
        for m in [Mode::ExtQuiet, Mode::ExtBatch10Quiet] {
            if w == Workload::ClaimComplete && modes.contains(&m) {
                for &d in &opts.depths {
                    plan.push((w, m, *opts.clients.iter().max().unwrap(), d));
                }
            }
        }
    }
    plan
}

/// One run's statement profile (pg_stat_statements, nested statements included), in
/// `<out>/profile/w<workload>-<mode>-<clients>-<depth>.txt`.
fn write_profile(env: &Env, opts: &Opts, w: Workload, m: Mode, c: usize, d: usize) -> BResult<()> {
    let mut conn = env.cluster.connect(Env::db_for(m), "postgres");
    let rows = conn.query(
            "SELECT calls, round(total_exec_time::numeric, 1)::text, round(mean_exec_time::numeric, 4)::text,                         round(total_plan_time::numeric, 1)::text, plans, left(regexp_replace(query, '\\s+', ' ', 'g'), 160), \
                    round(shared_blks_hit::numeric / greatest(calls, 1), 1)::text \
             FROM pg_stat_statements ORDER BY total_exec_time DESC LIMIT 30", &[])?;
    let text: String = rows
        .iter()
        .map(|r| {
            format!(
                "{:>8} calls {:>10} ms total {:>8} ms mean {:>8} ms plan ({} plans) {:>7} buffers/call  {}\n",
                r.get::<_, i64>(0),
                r.get::<_, String>(1),
                r.get::<_, String>(2),
                r.get::<_, String>(3),
                r.get::<_, i64>(4),
                r.get::<_, String>(6),
                r.get::<_, String>(5)
            )
        })
        .collect();
    std::fs::create_dir_all(opts.out.join("profile"))?;
    std::fs::write(opts.out.join("profile").join(format!("w{}-{}-{c}-{d}.txt", w.number(), m.name())), text)?;
    Ok(())
}

/// The pgbench-style limit runs (one-row UPDATE, with and without pg_notify), numbered after `before`.
fn run_limits(env: &Env, opts: &Opts, before: usize, total: usize, rows: &mut Vec<Row>) {
    let runs = [false, true].into_iter().flat_map(|n| opts.clients.iter().map(move |&c| (n, c)));
    for (i, (notify, c)) in runs.enumerate() {
        let what = if notify { "UPDATE + pg_notify" } else { "UPDATE" };
        eprint!("[{:>2}/{total}] pgbench one-row {what} {c:>2} clients ... ", before + i + 1);
        match limit::run(env, Env::db_for(Mode::Limit), c, notify, opts.warmup, opts.duration, &opts.out) {
            Ok(r) => {
                eprintln!(
                    "{:>9.0} tx/s  p50 {:.2} ms  p99 {:.2} ms  CPU {:.0} µs/tx",
                    r.cycles_per_s, r.all.p50, r.all.p99, r.cpu_us_per_cycle
                );
                rows.push(r);
            }
            Err(e) => eprintln!("FAILED: {e}"),
        }
    }
}

/// results.csv, chart.svg (and wakeup.svg when latencies ran), table.md.
fn write_outputs(opts: &Opts, rows: &[Row], version: &str, cpus: usize) -> BResult<()> {
    write_csv(&opts.out.join("results.csv"), rows)?;
    let throughput: Vec<Row> = rows.iter().filter(|r| r.workload <= 4).cloned().collect();
    std::fs::write(opts.out.join("chart.svg"), chart::svg(&throughput, *opts.clients.iter().max().unwrap()))?;
    if rows.iter().any(|r| r.workload >= 5) {
        std::fs::write(opts.out.join("wakeup.svg"), chart::latency_svg(rows))?;
    }
    std::fs::write(opts.out.join("table.md"), table_md(rows, version, cpus, opts))?;
    eprintln!("== wrote {}/results.csv, chart.svg, table.md", opts.out.display());
    Ok(())
}

fn write_csv(path: &std::path::Path, rows: &[Row]) -> BResult<()> {
    let mut s = String::from(
        "workload,mode,clients,depth,cycles_per_s,calls_per_s,p50_ms,p95_ms,p99_ms,key_op,key_p50_ms,key_p95_ms,key_p99_ms,statements_per_cycle,wal_bytes_per_cycle,cpu_us_per_cycle,retries\n",
    );
    for r in rows {
        s += &format!(
            "{},{},{},{},{:.1},{:.1},{:.3},{:.3},{:.3},{},{:.3},{:.3},{:.3},{:.1},{:.0},{:.0},{}\n",
            r.workload,
            r.mode,
            r.clients,
            r.depth,
            r.cycles_per_s,
            r.calls_per_s,
            r.all.p50,
            r.all.p95,
            r.all.p99,
            r.key_op,
            r.key.p50,
            r.key.p95,
            r.key.p99,
            r.statements_per_cycle,
            r.wal_bytes_per_cycle,
            r.cpu_us_per_cycle,
            r.retries
        );
    }
    std::fs::write(path, s)?;
    Ok(())
}

fn table_md(rows: &[Row], version: &str, cpus: usize, opts: &Opts) -> String {
    let mut s = format!(
        "PostgreSQL {version}, {cpus} CPUs, {}s warm-up + {}s measured per run, synchronous_commit = on.\n\n\
         | workload | mode | clients | depth | cycles/s | calls/s | p50 ms | p95 ms | p99 ms | key op p99 ms | stmts/cycle | WAL B/cycle | CPU µs/cycle | retries |\n\
         |---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n",
        opts.warmup.as_secs_f64(),
        opts.duration.as_secs_f64()
    );
    for r in rows {
        s += &format!(
            "| {} | {} | {} | {} | {:.0} | {:.0} | {:.2} | {:.2} | {:.2} | {} {:.2} | {:.1} | {:.0} | {:.0} | {} |\n",
            r.workload,
            r.mode,
            r.clients,
            if r.depth > 0 { r.depth.to_string() } else { "–".into() },
            r.cycles_per_s,
            r.calls_per_s,
            r.all.p50,
            r.all.p95,
            r.all.p99,
            r.key_op,
            r.key.p99,
            r.statements_per_cycle,
            r.wal_bytes_per_cycle,
            r.cpu_us_per_cycle,
            r.retries
        );
    }
    s
}

/// Busy CPU time of the whole machine so far, in µs (`/proc/stat`: user, nice, system, irq, softirq;
/// not idle, iowait or steal).
pub fn busy_cpu_us() -> f64 {
    let stat = std::fs::read_to_string("/proc/stat").unwrap_or_default();
    let fields: Vec<f64> = stat.lines().next().unwrap_or("").split_whitespace().skip(1).filter_map(|v| v.parse().ok()).collect();
    let busy: f64 = [0, 1, 2, 5, 6].iter().filter_map(|&i| fields.get(i)).sum();
    // USER_HZ is 100 on Linux.
    busy * 10_000.0
}

/// An error with its database message (tokio-postgres's Display says only "db error").
fn describe(e: &(dyn std::error::Error + 'static)) -> String {
    match e.downcast_ref::<tokio_postgres::Error>().and_then(|e| e.as_db_error()) {
        Some(db) => format!("{} {}", db.code().code(), db.message()),
        None => e.to_string(),
    }
}
