//! Event subscriptions against a real cluster: every committed event exactly once, in event-id order,
//! across `pg_terminate_backend` of the subscription's connection, across out-of-order commits and
//! rolled-back ids; LISTEN and polling modes.

use ff_engine_client::*;
use ff_engine_tests::*;
use std::collections::HashSet;
use std::time::Duration;

fn block_on<F: std::future::Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap().block_on(f)
}

async fn run_to_completion(c: &Client, lane: &str, n: usize) -> Vec<ExecutionId> {
    let mut done = Vec::new();
    for _ in 0..n {
        let id = c.create_execution(&NewExecution::new(lane)).await.unwrap().execution_id;
        let l = c.claim(lane, "w", "i", &[], 30_000, 1).await.unwrap().remove(0);
        c.complete(&l.lease, None).await.unwrap();
        done.push(id);
    }
    done
}

async fn next_completion(sub: &mut Subscription) -> (i64, ExecutionId, String) {
    let e = tokio::time::timeout(Duration::from_secs(20), sub.next()).await.expect("an event within 20 s").unwrap();
    match e {
        Event::Completion { header, outcome, .. } => (header.event_id, header.execution_id, outcome),
        other => panic!("unexpected {other:?}"),
    }
}

/// Terminate a backend; false when it had already gone (the subscriber may not have noticed yet).
async fn terminate(su: &Client, pid: i32) -> bool {
    su.pool().get().await.unwrap().query_one("SELECT pg_terminate_backend($1)", &[&pid]).await.unwrap().get(0)
}

/// What a stalled subscription waits for: the ids after its cursor in each table it follows, the
/// server's snapshot, and every transaction that holds an id (and so the horizon) back.
async fn diagnose(c: &Client, sub: &Subscription) -> String {
    let cursor = sub.cursor();
    let conn = c.pool().get().await.unwrap();
    let row = conn
        .query_one(
            "SELECT pg_current_snapshot()::text, \
                    (SELECT array_agg(event_id ORDER BY event_id)::text FROM (SELECT event_id FROM ff_completion_event \
                     WHERE event_id > $1 ORDER BY event_id LIMIT 10) x), \
                    (SELECT array_agg(event_id ORDER BY event_id)::text FROM (SELECT event_id FROM ff_lease_event \
                     WHERE event_id > $2 ORDER BY event_id LIMIT 10) x), \
                    (SELECT string_agg(format('%s %s xid %s %s %s wait %s/%s since %s: %s', pid, datname, backend_xid, \
                     application_name, state, wait_event_type, wait_event, xact_start, left(query, 80)), ' | ') \
                     FROM pg_stat_activity WHERE backend_xid IS NOT NULL OR backend_xmin IS NOT NULL OR wait_event_type = 'Lock')",
            &[&cursor.completion, &cursor.lease],
        )
        .await
        .unwrap();
    let text = |i: usize| row.get::<_, Option<String>>(i).unwrap_or_default();
    format!(
        "cursor {cursor:?}; snapshot {}; completions after it {}; lease events after it {}; reconnects {}; sessions: {}",
        text(0),
        text(1),
        text(2),
        sub.reconnects(),
        text(3)
    )
}

/// The next event, waiting longer than max_gap_wait (30 s): a hole (an id a writer's rolled-back
/// transaction took) is held back until every older transaction of the cluster, another test's too,
/// has ended. On a timeout, what the subscription waits for.
async fn next_outwaiting_holes(c: &Client, sub: &mut Subscription, after: &str) -> Event {
    match tokio::time::timeout(Duration::from_secs(40), sub.next()).await {
        Ok(e) => e.unwrap(),
        Err(_) => panic!("no event within 40 s after {after}: {}", diagnose(c, sub).await),
    }
}

#[test]
fn subscription_survives_terminate_and_misses_nothing() {
    for delivery in [Delivery::Listen, Delivery::Poll] {
        let db = Cluster::shared().fresh_db(&format!("client_sub_{delivery:?}").to_lowercase());
        block_on(async {
            let c = Client::connect(&db.conninfo("postgres")).await.unwrap();
            let mut options = SubscriptionOptions::new([EventKind::Completion]);
            if delivery == Delivery::Poll {
                options = options.polling(Duration::from_millis(50));
            }
            let mut sub = c.subscribe(options);
            let mut seen: Vec<(i64, ExecutionId)> = Vec::new();
            let mut expected: Vec<ExecutionId> = Vec::new();
            expected.extend(run_to_completion(&c, "sub", 10).await);
            for _ in 0..10 {
                let (id, ex, outcome) = next_completion(&mut sub).await;
                assert_eq!(outcome, "success");
                seen.push((id, ex));
            }
            // Terminate the subscription's connection three times; commit events while it is gone.
            for round in 0..3 {
                assert!(terminate(&c, sub.backend_pid().expect("connected")).await, "terminate");
                expected.extend(run_to_completion(&c, "sub", 15).await);
                for _ in 0..15 {
                    let (id, ex, _) = next_completion(&mut sub).await;
                    seen.push((id, ex));
                }
                assert!(sub.reconnects() > round as u64, "round {round}: reconnects {}", sub.reconnects());
            }
            assert_eq!(seen.iter().map(|s| s.1).collect::<Vec<_>>(), expected, "{delivery:?}: every event once, in commit order here");
            assert!(seen.windows(2).all(|w| w[0].0 < w[1].0), "event ids strictly increase");
            assert_eq!(sub.cursor().completion, seen.last().unwrap().0);
            // Nothing more arrives.
            assert!(tokio::time::timeout(Duration::from_millis(300), sub.next()).await.is_err());
        });
    }
}

/// Id n+1 commits before id n: the subscriber holds n+1 back until n commits, then yields both in
/// order; an id taken by a rolled-back transaction is skipped once provably final.
#[test]
fn out_of_order_commits_and_rollbacks_keep_id_order() {
    let db = Cluster::shared().fresh_db("client_sub_gaps");
    block_on(async {
        let c = Client::connect(&db.conninfo("postgres")).await.unwrap();
        let mut sub = c.subscribe(SubscriptionOptions::new([EventKind::Completion]));
        run_to_completion(&c, "gap", 1).await;
        let (first, _, _) = next_completion(&mut sub).await;

        // Two leased executions: A completes in an open transaction (takes id first+1), B commits (first+2).
        for lane in ["gap-a", "gap-b"] {
            c.create_execution(&NewExecution::new(lane)).await.unwrap();
        }
        let a = c.claim("gap-a", "w", "i", &[], 30_000, 1).await.unwrap().remove(0);
        let b = c.claim("gap-b", "w", "i", &[], 30_000, 1).await.unwrap().remove(0);
        let mut held = c.pool().get().await.unwrap();
        let tx = held.transaction().await.unwrap();
        let complete_a = "SELECT outcome FROM ff_complete(execution_id => $1, lease_id => $2, lease_epoch => $3)";
        tx.query(complete_a, &[&a.lease.execution_id.to_string(), &a.lease.lease_id, &a.lease.lease_epoch]).await.unwrap();
        c.complete(&b.lease, None).await.unwrap();
        assert!(tokio::time::timeout(Duration::from_millis(400), sub.next()).await.is_err(), "B's event must wait for A's lower id");
        tx.commit().await.unwrap();
        drop(held);
        let (ia, ea, _) = next_completion(&mut sub).await;
        let (ib, eb, _) = next_completion(&mut sub).await;
        assert_eq!((ia, ea, ib, eb), (first + 1, a.lease.execution_id, first + 2, b.lease.execution_id));

        // A rolled-back completion leaves a hole that must not block later events for ever.
        c.create_execution(&NewExecution::new("gap-c")).await.unwrap();
        let cc = c.claim("gap-c", "w", "i", &[], 30_000, 1).await.unwrap().remove(0);
        {
            let mut conn = c.pool().get().await.unwrap();
            let tx = conn.transaction().await.unwrap();
            tx.query(complete_a, &[&cc.lease.execution_id.to_string(), &cc.lease.lease_id, &cc.lease.lease_epoch]).await.unwrap();
            tx.rollback().await.unwrap();
        }
        let after = run_to_completion(&c, "gap", 1).await;
        let (id, ex, _) = next_completion(&mut sub).await;
        assert_eq!(ex, after[0]);
        assert!(id > ib + 1, "the rolled-back id {} was skipped", ib + 1);
    });
}

/// The writer of the lower event id can have the larger transaction id: B's transaction takes its id
/// first, A's takes the lower event id, B commits. The read that meets the hole sees B as the latest
/// completed transaction, so its snapshot's `xmax` is below A's id; a rule "final once a later `xmin`
/// reaches that `xmax`" drops A's event as soon as A is the oldest transaction running. The subscriber
/// must hold B's event back until A commits, then yield both in order.
#[test]
fn a_lower_event_id_held_by_a_younger_transaction_is_waited_for() {
    let db = Cluster::shared().fresh_db("client_sub_young");
    block_on(async {
        let c = Client::connect(&db.conninfo("postgres")).await.unwrap();
        // Polling: a listening subscriber's announcement is a transaction of its own, whose id, later
        // than A's, would lift the snapshot's `xmax` past A's and hide the fault.
        let mut sub = c.subscribe(SubscriptionOptions::new([EventKind::Completion]).polling(Duration::from_millis(20)));
        run_to_completion(&c, "young", 1).await;
        let (first, _, _) = next_completion(&mut sub).await;
        for lane in ["young-a", "young-b"] {
            c.create_execution(&NewExecution::new(lane)).await.unwrap();
        }
        let a = c.claim("young-a", "w", "i", &[], 30_000, 1).await.unwrap().remove(0);
        let b = c.claim("young-b", "w", "i", &[], 30_000, 1).await.unwrap().remove(0);
        let complete = "SELECT outcome FROM ff_complete(execution_id => $1, lease_id => $2, lease_epoch => $3)";
        let (mut conn_a, mut conn_b) = (c.pool().get().await.unwrap(), c.pool().get().await.unwrap());
        let tx_b = conn_b.transaction().await.unwrap();
        let xid_b: String = tx_b.query_one("SELECT pg_current_xact_id()::text", &[]).await.unwrap().get(0);
        let tx_a = conn_a.transaction().await.unwrap();
        tx_a.query(complete, &[&a.lease.execution_id.to_string(), &a.lease.lease_id, &a.lease.lease_epoch]).await.unwrap();
        tx_b.query(complete, &[&b.lease.execution_id.to_string(), &b.lease.lease_id, &b.lease.lease_epoch]).await.unwrap();
        let xid_a: String = tx_a.query_one("SELECT pg_current_xact_id()::text", &[]).await.unwrap().get(0);
        assert!(xid_a.parse::<i64>().unwrap() > xid_b.parse::<i64>().unwrap(), "A's transaction is the younger");
        tx_b.commit().await.unwrap();
        // Many reads meet the hole meanwhile (it is re-read every 20 ms).
        assert!(tokio::time::timeout(Duration::from_millis(800), sub.next()).await.is_err(), "B's event must wait for A's lower id");
        tx_a.commit().await.unwrap();
        let (ia, ea, _) = next_completion(&mut sub).await;
        let (ib, eb, _) = next_completion(&mut sub).await;
        assert_eq!((ia, ea, ib, eb), (first + 1, a.lease.execution_id, first + 2, b.lease.execution_id));
    });
}

/// A rolled-back event id is passed as soon as no transaction of this database can hold it, even while
/// a transaction of another database of the server stays open: that one holds every snapshot's `xmin`
/// back (the rule "a later `xmin` reaches the next id" would wait for it, or for `max_gap_wait`, 30 s),
/// but it cannot hold an event id here.
#[test]
fn a_transaction_open_in_another_database_does_not_hold_a_hole() {
    let cluster = Cluster::shared();
    let db = cluster.fresh_db("client_sub_here");
    let elsewhere = cluster.fresh_db("client_sub_elsewhere");
    block_on(async {
        let other = Client::connect(&elsewhere.conninfo("postgres")).await.unwrap();
        let mut other_conn = other.pool().get().await.unwrap();
        let open = other_conn.transaction().await.unwrap();
        open.query_one("SELECT pg_current_xact_id()::text", &[]).await.unwrap();

        let c = Client::connect(&db.conninfo("postgres")).await.unwrap();
        let mut sub = c.subscribe(SubscriptionOptions::new([EventKind::Completion]));
        run_to_completion(&c, "here", 1).await;
        next_completion(&mut sub).await;
        c.create_execution(&NewExecution::new("here-rolled-back")).await.unwrap();
        let l = c.claim("here-rolled-back", "w", "i", &[], 30_000, 1).await.unwrap().remove(0);
        {
            let mut conn = c.pool().get().await.unwrap();
            let tx = conn.transaction().await.unwrap();
            let complete = "SELECT outcome FROM ff_complete(execution_id => $1, lease_id => $2, lease_epoch => $3)";
            tx.query(complete, &[&l.lease.execution_id.to_string(), &l.lease.lease_id, &l.lease.lease_epoch]).await.unwrap();
            tx.rollback().await.unwrap();
        }
        let after = run_to_completion(&c, "here", 1).await;
        let e = tokio::time::timeout(Duration::from_secs(5), sub.next()).await.expect("past the hole within 5 s").unwrap();
        assert_eq!(e.header().unwrap().execution_id, after[0]);
        open.rollback().await.unwrap();
    });
}

/// Many writers commit concurrently while the subscriber reads and its connection is terminated again and
/// again: it yields each completion exactly once, ids strictly increasing.
#[test]
fn concurrent_writers_and_terminations() {
    let db = Cluster::shared().fresh_db("client_sub_storm");
    block_on(async {
        let c = Client::connect(&db.conninfo("postgres")).await.unwrap();
        // Small batches: the subscription reads from the server (and meets a termination) often.
        let mut options = SubscriptionOptions::new([EventKind::Completion, EventKind::Lease]);
        options.batch = 50;
        let mut sub = c.subscribe(options);
        let writers: Vec<_> = (0..6)
            .map(|w| {
                let c = c.clone();
                tokio::spawn(async move { run_to_completion(&c, &format!("storm{w}"), 40).await })
            })
            .collect();
        let mut completions = Vec::new();
        let mut lease_ids = Vec::new();
        // Each backend the subscription reads through is terminated once, after it delivered 30 events:
        // the subscription serves buffered events before it reads again, so a backend already
        // terminated can still be the current one for a while.
        let mut terminated = HashSet::new();
        let mut since = 0;
        while completions.len() < 240 {
            let e = next_outwaiting_holes(&c, &mut sub, &format!("{} completions", completions.len())).await;
            match &e {
                Event::Completion { header, .. } => completions.push((header.event_id, header.execution_id)),
                Event::Lease { header, .. } => lease_ids.push(header.event_id),
                _ => unreachable!(),
            }
            since += 1;
            if let Some(pid) = sub.backend_pid().filter(|pid| since >= 30 && !terminated.contains(pid)) {
                if terminate(&c, pid).await {
                    terminated.insert(pid);
                    since = 0;
                }
            }
        }
        let mut expected = HashSet::new();
        for w in writers {
            expected.extend(w.await.unwrap());
        }
        let got: HashSet<ExecutionId> = completions.iter().map(|c| c.1).collect();
        assert_eq!(got.len(), 240, "no duplicates");
        assert_eq!(got, expected);
        assert!(completions.windows(2).all(|w| w[0].0 < w[1].0));
        assert!(lease_ids.windows(2).all(|w| w[0] < w[1]));
        // Every lease event (acquired + released per execution) arrives too, once.
        while lease_ids.len() < 480 {
            match next_outwaiting_holes(&c, &mut sub, &format!("{} lease events", lease_ids.len())).await {
                Event::Lease { header, .. } => lease_ids.push(header.event_id),
                other => panic!("{other:?}"),
            }
        }
        // Each termination is followed by a reconnect once the subscription next reads from the server; a
        // termination after its last read has none.
        let terminations = terminated.len() as u64;
        assert!(terminations >= 3 && sub.reconnects() + 1 >= terminations, "terminations {terminations}, reconnects {}", sub.reconnects());
        let total: i64 = c.pool().get().await.unwrap().query_one("SELECT count(*) FROM ff_lease_event", &[]).await.unwrap().get(0);
        assert_eq!(total, 480);
        assert_eq!(lease_ids.iter().collect::<HashSet<_>>().len(), 480);
    });
}

/// On one server there is one outbox: `event_nodes` is that server, and a subscription everywhere is
/// one subscription there, whose cursor starts a later one after what was handed out.
#[test]
fn on_one_server_a_subscription_everywhere_is_one_subscription() {
    let db = Cluster::shared().fresh_db("client_sub_everywhere");
    block_on(async {
        let c = Client::connect(&db.conninfo("postgres")).await.unwrap();
        assert_eq!(c.event_nodes().await.unwrap(), vec![EventNode::Connected]);
        let options = SubscriptionOptions::new([EventKind::Completion]);
        let mut all = c.subscribe_everywhere(options.clone(), &[]).await.unwrap();
        let first = run_to_completion(&c, "everywhere", 3).await;
        let mut seen = Vec::new();
        for _ in 0..3 {
            let (node, e) = tokio::time::timeout(Duration::from_secs(20), all.next()).await.expect("an event").unwrap();
            assert_eq!(node, EventNode::Connected);
            seen.push(e.header().expect("an execution's event").execution_id);
        }
        assert_eq!(seen, first);
        let cursors = all.cursors();
        drop(all);
        let second = run_to_completion(&c, "everywhere", 1).await;
        let mut again = c.subscribe_everywhere(options, &cursors).await.unwrap();
        let (_, e) = tokio::time::timeout(Duration::from_secs(20), again.next()).await.expect("an event").unwrap();
        assert_eq!(e.header().unwrap().execution_id, second[0], "after the cursors: nothing handed out twice");
    });
}
