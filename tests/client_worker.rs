//! The worker loop against a real cluster: 1 000 executions with 8 concurrent workers, each handled
//! exactly once; lease renewal outlives the TTL; graceful stop; a panicking handler fails its attempt.

use ff_engine_client::*;
use ff_engine_tests::*;
use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::watch;

fn block_on<F: std::future::Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap().block_on(f)
}

async fn seed(c: &Client, lane: &str, n: usize) {
    let conn = c.pool().get().await.unwrap();
    conn.execute(
        "SELECT ff_create_execution(lane_id => $1, payload => convert_to(g::text, 'UTF8')) FROM generate_series(1, $2::int) g",
        &[&lane, &(n as i32)],
    )
    .await
    .unwrap();
}

#[test]
fn thousand_executions_eight_workers_each_exactly_once() {
    let db = Cluster::shared().fresh_db("client_worker_1000");
    let mut su = db.connect();
    let conninfo = db.conninfo("postgres");
    let (handled, reports) = block_on(async move {
        let seeder = Client::connect(&conninfo).await.unwrap();
        seed(&seeder, "bulk", 1000).await;
        let handled = Arc::new(Mutex::new(Vec::<(ExecutionId, Vec<u8>)>::new()));
        let (stop_tx, stop_rx) = watch::channel(false);
        let mut workers = Vec::new();
        for w in 0..8 {
            // Each worker is its own "process": its own pool.
            let client = Client::builder(&conninfo).unwrap().max_connections(3).build().unwrap();
            let mut options = WorkerOptions::new("bulk", format!("worker-{w}"));
            options.batch = 5;
            options.concurrency = 5;
            options.max_idle_poll = Duration::from_millis(50);
            let handled = handled.clone();
            let stop_tx = stop_tx.clone();
            let mut stop_rx = stop_rx.clone();
            workers.push(tokio::spawn(Worker::new(client, options).run(
                move |job: Job| {
                    let handled = handled.clone();
                    let stop_tx = stop_tx.clone();
                    async move {
                        let payload = job.payload().unwrap().to_vec();
                        let n = {
                            let mut h = handled.lock().unwrap();
                            h.push((job.execution_id(), payload.clone()));
                            h.len()
                        };
                        if n >= 1000 {
                            let _ = stop_tx.send(true);
                        }
                        Outcome::Complete(Some(payload))
                    }
                },
                async move {
                    let _ = stop_rx.wait_for(|s| *s).await;
                },
            )));
        }
        let mut reports = Vec::new();
        for w in workers {
            reports.push(tokio::time::timeout(Duration::from_secs(120), w).await.expect("workers finish within 120 s").unwrap().unwrap());
        }
        let handled = Arc::try_unwrap(handled).unwrap().into_inner().unwrap();
        (handled, reports)
    });
    assert_eq!(handled.len(), 1000, "handled {}", handled.len());
    let ids: HashSet<ExecutionId> = handled.iter().map(|h| h.0).collect();
    assert_eq!(ids.len(), 1000, "an execution was handled twice");
    let payloads: HashSet<&[u8]> = handled.iter().map(|h| h.1.as_slice()).collect();
    assert_eq!(payloads.len(), 1000);
    assert_eq!(reports.iter().map(|r| r.completed).sum::<u64>(), 1000, "{reports:?}");
    assert_eq!(reports.iter().map(|r| r.claimed).sum::<u64>(), 1000, "{reports:?}");
    assert!(reports.iter().all(|r| r.lost == 0 && r.failed == 0 && r.panicked == 0), "{reports:?}");
    assert!(reports.iter().filter(|r| r.completed > 0).count() >= 4, "work was spread over the workers: {reports:?}");
    assert_eq!(count(&mut su, "SELECT count(*) FROM ff_executions WHERE public_state = 'completed'"), 1000);
    assert_eq!(count(&mut su, "SELECT count(*) FROM ff_completion_event WHERE outcome = 'success'"), 1000);
    assert_eq!(count(&mut su, "SELECT count(DISTINCT execution_id) FROM ff_completion_event"), 1000);
}

/// A handler that runs for 4× the lease TTL keeps its lease (background renewal) even while the lease
/// scanner runs; graceful stop lets in-flight handlers finish and claims nothing more.
#[test]
fn renewal_outlives_the_ttl_and_stop_is_graceful() {
    let db = Cluster::shared().fresh_db("client_worker_renew");
    let mut su = db.connect();
    let conninfo = db.conninfo("postgres");
    let report = block_on(async move {
        let c = Client::connect(&conninfo).await.unwrap();
        seed(&c, "slow", 20).await;
        let scanner = {
            let c = c.clone();
            tokio::spawn(async move {
                loop {
                    c.run_task(ScannerTask::ExpireLeases, 100).await.unwrap();
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            })
        };
        let mut options = WorkerOptions::new("slow", "slow-worker");
        options.lease_ttl_ms = 300;
        options.batch_completions = false; // the one-call-per-completion path
        options.batch = 3;
        options.concurrency = 3;
        let (started_tx, mut started_rx) = tokio::sync::mpsc::unbounded_channel::<()>();
        let worker = Worker::new(c.clone(), options).run(
            move |_job: Job| {
                let started_tx = started_tx.clone();
                async move {
                    let _ = started_tx.send(());
                    tokio::time::sleep(Duration::from_millis(1200)).await;
                    Outcome::Complete(None)
                }
            },
            async move {
                // Stop as soon as the first handler has started.
                started_rx.recv().await;
            },
        );
        let report = tokio::time::timeout(Duration::from_secs(60), worker).await.expect("stops within 60 s").unwrap();
        scanner.abort();
        report
    });
    assert!(report.claimed >= 1 && report.claimed <= 3, "{report:?}");
    assert_eq!((report.completed, report.lost), (report.claimed, 0), "{report:?}");
    assert_eq!(count(&mut su, "SELECT count(*) FROM ff_executions WHERE public_state = 'completed'"), report.claimed as i64);
    assert_eq!(count(&mut su, "SELECT count(*) FROM ff_lease_event WHERE event_type IN ('expired', 'reclaimed')"), 0);
    assert_eq!(count(&mut su, "SELECT count(*) FROM ff_executions WHERE ownership_state <> 'unowned'"), 0, "nothing left leased");
    assert!(count(&mut su, "SELECT count(*) FROM ff_lease_event WHERE event_type = 'renewed'") >= report.claimed as i64 * 2);
}

/// A panicking handler does not take the worker down: its attempt is failed (retryable), retried by the
/// next claim, and the retry completes.
#[test]
fn panicking_handler_fails_its_attempt() {
    let db = Cluster::shared().fresh_db("client_worker_panic");
    let mut su = db.connect();
    let conninfo = db.conninfo("postgres");
    let report = block_on(async move {
        let c = Client::connect(&conninfo).await.unwrap();
        let id = c.create_execution(&NewExecution::new("panicky").retries(2, 1)).await.unwrap().execution_id;
        let (done_tx, done_rx) = tokio::sync::oneshot::channel::<()>();
        let done_tx = Arc::new(Mutex::new(Some(done_tx)));
        let mut options = WorkerOptions::new("panicky", "w");
        options.max_idle_poll = Duration::from_millis(20);
        // The retry is scheduled 1 ms out: the worker's own ff_tick promotes it.
        options.tick_interval = Some(Duration::from_millis(20));
        let report = tokio::time::timeout(
            Duration::from_secs(60),
            Worker::new(c.clone(), options).run(
                move |job: Job| {
                    let done_tx = done_tx.clone();
                    async move {
                        if job.claimed.attempt_index == 0 {
                            panic!("handler bug");
                        }
                        assert_eq!(job.execution_id(), id);
                        if let Some(tx) = done_tx.lock().unwrap().take() {
                            let _ = tx.send(());
                        }
                        Outcome::Complete(None)
                    }
                },
                async move {
                    let _ = done_rx.await;
                },
            ),
        )
        .await
        .expect("retried and completed within 60 s")
        .unwrap();
        report
    });
    assert_eq!((report.panicked, report.failed, report.completed), (1, 1, 1), "{report:?}");
    assert_eq!(count(&mut su, "SELECT count(*) FROM ff_executions WHERE public_state = 'completed' AND attempt_index = 1"), 1);
}
