//! An idle worker timed: shared by the test files that measure how fast an idle `Worker` is woken
//! (tests/client_wakeups.rs on one node, tests/citus.rs on a cluster), included with `#[path]`.

use ff_engine_client::{Client, Job, NewExecution, Outcome, Worker, WorkerOptions};
use std::time::{Duration, Instant};

/// Start a worker of `client` on `lane` (its fallback poll 10 s) whose handler reports when it
/// starts; create one execution at a time on the idle lane through `creator`, `gap` apart, and return
/// each create → handler start delay (3 s when the handler did not start within 3 s).
pub async fn idle_wakeups(client: Client, creator: &Client, lane: &str, wakeups: bool, rounds: usize, gap: Duration) -> Vec<Duration> {
    let mut options = WorkerOptions::new(lane, "w");
    options.max_idle_poll = Duration::from_secs(10);
    options.wakeups = wakeups;
    let (started_tx, mut started) = tokio::sync::mpsc::unbounded_channel();
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let worker = tokio::spawn(Worker::new(client, options).run(
        move |_job: Job| {
            let _ = started_tx.send(Instant::now());
            async { Outcome::Complete(None) }
        },
        async move {
            let _ = stop_rx.await;
        },
    ));
    let mut delays = Vec::new();
    for _ in 0..rounds {
        tokio::time::sleep(gap).await; // the worker is asleep by now
        let t0 = Instant::now();
        creator.create_execution(&NewExecution::new(lane)).await.unwrap();
        match tokio::time::timeout(Duration::from_secs(3), started.recv()).await {
            Ok(Some(t1)) => delays.push(t1 - t0),
            _ => delays.push(Duration::from_secs(3)),
        }
    }
    let _ = stop_tx.send(());
    worker.await.unwrap().unwrap();
    delays
}
