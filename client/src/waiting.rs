//! Waiting for one execution's or one flow's end (`ff_await_completion`): the session announces what
//! it waits for and is notified on its own channel (`ff_wake_<pid>`) by the transaction that ends it,
//! and by nothing else. A connection of its own, closed on return.

use crate::{Client, Result};
use std::time::{Duration, Instant};
use tokio::sync::mpsc;
use tokio_postgres::{AsyncMessage, NoTls};
use uuid::Uuid;

/// A connection of its own (named `application_name`) whose notifications, whatever the channel, are
/// passed on as wake-ups; the receiver ends when the connection closes.
pub(crate) async fn listening_connection(
    c: &Client,
    application_name: &str,
) -> Result<(tokio_postgres::Client, mpsc::UnboundedReceiver<()>)> {
    listening_connection_for(c, application_name, None).await
}

/// As [`listening_connection`], passing on only the notifications whose payload is `payload` when
/// given.
pub(crate) async fn listening_connection_for(
    c: &Client,
    application_name: &str,
    payload: Option<String>,
) -> Result<(tokio_postgres::Client, mpsc::UnboundedReceiver<()>)> {
    listening_connection_to(c.pg_config().clone(), application_name, payload).await
}

/// As [`listening_connection_for`], to the server `config` names.
pub(crate) async fn listening_connection_to(
    mut config: tokio_postgres::Config,
    application_name: &str,
    payload: Option<String>,
) -> Result<(tokio_postgres::Client, mpsc::UnboundedReceiver<()>)> {
    config.application_name(application_name);
    let (client, mut connection) = config.connect(NoTls).await?;
    let (tx, wakeups) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        while let Some(Ok(msg)) = std::future::poll_fn(|cx| connection.poll_message(cx)).await {
            if let AsyncMessage::Notification(n) = msg {
                if payload.as_deref().is_none_or(|p| p == n.payload()) {
                    let _ = tx.send(());
                }
            }
        }
    });
    Ok((client, wakeups))
}

/// What is waited for.
pub(crate) enum Awaited<'a> {
    Execution(&'a str),
    Flow(Uuid),
}

/// A session announced on one execution's or flow's end.
pub(crate) struct CompletionWaiter {
    client: tokio_postgres::Client,
    wakeups: mpsc::UnboundedReceiver<()>,
}

/// How long to sleep between two looks without a notification: a safety net (a notification lost
/// with a dropped connection), not the mechanism.
const SAFETY_POLL: Duration = Duration::from_secs(1);

impl CompletionWaiter {
    pub(crate) async fn open(c: &Client) -> Result<CompletionWaiter> {
        let (client, wakeups) = listening_connection(c, "ff_engine_waiter").await?;
        client.batch_execute("DO $$ BEGIN EXECUTE format('LISTEN %I', 'ff_wake_' || pg_backend_pid()); END $$").await?;
        Ok(CompletionWaiter { client, wakeups })
    }

    /// Announce, sleep until notified (or the safety poll), and again, until `what` has ended (true)
    /// or `deadline` has passed (false).
    pub(crate) async fn until_ended(&mut self, what: &Awaited<'_>, deadline: Option<Instant>) -> Result<bool> {
        loop {
            if self.announce(what).await? {
                return Ok(true);
            }
            if !self.sleep(deadline).await {
                return Ok(false);
            }
        }
    }

    /// Announce (again); true when it has ended already.
    async fn announce(&self, what: &Awaited<'_>) -> Result<bool> {
        let row = match what {
            Awaited::Execution(id) => self.client.query_one("SELECT ff_await_completion(execution_id => $1)", &[id]).await?,
            Awaited::Flow(f) => self.client.query_one("SELECT ff_await_completion(flow_id => $1)", &[f]).await?,
        };
        Ok(row.get(0))
    }

    /// Sleep until notified, the safety poll, or `deadline`; false once the deadline has passed.
    async fn sleep(&mut self, deadline: Option<Instant>) -> bool {
        let now = Instant::now();
        let nap = match deadline {
            Some(d) if d <= now => return false,
            Some(d) => SAFETY_POLL.min(d - now),
            None => SAFETY_POLL,
        };
        let _ = tokio::time::timeout(nap, self.wakeups.recv()).await;
        while self.wakeups.try_recv().is_ok() {}
        true
    }
}
