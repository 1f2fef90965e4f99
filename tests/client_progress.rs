//! Durable steps and streams through the client, against real clusters: a job with three steps whose
//! worker process is SIGKILLed after step 2 (and, separately, whose backend is), the continuation
//! handed back to the worker loop, and 10 000 frames tailed by two readers.

use ff_engine_client::*;
use ff_engine_tests::*;
use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::time::{Duration, Instant};

fn block_on<F: std::future::Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap().block_on(f)
}

/// A side effect of a step, recorded outside the engine: a row in crash_effect. Returns a fresh token,
/// the step's value. Retried while the server restarts.
async fn effect(job: &Job, step: &str) -> String {
    let token = uuid::Uuid::new_v4().to_string();
    for _ in 0..200 {
        if let Ok(conn) = job.client().pool().get().await {
            if conn.execute("INSERT INTO crash_effect VALUES ($1, $2)", &[&step, &token]).await.is_ok() {
                return token;
            }
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("could not record the effect of step {step}");
}

/// The handler under test: three durable steps; after step two it waits until `release` exists (None:
/// it goes straight on).
async fn three_steps(job: Job, release: Option<PathBuf>) -> Outcome {
    let one: String = job.step("one", || effect(&job, "one")).await.unwrap();
    let two: String = job.step("two", || effect(&job, "two")).await.unwrap();
    while release.as_deref().is_some_and(|p| !p.exists()) {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let three: String = job.step("three", || effect(&job, "three")).await.unwrap();
    Outcome::Complete(Some(format!("{one},{two},{three}").into_bytes()))
}

/// The worker process the crash tests kill. It runs only as their child, which sets FF_CRASH_CHILD.
#[test]
#[ignore = "the crash tests' child process; they run it with --ignored"]
fn crash_child_worker() {
    let Ok(conninfo) = std::env::var("FF_CRASH_CHILD") else { return };
    let release = std::env::var_os("FF_CRASH_RELEASE").map(PathBuf::from);
    let lease_ttl_ms: i64 = std::env::var("FF_CRASH_LEASE_MS").unwrap().parse().unwrap();
    block_on(async move {
        let client = Client::connect(&conninfo).await.unwrap();
        let mut options = WorkerOptions::new("crash", "child");
        options.lease_ttl_ms = lease_ttl_ms;
        options.max_idle_poll = Duration::from_millis(20);
        options.wakeups = false;
        let report = Worker::new(client, options).run(move |job| three_steps(job, release.clone()), std::future::pending()).await;
        eprintln!("crash child: the worker loop ended: {report:?}");
    });
}

fn spawn_child(conninfo: &str, release: &Path, lease_ttl_ms: i64) -> Child {
    Command::new(std::env::current_exe().unwrap())
        .args(["crash_child_worker", "--exact", "--ignored", "--nocapture", "--test-threads=1"])
        .env("FF_CRASH_CHILD", conninfo)
        .env("FF_CRASH_RELEASE", release)
        .env("FF_CRASH_LEASE_MS", lease_ttl_ms.to_string())
        .spawn()
        .unwrap()
}

/// Wait (at most 60 s) until `f` holds, reconnecting when the server restarted.
fn wait_for(db: &TestDb<'_>, what: &str, f: impl Fn(&mut postgres::Client) -> bool) {
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(60) {
        if let Ok(mut c) = postgres::Client::connect(&db.conninfo("postgres"), postgres::NoTls) {
            if f(&mut c) {
                return;
            }
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("timed out waiting for {what}");
}

fn step_count(c: &mut postgres::Client, ex: &str) -> i64 {
    c.query_one("SELECT count(*) FROM ff_get_steps($1)", &[&ex]).map(|r| r.get(0)).unwrap_or(0)
}

/// Pairs of text.
type Pairs = Vec<(String, String)>;

/// (step, token) of every recorded effect, and the stored steps' (name, value as text).
fn effects_and_steps(c: &mut postgres::Client, ex: &str) -> (Pairs, Pairs) {
    let effects =
        c.query("SELECT step, token FROM crash_effect ORDER BY step", &[]).unwrap().iter().map(|r| (r.get(0), r.get(1))).collect();
    let steps = c
        .query("SELECT step_name, convert_from(value, 'UTF8') FROM ff_get_steps($1) ORDER BY step_name", &[&ex])
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    (effects, steps)
}

/// Every step ran its effect exactly once, and each stored value is the JSON of that first run's token.
fn assert_each_step_ran_once(c: &mut postgres::Client, ex: &str) {
    let (effects, steps) = effects_and_steps(c, ex);
    let names: Vec<&str> = effects.iter().map(|(s, _)| s.as_str()).collect();
    assert_eq!(names, ["one", "three", "two"], "each step's effect exactly once: {effects:?}");
    let expected: Vec<(String, String)> = effects.iter().map(|(s, t)| (s.clone(), format!("\"{t}\""))).collect();
    assert_eq!(steps, expected, "the stored values are the first run's");
}

fn setup_crash_db(db: &TestDb<'_>) -> String {
    let mut c = db.connect();
    c.batch_execute("CREATE TABLE crash_effect (step text, token text); SELECT * FROM ff_seed_hmac('k1');").unwrap();
    create_in(&mut c, "crash", "")
}

#[test]
fn a_worker_process_killed_after_step_two_is_resumed_with_step_three_only() {
    let db = Cluster::shared().fresh_db("client_progress_kill_worker");
    let ex = setup_crash_db(&db);
    let never = PathBuf::from(format!("/tmp/ff_never_{}", std::process::id()));
    let mut child = spawn_child(&db.conninfo("postgres"), &never, 1000);
    wait_for(&db, "steps one and two", |c| step_count(c, &ex) == 2);
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    // Its lease lapses (no renewals any more); the scanner makes the execution reclaimable.
    wait_for(&db, "the lease to be reclaimed", |c| {
        c.query_one("SELECT ff_expire_leases()", &[]).unwrap();
        c.query_one("SELECT lifecycle_phase FROM ff_get_execution($1)", &[&ex]).unwrap().get::<_, String>(0) == "runnable"
    });
    let conninfo = db.conninfo("postgres");
    let result = block_on(async move {
        let client = Client::connect(&conninfo).await.unwrap();
        let claimed = client.claim("crash", "rescuer", "r-1", &[], 30_000, 1).await.unwrap().pop().expect("reclaimable");
        assert!(claimed.resumed);
        assert_eq!(claimed.step_count, 2, "the claim says two steps are stored");
        let lease = claimed.lease;
        let Outcome::Complete(result) = three_steps(Job::new(client.clone(), claimed), None).await else { panic!("not completed") };
        client.complete(&lease, result.as_deref()).await.unwrap();
        result.unwrap()
    });
    let mut c = db.connect();
    assert_each_step_ran_once(&mut c, &ex);
    let (effects, _) = effects_and_steps(&mut c, &ex);
    let tokens: Vec<&str> = ["one", "two", "three"].iter().map(|s| effects.iter().find(|(n, _)| n == s).unwrap().1.as_str()).collect();
    assert_eq!(String::from_utf8(result).unwrap(), tokens.join(","));
}

#[test]
fn a_worker_whose_backend_is_killed_after_step_two_runs_step_three_only() {
    // Its own cluster with durable settings: SIGKILL of a backend restarts every backend (crash recovery).
    let cluster = Cluster::start(&[]);
    let db = cluster.fresh_db("client_progress_kill_backend");
    let ex = setup_crash_db(&db);
    let release = cluster.data_dir().with_file_name("release");
    let conninfo = format!("{} application_name=ff_crash_child", db.conninfo("postgres"));
    let mut child = spawn_child(&conninfo, &release, 60_000);
    wait_for(&db, "steps one and two", |c| step_count(c, &ex) == 2);
    let mut c = db.connect();
    let pids: Vec<i32> = c
        .query("SELECT pid FROM pg_stat_activity WHERE application_name = 'ff_crash_child'", &[])
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert!(!pids.is_empty(), "the worker's backends");
    for pid in pids {
        unsafe { libc::kill(pid, libc::SIGKILL) };
    }
    drop(c);
    std::fs::write(&release, b"go").unwrap();
    wait_for(&db, "the execution to complete", |c| {
        c.query_one("SELECT public_state FROM ff_get_execution($1)", &[&ex]).is_ok_and(|r| r.get::<_, String>(0) == "completed")
    });
    child.kill().unwrap();
    child.wait().unwrap();
    let mut c = db.connect();
    assert_each_step_ran_once(&mut c, &ex);
    cluster.stop();
}

#[test]
fn the_worker_loop_hands_back_the_continuation() {
    let db = Cluster::shared().fresh_db("client_progress_continuation");
    let mut su = db.connect();
    su.batch_execute("SELECT * FROM ff_seed_hmac('k1')").unwrap();
    let ex = create_in(&mut su, "cont", "");
    let conninfo = db.conninfo("postgres");
    let signaller = db.conninfo("postgres");
    let report = block_on(async move {
        let client = Client::connect(&conninfo).await.unwrap();
        let mut options = WorkerOptions::new("cont", "w");
        options.max_idle_poll = Duration::from_millis(20);
        let (done_tx, done_rx) = tokio::sync::oneshot::channel::<()>();
        let done = std::sync::Mutex::new(Some(done_tx));
        let done = std::sync::Arc::new(done);
        let worker = Worker::new(client, options).run(
            move |job: Job| {
                let (done, signaller) = (done.clone(), signaller.clone());
                async move {
                    match job.continuation() {
                        None => {
                            let s = Suspend::new(ResumeCondition::single("k", SignalMatcher::Any)).continuation("page=7");
                            let out = job.suspend(&s).await.unwrap();
                            let (wp, token) = (out.waitpoints[0].waitpoint_id, out.waitpoints[0].token.expose().to_string());
                            let eid = job.execution_id().to_string();
                            tokio::spawn(async move {
                                let c = Client::connect(&signaller).await.unwrap();
                                let conn = c.pool().get().await.unwrap();
                                conn.execute("SELECT ff_deliver_signal($1, $2, $3, 'go')", &[&eid, &wp, &token]).await.unwrap();
                            });
                            Outcome::Suspended
                        }
                        Some(c) => {
                            let result = c.as_bytes().to_vec();
                            if let Some(tx) = done.lock().unwrap().take() {
                                let _ = tx.send(());
                            }
                            Outcome::Complete(Some(result))
                        }
                    }
                }
            },
            async move {
                let _ = done_rx.await;
            },
        );
        worker.await.unwrap()
    });
    assert_eq!((report.suspended, report.completed), (1, 1));
    let result: Option<Vec<u8>> = su.query_one("SELECT result FROM ff_get_execution($1)", &[&ex]).unwrap().get(0);
    assert_eq!(result.as_deref(), Some(b"page=7".as_slice()));
}

#[test]
fn ten_thousand_frames_reach_two_tails_once_in_order() {
    let db = Cluster::shared().fresh_db("client_progress_frames");
    let mut su = db.connect();
    su.batch_execute("SELECT * FROM ff_seed_hmac('k1')").unwrap();
    let ex = create_in(&mut su, "frames", "");
    let conninfo = db.conninfo("postgres");
    const N: i64 = 10_000;
    block_on(async move {
        let client = Client::connect(&conninfo).await.unwrap();
        let id = ExecutionId::parse(&ex).unwrap();
        let claimed = client.claim("frames", "w", "i", &[], 60_000, 1).await.unwrap().pop().unwrap();
        let lease = claimed.lease;
        let tail = |after: i64| {
            let mut t = client.tail_frames(&id, after).max_idle_poll(Duration::from_secs(5));
            tokio::spawn(async move {
                let mut got = Vec::new();
                while let Some(f) = t.next().await.unwrap() {
                    got.push(f);
                }
                got
            })
        };
        let readers = [tail(0), tail(0)];
        for i in 1..=N {
            let kind = [FrameKind::Stdout, FrameKind::Stderr, FrameKind::Event, FrameKind::Blob][(i % 4) as usize];
            assert_eq!(client.append_frame(&lease, kind, i.to_string().as_bytes(), None).await.unwrap(), i);
        }
        client.complete(&lease, None).await.unwrap();
        assert!(client.append_frame(&lease, FrameKind::Stdout, b"late", None).await.is_err(), "nothing after the end");
        // The late reader as a futures stream.
        let late = {
            let stream = client.tail_frames(&id, N / 2).max_idle_poll(Duration::from_secs(5)).into_stream();
            tokio::spawn(async move {
                use futures_util::StreamExt;
                stream.map(|f| f.unwrap()).collect::<Vec<Frame>>().await
            })
        };
        for (n, reader) in readers.into_iter().chain([late]).enumerate() {
            let got = tokio::time::timeout(Duration::from_secs(120), reader).await.expect("the tail ends").unwrap();
            let first = if n == 2 { N / 2 + 1 } else { 1 };
            assert_eq!(got.len() as i64, N - first + 1, "reader {n}");
            for (f, seq) in got.iter().zip(first..) {
                assert_eq!((f.seq, f.bytes.as_slice()), (seq, seq.to_string().as_bytes()), "reader {n}");
            }
        }
    });
}
