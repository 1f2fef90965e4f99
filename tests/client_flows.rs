//! The client's flow API against a real cluster: a fan-out / fan-in with `NewExecution::parent` and
//! `ResumeCondition::children`, a dependency chain with `NewExecution::depends_on`,
//! `wait_for_flow`, and `cancel_flow` waiting for a leased member to drain.

use ff_engine_client::*;
use ff_engine_tests::*;
use std::future::Future;
use std::time::Duration;

fn block_on<F: Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap().block_on(f)
}

async fn claim(c: &Client, lane: &str) -> ClaimedExecution {
    c.claim(lane, "w", "i", &[], 30_000, 1).await.unwrap().remove(0)
}

#[test]
fn fan_out_fan_in_and_a_chain_through_the_client() {
    let db = Cluster::shared().fresh_db("client_flows");
    block_on(async {
        let c = Client::connect(&db.conninfo("postgres")).await.unwrap();
        c.seed_hmac("k1", None).await.unwrap();
        let (flow, created) = c.create_flow(None, Some("tenant"), serde_json::json!({"kind": "fan-in"})).await.unwrap();
        assert!(created);
        c.create_execution(&NewExecution::new("parents").flow(flow)).await.unwrap();
        let parent = claim(&c, "parents").await;
        c.create_waitpoint(&parent.lease, "children", 600_000).await.unwrap();
        let p = parent.lease.execution_id;
        for i in 0..5u8 {
            let kid = NewExecution::new("kids").parent(p, "children").payload(vec![i]);
            c.create_execution(&kid).await.unwrap();
        }
        // The chain: load runs after both transforms.
        let extract = c.create_execution(&NewExecution::new("etl").flow(flow)).await.unwrap().execution_id;
        let transform = c.create_execution(&NewExecution::new("etl").flow(flow).depends_on([extract])).await.unwrap().execution_id;
        let load = c.create_execution(&NewExecution::new("etl").flow(flow).depends_on([extract, transform])).await.unwrap().execution_id;
        let info = c.get_execution(&load).await.unwrap();
        assert_eq!(info.public_state, PublicState::WaitingChildren);
        assert_eq!(info.blocked_by.len(), 2);
        c.suspend(&parent.lease, &Suspend::new(ResumeCondition::children(5, "children"))).await.unwrap();
        for _ in 0..5 {
            let k = claim(&c, "kids").await;
            let payload = k.payload.clone();
            c.complete(&k.lease, payload.as_deref()).await.unwrap();
        }
        assert_eq!(c.get_execution(&p).await.unwrap().public_state, PublicState::Waiting, "the fifth child resumed the parent");
        let signals = c.observe_signals(&p).await.unwrap();
        assert_eq!(signals.len(), 5);
        assert!(signals.iter().all(|s| s.signal_name == "child_completed"));
        for id in [extract, transform, load] {
            let l = claim(&c, "etl").await;
            assert_eq!(l.lease.execution_id, id, "in dependency order");
            c.complete(&l.lease, None).await.unwrap();
        }
        let waiter = {
            let c = Client::connect(&db.conninfo("postgres")).await.unwrap();
            tokio::spawn(async move { c.wait_for_flow(flow, Duration::from_secs(30)).await })
        };
        tokio::time::sleep(Duration::from_millis(200)).await;
        assert!(!waiter.is_finished(), "the parent is still to run");
        let resumed = claim(&c, "parents").await;
        assert!(resumed.resumed);
        c.complete(&resumed.lease, Some(b"sum")).await.unwrap();
        let done = waiter.await.unwrap().unwrap().expect("the flow ended");
        assert_eq!((done.state, done.member_count, done.count(PublicState::Completed)), (FlowState::Completed, 9, 9));
        assert_eq!(done.namespace.as_deref(), Some("tenant"));
        let members = c.list_flow_members(flow, None, 100).await.unwrap();
        assert_eq!(members.iter().filter(|m| m.parent.as_ref().is_some_and(|(id, key)| *id == p && key == "children")).count(), 5);
    });
}

#[test]
fn cancel_flow_waits_for_a_leased_member_to_drain() {
    let db = Cluster::shared().fresh_db("client_cancel_flow");
    block_on(async {
        let c = Client::connect(&db.conninfo("postgres")).await.unwrap();
        let (flow, _) = c.create_flow(None, None, serde_json::json!({})).await.unwrap();
        for _ in 0..3 {
            c.create_execution(&NewExecution::new("l").flow(flow)).await.unwrap();
        }
        let running = claim(&c, "l").await;
        let out = c.cancel_flow(flow, CancelFlowPolicy::CancelPending, "stop", CancelFlowWait::NoWait).await.unwrap();
        assert_eq!((out.cancelled, out.left_running, out.already_terminal, out.drained), (2, 1, 0, false));
        let out = c
            .cancel_flow(flow, CancelFlowPolicy::CancelPending, "stop", CancelFlowWait::WaitTimeout(Duration::from_millis(300)))
            .await
            .unwrap();
        assert!(!out.drained, "the leased member still runs");
        let finisher = {
            let c = Client::connect(&db.conninfo("postgres")).await.unwrap();
            tokio::spawn(async move {
                tokio::time::sleep(Duration::from_millis(300)).await;
                c.complete(&running.lease, None).await
            })
        };
        let out = c.cancel_flow(flow, CancelFlowPolicy::CancelPending, "stop", CancelFlowWait::WaitIndefinite).await.unwrap();
        assert!(out.drained);
        finisher.await.unwrap().unwrap();
        let f = c.get_flow(flow).await.unwrap();
        assert_eq!((f.state, f.count(PublicState::Cancelled), f.count(PublicState::Completed)), (FlowState::Cancelled, 2, 1));
        assert_eq!(f.cancelled.map(|(_, policy, reason)| (policy, reason)), Some(("cancel_pending".into(), "stop".into())));
        let e = c.create_execution(&NewExecution::new("l").flow(flow)).await.unwrap_err();
        assert_eq!(e.kind(), Some(ErrorKind::InvalidInput));
    });
}

#[test]
fn completion_events_carry_flow_and_result_and_a_signaler_reads_them_without_the_bytes() {
    let db = Cluster::shared().fresh_db("client_completion_payloads");
    db.connect()
        .batch_execute("DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'cf_signaler') THEN CREATE ROLE cf_signaler LOGIN IN ROLE ff_signaler; END IF; END $$")
        .unwrap();
    block_on(async {
        let c = Client::connect(&db.conninfo("postgres")).await.unwrap();
        let (flow, _) = c.create_flow(None, None, serde_json::json!({})).await.unwrap();
        let member = c.create_execution(&NewExecution::new("l").flow(flow)).await.unwrap().execution_id;
        let solo = c.create_execution(&NewExecution::new("l")).await.unwrap().execution_id;
        for _ in 0..2 {
            let l = claim(&c, "l").await;
            c.complete(&l.lease, Some(b"twelve bytes")).await.unwrap();
        }
        let events = |c: Client, options: SubscriptionOptions| async move {
            let mut sub = c.subscribe(options);
            let mut out = Vec::new();
            while out.len() < 2 {
                if let Event::Completion { header, outcome, flow_id, result_bytes, result, .. } = sub.next().await.unwrap() {
                    out.push((header.execution_id, outcome, flow_id, result_bytes, result));
                }
            }
            out
        };
        let got = events(
            Client::connect(&db.conninfo("postgres")).await.unwrap(),
            SubscriptionOptions::new([EventKind::Completion]).with_results(),
        )
        .await;
        let bytes = Some(b"twelve bytes".to_vec());
        for (id, outcome, flow_id, result_bytes, result) in got {
            assert_eq!((outcome.as_str(), result_bytes, result), ("success", Some(12), bytes.clone()));
            assert_eq!(
                flow_id,
                if id == member {
                    Some(flow)
                } else {
                    assert_eq!(id, solo);
                    None
                }
            );
        }
        let signaler = Client::connect(&db.conninfo("cf_signaler")).await.unwrap();
        let got = events(signaler, SubscriptionOptions::new([EventKind::Completion])).await;
        assert!(got.iter().all(|e| e.3 == Some(12) && e.4.is_none()), "{got:?}");
        let signaler = Client::connect(&db.conninfo("cf_signaler")).await.unwrap();
        let mut sub = signaler.subscribe(SubscriptionOptions::new([EventKind::Completion]).with_results());
        let e = sub.next().await.unwrap_err();
        assert_eq!(e.sqlstate(), Some("42501"), "a signaler never reads results");
    });
}
