//! The latency workloads: how long work waits on an idle system before a handler of the
//! client crate's worker loop starts on it.
//!
//! - Workload 5, idle wake-up: one execution at a time, created after a random idle gap (the workers
//!   are asleep); measured from the create call to the handler's start.
//! - Workload 6, signal → resumed handler: the handler suspends on a waitpoint and hands its token to
//!   the driver, which waits a random idle gap and delivers the signal; measured from the deliver call
//!   to the resumed handler's start.
//!
//! `workers` workers (one `Worker` each, its own pool and wake-up connection) share one lane. Modes:
//! - `extension`: the defaults (`ff_engine.notify = on`; workers announce themselves and are notified);
//! - `extension-notify-off`: `ff_engine.notify = off`; workers still announce, nobody notifies, so the
//!   fallback poll (`max_idle_poll`, 500 ms) finds the work;
//! - `extension-polling`: `wakeups: false`, the worker loop before wake-ups (a back-off from 5 ms to
//!   500 ms on an empty lane).

use crate::stats::{percentiles, BResult, Pcts};
use crate::{Env, Mode, Row};
use ff_engine_client::*;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::mpsc;

/// One latency mode: its label, the database (and so the settings) it runs in, and the worker's wake-ups.
#[derive(Clone, Copy)]
pub struct LatencyMode {
    pub name: &'static str,
    pub db_mode: Mode,
    pub wakeups: bool,
}

pub const MODES: [LatencyMode; 3] = [
    LatencyMode { name: "extension", db_mode: Mode::Ext, wakeups: true },
    LatencyMode { name: "extension-notify-off", db_mode: Mode::ExtQuiet, wakeups: true },
    LatencyMode { name: "extension-polling", db_mode: Mode::Ext, wakeups: false },
];

/// What a handler reports to the driver.
enum Started {
    /// A first run that suspended: its waitpoint's id and token.
    Suspended(ExecutionId, uuid::Uuid, WaitpointToken),
    /// A handler started (a fresh run in workload 5, a resumed one in workload 6).
    Started(Instant),
}

/// Idle gap before each measured operation: uniform in 20-220 ms, from a fixed sequence (long enough
/// for every worker to be asleep, and for a polling worker's back-off to grow).
struct Gaps(u64);

impl Gaps {
    fn next(&mut self) -> Duration {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        Duration::from_millis(20 + self.0 % 201)
    }
}

/// Samples per run (after `WARMUP_SAMPLES` unmeasured ones): the run lasts as long as they take.
pub const SAMPLES: usize = 150;
const WARMUP_SAMPLES: usize = 10;

/// Run workload `workload` (5 or 6) in `mode` with `workers` workers for `SAMPLES` executions.
pub fn run(env: &Env, mode: LatencyMode, workload: u8, workers: usize) -> BResult<Row> {
    let db = Env::db_for(mode.db_mode);
    env.sql(db, crate::ext::RESET_SQL);
    let conninfo = env.conninfo(db);
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build()?;
    let started = Instant::now();
    let samples = rt.block_on(drive(conninfo, mode, workload, workers))?;
    let duration = started.elapsed();
    let mut micros: Vec<u32> = samples.iter().map(|d| d.as_micros().min(u32::MAX as u128) as u32).collect();
    let n = micros.len();
    let pcts: Pcts = percentiles(&mut micros);
    Ok(Row {
        workload,
        mode: mode.name,
        clients: workers,
        depth: 0,
        cycles_per_s: n as f64 / duration.as_secs_f64(),
        calls_per_s: 0.0,
        all: pcts,
        key_op: "wake",
        key: pcts,
        statements_per_cycle: 0.0,
        wal_bytes_per_cycle: 0.0,
        cpu_us_per_cycle: 0.0,
        retries: 0,
    })
}

/// The workers, each a client crate Worker on the lane: workload 5 completes at once, workload 6
/// suspends first and completes when resumed. Each reports when its handler started.
fn spawn_workers(
    conninfo: &str,
    mode: LatencyMode,
    workload: u8,
    workers: usize,
    lane: &str,
    tx: mpsc::UnboundedSender<Started>,
    stop_rx: tokio::sync::watch::Receiver<bool>,
) -> BResult<Vec<tokio::task::JoinHandle<ff_engine_client::Result<ff_engine_client::WorkerReport>>>> {
    let mut tasks = Vec::new();
    for w in 0..workers {
        let client = Client::builder(conninfo)?.max_connections(2).build()?;
        let mut options = WorkerOptions::new(lane.to_string(), format!("latency-worker-{w}"));
        options.wakeups = mode.wakeups;
        let tx = tx.clone();
        let mut stop = stop_rx.clone();
        let handler = Arc::new(move |job: Job| {
            let tx = tx.clone();
            let started = Instant::now();
            async move {
                if workload == 6 && !job.resumed() {
                    let condition = ResumeCondition::single("k1", SignalMatcher::name("go"));
                    match job.suspend(&Suspend::new(condition)).await {
                        Ok(s) => {
                            let wp = &s.waitpoints[0];
                            let _ = tx.send(Started::Suspended(job.execution_id(), wp.waitpoint_id, wp.token.clone()));
                            return Outcome::Suspended;
                        }
                        Err(e) => return Outcome::Fail { message: e.to_string(), retryable: false },
                    }
                }
                let _ = tx.send(Started::Started(started));
                Outcome::Complete(None)
            }
        });
        tasks.push(tokio::spawn(Worker::new(client, options).run(move |job| handler(job), async move {
            let _ = stop.wait_for(|s| *s).await;
        })));
    }
    Ok(tasks)
}

/// Start one sample: create an execution after a random gap (workload 5), or wait for the suspended
/// one a worker reports and signal it after the gap (workload 6). When the sample's clock starts.
async fn start_one(
    driver: &Client,
    lane: &str,
    workload: u8,
    gaps: &mut Gaps,
    rx: &mut mpsc::UnboundedReceiver<Started>,
) -> BResult<Instant> {
    Ok(if workload == 5 {
        tokio::time::sleep(gaps.next()).await;
        let t0 = Instant::now();
        driver.create_execution(&NewExecution::new(lane)).await?;
        t0
    } else {
        driver.create_execution(&NewExecution::new(lane)).await?;
        let (id, waitpoint_id, token) = loop {
            match recv(rx).await? {
                Started::Suspended(id, wp, token) => break (id, wp, token),
                Started::Started(_) => {}
            }
        };
        tokio::time::sleep(gaps.next()).await;
        let t0 = Instant::now();
        driver.deliver_signal(&Signal::new(id, waitpoint_id, token, "go")).await?;
        t0
    })
}

async fn drive(conninfo: String, mode: LatencyMode, workload: u8, workers: usize) -> BResult<Vec<Duration>> {
    let lane = format!("latency{workload}");
    let (tx, mut rx) = mpsc::unbounded_channel::<Started>();
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let tasks = spawn_workers(&conninfo, mode, workload, workers, &lane, tx, stop_rx)?;
    let driver = Client::connect(&conninfo).await?;
    tokio::time::sleep(Duration::from_millis(200)).await; // the workers have started and gone idle
    let mut gaps = Gaps(0x2545_F491_4F6C_DD1D);
    let mut samples = Vec::new();
    for i in 0..WARMUP_SAMPLES + SAMPLES {
        let measuring = i >= WARMUP_SAMPLES;
        let t0 = start_one(&driver, &lane, workload, &mut gaps, &mut rx).await?;
        let t1 = loop {
            match recv(&mut rx).await? {
                Started::Started(t) => break t,
                Started::Suspended(..) => {}
            }
        };
        if measuring {
            samples.push(t1.saturating_duration_since(t0));
        }
    }
    let _ = stop_tx.send(true);
    for t in tasks {
        t.await??;
    }
    Ok(samples)
}

async fn recv(rx: &mut mpsc::UnboundedReceiver<Started>) -> BResult<Started> {
    match tokio::time::timeout(Duration::from_secs(10), rx.recv()).await {
        Ok(Some(s)) => Ok(s),
        _ => Err("no handler started within 10 s".into()),
    }
}
