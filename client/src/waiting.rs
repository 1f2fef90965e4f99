//! Waiting for one execution's or one flow's end (`ff_await_completion`): the session announces what
//! it waits for and is notified on its own channel (`ff_wake_<pid>`) by the transaction that ends it,
//! and by nothing else. A connection of its own, closed on return.

use crate::{Client, ExecutionId, Result};
use std::time::{Duration, Instant};
use tokio::sync::mpsc;
use tokio_postgres::{AsyncMessage, NoTls};
use uuid::Uuid;

/// A connection of its own to the server `config` names (as `application_name`) whose notifications
/// are passed on as wake-ups — all of them, or those whose payload is `payload` when given; the
/// receiver ends when the connection closes.
pub(crate) async fn listening_connection(
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
    Execution(&'a ExecutionId),
    Flow(Uuid),
}

impl Awaited<'_> {
    /// The partition whose transactions end it: the execution's, or the flow's (its members').
    fn partition(&self) -> u16 {
        match self {
            Awaited::Execution(id) => id.partition,
            Awaited::Flow(f) => ff_engine_core::ids::partition_for_flow(f),
        }
    }
}

/// Where a session waits for what the transactions of `partition` announce: the client's own server;
/// for a partition-first client on a Citus cluster, the node holding that partition's shard, where its
/// delegated calls run and notify (docs/scale-out.md).
pub(crate) async fn where_to_wait(client: &Client, partition: u16) -> tokio_postgres::Config {
    if client.is_partition_first() {
        if let Some(node) = node_of_partition(client, partition).await {
            return node;
        }
    }
    client.pg_config().clone()
}

/// The node holding the shard of a partition (Citus: `pg_dist_shard_placement`).
const NODE_OF_PARTITION: &str = "SELECT nodename, nodeport FROM pg_dist_shard_placement \
     WHERE shardid = get_shard_id_for_distribution_column('ff_exec_core', $1::smallint) LIMIT 1";

/// On a Citus cluster, the connection settings of the node holding the shard of `partition` (see
/// [`node_config`]). None on one node (no Citus, or `ff_exec_core` not distributed: the look-up fails).
async fn node_of_partition(client: &Client, partition: u16) -> Option<tokio_postgres::Config> {
    let partition = partition as i16;
    let rows = client.rows(NODE_OF_PARTITION, &[&partition]).await.ok()?;
    let row = rows.first()?;
    let (host, port): (String, i32) = (row.try_get(0).ok()?, row.try_get(1).ok()?);
    Some(node_config(client, &host, u16::try_from(port).ok()?))
}

/// The connection settings of another node of the client's cluster: the client's user, database,
/// password, options and connect timeout, that node's host and port.
pub(crate) fn node_config(client: &Client, host: &str, port: u16) -> tokio_postgres::Config {
    let base = client.pg_config();
    let mut node = tokio_postgres::Config::new();
    node.host(host).port(port);
    if let Some(user) = base.get_user() {
        node.user(user);
    }
    if let Some(dbname) = base.get_dbname() {
        node.dbname(dbname);
    }
    if let Some(password) = base.get_password() {
        node.password(password);
    }
    if let Some(options) = base.get_options() {
        node.options(options); // e.g. a search_path the calls need
    }
    if let Some(timeout) = base.get_connect_timeout() {
        node.connect_timeout(*timeout);
    }
    node
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
    /// A session where the transactions that end `what` notify (see [`where_to_wait`]).
    pub(crate) async fn open(c: &Client, what: &Awaited<'_>) -> Result<CompletionWaiter> {
        let config = where_to_wait(c, what.partition()).await;
        let (client, wakeups) = listening_connection(config, "ff_engine_waiter", None).await?;
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
            Awaited::Execution(id) => self.client.query_one("SELECT ff_await_completion(execution_id => $1)", &[&id.to_string()]).await?,
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
