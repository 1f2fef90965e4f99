//! A human approval, end to end: a worker suspends an execution on an approval waitpoint, a signaler
//! delivers "approved" with the waitpoint's token, the worker resumes it and completes.
//!
//! Run against the README's throwaway cluster (after `./scripts/demo.sh`):
//!
//! ```text
//! cargo run -p ff-engine-client --example approval
//! ```
//!
//! or pass another connection string as the first argument.

use ff_engine_client::*;
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use tokio::sync::{mpsc, oneshot};

const DEFAULT_DSN: &str = "host=/tmp/ff_engine_demo/sock port=5432 user=postgres dbname=ff_demo";

#[tokio::main]
async fn main() -> Result<()> {
    let dsn = std::env::args().nth(1).unwrap_or_else(|| DEFAULT_DSN.to_string());
    let client = Client::connect(&dsn).await?;
    // Waitpoint tokens need a signing key: seed one unless the database has one already.
    match client.hmac_kids().await?.into_iter().find(|k| k.active) {
        Some(k) => println!("signing key: {} (already active)", k.kid),
        None => println!("signing key: {} (seeded)", client.seed_hmac("example-k1", None).await?.kid),
    }

    // Start listening before anything happens, from the current end of the event tables.
    let mut events =
        client.subscribe(SubscriptionOptions::new([EventKind::Signal, EventKind::Completion]).after(client.current_cursor().await?));

    let lane = format!("approvals-{}", &uuid::Uuid::new_v4().simple().to_string()[..8]);
    let created = client.create_execution(&NewExecution::new(&lane).payload(b"deploy v42 to production".to_vec())).await?;
    println!("created {} in lane {lane}", created.execution_id);

    // The worker: suspend on first run, complete once resumed. It hands the waitpoint to the approver.
    let (to_approver, mut approvals) = mpsc::unbounded_channel::<(ExecutionId, Waitpoint)>();
    let (stop, stopped) = oneshot::channel::<()>();
    let worker = Worker::new(client.clone(), WorkerOptions::new(&lane, "example-worker"));
    let worker = tokio::spawn(worker.run(
        move |job: Job| {
            let to_approver = to_approver.clone();
            async move {
                if !job.resumed() {
                    let in_one_hour = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_millis() as i64 + 3_600_000;
                    let suspend = Suspend::new(ResumeCondition::single("approval", SignalMatcher::name("approved")))
                        .reason(ReasonCode::WaitingForApproval)
                        .timeout(in_one_hour, TimeoutBehavior::Fail);
                    return match job.suspend(&suspend).await {
                        Ok(s) => {
                            println!("worker: suspended, waiting for approval (token {})", s.waitpoints[0].token);
                            let _ = to_approver.send((job.execution_id(), s.waitpoints[0].clone()));
                            Outcome::Suspended
                        }
                        Err(e) => Outcome::Fail { message: e.to_string(), retryable: true },
                    };
                }
                let by = match job.observe_signals().await {
                    Ok(signals) => signals.iter().map(|s| s.source_identity.clone()).collect::<Vec<_>>().join(", "),
                    Err(e) => return Outcome::Fail { message: e.to_string(), retryable: true },
                };
                println!("worker: resumed, approved by {by}; deploying");
                Outcome::Complete(Some(format!("deployed, approved by {by}").into_bytes()))
            }
        },
        async move {
            let _ = stopped.await;
        },
    ));

    // The approver: a different party that only holds the token.
    let signaler = client.clone();
    tokio::spawn(async move {
        while let Some((execution_id, wp)) = approvals.recv().await {
            tokio::time::sleep(Duration::from_millis(200)).await; // a human thinks it over
            let signal =
                Signal::new(execution_id, wp.waitpoint_id, wp.token, "approved").source("human", "alice").idempotency_key("alice-approves");
            match signaler.deliver_signal(&signal).await {
                Ok(d) => println!("approver: delivered 'approved' -> {:?}", d.effect),
                Err(e) => eprintln!("approver: {e}"),
            }
        }
    });

    // Watch the outbox until the execution completes.
    loop {
        let event = tokio::time::timeout(Duration::from_secs(30), events.next())
            .await
            .map_err(|_| Error::Protocol("no completion within 30 s".into()))??;
        if event.header().is_none_or(|h| h.execution_id != created.execution_id) {
            continue;
        }
        match &event {
            Event::Signal { signal_name, effect, .. } => println!("event: signal {signal_name} ({effect})"),
            Event::Completion { outcome, .. } => {
                println!("event: completion {outcome}");
                if outcome == "success" {
                    break;
                }
            }
            _ => {}
        }
    }
    let _ = stop.send(());
    let report = worker.await.expect("worker task")?;
    println!("worker report: {report:?}");
    Ok(())
}
