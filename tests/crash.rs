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
