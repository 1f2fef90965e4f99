//! The pooled client: connection handling, the prepared-statement cache and the retry loop. The
//! methods, one per SQL function, are in `api_*.rs`.

use crate::retry::{jitter_seed, RetryPolicy};
use crate::{Error, Result};
use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod};
use tokio_postgres::types::ToSql;
use tokio_postgres::{NoTls, Row};

/// Parameters of one SQL call.
pub(crate) type Params<'a> = [&'a (dyn ToSql + Sync)];

/// A handle on a database where `CREATE EXTENSION ff_engine` was run. Cheap to clone: clones share one
/// connection pool. Every method is one SQL statement, prepared once per pooled connection and then sent
/// as a single Bind/Execute round trip; [`Error::is_retryable`] failures are retried with jittered backoff
/// per the client's [`RetryPolicy`].
///
/// **Retries and side effects.** A dropped connection can lose the answer to a call that committed. A
/// retried call then runs a second time: make such calls idempotent (`idempotency_key` on
/// [`NewExecution`](crate::NewExecution) and [`Signal`](crate::Signal), `dedup_key` on usage reports,
/// `idempotency_key` on [`Suspend`](crate::Suspend)); fenced calls (complete, fail) answer the replay with
/// [`Error::ExecutionNotActive`] or [`Error::LeaseConflict`], which
/// [`Worker`](crate::Worker) treats as "already done".
#[derive(Clone)]
pub struct Client {
    pool: Pool,
    config: std::sync::Arc<tokio_postgres::Config>,
    retry: RetryPolicy,
    partition_first: bool,
    /// Partition-first: when each lane last looked for its work in other partitions.
    lane_looks: std::sync::Arc<std::sync::Mutex<std::collections::HashMap<String, std::time::Instant>>>,
}

/// How often a partition-first claim looks for its lane's work outside the lane's own partition
/// (`ff_lane_partitions`): at most once a second per lane and client, so such work waits up to a second
/// longer than work in the lane's own partition, and an idle lane costs one more statement a second.
pub(crate) const LANE_PARTITIONS_EVERY: std::time::Duration = std::time::Duration::from_secs(1);

/// Builds a [`Client`]: pool size and retry policy.
#[derive(Debug, Clone)]
pub struct ClientBuilder {
    config: tokio_postgres::Config,
    max_connections: usize,
    retry: RetryPolicy,
    partition_first: bool,
}

impl ClientBuilder {
    /// At most `n` pooled connections (default 16).
    pub fn max_connections(mut self, n: usize) -> Self {
        self.max_connections = n.max(1);
        self
    }

    /// The retry policy (default [`RetryPolicy::default`]; [`RetryPolicy::NEVER`] to disable).
    pub fn retry(mut self, policy: RetryPolicy) -> Self {
        self.retry = policy;
        self
    }

    /// Call the partition-first forms (`ff_create_execution_in`, `ff_claim_in`, `ff_renew_lease_in`,
    /// `ff_complete_in`, `ff_fail_in`, `ff_suspend_in`, `ff_deliver_signal_in`), the partition computed
    /// here and sent as a bound parameter (default false). On a Citus cluster (`ff_distribute`) each
    /// such call then runs whole on the node of its partition; the plain functions run on the node the
    /// client is connected to. A claim visits the lane's own partition (`ff_partition_for(lane, NULL)`)
    /// and, at most once a second per lane, the other partitions that hold claimable work of the lane
    /// ([`Client::lane_partitions`]: a flow's members live in the flow's partition, whatever their
    /// lanes), those first; [`Client::complete_many`] is one `ff_complete_in` per lease; the other
    /// methods call the plain functions.
    pub fn partition_first(mut self, on: bool) -> Self {
        self.partition_first = on;
        self
    }

    /// Create the pool (connections are opened on first use).
    pub fn build(self) -> Result<Client> {
        let config = std::sync::Arc::new(self.config.clone());
        let manager = Manager::from_config(self.config, NoTls, ManagerConfig { recycling_method: RecyclingMethod::Fast });
        let pool = Pool::builder(manager).max_size(self.max_connections).build().map_err(|e| Error::Pool(e.to_string()))?;
        Ok(Client { pool, config, retry: self.retry, partition_first: self.partition_first, lane_looks: Default::default() })
    }
}

impl Client {
    /// A builder for a libpq-style connection string (`host=/tmp/sock user=app dbname=app`) or URL.
    pub fn builder(conninfo: &str) -> Result<ClientBuilder> {
        let mut config: tokio_postgres::Config =
            conninfo.parse().map_err(|e: tokio_postgres::Error| Error::Pool(format!("bad connection string: {e}")))?;
        if config.get_application_name().is_none() {
            config.application_name("ff_engine_client");
        }
        Ok(ClientBuilder { config, max_connections: 16, retry: RetryPolicy::default(), partition_first: false })
    }

    /// Connect with default settings and check the connection (one `SELECT 1`).
    pub async fn connect(conninfo: &str) -> Result<Client> {
        let client = Self::builder(conninfo)?.build()?;
        client.rows("SELECT 1", &[]).await?;
        Ok(client)
    }

    /// The underlying pool, for your own statements (e.g. creating an execution inside your transaction).
    pub fn pool(&self) -> &Pool {
        &self.pool
    }

    /// The connection settings (used by subscriptions, which hold a connection of their own).
    pub(crate) fn pg_config(&self) -> &tokio_postgres::Config {
        &self.config
    }

    /// The retry policy in force.
    pub fn retry_policy(&self) -> RetryPolicy {
        self.retry
    }

    /// Whether the hot calls go through their partition-first forms ([`ClientBuilder::partition_first`]).
    pub fn is_partition_first(&self) -> bool {
        self.partition_first
    }

    /// Whether a partition-first claim on `lane_id` is due to look at the lane's other partitions (and,
    /// if so, that it looks now).
    pub(crate) fn lane_partitions_due(&self, lane_id: &str) -> bool {
        let now = std::time::Instant::now();
        let mut looks = self.lane_looks.lock().unwrap_or_else(|e| e.into_inner());
        match looks.get(lane_id) {
            Some(at) if now.duration_since(*at) < LANE_PARTITIONS_EVERY => false,
            _ => {
                looks.insert(lane_id.to_string(), now);
                true
            }
        }
    }

    /// Run a hot call: `plain` with `params`, or, partition-first, `in_partition` with the partition as
    /// `$1` and `params` after it (positional: Citus delegates a call by its plain arguments).
    pub(crate) async fn rows_in(
        &self,
        partition: u16,
        plain: &'static str,
        in_partition: &'static str,
        params: &Params<'_>,
    ) -> Result<Vec<Row>> {
        if !self.partition_first {
            return self.rows(plain, params).await;
        }
        let partition = partition as i16;
        let mut all: Vec<&(dyn ToSql + Sync)> = Vec::with_capacity(params.len() + 1);
        all.push(&partition);
        all.extend_from_slice(params);
        self.rows(in_partition, &all).await
    }

    /// [`Client::rows_in`] for a call that returns exactly one row.
    pub(crate) async fn row_in(&self, partition: u16, plain: &'static str, in_partition: &'static str, params: &Params<'_>) -> Result<Row> {
        one_row(self.rows_in(partition, plain, in_partition, params).await?)
    }

    /// Run one statement, retrying retryable failures.
    pub(crate) async fn rows(&self, sql: &'static str, params: &Params<'_>) -> Result<Vec<Row>> {
        let mut retry = 0;
        loop {
            match self.rows_once(sql, params).await {
                Err(e) if e.is_retryable() && retry + 1 < self.retry.max_attempts => {
                    tokio::time::sleep(self.retry.delay(retry, jitter_seed())).await;
                    retry += 1;
                }
                done => return done,
            }
        }
    }

    async fn rows_once(&self, sql: &'static str, params: &Params<'_>) -> Result<Vec<Row>> {
        let conn = self.pool.get().await?;
        let stmt = conn.prepare_cached(sql).await?;
        Ok(conn.query(&stmt, params).await?)
    }

    /// Run a statement that returns exactly one row.
    pub(crate) async fn row(&self, sql: &'static str, params: &Params<'_>) -> Result<Row> {
        one_row(self.rows(sql, params).await?)
    }
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client").field("status", &self.pool.status()).field("retry", &self.retry).finish()
    }
}

/// The one row of a call's answer.
fn one_row(mut rows: Vec<Row>) -> Result<Row> {
    match rows.len() {
        1 => Ok(rows.remove(0)),
        n => Err(Error::Protocol(format!("expected one row, got {n}"))),
    }
}

/// Read a column, mapping a type mismatch to [`Error::Protocol`].
pub(crate) fn col<'a, T: tokio_postgres::types::FromSql<'a>>(row: &'a Row, idx: usize) -> Result<T> {
    row.try_get(idx).map_err(|e| Error::Protocol(format!("column {idx}: {e}")))
}
