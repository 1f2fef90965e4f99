//! The client crate against a real cluster: every method round-trips, every SQLSTATE maps to its variant,
//! dropped connections are retried.

use ff_engine_client::Lease;
use ff_engine_client::*;
use ff_engine_tests::*;
use serde_json::json;
use std::future::Future;

fn block_on<F: Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap().block_on(f)
}

fn now_ms() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as i64
}

#[test]
fn every_method_round_trips() {
    let db = Cluster::shared().fresh_db("client_round_trip");
    block_on(round_trip(db.conninfo("postgres")));
}

async fn round_trip(conninfo: String) {
    let c = Client::connect(&conninfo).await.unwrap();
    // Keys.
    let s = hex32(0x11);
    let seeded = c.seed_hmac("k1", Some(&s)).await.unwrap();
    assert_eq!((seeded.outcome.as_str(), seeded.same_secret), ("seeded", None));
    assert_eq!(c.seed_hmac("k1", Some(&s)).await.unwrap().same_secret, Some(true));
    let rotated = c.rotate_hmac("k2", None, 60_000).await.unwrap();
    assert_eq!((rotated.outcome.as_str(), rotated.previous_kid.as_deref(), rotated.new_kid.as_str()), ("rotated", Some("k1"), "k2"));
    let kids = c.hmac_kids().await.unwrap();
    assert_eq!(kids.iter().filter(|k| k.active).map(|k| k.kid.as_str()).collect::<Vec<_>>(), vec!["k2"]);
    let k1 = kids.iter().find(|k| k.kid == "k1").unwrap();
    assert_eq!(k1.expires_at_ms.unwrap() - k1.rotated_at_ms.unwrap(), 60_000);

    // Budgets and quotas.
    let b = c.create_budget("b1", &json!({"tokens": 1000}), &json!({"tokens": 100}), None).await.unwrap();
    assert_eq!((b.budget_id.as_str(), b.created), ("b1", true));
    assert!(!c.create_budget("b1", &json!({"tokens": 1000}), &json!({}), None).await.unwrap().created);
    let q = c.create_quota_policy(Some(100), 60_000, Some(10), None).await.unwrap();

    // Create (every argument), idempotent replay, grant + claim, renew, usage.
    let mut new = NewExecution::new("rt").payload(b"p1".to_vec()).priority(5).requires(["gpu"]).retries(2, 10).idempotency_key("idem-1");
    new.namespace = Some("tenant-a".into());
    new.tags = json!({"team": "core"});
    new.budget_ids = vec!["b1".into()];
    new.quota_policy_id = Some(q);
    let created = c.create_execution(&new).await.unwrap();
    assert!(created.created);
    let replay = c.create_execution(&new).await.unwrap();
    assert_eq!((replay.execution_id, replay.created), (created.execution_id, false));
    assert!(c.claim_for_worker("rt", "w1", "i1", &[], 5000).await.unwrap().is_none(), "needs gpu");
    let grant = c.claim_for_worker("rt", "w1", "i1", &["gpu".into()], 5000).await.unwrap().unwrap();
    assert_eq!(grant.execution_id, created.execution_id);
    assert_eq!(grant.partition_key, created.execution_id.partition_key_text());
    assert!(!format!("{grant:?}").contains(grant.grant_key.expose()), "grant key leaked into Debug");
    let e1 = c.claim_execution(&grant.grant_key, "w1", "i1", 30_000).await.unwrap();
    assert_eq!(
        (e1.lease.execution_id, e1.attempt_index, e1.resumed, e1.payload.as_deref()),
        (created.execution_id, 0, false, Some(&b"p1"[..]))
    );
    let renewed = c.renew_lease(&e1.lease, 60_000).await.unwrap();
    assert_eq!(renewed.lease_epoch, e1.lease.lease_epoch);
    assert!(renewed.lease_expires_at_ms >= e1.lease_expires_at_ms);
    let usage = c.report_usage(&e1.lease, &json!({"tokens": 150}), Some("u1")).await.unwrap();
    assert_eq!((usage.decision, usage.dimension.as_deref()), (UsageDecision::SoftBreach, Some("tokens")));
    assert_eq!(c.report_usage(&e1.lease, &json!({"tokens": 150}), Some("u1")).await.unwrap().decision, UsageDecision::Duplicate);
    let status = c.budget_status("b1").await.unwrap();
    assert_eq!(status, vec![BudgetDimension { dimension: "tokens".into(), used: 150, soft_limit: Some(100), hard_limit: Some(1000) }]);

    // Waitpoints, suspend, signals, resume.
    let pending = c.create_waitpoint(&e1.lease, "review", 60_000).await.unwrap();
    assert_eq!(pending.waitpoint_key, "review");
    let condition = ResumeCondition::all_of([
        ResumeCondition::single("approval", SignalMatcher::name("approved")),
        ResumeCondition::count(1, Distinct::Sources, ["review"]),
    ]);
    let mut suspend = Suspend::new(condition)
        .timeout(now_ms() + 3_600_000, TimeoutBehavior::Escalate)
        .reason(ReasonCode::WaitingForApproval)
        .idempotency_key("s1");
    suspend.waitpoints = Some(vec![
        WaitpointBinding::Fresh { waitpoint_key: "approval".into(), waitpoint_id: None },
        WaitpointBinding::UsePending(pending.waitpoint_id),
    ]);
    suspend.continuation = Some("step-2".into());
    let suspended = c.suspend(&e1.lease, &suspend).await.unwrap();
    assert_eq!(suspended.state, SuspendState::Suspended);
    assert_eq!(suspended.waitpoints.iter().map(|w| w.waitpoint_key.as_str()).collect::<Vec<_>>(), vec!["approval", "review"]);
    assert_eq!(suspended.waitpoints[1].waitpoint_id, pending.waitpoint_id);
    let replayed = c.suspend(&e1.lease, &suspend).await.unwrap();
    assert_eq!(replayed, suspended, "idempotent replay returns the first result verbatim");
    let listed = c.list_suspended(None, 10).await.unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(
        (listed[0].execution_id, listed[0].reason_code, listed[0].timeout_behavior),
        (created.execution_id, ReasonCode::WaitingForApproval, TimeoutBehavior::Escalate)
    );
    assert!(c.list_suspended(Some(&created.execution_id), 10).await.unwrap().is_empty(), "keyset pagination");
    let wps = c.list_pending_waitpoints(&created.execution_id, None, 10, false).await.unwrap();
    assert_eq!(wps.len(), 2);
    assert!(wps.iter().all(|w| w.state == WaitpointState::Active && w.token_kid == "k2" && w.token_fingerprint.len() == 16));
    let approval = &suspended.waitpoints[0];
    assert_eq!(c.read_waitpoint_token(&created.execution_id, approval.waitpoint_id).await.unwrap().as_ref(), Some(&approval.token));
    let review = Signal::new(created.execution_id, pending.waitpoint_id, pending.token.clone(), "lgtm")
        .source("human", "bob")
        .payload(b"ok".to_vec())
        .idempotency_key("r1");
    let d1 = c.deliver_signal(&review).await.unwrap();
    assert_eq!((d1.outcome, d1.effect), (SignalOutcome::Accepted, Some(SignalEffect::Appended)));
    let dup = c.deliver_signal(&review).await.unwrap();
    assert_eq!((dup.outcome, dup.signal_id, dup.effect), (SignalOutcome::Duplicate, d1.signal_id, None));
    let d2 = c.deliver_approval_signal(&created.execution_id, "rt", approval.waitpoint_id, "approved", "op1").await.unwrap();
    assert!(d2.resumed());
    let observed = c.observe_signals(&created.execution_id).await.unwrap();
    assert_eq!(
        observed.iter().map(|o| (o.signal_name.as_str(), o.source_identity.as_str())).collect::<Vec<_>>(),
        vec![("lgtm", "bob"), ("approved", "postgres")]
    );
    assert_eq!(observed[0].payload.as_deref(), Some(&b"ok"[..]));

    // Reclaim the resumed execution through the FlowFabric-named claim, then complete.
    let grant = c.claim_for_worker("rt", "w1", "i1", &["gpu".into()], 5000).await.unwrap().unwrap();
    let e1b = c.claim_resumed_execution(&grant.grant_key, "w1", "i1", 30_000).await.unwrap();
    assert_eq!((e1b.resumed, e1b.attempt_index), (true, 0));
    assert!(e1b.lease.lease_epoch > e1.lease.lease_epoch);
    c.complete(&e1b.lease, Some(b"done")).await.unwrap();

    // Batch claim, fail with retry, complete_many with one bad fence.
    for i in 0..3 {
        c.create_execution(&NewExecution::new("batch").payload(vec![i]).retries(2, 10)).await.unwrap();
    }
    let batch = c.claim("batch", "w2", "i2", &[], 30_000, 10).await.unwrap();
    assert_eq!(batch.len(), 3);
    match c.fail(&batch[0].lease, "boom", true).await.unwrap() {
        FailOutcome::RetryScheduled { retry_at_ms } => assert!(retry_at_ms > 0),
        other => panic!("{other:?}"),
    }
    let stale = Lease { lease_epoch: batch[2].lease.lease_epoch + 7, ..batch[2].lease };
    let many = c.complete_many(&[(batch[1].lease, Some(b"r".to_vec())), (stale, None)]).await.unwrap();
    assert!(many[0].is_completed());
    assert_eq!(many[1].outcome, CompleteManyStatus::Refused(ErrorKind::LeaseConflict));
    assert_eq!(c.fail(&batch[2].lease, "fatal", false).await.unwrap(), FailOutcome::TerminalFailed);

    // Operator resume and cancel.
    let e3 = c.create_execution(&NewExecution::new("ops")).await.unwrap().execution_id;
    let l3 = c.claim("ops", "w3", "i3", &[], 30_000, 1).await.unwrap().remove(0);
    assert_eq!(c.suspend(&l3.lease, &Suspend::new(ResumeCondition::operator_only())).await.unwrap().state, SuspendState::Suspended);
    c.resume_execution(&e3, 0).await.unwrap();
    assert_eq!(c.cancel(&e3, "no longer needed").await.unwrap(), CancelOutcome::Cancelled);
    assert_eq!(c.cancel(&e3, "again").await.unwrap(), CancelOutcome::AlreadyTerminal);

    // Scanners and retention.
    let tasks = c.tick(100).await.unwrap();
    let every = [
        ScannerTask::PromoteDelayed,
        ScannerTask::ExpireGrants,
        ScannerTask::ExpireLeases,
        ScannerTask::ExpireSuspensions,
        ScannerTask::ExpireDeadlines,
        ScannerTask::ExpirePendingWaitpoints,
        ScannerTask::GcDedup,
        ScannerTask::GcKeys,
        ScannerTask::PruneExecutions,
        ScannerTask::VerifyClaimStarts,
    ];
    assert_eq!(tasks.iter().map(|t| t.task).collect::<Vec<_>>(), every, "ff_tick runs every task, in this order");
    for t in every {
        assert!(c.run_task(t, 100).await.unwrap() >= 0);
    }
    let cursor = c.current_cursor().await.unwrap();
    assert!(cursor.signal >= 2 && cursor.lease > 0 && cursor.completion > 0, "{cursor:?}");
    let pruned = c.prune_events(now_ms() + 1000).await.unwrap();
    assert_eq!(pruned.len(), 4);
    assert!(pruned.iter().map(|p| p.deleted).sum::<i64>() > 0);
}

/// Each `WF` error produced by a real engine call maps to its own variant.
#[test]
fn engine_errors_map_to_their_variants() {
    let db = Cluster::shared().fresh_db("client_errors");
    let mut su = db.connect();
    su.batch_execute("DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'it_client_nobody') THEN CREATE ROLE it_client_nobody LOGIN; END IF; END $$").unwrap();
    block_on(engine_errors(db.conninfo("postgres"), db.conninfo("it_client_nobody")));
}

async fn engine_errors(conninfo: String, nobody: String) {
    let c = Client::connect(&conninfo).await.unwrap();
    let e = |r: Result<_>| -> Error {
        match r {
            Err(e) => e,
            Ok(()) => panic!("expected an error"),
        }
    };
    // Before any key: keystore_empty.
    c.create_execution(&NewExecution::new("err")).await.unwrap();
    let l = c.claim("err", "w", "i", &[], 30_000, 1).await.unwrap().remove(0);
    assert!(matches!(e(c.create_waitpoint(&l.lease, "k", 1000).await.map(drop)), Error::KeystoreEmpty(_)));
    c.seed_hmac("k1", Some(&hex32(1))).await.unwrap();

    let err = e(c.rotate_hmac("bad:kid", None, 0).await.map(drop));
    let Error::InvalidInput(se) = &err else { panic!("{err:?}") };
    assert_eq!(se.detail.as_deref(), Some("invalid_kid"));
    assert!(se.message.starts_with("invalid_input"));
    assert_eq!((err.sqlstate(), err.kind()), (Some("WF001"), Some(ErrorKind::InvalidInput)));
    assert!(matches!(e(c.rotate_hmac("k1", Some(&hex32(3)), 0).await.map(drop)), Error::RotationConflict(_)));
    let unknown = ExecutionId::parse("{fp:1}:00000000-0000-4000-8000-000000000000").unwrap();
    let err = e(c.cancel(&unknown, "x").await.map(drop));
    assert!(matches!(&err, Error::NotFound(s) if s.detail.is_some()), "{err:?}");
    assert!(err.to_string().starts_with("WF010 not_found"), "{err}");

    // Fences.
    let stale = Lease { lease_epoch: l.lease.lease_epoch + 1, ..l.lease };
    assert!(matches!(e(c.complete(&stale, None).await), Error::LeaseConflict(_)));
    let wp = c.create_waitpoint(&l.lease, "k", 60_000).await.unwrap();
    let cond = || Suspend::new(ResumeCondition::single("k", SignalMatcher::Any));
    c.suspend(&l.lease, &cond()).await.unwrap();
    let err = e(c.complete(&l.lease, None).await);
    assert!(matches!(err, Error::LeaseConflict(_) | Error::ExecutionNotActive(_)), "{err:?}");
    let forged = Signal::new(l.lease.execution_id, wp.waitpoint_id, WaitpointToken::new(format!("k1:{}", hex32(9))), "x");
    assert!(matches!(e(c.deliver_signal(&forged).await.map(drop)), Error::InvalidToken(_)));
    let capped = Signal { max_signals_per_execution: 0, ..Signal::new(l.lease.execution_id, wp.waitpoint_id, wp.token.clone(), "x") };
    assert!(matches!(e(c.deliver_signal(&capped).await.map(drop)), Error::SignalLimitExceeded(_)));

    // Resumed / suspended / claim grants.
    let l2 = {
        c.create_execution(&NewExecution::new("err2")).await.unwrap();
        let g = c.claim_for_worker("err2", "w", "i", &[], 5000).await.unwrap().unwrap();
        assert!(matches!(e(c.claim_resumed_execution(&g.grant_key, "w", "i", 30_000).await.map(drop)), Error::NotAResumedExecution(_)));
        assert!(matches!(e(c.claim_execution(&g.grant_key, "other-worker", "i", 30_000).await.map(drop)), Error::InvalidClaimGrant(_)));
        c.claim_execution(&g.grant_key, "w", "i", 30_000).await.unwrap()
    };
    assert!(matches!(e(c.resume_execution(&l2.lease.execution_id, 0).await), Error::ExecutionNotSuspended(_)));
    assert!(matches!(e(c.claim_execution(&GrantKey::new("garbage"), "w", "i", 30_000).await.map(drop)), Error::InvalidClaimGrant(_)));
    c.suspend(&l2.lease, &Suspend::new(ResumeCondition::operator_only())).await.unwrap();
    c.resume_execution(&l2.lease.execution_id, 0).await.unwrap();
    let l2b = c.claim("err2", "w", "i", &[], 30_000, 1).await.unwrap().remove(0);
    c.suspend(&l2b.lease, &Suspend::new(ResumeCondition::operator_only()).idempotency_key("a")).await.unwrap();
    // A fresh suspend (other key) while one is open.
    let err = e(c.suspend(&l2b.lease, &Suspend::new(ResumeCondition::operator_only()).idempotency_key("b")).await.map(drop));
    assert!(matches!(err, Error::AlreadySuspended(_) | Error::LeaseConflict(_) | Error::ExecutionNotActive(_)), "{err:?}");

    // Expiry: lease, grant, retired key; closed waitpoint; terminal target.
    c.create_execution(&NewExecution::new("err3")).await.unwrap();
    c.create_execution(&NewExecution::new("err3")).await.unwrap();
    let short = c.claim("err3", "w", "i", &[], 1, 1).await.unwrap().remove(0);
    let grant = c.claim_for_worker("err3", "w", "i", &[], 1).await.unwrap().unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(30)).await;
    assert!(matches!(e(c.complete(&short.lease, None).await), Error::LeaseExpired(_)));
    assert!(matches!(e(c.claim_execution(&grant.grant_key, "w", "i", 30_000).await.map(drop)), Error::ClaimGrantExpired(_)));
    c.create_execution(&NewExecution::new("err4")).await.unwrap();
    let l4 = c.claim("err4", "w", "i", &[], 30_000, 1).await.unwrap().remove(0);
    let s4 = c
        .suspend(
            &l4.lease,
            &Suspend::new(ResumeCondition::all_of([
                ResumeCondition::single("a", SignalMatcher::Any),
                ResumeCondition::single("b", SignalMatcher::Any),
            ])),
        )
        .await
        .unwrap();
    c.rotate_hmac("k2", None, 1).await.unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    let old = Signal::new(l4.lease.execution_id, s4.waitpoints[0].waitpoint_id, s4.waitpoints[0].token.clone(), "x");
    assert!(matches!(e(c.deliver_signal(&old).await.map(drop)), Error::TokenExpired(_)));
    c.cancel(&l4.lease.execution_id, "x").await.unwrap();
    let err = e(c.deliver_signal(&old).await.map(drop));
    assert!(matches!(err, Error::TargetNotSignalable(_) | Error::WaitpointClosed(_) | Error::TokenExpired(_)), "{err:?}");

    // Waitpoint closed: signal a waitpoint of a suspension that already resumed.
    c.create_execution(&NewExecution::new("err5")).await.unwrap();
    let l5 = c.claim("err5", "w", "i", &[], 30_000, 1).await.unwrap().remove(0);
    let s5 = c.suspend(&l5.lease, &Suspend::new(ResumeCondition::any_of(["a", "b"]))).await.unwrap();
    let to = |i: usize| Signal::new(l5.lease.execution_id, s5.waitpoints[i].waitpoint_id, s5.waitpoints[i].token.clone(), "x");
    assert!(c.deliver_signal(&to(0)).await.unwrap().resumed());
    assert!(matches!(e(c.deliver_signal(&to(1)).await.map(drop)), Error::WaitpointClosed(_)));
    c.cancel(&l5.lease.execution_id, "x").await.unwrap();
    assert!(matches!(e(c.deliver_signal(&to(0)).await.map(drop)), Error::TargetNotSignalable(_) | Error::WaitpointClosed(_)));

    // A role without grants: 42501 keeps its own variant.
    let nobody = Client::connect(&nobody).await.unwrap();
    let err = e(nobody.hmac_kids().await.map(drop));
    assert!(matches!(err, Error::InsufficientPrivilege(_)), "{err:?}");
    assert_eq!(err.sqlstate(), Some("42501"));
}

/// Every SQLSTATE the client knows, raised for real by the server, arrives as its variant with message and
/// DETAIL; an unknown one keeps its code; none of them is retried except 40001 / 40P01.
#[test]
fn every_sqlstate_maps_from_a_real_server_error() {
    let db = Cluster::shared().fresh_db("client_sqlstates");
    block_on(async move {
        let c = Client::builder(&db.conninfo("postgres")).unwrap().retry(RetryPolicy::NEVER).build().unwrap();
        let conn = c.pool().get().await.unwrap();
        for code in Error::KNOWN_SQLSTATES.iter().copied().chain(["P0001", "23505"]) {
            let sql = format!("DO $$ BEGIN RAISE EXCEPTION 'name_{code}: boom' USING ERRCODE = '{code}', DETAIL = 'detail_{code}'; END $$");
            let err = Error::from(conn.batch_execute(&sql).await.unwrap_err());
            assert_eq!(err.sqlstate(), Some(code), "{err:?}");
            let se = err.server_error().unwrap_or_else(|| panic!("{code}: {err:?}"));
            assert_eq!(se.message, format!("name_{code}: boom"));
            assert_eq!(se.detail.as_deref(), Some(&*format!("detail_{code}")));
            let known = Error::KNOWN_SQLSTATES.contains(&code);
            assert_eq!(matches!(err, Error::Other { .. }), !known, "{code}");
            assert_eq!(err.is_retryable(), code == "40001" || code == "40P01", "{code}");
            if code.starts_with("WF") {
                assert_eq!(err.kind().map(|k| k.sqlstate()), Some(code));
            }
        }
    });
}

/// A pooled connection whose backend was terminated is replaced and the call retried; without retries the
/// caller sees a retryable connection error.
#[test]
fn dropped_connections_are_retried() {
    let db = Cluster::shared().fresh_db("client_retry");
    block_on(async move {
        let su = Client::connect(&db.conninfo("postgres")).await.unwrap();
        let info = db.conninfo("postgres").replace("application_name=ff_it", "application_name=ff_retry");
        let retrying = Client::builder(&info).unwrap().max_connections(2).build().unwrap();
        let info_never = db.conninfo("postgres").replace("application_name=ff_it", "application_name=ff_never");
        let never = Client::builder(&info_never).unwrap().max_connections(1).retry(RetryPolicy::NEVER).build().unwrap();
        retrying.seed_hmac("k1", None).await.unwrap();
        never.hmac_kids().await.unwrap();
        for round in 0..5 {
            let killed: i64 = su
                .pool()
                .get()
                .await
                .unwrap()
                .query_one(
                    "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE application_name IN ('ff_retry', 'ff_never')",
                    &[],
                )
                .await
                .unwrap()
                .get(0);
            assert!(killed >= 1, "round {round}");
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            assert_eq!(retrying.hmac_kids().await.unwrap().len(), 1, "round {round}");
            // Ok: the pool noticed the closed connection before handing it out.
            if let Err(e) = never.hmac_kids().await {
                assert!(e.is_retryable(), "{e:?}");
            }
            // Either way the next call on the never-retrying client works again.
            never.hmac_kids().await.unwrap();
        }
    });
}

#[test]
fn a_partition_first_client_runs_the_hot_calls_through_their_in_forms() {
    let db = Cluster::shared().fresh_db("client_partition_first");
    let mut setup = db.connect();
    setup.query("SELECT * FROM ff_seed_hmac('k1', repeat('11', 32))", &[]).unwrap();
    setup.batch_execute(&format!("ALTER DATABASE {} SET track_functions = 'all'", db.name)).unwrap();
    block_on(partition_first_cycle(db.conninfo("postgres")));
    // Every hot call went through its partition-first form (counted once the backends flush).
    let names = [
        "ff_create_execution_in",
        "ff_claim_in",
        "ff_renew_lease_in",
        "ff_suspend_in",
        "ff_deliver_signal_in",
        "ff_complete_in",
        "ff_fail_in",
    ];
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(15);
    loop {
        setup.batch_execute("SELECT pg_stat_clear_snapshot()").unwrap();
        let called: Vec<String> =
            column(&mut setup, "SELECT funcname::text FROM pg_stat_user_functions WHERE funcname LIKE 'ff\\_%\\_in' AND calls > 0", &[]);
        let missing: Vec<&&str> = names.iter().filter(|n| !called.iter().any(|c| c == *n)).collect();
        if missing.is_empty() {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "not called through their _in forms: {missing:?} (called: {called:?})");
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
}

async fn partition_first_cycle(conninfo: String) {
    let c = Client::builder(&conninfo).unwrap().partition_first(true).max_connections(1).build().unwrap();
    assert!(c.is_partition_first());
    let home = ff_engine_core::ids::partition_for_lane("pf-lane");
    let flow = loop {
        let flow = c.create_flow(None, None, json!({})).await.unwrap().0;
        if ff_engine_core::ids::partition_for_flow(&flow) != home {
            break flow;
        }
    };
    for e in [NewExecution::new("pf-lane"), NewExecution::new("pf-lane").flow(flow)] {
        let created = c.create_execution(&e.clone().payload(vec![1])).await.unwrap();
        assert_eq!(created.execution_id.partition, e.partition());
    }
    // The flow member in its flow's partition (ff_lane_partitions lists it), then the solo execution
    // in the lane's own.
    assert_eq!(c.lane_partitions("pf-lane").await.unwrap(), vec![ff_engine_core::ids::partition_for_flow(&flow)]);
    let l = c.claim("pf-lane", "w", "i", &[], 30_000, 5).await.unwrap();
    let partitions: Vec<u16> = l.iter().map(|x| x.lease.execution_id.partition).collect();
    assert_eq!(partitions, vec![ff_engine_core::ids::partition_for_flow(&flow), home], "{l:?}");
    c.complete(&l[0].lease, None).await.unwrap();
    let lease = &l[1].lease;
    c.renew_lease(lease, 30_000).await.unwrap();
    let s = c.suspend(lease, &Suspend::new(ResumeCondition::single("k", SignalMatcher::name("go")))).await.unwrap();
    let wp = &s.waitpoints[0];
    let d = c.deliver_signal(&Signal::new(lease.execution_id, wp.waitpoint_id, wp.token.clone(), "go")).await.unwrap();
    assert_eq!(d.effect, Some(SignalEffect::Satisfied), "{d:?}");
    let again = c.claim("pf-lane", "w", "i", &[], 30_000, 1).await.unwrap().remove(0);
    assert!(again.resumed);
    // complete_many is one ff_complete_in per lease; a stale fence is refused, not the batch.
    let stale = Lease { lease_epoch: again.lease.lease_epoch + 7, ..again.lease };
    let outcomes = c.complete_many(&[(stale, None), (again.lease, Some(b"ok".to_vec()))]).await.unwrap();
    assert_eq!(outcomes[0].outcome, CompleteManyStatus::Refused(ErrorKind::LeaseConflict), "{outcomes:?}");
    assert_eq!(outcomes[1].outcome, CompleteManyStatus::Completed, "{outcomes:?}");
    let retried = c.create_execution(&NewExecution::new("pf-lane").retries(2, 0)).await.unwrap();
    let l = c.claim("pf-lane", "w", "i", &[], 30_000, 1).await.unwrap().remove(0);
    assert_eq!(l.lease.execution_id, retried.execution_id);
    assert!(matches!(c.fail(&l.lease, "boom", true).await.unwrap(), FailOutcome::RetryScheduled { .. }));
}
