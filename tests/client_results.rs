//! The client's reading back, waiting and operator methods against a real cluster:
//! `wait_for_completion` for an execution finished before the call, one finished after two retries,
//! and one that never finishes (a clean timeout); `create_and_wait`; the typed operator calls.

use ff_engine_client::*;
use ff_engine_tests::*;
use std::future::Future;
use std::time::{Duration, Instant};

fn block_on<F: Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap().block_on(f)
}

async fn seeded(conninfo: &str) -> Client {
    let c = Client::connect(conninfo).await.unwrap();
    c.seed_hmac("k1", None).await.unwrap();
    c
}

async fn claim(c: &Client, lane: &str, worker: &str) -> ClaimedExecution {
    c.claim(lane, worker, "i", &[], 30_000, 1).await.unwrap().remove(0)
}

#[test]
fn wait_for_completion_before_during_retries_and_never() {
    let db = Cluster::shared().fresh_db("client_wait");
    block_on(async {
        let c = seeded(&db.conninfo("postgres")).await;
        // Finished before the call.
        let early = c.create_execution(&NewExecution::new("a")).await.unwrap().execution_id;
        let l = claim(&c, "a", "w").await;
        c.complete(&l.lease, Some(b"early")).await.unwrap();
        let t = Instant::now();
        let done = c.wait_for_completion(&early, Duration::from_secs(10)).await.unwrap().expect("finished");
        assert!(t.elapsed() < Duration::from_secs(2));
        assert_eq!((done.public_state, done.result.as_deref()), (PublicState::Completed, Some(&b"early"[..])));

        // Finished after two retries, while the caller waits: the retried failures are not the end.
        let retried = c.create_execution(&NewExecution::new("b").retries(3, 0)).await.unwrap().execution_id;
        let waiter = {
            let c = Client::connect(&db.conninfo("postgres")).await.unwrap();
            tokio::spawn(async move { c.wait_for_completion(&retried, Duration::from_secs(30)).await })
        };
        tokio::time::sleep(Duration::from_millis(300)).await;
        for _ in 0..2 {
            let l = claim(&c, "b", "w").await;
            assert!(matches!(c.fail(&l.lease, "flaky", true).await.unwrap(), FailOutcome::RetryScheduled { .. }));
            tokio::time::sleep(Duration::from_millis(100)).await;
            assert!(!waiter.is_finished(), "a retried failure is not a finish");
        }
        let l = claim(&c, "b", "w").await;
        c.complete(&l.lease, Some(b"third time")).await.unwrap();
        let done = waiter.await.unwrap().unwrap().expect("finished");
        assert_eq!(done.public_state, PublicState::Completed);
        assert_eq!(done.result.as_deref(), Some(&b"third time"[..]));
        assert_eq!(done.attempt_count, 3);
        assert_eq!(c.list_attempts(&retried).await.unwrap().iter().filter(|a| a.error_message.as_deref() == Some("flaky")).count(), 2);

        // Never finishes: a clean timeout, and the execution is untouched.
        let never = c.create_execution(&NewExecution::new("c")).await.unwrap().execution_id;
        let t = Instant::now();
        assert!(c.wait_for_completion(&never, Duration::from_millis(600)).await.unwrap().is_none());
        assert!(t.elapsed() >= Duration::from_millis(600) && t.elapsed() < Duration::from_secs(5));
        assert_eq!(c.get_execution(&never).await.unwrap().public_state, PublicState::Waiting);

        // A failure is a finish too, with its message.
        let failing = c.create_execution(&NewExecution::new("d")).await.unwrap().execution_id;
        let l = claim(&c, "d", "w").await;
        c.fail(&l.lease, "no such user", false).await.unwrap();
        let done = c.wait_for_completion(&failing, Duration::from_secs(5)).await.unwrap().unwrap();
        assert_eq!((done.public_state, done.last_error.as_deref()), (PublicState::Failed, Some("no such user")));
    });
}

#[test]
fn create_and_wait_and_the_operator_calls() {
    let db = Cluster::shared().fresh_db("client_operator");
    block_on(async {
        let c = seeded(&db.conninfo("postgres")).await;
        let worker = {
            let c = Client::connect(&db.conninfo("postgres")).await.unwrap();
            tokio::spawn(async move {
                loop {
                    if let Some(l) = c.claim("e", "w", "i", &[], 30_000, 1).await.unwrap().pop() {
                        let input = l.payload.clone().unwrap_or_default();
                        c.complete(&l.lease, Some(&[input, b"!".to_vec()].concat())).await.unwrap();
                        return;
                    }
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            })
        };
        let (id, done) = c.create_and_wait(&NewExecution::new("e").payload(b"hi".to_vec()), Duration::from_secs(10)).await.unwrap();
        worker.await.unwrap();
        assert_eq!(done.unwrap().result.as_deref(), Some(&b"hi!"[..]));
        let info = c.get_execution(&id).await.unwrap();
        assert_eq!((info.lane_id.as_str(), info.payload.as_deref(), info.attempt_count), ("e", Some(&b"hi"[..]), 1));

        // Priority, revoke, replay, listing, pruning, through typed calls.
        let a = c.create_execution(&NewExecution::new("f")).await.unwrap().execution_id;
        let b = c.create_execution(&NewExecution::new("f")).await.unwrap().execution_id;
        assert_eq!(c.change_priority(&b, 7).await.unwrap(), (true, 0));
        let lb = claim(&c, "f", "w1").await;
        assert_eq!(lb.lease.execution_id, b);
        assert_eq!(c.revoke_lease(&b, "stuck", Some(lb.lease.lease_epoch)).await.unwrap(), lb.lease.lease_epoch);
        assert!(matches!(c.complete(&lb.lease, None).await, Err(Error::LeaseConflict(_))));
        let again = claim(&c, "f", "w2").await;
        assert!(again.resumed && again.lease.execution_id == b);
        c.fail(&again.lease, "bad", false).await.unwrap();
        assert_eq!(c.replay_execution(&b, Some("retry by hand")).await.unwrap(), PublicState::Failed);
        assert!(matches!(c.replay_execution(&a, None).await, Err(Error::ExecutionNotReplayable(_))));
        let page = c.list_executions("f", None, None, 1).await.unwrap();
        assert_eq!(page.iter().map(|e| e.execution_id).collect::<Vec<_>>(), vec![a]);
        let next = c.list_executions("f", Some(PublicState::Waiting), Some(&a), 10).await.unwrap();
        assert_eq!(next.iter().map(|e| e.execution_id).collect::<Vec<_>>(), vec![b]);
        let future = i64::MAX;
        assert_eq!(c.prune_executions(future, &[PublicState::Completed], 100).await.unwrap(), 1, "the 'e' execution");
        assert!(matches!(c.get_execution(&id).await, Err(Error::NotFound(_))));
        let ticked = c.tick(100).await.unwrap();
        assert!(ticked.iter().any(|t| t.task == ScannerTask::ExpireDeadlines));
        assert_eq!(c.run_task(ScannerTask::PruneExecutions, 100).await.unwrap(), 0);
    });
}

#[test]
fn a_claim_with_max_wait_is_woken_by_new_work_and_times_out_empty() {
    let db = Cluster::shared().fresh_db("client_claim_wait");
    block_on(async {
        let c = seeded(&db.conninfo("postgres")).await;
        let policy = ClaimPolicy::max_wait(Duration::from_secs(20));
        // Work created while the claim waits: it is claimed at once, not after a poll period.
        let producer = {
            let c = Client::connect(&db.conninfo("postgres")).await.unwrap();
            tokio::spawn(async move {
                tokio::time::sleep(Duration::from_millis(300)).await;
                let t = Instant::now();
                (c.create_execution(&NewExecution::new("wait")).await.unwrap().execution_id, t)
            })
        };
        let got = c.claim_with("wait", "w", "i", &[], 30_000, 1, policy).await.unwrap();
        let (created, at) = producer.await.unwrap();
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].lease.execution_id, created);
        assert!(at.elapsed() < Duration::from_millis(900), "woken by the create, {:?} after it", at.elapsed());
        // Nothing comes: empty after max_wait.
        let t = Instant::now();
        let got = c.claim_with("wait", "w", "i", &[], 30_000, 1, ClaimPolicy::max_wait(Duration::from_millis(400))).await.unwrap();
        assert!(got.is_empty());
        assert!(t.elapsed() >= Duration::from_millis(400) && t.elapsed() < Duration::from_secs(3), "{:?}", t.elapsed());
        // Zero: as claim.
        assert!(c.claim_with("wait", "w", "i", &[], 30_000, 1, ClaimPolicy::default()).await.unwrap().is_empty());
    });
}

#[test]
fn failure_classes_throttling_and_lane_pauses_through_the_client() {
    let db = Cluster::shared().fresh_db("client_controls");
    block_on(async {
        let c = seeded(&db.conninfo("postgres")).await;
        // A permanent failure ends the execution at once and is recorded with its detail.
        let id = c.create_execution(&NewExecution::new("f").retries(5, 0)).await.unwrap().execution_id;
        let l = claim(&c, "f", "w").await;
        let out = c.fail_with(&l.lease, "bad input", FailureClass::Permanent, Some(b"row 7")).await.unwrap();
        assert_eq!(out, FailOutcome::TerminalFailed);
        let a = c.list_attempts(&id).await.unwrap();
        assert_eq!((a[0].failure_class, a[0].failure_detail.as_deref()), (Some(FailureClass::Permanent), Some(&b"row 7"[..])));

        // A rate window that is full answers throttled, with when to come back.
        c.create_budget("rate", &serde_json::json!({"calls": 1}), &serde_json::json!({}), Some(60_000)).await.unwrap();
        let mut new = NewExecution::new("u");
        new.budget_ids = vec!["rate".into()];
        c.create_execution(&new).await.unwrap();
        let l = claim(&c, "u", "w").await;
        let r = c.report_usage(&l.lease, &serde_json::json!({"calls": 1}), None).await.unwrap();
        assert_eq!((r.decision, r.dimension.as_deref()), (UsageDecision::Throttled, Some("calls")));
        assert!(r.retry_after_ms.is_some_and(|ms| ms > 50_000 && ms <= 60_000), "{r:?}");

        // Pause: an event about the lane, nothing handed out, then resume.
        let mut sub = c.subscribe(SubscriptionOptions::new([EventKind::Operator]));
        let mut tenant = c.subscribe(SubscriptionOptions::new([EventKind::Completion]).namespace("t1"));
        let mut tagged = c.subscribe(SubscriptionOptions::new([EventKind::Completion]).tag("team", "red"));
        c.create_execution(&NewExecution::new("p")).await.unwrap();
        assert!(c.pause_lane("p", Some("deploy")).await.unwrap());
        assert!(!c.pause_lane("p", None).await.unwrap());
        assert!(c.claim("p", "w", "i", &[], 30_000, 1).await.unwrap().is_empty());
        let lanes = c.list_lanes().await.unwrap();
        let p = lanes.iter().find(|l| l.lane_id == "p").unwrap();
        assert_eq!((p.paused, p.depth, p.pause_reason.as_deref()), (true, 1, Some("deploy")));
        let ev = tokio::time::timeout(Duration::from_secs(10), sub.next()).await.unwrap().unwrap();
        match ev {
            Event::Lane { ref lane_id, ref action, ref reason, .. } => {
                assert_eq!((lane_id.as_str(), action.as_str(), reason.as_deref()), ("p", "lane_paused", Some("deploy")))
            }
            other => panic!("expected a lane event, got {other:?}"),
        }
        assert!(ev.header().is_none() && ev.event_id() > 0);
        assert!(c.resume_lane("p").await.unwrap());
        assert!(!c.resume_lane("p").await.unwrap());
        assert_eq!(c.claim("p", "w", "i", &[], 30_000, 1).await.unwrap().len(), 1);
        let ev = tokio::time::timeout(Duration::from_secs(10), sub.next()).await.unwrap().unwrap();
        assert!(matches!(ev, Event::Lane { ref action, .. } if action == "lane_resumed"), "{ev:?}");

        // A tenant's subscription sees its namespace's events only (the earlier completions were in
        // no namespace).
        let mut t1 = NewExecution::new("n");
        t1.namespace = Some("t1".into());
        let mine = c.create_execution(&t1).await.unwrap().execution_id;
        c.cancel(&mine, "done").await.unwrap();
        let ev = tokio::time::timeout(Duration::from_secs(10), tenant.next()).await.unwrap().unwrap();
        assert_eq!(ev.header().map(|h| h.execution_id), Some(mine));
        // A tag filter: only the red team's executions, looked up once each.
        let mut red = NewExecution::new("n");
        red.tags = serde_json::json!({"team": "red"});
        let red = c.create_execution(&red).await.unwrap().execution_id;
        c.cancel(&red, "done").await.unwrap();
        let ev = tokio::time::timeout(Duration::from_secs(10), tagged.next()).await.unwrap().unwrap();
        assert_eq!(ev.header().map(|h| h.execution_id), Some(red));
    });
}
