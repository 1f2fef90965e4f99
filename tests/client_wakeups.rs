//! The client's idle paths sleep on wake-ups (docs/wakeups.md): an idle worker starts a handler within
//! milliseconds of a create, and a caught-up subscription sees the next event at once, although both
//! fallback polls are set to 10 s here. With `wakeups: false` the worker polls as before.

use ff_engine_client::*;
use ff_engine_tests::*;
use std::time::{Duration, Instant};

fn block_on<F: std::future::Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap().block_on(f)
}

#[path = "support/idle_worker.rs"]
mod idle_worker;

/// [`idle_worker::idle_wakeups`] with a plain client for the worker and one for the creates.
async fn idle_wakeups(conninfo: &str, lane: &str, wakeups: bool, rounds: usize, gap: Duration) -> Vec<Duration> {
    let client = Client::builder(conninfo).unwrap().max_connections(2).build().unwrap();
    let creator = Client::connect(conninfo).await.unwrap();
    idle_worker::idle_wakeups(client, &creator, lane, wakeups, rounds, gap).await
}

#[test]
fn an_idle_worker_is_woken_by_a_create() {
    let db = Cluster::shared().fresh_db("client_wake_worker");
    let conninfo = db.conninfo("postgres");
    let delays = block_on(async move { idle_wakeups(&conninfo, "idle", true, 10, Duration::from_millis(300)).await });
    let worst = delays.iter().max().unwrap();
    eprintln!("create -> handler start: {delays:?}");
    assert!(*worst < Duration::from_millis(500), "woken, not polled (fallback 10 s): {delays:?}");
}

#[test]
fn an_idle_worker_of_a_partition_first_client_on_one_node_is_woken_there() {
    // It looks for the node of its lane's partition (Citus); on one node there is none, and it waits
    // on the server it connects to.
    let db = Cluster::shared().fresh_db("client_wake_partition_first");
    let conninfo = db.conninfo("postgres");
    let delays = block_on(async move {
        let client = Client::builder(&conninfo).unwrap().partition_first(true).max_connections(2).build().unwrap();
        let creator = Client::connect(&conninfo).await.unwrap();
        idle_worker::idle_wakeups(client, &creator, "idle", true, 5, Duration::from_millis(300)).await
    });
    assert!(delays.iter().all(|d| *d < Duration::from_millis(500)), "woken, not polled (fallback 10 s): {delays:?}");
}

#[test]
fn without_wakeups_the_worker_polls() {
    let db = Cluster::shared().fresh_db("client_wake_polling");
    let conninfo = db.conninfo("postgres");
    let delays = block_on(async move { idle_wakeups(&conninfo, "idle", false, 2, Duration::from_millis(1500)).await });
    // Nothing wakes it: each execution waits for the next poll of a back-off grown far past 5 ms.
    assert!(delays.iter().any(|d| *d >= Duration::from_millis(100)), "{delays:?}");
}

#[test]
fn a_caught_up_subscription_sees_the_next_event_at_once() {
    let db = Cluster::shared().fresh_db("client_wake_events");
    let conninfo = db.conninfo("postgres");
    block_on(async move {
        let c = Client::connect(&conninfo).await.unwrap();
        let mut options = SubscriptionOptions::new([EventKind::Completion]);
        options.poll_interval = Duration::from_secs(10);
        let mut sub = c.subscribe(options);
        for round in 0..5 {
            let id = c.create_execution(&NewExecution::new("ev")).await.unwrap().execution_id;
            let lease = c.claim("ev", "w", "i", &[], 30_000, 1).await.unwrap().remove(0).lease;
            let reader = tokio::spawn(async move {
                let e = sub.next().await.unwrap();
                (e, Instant::now(), sub)
            });
            tokio::time::sleep(Duration::from_millis(300)).await; // caught up and asleep
            let t0 = Instant::now();
            c.complete(&lease, None).await.unwrap();
            let (event, t1, back) = tokio::time::timeout(Duration::from_secs(5), reader).await.unwrap().unwrap();
            sub = back;
            assert_eq!(event.header().unwrap().execution_id, id);
            assert!(t1 - t0 < Duration::from_millis(500), "round {round}: {:?} (fallback poll 10 s)", t1 - t0);
        }
    });
}
