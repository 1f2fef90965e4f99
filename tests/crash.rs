//! Acceptance, "Robustness": the server killed with SIGKILL in the middle of a signal storm and
//! restarted: every acknowledged (committed) signal is there, no execution is half-transitioned.

use ff_engine_tests::*;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

#[test]
fn sigkill_during_signal_storm_loses_no_committed_signal() {
    // Its own cluster, durable settings (fsync and synchronous_commit on).
    let cluster = Cluster::start(&[]);
    let db = cluster.fresh_db("crash");
    let mut c = db.connect();
    c.query_one("SELECT * FROM ff_seed_hmac('k1')", &[]).unwrap();
    // Several suspended executions; each resumes after 30 distinct sources, so some resume mid-storm.
    let mut targets = Vec::new();
    for i in 0..6 {
        let lane = format!("lane{i}");
        create_in(&mut c, &lane, "");
        let l = claim_one(&mut c, &lane, "w").unwrap();
        let r = c
            .query_one(
                "SELECT waitpoint_id, token FROM ff_suspend($1, $2, $3, '{\"Composite\":{\"kind\":\"Count\",\"n\":30,\"count_kind\":\"DistinctSources\",\"waitpoints\":[\"k\"]}}')",
                &[&l.execution_id, &l.lease_id, &l.lease_epoch],
            )
            .unwrap();
        targets.push((l.execution_id, r.get::<_, uuid::Uuid>(0), r.get::<_, String>(1)));
    }
    let acked = Arc::new(Mutex::new(Vec::<uuid::Uuid>::new()));
    let stop = Arc::new(AtomicBool::new(false));
    let handles: Vec<_> = (0..8)
        .map(|s| {
            let (acked, stop, ci, targets) = (acked.clone(), stop.clone(), db.conninfo("postgres"), targets.clone());
            std::thread::spawn(move || {
                let Ok(mut c) = postgres::Client::connect(&ci, postgres::NoTls) else { return };
                let mut i = 0;
                while !stop.load(Ordering::Relaxed) {
                    let (eid, wp, token) = &targets[(s + i) % targets.len()];
                    let sid = uuid::Uuid::new_v4();
                    let src = format!("s{s}-{i}");
                    match c.query_one(
                        "SELECT outcome FROM ff_deliver_signal($1, $2, $3, 'vote', signal_id => $4, source_type => 'user', source_identity => $5)",
                        &[eid, wp, token, &sid, &src],
                    ) {
                        Ok(_) => acked.lock().unwrap().push(sid),
                        Err(e) if db_err(&e).code == "WF030" => {} // that execution already resumed
                        Err(_) => return, // the server died under us
                    }
                    i += 1;
                }
            })
        })
        .collect();
    std::thread::sleep(Duration::from_millis(1500));
    cluster.crash_and_restart();
    stop.store(true, Ordering::Relaxed);
    for h in handles {
        h.join().unwrap();
    }
    let acked = acked.lock().unwrap().clone();
    assert!(acked.len() > 20, "the storm ran ({} acknowledged)", acked.len());
    let mut c = db.connect();
    let stored: std::collections::HashSet<uuid::Uuid> = column(&mut c, "SELECT signal_id FROM ff_signal", &[]);
    let lost: Vec<_> = acked.iter().filter(|s| !stored.contains(s)).collect();
    assert!(lost.is_empty(), "{} acknowledged signals lost", lost.len());
    // No half-transitions: counters, events and states agree for every execution.
    let bad = count(
        &mut c,
        "SELECT count(*) FROM ff_exec_core e WHERE e.signal_count <> (SELECT count(*) FROM ff_signal s WHERE s.partition_key = e.partition_key AND s.execution_id = e.execution_id)",
    );
    assert_eq!(bad, 0, "signal_count disagrees with the recorded signals");
    assert_eq!(count(&mut c, "SELECT count(*) FROM ff_signal_event"), count(&mut c, "SELECT count(*) FROM ff_signal"));
    let inconsistent = count(
        &mut c,
        "SELECT count(*) FROM ff_exec_core e WHERE (e.lifecycle_phase = 'suspended') <> EXISTS (SELECT 1 FROM ff_suspension s WHERE s.partition_key = e.partition_key AND s.execution_id = e.execution_id AND s.state = 'open')",
    );
    assert_eq!(inconsistent, 0, "an execution is suspended without an open suspension, or the reverse");
    let resumed = count(&mut c, "SELECT count(*) FROM ff_completion_event WHERE outcome = 'resumed'");
    let waiting = count(&mut c, "SELECT count(*) FROM ff_executions WHERE public_state = 'waiting'");
    assert_eq!(resumed, waiting, "every resume wrote its event");
    cluster.stop();
}

/// Workload 1 through the client crate from 8 tasks while the postmaster is killed with SIGKILL twice
/// (crash recovery each time), the clients retrying through the crate's retry policy and every call
/// made safe to repeat (idempotency keys). Then a drain drives every execution whose create was
/// acknowledged to its end, as an operator would (expired leases reclaimed by `ff_tick`, suspensions
/// resumed). After it: each acknowledged execution completed exactly once (one `success` completion
/// event, one completed attempt), every acknowledged signal stored, nothing stuck or orphaned.
///
/// The test command runs a short version (8 clients, two kills in 5 s); `scripts/crash-soak.sh` runs
/// the long one through `FF_CRASH_SOAK_S` (seconds of workload, a kill every ~20 s) and
/// `FF_CRASH_SOAK_CLIENTS`.
#[test]
fn sigkill_during_workload_one_loses_and_duplicates_nothing() {
    use ff_engine_client::*;
    let env = |name: &str, default: u64| std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default);
    let soak_s = env("FF_CRASH_SOAK_S", 5);
    let clients = env("FF_CRASH_SOAK_CLIENTS", 8) as usize;
    let cluster = Cluster::start(&[]);
    let db = cluster.fresh_db("crash_soak");
    db.connect().query_one("SELECT * FROM ff_seed_hmac('k1')", &[]).unwrap();
    let created = Arc::new(Mutex::new(Vec::<ExecutionId>::new()));
    let signals = Arc::new(Mutex::new(Vec::<uuid::Uuid>::new()));
    let stop = Arc::new(AtomicBool::new(false));
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let tasks: Vec<_> = (0..clients)
        .map(|t| {
            let (created, signals, stop, conninfo) = (created.clone(), signals.clone(), stop.clone(), db.conninfo("postgres"));
            rt.spawn(async move {
                let policy = RetryPolicy { max_attempts: 40, base_delay: Duration::from_millis(20), max_delay: Duration::from_millis(250) };
                let c = Client::builder(&conninfo).unwrap().max_connections(1).retry(policy).build().unwrap();
                let lane = format!("soak{t}");
                let mut i = 0;
                while !stop.load(Ordering::Relaxed) {
                    i += 1;
                    let _ = cycle(&c, &lane, &format!("t{t}-{i}"), &created, &signals).await;
                }
            })
        })
        .collect();
    // Kills at 1.5 s and 3.5 s in the short run; every ~20 s (jittered) in a long one.
    let kills: Vec<u64> = if soak_s <= 10 {
        vec![1500, 3500]
    } else {
        (1..).map(|k| k * 20_000 - 3_000 * (k % 3)).take_while(|ms| *ms < soak_s * 1000).collect()
    };
    let started = std::time::Instant::now();
    for at in &kills {
        std::thread::sleep(Duration::from_millis(*at).saturating_sub(started.elapsed()));
        cluster.crash_and_restart();
    }
    std::thread::sleep(Duration::from_millis(soak_s * 1000).saturating_sub(started.elapsed()));
    stop.store(true, Ordering::Relaxed);
    for t in tasks {
        rt.block_on(t).unwrap();
    }
    let created = created.lock().unwrap().clone();
    let signals = signals.lock().unwrap().clone();
    assert!(created.len() > 20, "the workload ran ({} creates acknowledged)", created.len());

    let mut c = db.connect();
    let open_before = count(&mut c, "SELECT count(*) FROM ff_exec_core WHERE lifecycle_phase <> 'terminal'");
    drain(&mut c);
    println!(
        "crash soak: {soak_s} s, {clients} clients, {} kills: {} creates and {} signals acknowledged, {open_before} left open by the crashes",
        kills.len(),
        created.len(),
        signals.len()
    );
    // Every acknowledged create completed exactly once: one `success` completion event and one
    // completed attempt each (one statement for all of them: a long soak acknowledges 100 000).
    let ids: Vec<String> = created.iter().map(|i| i.to_string()).collect();
    let wrong: Vec<(String, String, i64, i64)> = c
        .query(
            "WITH successes AS (SELECT execution_id, count(*) AS n FROM ff_completion_event WHERE outcome = 'success' GROUP BY 1), \
                  attempts AS (SELECT partition_key, execution_id, count(*) AS n FROM ff_attempt \
                               WHERE outcome = 'success' AND ended_at_ms IS NOT NULL AND error_message IS NULL GROUP BY 1, 2) \
             SELECT i, coalesce(e.public_state::text, ''), coalesce(s.n, 0), coalesce(a.n, 0) \
             FROM unnest($1::text[]) i \
             LEFT JOIN ff_exec_core e \
               ON e.partition_key = substr(i, 5, strpos(i, '}') - 5)::smallint AND e.execution_id = substr(i, strpos(i, '}:') + 2)::uuid \
             LEFT JOIN successes s ON s.execution_id = i \
             LEFT JOIN attempts a ON a.partition_key = e.partition_key AND a.execution_id = e.execution_id \
             WHERE e.public_state IS DISTINCT FROM 'completed' OR s.n IS DISTINCT FROM 1 OR a.n IS DISTINCT FROM 1",
            &[&ids],
        )
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2), r.get(3)))
        .collect();
    assert!(wrong.is_empty(), "{} executions not completed exactly once, e.g. {:?}", wrong.len(), &wrong[..wrong.len().min(5)]);
    let stored: std::collections::HashSet<uuid::Uuid> = column(&mut c, "SELECT signal_id FROM ff_signal", &[]);
    assert!(signals.iter().all(|s| stored.contains(s)), "an acknowledged signal was lost");
    assert_eq!(count(&mut c, "SELECT count(*) FROM ff_exec_core WHERE lifecycle_phase <> 'terminal'"), 0, "nothing is stuck");
    assert_no_orphans(&mut c);
    cluster.stop();

    /// One workload-1 cycle; every call is safe to repeat. Any error ends the cycle: the drain finishes it.
    async fn cycle(c: &Client, lane: &str, key: &str, created: &Mutex<Vec<ExecutionId>>, signals: &Mutex<Vec<uuid::Uuid>>) -> Result<()> {
        let id = c.create_execution(&NewExecution::new(lane).idempotency_key(key)).await?.execution_id;
        created.lock().unwrap().push(id);
        let Some(l) = c.claim(lane, "w", "i", &[], 2_000, 1).await?.pop() else { return Ok(()) };
        let s = Suspend::new(ResumeCondition::single("k", SignalMatcher::name("go"))).idempotency_key(key);
        let s = c.suspend(&l.lease, &s).await?;
        let wp = s.waitpoints.into_iter().next().expect("one waitpoint");
        let signal = Signal::new(l.lease.execution_id, wp.waitpoint_id, wp.token, "go").idempotency_key(key);
        let d = c.deliver_signal(&signal).await?;
        signals.lock().unwrap().push(d.signal_id);
        let Some(l2) = c.claim(lane, "w", "i", &[], 2_000, 1).await?.pop() else { return Ok(()) };
        c.complete(&l2.lease, None).await
    }

    /// Drive every execution to its end: claim and complete what is claimable, resume what is
    /// suspended, let expired leases come back (`ff_tick`).
    fn drain(c: &mut postgres::Client) {
        let deadline = std::time::Instant::now() + Duration::from_secs(60);
        loop {
            // The soak's database holds only its executions: read the unfinished ones from the table
            // (a long soak acknowledges 100 000 creates; a call per id would take longer than the drain).
            let open: Vec<(String, String, String)> = c
                .query(
                    "SELECT '{fp:' || partition_key || '}:' || execution_id, lane_id, public_state::text FROM ff_exec_core \
                     WHERE lifecycle_phase <> 'terminal'",
                    &[],
                )
                .unwrap()
                .iter()
                .map(|r| (r.get(0), r.get(1), r.get(2)))
                .collect();
            if open.is_empty() {
                return;
            }
            assert!(std::time::Instant::now() < deadline, "still open after the drain: {open:?}");
            for (id, lane, state) in &open {
                match state.as_str() {
                    "suspended" => {
                        let wp: uuid::Uuid =
                            c.query_one("SELECT waitpoint_id FROM ff_list_pending_waitpoints($1) LIMIT 1", &[id]).unwrap().get(0);
                        c.query_one("SELECT * FROM ff_deliver_approval_signal($1, $2, $3, 'go', 'drain')", &[id, lane, &wp]).unwrap();
                    }
                    "waiting" => {
                        while let Some(l) = claim_one(c, lane, "drain") {
                            c.query_one("SELECT * FROM ff_complete($1, $2, $3)", &[&l.execution_id, &l.lease_id, &l.lease_epoch]).unwrap();
                        }
                    }
                    _ => {} // leased under a lease whose holder is gone: it expires
                }
            }
            std::thread::sleep(Duration::from_millis(300));
            c.batch_execute("SELECT * FROM ff_tick()").unwrap();
        }
    }
}
