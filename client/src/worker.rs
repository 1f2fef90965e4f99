//! The worker loop: claim a batch from a lane (`ff_claim`), run a handler per execution while renewing
//! its lease in the background, then complete (batched into `ff_complete_many` calls under load) / fail from
//! the handler's result (or leave it suspended),
//! and stop gracefully: no new claims, in-flight handlers finish.
//!
//! **Idle.** When its lane is empty the worker announces itself (`ff_await_lane`, on a connection of
//! its own that `LISTEN`s on `ff_wake_<its backend pid>`), claims once more, and sleeps until a transaction that
//! makes work claimable in the lane notifies it, or `max_idle_poll` passes (docs/wakeups.md). With
//! `wakeups: false`, or if that connection cannot be had, it polls with a back-off from 5 ms to
//! `max_idle_poll` instead. A partition-first client's worker on a Citus cluster opens that connection
//! to the node holding its lane's partition: the calls of the partition run there, and notify there.

use crate::types::{ClaimedExecution, FailureClass, Lease, SuspendOutcome, Waitpoint};
use crate::{Client, Error, ExecutionId, FrameKind, ObservedSignal, Result, StepOutcome, Suspend};
use serde::de::DeserializeOwned;
use serde::Serialize;
use std::collections::HashMap;
use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{mpsc, oneshot, Semaphore};
use tokio::task::JoinSet;

/// Options of a [`Worker`]; `WorkerOptions::new(lane, worker_id)` gives the defaults.
#[derive(Debug, Clone)]
pub struct WorkerOptions {
    /// The lane to claim from.
    pub lane_id: String,
    /// The worker's identity (grants and leases record it).
    pub worker_id: String,
    /// This process's identity (default: a fresh uuid).
    pub worker_instance_id: String,
    /// Capabilities this worker has.
    pub capabilities: Vec<String>,
    /// Lease length; renewed every third of it while the handler runs (default 30 s).
    pub lease_ttl_ms: i64,
    /// Most executions claimed per `ff_claim` call (default 10).
    pub batch: i32,
    /// Most handlers running at once (default 10).
    pub concurrency: usize,
    /// Longest sleep between claims when the lane is empty (default 500 ms): the fallback poll when
    /// nothing wakes the worker (with `wakeups`), or the top of the back-off (without: it starts at 5 ms
    /// and doubles while the lane stays empty).
    pub max_idle_poll: Duration,
    /// Sleep on the lane's wake-ups when it is empty (default true; one extra connection per worker).
    pub wakeups: bool,
    /// Run `ff_tick` this often (needs `ff_admin`); None: leave the scanners to someone else.
    pub tick_interval: Option<Duration>,
    /// Record completions with `ff_complete_many`, batching those that finish while the previous batch is
    /// being written (default true: one round trip and one commit for many executions under load, no
    /// added wait when idle). False, or a partition-first client: one `ff_complete` per execution.
    pub batch_completions: bool,
}

impl WorkerOptions {
    /// Claim from `lane_id` as `worker_id` with the defaults.
    pub fn new(lane_id: impl Into<String>, worker_id: impl Into<String>) -> Self {
        WorkerOptions {
            lane_id: lane_id.into(),
            worker_id: worker_id.into(),
            worker_instance_id: uuid::Uuid::new_v4().to_string(),
            capabilities: Vec::new(),
            lease_ttl_ms: 30_000,
            batch: 10,
            concurrency: 10,
            max_idle_poll: Duration::from_millis(500),
            wakeups: true,
            tick_interval: None,
            batch_completions: true,
        }
    }
}

/// What the handler decided.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Complete with an optional result.
    Complete(Option<Vec<u8>>),
    /// Fail the attempt (retried while attempts remain and `retryable`).
    Fail {
        /// Why.
        message: String,
        /// Whether another attempt may help.
        retryable: bool,
    },
    /// Fail the attempt with a class and detail ([`Client::fail_with`]).
    FailWith {
        /// Why.
        message: String,
        /// Which kind of failure: `Permanent` is never retried.
        class: FailureClass,
        /// Anything the worker wants recorded with it.
        detail: Option<Vec<u8>>,
    },
    /// The handler suspended the execution (with [`Job::suspend`]); nothing more to do.
    Suspended,
}

/// Stored step values by name.
type StepValues = HashMap<String, Option<Vec<u8>>>;

/// One leased execution handed to the handler.
#[derive(Debug, Clone)]
pub struct Job {
    client: Client,
    /// What the claim returned (fence, attempt, payload, `resumed`, continuation, step count).
    pub claimed: ClaimedExecution,
    /// The execution's stored steps by name, read on the first [`Job::step`] that needs them.
    steps: Arc<tokio::sync::Mutex<Option<StepValues>>>,
}

impl Job {
    /// A job for a claimed execution (what [`Worker`] hands its handler; for a loop of your own).
    pub fn new(client: Client, claimed: ClaimedExecution) -> Self {
        Job { client, claimed, steps: Arc::default() }
    }

    /// The execution.
    pub fn execution_id(&self) -> ExecutionId {
        self.claimed.lease.execution_id
    }

    /// The lease fence.
    pub fn lease(&self) -> &Lease {
        &self.claimed.lease
    }

    /// The payload.
    pub fn payload(&self) -> Option<&[u8]> {
        self.claimed.payload.as_deref()
    }

    /// True when this continues an interrupted attempt (after a resume or a reclaim).
    pub fn resumed(&self) -> bool {
        self.claimed.resumed
    }

    /// The client, for any other call.
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// Suspend under this job's lease. Return [`Outcome::Suspended`] when the state is `Suspended`;
    /// with `AlreadySatisfied` the lease is kept: carry on.
    pub async fn suspend(&self, s: &Suspend) -> Result<SuspendOutcome> {
        self.client.suspend(self.lease(), s).await
    }

    /// A pending waitpoint under this job's lease.
    pub async fn create_waitpoint(&self, waitpoint_key: &str, expires_in_ms: i64) -> Result<Waitpoint> {
        self.client.create_waitpoint(self.lease(), waitpoint_key, expires_in_ms).await
    }

    /// The signals that satisfied the latest suspension (after a resume).
    pub async fn observe_signals(&self) -> Result<Vec<ObservedSignal>> {
        self.client.observe_signals(&self.execution_id()).await
    }

    /// The continuation this attempt suspended with, handed back by the claim that resumed it (None
    /// for a new attempt).
    pub fn continuation(&self) -> Option<&str> {
        self.claimed.continuation.as_deref()
    }

    /// A durable step: runs `run` once per execution and stores its value (JSON) under `name`; on
    /// every later call with that name — in a retried, resumed or reclaimed attempt too — returns the
    /// stored value without running `run`. The first stored value wins: if another holder of the
    /// execution stored one meanwhile, that value is returned. Fenced by this job's lease.
    pub async fn step<T, F, Fut>(&self, name: &str, run: F) -> Result<T>
    where
        T: Serialize + DeserializeOwned,
        F: FnOnce() -> Fut,
        Fut: Future<Output = T>,
    {
        let mut steps = self.steps.lock().await;
        if steps.is_none() {
            *steps = Some(self.read_steps().await?);
        }
        if let Some(stored) = steps.as_ref().and_then(|m| m.get(name)) {
            return decode_step(name, stored.as_deref());
        }
        let value = run().await;
        let bytes = serde_json::to_vec(&value).map_err(|e| Error::Protocol(format!("step {name}: cannot encode its value: {e}")))?;
        match self.client.set_step(self.lease(), name, Some(&bytes)).await? {
            StepOutcome::Stored => {
                steps.get_or_insert_with(HashMap::new).insert(name.to_string(), Some(bytes));
                Ok(value)
            }
            StepOutcome::Exists => {
                let stored = self.fetch_steps().await?;
                let winner = stored.get(name).cloned().flatten();
                *steps = Some(stored);
                decode_step(name, winner.as_deref())
            }
        }
    }

    /// The stored steps; none to read when the claim said there were none (only this job's lease
    /// can store one since).
    async fn read_steps(&self) -> Result<StepValues> {
        if self.claimed.step_count == 0 {
            return Ok(HashMap::new());
        }
        self.fetch_steps().await
    }

    async fn fetch_steps(&self) -> Result<StepValues> {
        Ok(self.client.get_steps(&self.execution_id()).await?.into_iter().map(|s| (s.name, s.value)).collect())
    }

    /// Append an output frame to this execution's stream; its seq.
    pub async fn append_frame(&self, kind: FrameKind, bytes: &[u8]) -> Result<i64> {
        self.client.append_frame(self.lease(), kind, bytes, None).await
    }
}

fn decode_step<T: DeserializeOwned>(name: &str, stored: Option<&[u8]>) -> Result<T> {
    serde_json::from_slice(stored.unwrap_or(b"null"))
        .map_err(|e| Error::Protocol(format!("step {name}: cannot decode its stored value: {e}")))
}

/// Counts from a finished [`Worker::run`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WorkerReport {
    /// Executions claimed.
    pub claimed: u64,
    /// Completed by this worker.
    pub completed: u64,
    /// Failed by this worker (retry scheduled or terminal).
    pub failed: u64,
    /// Left suspended by their handler.
    pub suspended: u64,
    /// Handlers that panicked (their attempt is failed, retryable).
    pub panicked: u64,
    /// Lease lost before the result could be recorded (expired and reclaimed, cancelled, …).
    pub lost: u64,
}

#[derive(Default)]
struct Counters {
    claimed: AtomicU64,
    completed: AtomicU64,
    failed: AtomicU64,
    suspended: AtomicU64,
    panicked: AtomicU64,
    lost: AtomicU64,
}

impl Counters {
    fn report(&self) -> WorkerReport {
        let g = |a: &AtomicU64| a.load(Ordering::Relaxed);
        WorkerReport {
            claimed: g(&self.claimed),
            completed: g(&self.completed),
            failed: g(&self.failed),
            suspended: g(&self.suspended),
            panicked: g(&self.panicked),
            lost: g(&self.lost),
        }
    }
}

/// A worker: see the module docs.
///
/// ```no_run
/// # async fn demo(client: ff_engine_client::Client) -> ff_engine_client::Result<()> {
/// use ff_engine_client::{Outcome, Worker, WorkerOptions};
/// let worker = Worker::new(client, WorkerOptions::new("emails", "mailer-1"));
/// let report = worker
///     .run(|job| async move { Outcome::Complete(job.payload().map(<[u8]>::to_vec)) },
///          async { tokio::signal::ctrl_c().await.ok(); })
///     .await?;
/// println!("completed {}", report.completed);
/// # Ok(()) }
/// ```
pub struct Worker {
    client: Client,
    options: WorkerOptions,
}

impl Worker {
    /// A worker claiming with `client`.
    pub fn new(client: Client, options: WorkerOptions) -> Self {
        Worker { client, options }
    }

    /// Claim and handle executions until `shutdown` completes; then stop claiming, let in-flight
    /// handlers finish, and return the counts. A claim error that retries did not cure (e.g. `42501`) stops
    /// the loop the same way and is returned; a dropped connection or a restarting server does not.
    pub async fn run<H, F>(self, handler: H, shutdown: impl Future<Output = ()>) -> Result<WorkerReport>
    where
        H: Fn(Job) -> F + Send + Sync + 'static,
        F: Future<Output = Outcome> + Send + 'static,
    {
        let o = &self.options;
        let counters = Arc::new(Counters::default());
        let background = Background::start(&self.client, o);
        let mut jobs = Jobs::new(&self.client, handler, counters.clone(), o, background.completer.clone());
        let mut idle = Idle::new(o);
        tokio::pin!(shutdown);
        let mut failure = None;
        loop {
            while jobs.tasks.try_join_next().is_some() {}
            let free = jobs.slots.available_permits();
            if free == 0 {
                tokio::select! {
                    _ = jobs.tasks.join_next() => continue,
                    _ = &mut shutdown => break,
                }
            }
            let max_items = (o.batch.max(1) as usize).min(free) as i32;
            let claim = self.client.claim(&o.lane_id, &o.worker_id, &o.worker_instance_id, &o.capabilities, o.lease_ttl_ms, max_items);
            let claimed = tokio::select! {
                c = claim => c,
                _ = &mut shutdown => break,
            };
            let step = match claimed {
                Ok(c) if c.is_empty() => idle.wait(&self.client, &mut shutdown).await,
                Ok(c) => {
                    idle.reset();
                    jobs.spawn(c);
                    Step::Claim
                }
                // The server is restarting or the connection dropped (the client's own retries ran
                // out): keep the worker, claim again after the back-off.
                Err(e) if e.is_retryable() => idle.back_off(o.max_idle_poll, &mut shutdown).await,
                Err(e) => {
                    failure = Some(e);
                    Step::Stop
                }
            };
            if step == Step::Stop {
                break;
            }
        }
        // Graceful stop: no new claims; every claimed execution is handled to the end.
        while jobs.tasks.join_next().await.is_some() {}
        drop(jobs);
        background.finish().await;
        match failure {
            Some(e) => Err(e),
            None => Ok(counters.report()),
        }
    }
}

/// The handlers in flight, at most `concurrency` (one semaphore permit each).
struct Jobs<H> {
    client: Client,
    handler: Arc<H>,
    counters: Arc<Counters>,
    slots: Arc<Semaphore>,
    tasks: JoinSet<()>,
    completer: Option<mpsc::UnboundedSender<PendingCompletion>>,
    lease_ttl_ms: i64,
}

impl<H, F> Jobs<H>
where
    H: Fn(Job) -> F + Send + Sync + 'static,
    F: Future<Output = Outcome> + Send + 'static,
{
    fn new(
        client: &Client,
        handler: H,
        counters: Arc<Counters>,
        o: &WorkerOptions,
        completer: Option<mpsc::UnboundedSender<PendingCompletion>>,
    ) -> Self {
        let slots = Arc::new(Semaphore::new(o.concurrency.max(1)));
        let (client, handler, tasks) = (client.clone(), Arc::new(handler), JoinSet::new());
        Jobs { client, handler, counters, slots, tasks, completer, lease_ttl_ms: o.lease_ttl_ms }
    }

    /// Run the handler for each claimed execution (the claim asked for no more than the free slots).
    fn spawn(&mut self, claimed: Vec<ClaimedExecution>) {
        self.counters.claimed.fetch_add(claimed.len() as u64, Ordering::Relaxed);
        for c in claimed {
            let permit = self.slots.clone().try_acquire_owned().expect("claimed no more than the free slots");
            let job = Job::new(self.client.clone(), c);
            let (handler, counters, completer) = (self.handler.clone(), self.counters.clone(), self.completer.clone());
            let ttl = self.lease_ttl_ms;
            self.tasks.spawn(async move {
                run_job(job, handler, counters, ttl, completer).await;
                drop(permit);
            });
        }
    }
}

/// What the loop does after a claim.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Step {
    Claim,
    Stop,
}

/// The worker's background tasks: the scanner ticker and the completion batcher.
struct Background {
    ticker: Option<tokio::task::JoinHandle<()>>,
    completer: Option<mpsc::UnboundedSender<PendingCompletion>>,
    batcher: Option<tokio::task::JoinHandle<()>>,
}

impl Background {
    fn start(client: &Client, o: &WorkerOptions) -> Background {
        let ticker = o.tick_interval.map(|every| {
            let client = client.clone();
            tokio::spawn(async move {
                loop {
                    let _ = client.tick(1000).await;
                    tokio::time::sleep(every).await;
                }
            })
        });
        let (completer, batcher) = if o.batch_completions && !client.is_partition_first() {
            let (tx, rx) = mpsc::unbounded_channel();
            (Some(tx), Some(tokio::spawn(complete_in_batches(client.clone(), rx))))
        } else {
            (None, None)
        };
        Background { ticker, completer, batcher }
    }

    /// After the last handler: write the last completions, stop the ticker.
    async fn finish(mut self) {
        drop(self.completer.take());
        if let Some(b) = self.batcher.take() {
            let _ = b.await;
        }
        if let Some(t) = self.ticker.take() {
            t.abort();
        }
    }
}

/// How the worker waits on an empty lane: announced on its lane and asleep until woken (or
/// `max_idle_poll`), or, without wake-ups, a back-off from 5 ms to `max_idle_poll`.
struct Idle {
    lane_id: String,
    max_idle_poll: Duration,
    backoff: Duration,
    waker: Option<LaneWaker>,
    can_wake: bool,
    announced: bool,
}

const MIN_IDLE: Duration = Duration::from_millis(5);

impl Idle {
    fn new(o: &WorkerOptions) -> Idle {
        Idle {
            lane_id: o.lane_id.clone(),
            max_idle_poll: o.max_idle_poll,
            backoff: MIN_IDLE,
            waker: None,
            can_wake: o.wakeups,
            announced: false,
        }
    }

    /// Work was claimed: the next empty lane starts the back-off over and announces again.
    fn reset(&mut self) {
        self.backoff = MIN_IDLE;
        self.announced = false;
    }

    /// The lane was empty. With wake-ups: announce, then claim once more (work committed before the
    /// announcement is claimed now, work committed after it notifies); after that, sleep until woken.
    async fn wait(&mut self, client: &Client, shutdown: &mut (impl Future<Output = ()> + Unpin)) -> Step {
        if self.can_wake && self.waker.is_none() {
            match LaneWaker::connect(client, &self.lane_id).await {
                Ok(w) => self.waker = Some(w),
                Err(e) if e.is_retryable() => {} // poll this time, try again next time
                Err(_) => self.can_wake = false, // e.g. an extension older than 0.2.0
            }
        }
        let Some(w) = self.waker.as_mut().filter(|_| self.can_wake) else {
            let backoff = self.backoff;
            self.backoff = (self.backoff * 2).min(self.max_idle_poll.max(MIN_IDLE));
            return self.back_off(backoff, shutdown).await;
        };
        if !self.announced {
            match w.announce(&self.lane_id).await {
                Ok(()) => self.announced = true,
                Err(e) if e.is_retryable() => self.waker = None,
                Err(_) => self.can_wake = false, // an extension older than 0.2.0
            }
            return Step::Claim;
        }
        let woken = tokio::select! {
            w = w.woken() => w,
            _ = tokio::time::sleep(self.max_idle_poll) => true,
            _ = shutdown => return Step::Stop,
        };
        if !woken {
            self.waker = None; // its connection closed: a new one next time
        }
        self.announced = false;
        Step::Claim
    }

    /// Sleep `d`, unless the worker is told to stop first.
    async fn back_off(&self, d: Duration, shutdown: &mut (impl Future<Output = ()> + Unpin)) -> Step {
        tokio::select! {
            _ = tokio::time::sleep(d) => Step::Claim,
            _ = shutdown => Step::Stop,
        }
    }
}

/// The worker's own connection for wake-ups: it `LISTEN`s on its own channel `ff_wake_<backend pid>`
/// (announced wake-ups, one worker per piece of work) and on `ff_lane_ready` (every write, under
/// `ff_engine.notify = always`), and passes on the notifications for its lane.
pub(crate) struct LaneWaker {
    client: tokio_postgres::Client,
    announce: tokio_postgres::Statement,
    notified: mpsc::UnboundedReceiver<()>,
}

impl LaneWaker {
    pub(crate) async fn connect(client: &Client, lane_id: &str) -> Result<LaneWaker> {
        let config = crate::waiting::where_to_wait(client, ff_engine_core::ids::partition_for_lane(lane_id)).await;
        // This lane's notifications only; the receiver ends when the connection closes.
        let (pg, notified) = crate::waiting::listening_connection(config, "ff_engine_worker_waker", Some(lane_id.to_string())).await?;
        let pid: i32 = pg.query_one("SELECT pg_backend_pid()", &[]).await?.get(0);
        pg.batch_execute(&format!("LISTEN ff_wake_{pid}; LISTEN ff_lane_ready")).await?;
        let announce = pg.prepare("SELECT ff_await_lane($1)").await?;
        Ok(LaneWaker { client: pg, announce, notified })
    }

    /// `ff_await_lane` on this connection, dropping wake-ups that arrived before it.
    pub(crate) async fn announce(&mut self, lane_id: &str) -> Result<()> {
        while self.notified.try_recv().is_ok() {}
        self.client.execute(&self.announce, &[&lane_id]).await?;
        Ok(())
    }

    /// Wait for a notification for the lane; false when the connection closed.
    pub(crate) async fn woken(&mut self) -> bool {
        self.notified.recv().await.is_some()
    }
}

/// A completion waiting for the batcher: the lease, the result, and where to say whether it was recorded.
type PendingCompletion = (Lease, Option<Vec<u8>>, oneshot::Sender<bool>);

/// Most completions per `ff_complete_many` call.
const MAX_COMPLETION_BATCH: usize = 64;

/// Write completions with `ff_complete_many`: take what is waiting (at least one), write it, answer each.
async fn complete_in_batches(client: Client, mut rx: mpsc::UnboundedReceiver<PendingCompletion>) {
    while let Some(first) = rx.recv().await {
        let mut batch = vec![first];
        while batch.len() < MAX_COMPLETION_BATCH {
            match rx.try_recv() {
                Ok(item) => batch.push(item),
                Err(_) => break,
            }
        }
        let items: Vec<(Lease, Option<Vec<u8>>)> = batch.iter().map(|(l, r, _)| (*l, r.clone())).collect();
        let outcomes = client.complete_many(&items).await;
        for (lease, _, reply) in batch {
            let id = lease.execution_id.to_string();
            let recorded = match &outcomes {
                Ok(rows) => rows.iter().any(|o| o.execution_id == id && o.is_completed()),
                Err(_) => false, // not recorded: the lease expires and the execution is reclaimed
            };
            let _ = reply.send(recorded);
        }
    }
}

async fn run_job<H, F>(
    job: Job,
    handler: Arc<H>,
    counters: Arc<Counters>,
    lease_ttl_ms: i64,
    completer: Option<mpsc::UnboundedSender<PendingCompletion>>,
) where
    H: Fn(Job) -> F + Send + Sync + 'static,
    F: Future<Output = Outcome> + Send + 'static,
{
    let (client, lease) = (job.client.clone(), *job.lease());
    let renewer = {
        let client = client.clone();
        tokio::spawn(async move {
            let every = Duration::from_millis((lease_ttl_ms / 3).max(1) as u64);
            loop {
                tokio::time::sleep(every).await;
                if client.renew_lease(&lease, lease_ttl_ms).await.is_err() {
                    return; // suspended, completed elsewhere, or lost: nothing left to renew
                }
            }
        })
    };
    // The handler runs in a task of its own so that a panic is contained and reported as a failure.
    let outcome = tokio::spawn(handler(job)).await;
    renewer.abort();
    let recorded = match outcome {
        Ok(Outcome::Complete(result)) => match &completer {
            Some(tx) => {
                let (reply, answer) = oneshot::channel();
                let sent = tx.send((lease, result, reply)).is_ok();
                match (sent, answer.await) {
                    (true, Ok(true)) => Ok(&counters.completed),
                    _ => Ok(&counters.lost),
                }
            }
            None => client.complete(&lease, result.as_deref()).await.map(|_| &counters.completed),
        },
        Ok(Outcome::Fail { message, retryable }) => client.fail(&lease, &message, retryable).await.map(|_| &counters.failed),
        Ok(Outcome::FailWith { message, class, detail }) => {
            client.fail_with(&lease, &message, class, detail.as_deref()).await.map(|_| &counters.failed)
        }
        Ok(Outcome::Suspended) => Ok(&counters.suspended),
        Err(_) => {
            counters.panicked.fetch_add(1, Ordering::Relaxed);
            client.fail(&lease, "handler panicked", true).await.map(|_| &counters.failed)
        }
    };
    match recorded {
        Ok(counter) => {
            counter.fetch_add(1, Ordering::Relaxed);
        }
        Err(_) => {
            // Not recorded: the lease was lost (LeaseConflict / LeaseExpired / ExecutionNotActive), or the
            // database stayed unreachable past the retries and the lease will expire and be reclaimed.
            counters.lost.fetch_add(1, Ordering::Relaxed);
        }
    }
}
