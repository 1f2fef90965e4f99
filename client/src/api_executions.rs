//! Keys, executions, claims and leases: one method per SQL function of api.md's first two tables.

use crate::client::col;
use crate::types::*;
use crate::{Client, ExecutionId, Result};
use tokio_postgres::Row;
use uuid::Uuid;

/// Arguments of [`Client::create_execution`]; `NewExecution::new(lane)` gives the SQL defaults.
#[derive(Debug, Clone, PartialEq)]
pub struct NewExecution {
    /// The lane (queue) it runs in.
    pub lane_id: String,
    /// Input for the worker.
    pub payload: Option<Vec<u8>>,
    /// Higher runs first (default 0).
    pub priority: i32,
    /// Capabilities a worker must have to claim it.
    pub required_capabilities: Vec<String>,
    /// Free-form namespace (tenant), carried into events.
    pub namespace: Option<String>,
    /// Free-form tags (a JSON object).
    pub tags: serde_json::Value,
    /// Budgets that admit its claims.
    pub budget_ids: Vec<String>,
    /// Quota policy that admits its claims.
    pub quota_policy_id: Option<Uuid>,
    /// Not claimable before this time (ms since the epoch).
    pub delay_until_ms: Option<i64>,
    /// Attempts in all (default 1).
    pub max_attempts: i32,
    /// First retry delay; doubles per attempt (default 1000 ms).
    pub retry_backoff_ms: i64,
    /// Replays of the same key within the lane return the first execution.
    pub idempotency_key: Option<String>,
    /// An id chosen by the caller (else minted by the server).
    pub execution_id: Option<ExecutionId>,
    /// Flow membership (places the execution in the flow's partition).
    pub flow_id: Option<Uuid>,
    /// Expire the execution if it is not finished by then (ms since the epoch; `ff_tick` applies it).
    pub deadline_at_ms: Option<i64>,
    /// Upstream members of the same flow it runs after (claimable once they all completed, skipped
    /// when one ends otherwise).
    pub depends_on: Vec<ExecutionId>,
    /// The parent it signals (`child_<outcome>`, its result as payload) on the parent's waitpoint of
    /// this key when it ends; it joins the parent's flow.
    pub parent: Option<(ExecutionId, String)>,
}

impl NewExecution {
    /// An execution in `lane_id` with every other argument at its SQL default.
    pub fn new(lane_id: impl Into<String>) -> Self {
        NewExecution {
            lane_id: lane_id.into(),
            payload: None,
            priority: 0,
            required_capabilities: Vec::new(),
            namespace: None,
            tags: serde_json::json!({}),
            budget_ids: Vec::new(),
            quota_policy_id: None,
            delay_until_ms: None,
            max_attempts: 1,
            retry_backoff_ms: 1000,
            idempotency_key: None,
            execution_id: None,
            flow_id: None,
            deadline_at_ms: None,
            depends_on: Vec::new(),
            parent: None,
        }
    }

    /// The partition the execution goes to: its given id's, else its flow's, else its lane's (as
    /// `ff_partition_for` computes it).
    pub fn partition(&self) -> u16 {
        match (&self.execution_id, &self.flow_id) {
            (Some(id), _) => id.partition,
            (None, Some(flow)) => ff_engine_core::ids::partition_for_flow(flow),
            (None, None) => ff_engine_core::ids::partition_for_lane(&self.lane_id),
        }
    }

    /// Set the payload.
    pub fn payload(mut self, payload: impl Into<Vec<u8>>) -> Self {
        self.payload = Some(payload.into());
        self
    }

    /// Set the deadline (ms since the epoch).
    pub fn deadline(mut self, deadline_at_ms: i64) -> Self {
        self.deadline_at_ms = Some(deadline_at_ms);
        self
    }

    /// Set the priority.
    pub fn priority(mut self, priority: i32) -> Self {
        self.priority = priority;
        self
    }

    /// Set the required capabilities.
    pub fn requires<S: Into<String>>(mut self, capabilities: impl IntoIterator<Item = S>) -> Self {
        self.required_capabilities = capabilities.into_iter().map(Into::into).collect();
        self
    }

    /// Set attempts and the first retry delay.
    pub fn retries(mut self, max_attempts: i32, retry_backoff_ms: i64) -> Self {
        self.max_attempts = max_attempts;
        self.retry_backoff_ms = retry_backoff_ms;
        self
    }

    /// Join a flow.
    pub fn flow(mut self, flow_id: Uuid) -> Self {
        self.flow_id = Some(flow_id);
        self
    }

    /// Run after these members of the same flow have completed.
    pub fn depends_on(mut self, upstreams: impl IntoIterator<Item = ExecutionId>) -> Self {
        self.depends_on = upstreams.into_iter().collect();
        self
    }

    /// Signal `parent`'s waitpoint `waitpoint_key` when this execution ends (see
    /// [`crate::ResumeCondition::children`]).
    pub fn parent(mut self, parent: ExecutionId, waitpoint_key: impl Into<String>) -> Self {
        self.parent = Some((parent, waitpoint_key.into()));
        self
    }

    /// Set the idempotency key.
    pub fn idempotency_key(mut self, key: impl Into<String>) -> Self {
        self.idempotency_key = Some(key.into());
        self
    }
}

fn claimed(row: &Row) -> Result<ClaimedExecution> {
    Ok(ClaimedExecution {
        lease: Lease { execution_id: parse_execution_id(col(row, 0)?)?, lease_id: col(row, 1)?, lease_epoch: col(row, 2)? },
        attempt_index: col(row, 3)?,
        attempt_id: col(row, 4)?,
        lease_expires_at_ms: col(row, 5)?,
        resumed: col(row, 6)?,
        payload: col(row, 7)?,
        continuation: col(row, 8)?,
        step_count: col(row, 9)?,
    })
}

impl Client {
    async fn consume_grant(
        &self,
        sql: &'static str,
        grant: &GrantKey,
        worker_id: &str,
        instance: &str,
        lease_ttl_ms: i64,
    ) -> Result<ClaimedExecution> {
        claimed(&self.row(sql, &[&grant.expose(), &worker_id, &instance, &lease_ttl_ms]).await?)
    }

    /// `ff_seed_hmac`: install the first signing key (idempotent). `secret_hex` None: 32 random bytes
    /// generated in the database.
    pub async fn seed_hmac(&self, kid: &str, secret_hex: Option<&str>) -> Result<SeedOutcome> {
        let r = self.row("SELECT outcome, kid, same_secret FROM ff_seed_hmac(kid => $1, secret_hex => $2)", &[&kid, &secret_hex]).await?;
        Ok(SeedOutcome { outcome: SeedState::parse(col(&r, 0)?)?, kid: col(&r, 1)?, same_secret: col(&r, 2)? })
    }

    /// `ff_rotate_hmac`: make `new_kid` the signing key; the previous key verifies for `grace_ms` more.
    pub async fn rotate_hmac(&self, new_kid: &str, new_secret_hex: Option<&str>, grace_ms: i64) -> Result<RotateOutcome> {
        let r = self
            .row(
                "SELECT outcome, previous_kid, new_kid, gc_count FROM ff_rotate_hmac(new_kid => $1, new_secret_hex => $2, grace_ms => $3)",
                &[&new_kid, &new_secret_hex, &grace_ms],
            )
            .await?;
        Ok(RotateOutcome {
            outcome: RotateState::parse(col(&r, 0)?)?,
            previous_kid: col(&r, 1)?,
            new_kid: col(&r, 2)?,
            gc_count: col(&r, 3)?,
        })
    }

    /// `ff_hmac_kids`: the stored key ids and their state (never a secret).
    pub async fn hmac_kids(&self) -> Result<Vec<KeyInfo>> {
        let rows = self.rows("SELECT kid, active, created_at_ms, rotated_at_ms, expires_at_ms FROM ff_hmac_kids()", &[]).await?;
        rows.iter()
            .map(|r| {
                Ok(KeyInfo {
                    kid: col(r, 0)?,
                    active: col(r, 1)?,
                    created_at_ms: col(r, 2)?,
                    rotated_at_ms: col(r, 3)?,
                    expires_at_ms: col(r, 4)?,
                })
            })
            .collect()
    }

    /// `ff_create_execution`: queue an execution.
    pub async fn create_execution(&self, e: &NewExecution) -> Result<CreatedExecution> {
        let execution_id = e.execution_id.map(|id| id.to_string());
        let depends_on: Option<Vec<String>> = (!e.depends_on.is_empty()).then(|| e.depends_on.iter().map(ExecutionId::to_string).collect());
        let parent = e.parent.as_ref().map(|(p, _)| p.to_string());
        let parent_key = e.parent.as_ref().map(|(_, k)| k.as_str());
        let r = self
            .row_in(
                e.partition(),
                "SELECT execution_id, created FROM ff_create_execution(lane_id => $1, payload => $2, priority => $3, \
                 required_capabilities => $4, namespace => $5, tags => $6, budget_ids => $7, quota_policy_id => $8, \
                 delay_until_ms => $9, max_attempts => $10, retry_backoff_ms => $11, idempotency_key => $12, \
                 execution_id => $13, flow_id => $14, deadline_at_ms => $15, depends_on => $16, \
                 parent_execution_id => $17, parent_waitpoint_key => $18)",
                "SELECT execution_id, created FROM ff_create_execution_in($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, \
                 $13, $14, $15, $16, $17, $18, $19)",
                &[
                    &e.lane_id,
                    &e.payload,
                    &e.priority,
                    &e.required_capabilities,
                    &e.namespace,
                    &e.tags,
                    &e.budget_ids,
                    &e.quota_policy_id,
                    &e.delay_until_ms,
                    &e.max_attempts,
                    &e.retry_backoff_ms,
                    &e.idempotency_key,
                    &execution_id,
                    &e.flow_id,
                    &e.deadline_at_ms,
                    &depends_on,
                    &parent,
                    &parent_key,
                ],
            )
            .await?;
        Ok(CreatedExecution { execution_id: parse_execution_id(col(&r, 0)?)?, created: col(&r, 1)? })
    }

    /// `ff_claim_for_worker`: reserve the lane's best eligible execution for this worker (None: nothing
    /// eligible). Consume the grant with [`Client::claim_execution`] within `grant_ttl_ms`.
    pub async fn claim_for_worker(
        &self,
        lane_id: &str,
        worker_id: &str,
        worker_instance_id: &str,
        capabilities: &[String],
        grant_ttl_ms: i64,
    ) -> Result<Option<ClaimGrant>> {
        let rows = self
            .rows(
                "SELECT execution_id, partition_key, grant_key, expires_at_ms FROM ff_claim_for_worker(lane_id => $1, \
                 worker_id => $2, worker_instance_id => $3, capabilities => $4, grant_ttl_ms => $5)",
                &[&lane_id, &worker_id, &worker_instance_id, &capabilities, &grant_ttl_ms],
            )
            .await?;
        rows.first()
            .map(|r| {
                Ok(ClaimGrant {
                    execution_id: parse_execution_id(col(r, 0)?)?,
                    partition_key: col(r, 1)?,
                    grant_key: GrantKey::new(col::<String>(r, 2)?),
                    expires_at_ms: col(r, 3)?,
                })
            })
            .transpose()
    }

    /// `ff_claim_execution`: consume a grant and take the lease.
    pub async fn claim_execution(
        &self,
        grant: &GrantKey,
        worker_id: &str,
        worker_instance_id: &str,
        lease_ttl_ms: i64,
    ) -> Result<ClaimedExecution> {
        const SQL: &str = "SELECT execution_id, lease_id, lease_epoch, attempt_index, attempt_id, lease_expires_at_ms, resumed, \
            payload, continuation, step_count FROM ff_claim_execution(grant_key => $1, worker_id => $2, worker_instance_id => $3, lease_ttl_ms => $4)";
        self.consume_grant(SQL, grant, worker_id, worker_instance_id, lease_ttl_ms).await
    }

    /// `ff_claim_resumed_execution`: as [`Client::claim_execution`], only for interrupted attempts
    /// ([`Error::NotAResumedExecution`](crate::Error::NotAResumedExecution) otherwise).
    pub async fn claim_resumed_execution(
        &self,
        grant: &GrantKey,
        worker_id: &str,
        worker_instance_id: &str,
        lease_ttl_ms: i64,
    ) -> Result<ClaimedExecution> {
        const SQL: &str = "SELECT execution_id, lease_id, lease_epoch, attempt_index, attempt_id, lease_expires_at_ms, resumed, \
            payload, continuation, step_count FROM ff_claim_resumed_execution(grant_key => $1, worker_id => $2, worker_instance_id => $3, lease_ttl_ms => $4)";
        self.consume_grant(SQL, grant, worker_id, worker_instance_id, lease_ttl_ms).await
    }

    /// `ff_claim`: grant and lease up to `max_items` executions in one call (the worker loop's claim).
    /// Partition-first ([`ClientBuilder::partition_first`](crate::ClientBuilder::partition_first)):
    /// `ff_claim_in` on the lane's partition and, at most once a second per lane, first on the other
    /// partitions [`Client::lane_partitions`] lists, up to `max_items` in all.
    pub async fn claim(
        &self,
        lane_id: &str,
        worker_id: &str,
        worker_instance_id: &str,
        capabilities: &[String],
        lease_ttl_ms: i64,
        max_items: i32,
    ) -> Result<Vec<ClaimedExecution>> {
        let home = ff_engine_core::ids::partition_for_lane(lane_id);
        if !self.is_partition_first() {
            return self.claim_in(home, lane_id, worker_id, worker_instance_id, capabilities, lease_ttl_ms, max_items).await;
        }
        let mut partitions = if self.lane_partitions_due(lane_id) { self.lane_partitions(lane_id).await? } else { Vec::new() };
        partitions.push(home);
        let mut got = Vec::new();
        for partition in partitions {
            let left = max_items.saturating_sub(got.len() as i32);
            if left <= 0 && !got.is_empty() {
                break;
            }
            got.extend(self.claim_in(partition, lane_id, worker_id, worker_instance_id, capabilities, lease_ttl_ms, left).await?);
        }
        Ok(got)
    }

    /// `ff_lane_partitions`: the partitions other than the lane's own that hold claimable work of the
    /// lane (at most 16): flow members live in their flow's partition, whatever their lanes.
    pub async fn lane_partitions(&self, lane_id: &str) -> Result<Vec<u16>> {
        let rows = self.rows("SELECT partition_key FROM ff_lane_partitions(lane_id => $1)", &[&lane_id]).await?;
        rows.iter().map(|r| col::<i16>(r, 0).map(|p| p as u16)).collect()
    }

    /// One `ff_claim` (`ff_claim_in` on `partition`, partition-first).
    #[allow(clippy::too_many_arguments)]
    async fn claim_in(
        &self,
        partition: u16,
        lane_id: &str,
        worker_id: &str,
        worker_instance_id: &str,
        capabilities: &[String],
        lease_ttl_ms: i64,
        max_items: i32,
    ) -> Result<Vec<ClaimedExecution>> {
        let rows = self
            .rows_in(
                partition,
                "SELECT execution_id, lease_id, lease_epoch, attempt_index, attempt_id, lease_expires_at_ms, resumed, payload, \
                 continuation, step_count FROM ff_claim(lane_id => $1, worker_id => $2, worker_instance_id => $3, capabilities => $4, \
                 lease_ttl_ms => $5, max_items => $6)",
                "SELECT execution_id, lease_id, lease_epoch, attempt_index, attempt_id, lease_expires_at_ms, resumed, payload, \
                 continuation, step_count FROM ff_claim_in($1, $2, $3, $4, $5, $6, $7)",
                &[&lane_id, &worker_id, &worker_instance_id, &capabilities, &lease_ttl_ms, &max_items],
            )
            .await?;
        rows.iter().map(claimed).collect()
    }

    /// [`Client::claim`], waiting up to `policy.max_wait` for work when the lane is empty: the session
    /// announces itself on the lane (`ff_await_lane`, on a connection of its own), claims once more,
    /// and sleeps until the transaction that makes work claimable there wakes it — no polling loop (a
    /// safety-net look every second). Empty after `max_wait`.
    #[allow(clippy::too_many_arguments)]
    pub async fn claim_with(
        &self,
        lane_id: &str,
        worker_id: &str,
        worker_instance_id: &str,
        capabilities: &[String],
        lease_ttl_ms: i64,
        max_items: i32,
        policy: ClaimPolicy,
    ) -> Result<Vec<ClaimedExecution>> {
        let claim = || self.claim(lane_id, worker_id, worker_instance_id, capabilities, lease_ttl_ms, max_items);
        let got = claim().await?;
        if !got.is_empty() || policy.max_wait.is_zero() {
            return Ok(got);
        }
        let deadline = std::time::Instant::now().checked_add(policy.max_wait);
        let mut waker = crate::worker::LaneWaker::connect(self, lane_id).await?;
        loop {
            // Announce, then claim: work committed before the announcement is claimed now, work
            // committed after it wakes this session.
            waker.announce(lane_id).await?;
            let got = claim().await?;
            if !got.is_empty() {
                return Ok(got);
            }
            let nap = match deadline {
                Some(d) => match d.checked_duration_since(std::time::Instant::now()) {
                    Some(left) if !left.is_zero() => left.min(std::time::Duration::from_secs(1)),
                    _ => return Ok(got),
                },
                None => std::time::Duration::from_secs(1),
            };
            tokio::select! {
                _ = waker.woken() => {}
                _ = tokio::time::sleep(nap) => {}
            }
        }
    }

    /// `ff_renew_lease`: extend the lease to now + `lease_ttl_ms`.
    pub async fn renew_lease(&self, lease: &Lease, lease_ttl_ms: i64) -> Result<RenewedLease> {
        let id = lease.execution_id.to_string();
        let r = self
            .row_in(
                lease.execution_id.partition,
                "SELECT lease_expires_at_ms, lease_epoch FROM ff_renew_lease(execution_id => $1, lease_id => $2, \
                 lease_epoch => $3, lease_ttl_ms => $4)",
                "SELECT lease_expires_at_ms, lease_epoch FROM ff_renew_lease_in($1, $2, $3, $4, $5)",
                &[&id, &lease.lease_id, &lease.lease_epoch, &lease_ttl_ms],
            )
            .await?;
        Ok(RenewedLease { lease_expires_at_ms: col(&r, 0)?, lease_epoch: col(&r, 1)? })
    }

    /// `ff_complete`: finish the execution successfully with an optional result.
    pub async fn complete(&self, lease: &Lease, result: Option<&[u8]>) -> Result<()> {
        let id = lease.execution_id.to_string();
        let r = self
            .row_in(
                lease.execution_id.partition,
                "SELECT outcome FROM ff_complete(execution_id => $1, lease_id => $2, lease_epoch => $3, result => $4)",
                "SELECT outcome FROM ff_complete_in($1, $2, $3, $4, $5)",
                &[&id, &lease.lease_id, &lease.lease_epoch, &result],
            )
            .await?;
        match col::<&str>(&r, 0)? {
            "completed" => Ok(()),
            other => Err(unknown("complete outcome", other)),
        }
    }

    /// `ff_complete_many`: complete several leases in one call; one bad fence does not fail the others.
    /// Partition-first ([`ClientBuilder::partition_first`](crate::ClientBuilder::partition_first)): one
    /// `ff_complete_in` per lease, each answered as `ff_complete_many` answers it.
    pub async fn complete_many(&self, items: &[(Lease, Option<Vec<u8>>)]) -> Result<Vec<CompleteManyOutcome>> {
        if self.is_partition_first() {
            return self.complete_each(items).await;
        }
        let leases: Vec<serde_json::Value> = items
            .iter()
            .map(|(l, result)| {
                let mut o = serde_json::json!({
                    "execution_id": l.execution_id.to_string(),
                    "lease_id": l.lease_id.to_string(),
                    "lease_epoch": l.lease_epoch,
                });
                if let Some(r) = result {
                    o["result_hex"] = serde_json::Value::String(r.iter().map(|b| format!("{b:02x}")).collect());
                }
                o
            })
            .collect();
        let leases = serde_json::Value::Array(leases);
        let rows = self.rows("SELECT execution_id, outcome FROM ff_complete_many(leases => $1)", &[&leases]).await?;
        rows.iter().map(|r| Ok(CompleteManyOutcome { execution_id: col(r, 0)?, outcome: CompleteManyStatus::parse(col(r, 1)?)? })).collect()
    }

    /// [`Client::complete_many`] as one [`Client::complete`] per lease, a failed fence answered as the
    /// outcome `ff_complete_many` gives it.
    async fn complete_each(&self, items: &[(Lease, Option<Vec<u8>>)]) -> Result<Vec<CompleteManyOutcome>> {
        let mut outcomes = Vec::with_capacity(items.len());
        for (lease, result) in items {
            let outcome = match self.complete(lease, result.as_deref()).await {
                Ok(()) => CompleteManyStatus::Completed,
                Err(e) => match e.kind() {
                    Some(kind) => CompleteManyStatus::Refused(kind),
                    None => return Err(e),
                },
            };
            outcomes.push(CompleteManyOutcome { execution_id: lease.execution_id.to_string(), outcome });
        }
        Ok(outcomes)
    }

    /// `ff_fail`: fail the attempt; retried with backoff while attempts remain and `retryable`.
    pub async fn fail(&self, lease: &Lease, message: &str, retryable: bool) -> Result<FailOutcome> {
        let id = lease.execution_id.to_string();
        let r = self
            .row_in(
                lease.execution_id.partition,
                "SELECT outcome, retry_at_ms FROM ff_fail(execution_id => $1, lease_id => $2, lease_epoch => $3, \
                 message => $4, retryable => $5)",
                "SELECT outcome, retry_at_ms FROM ff_fail_in($1, $2, $3, $4, $5, $6)",
                &[&id, &lease.lease_id, &lease.lease_epoch, &message, &retryable],
            )
            .await?;
        fail_outcome(&r)
    }

    /// `ff_fail` with a failure class and detail: `Permanent` ends the execution at once; the other
    /// classes retry with backoff while attempts remain. The class and detail are recorded on the
    /// attempt ([`Client::list_attempts`]) and the class on the completion event of a final failure.
    pub async fn fail_with(&self, lease: &Lease, message: &str, class: FailureClass, detail: Option<&[u8]>) -> Result<FailOutcome> {
        let id = lease.execution_id.to_string();
        let r = self
            .row_in(
                lease.execution_id.partition,
                "SELECT outcome, retry_at_ms FROM ff_fail(execution_id => $1, lease_id => $2, lease_epoch => $3, \
                 message => $4, failure_class => $5, detail => $6)",
                "SELECT outcome, retry_at_ms FROM ff_fail_in($1, $2, $3, $4, $5, true, $6, $7)",
                &[&id, &lease.lease_id, &lease.lease_epoch, &message, &class.as_str(), &detail],
            )
            .await?;
        fail_outcome(&r)
    }

    /// `ff_cancel`: cancel an execution in any non-terminal phase (operator).
    pub async fn cancel(&self, execution_id: &ExecutionId, reason: &str) -> Result<CancelOutcome> {
        let id = execution_id.to_string();
        let r = self.row("SELECT outcome FROM ff_cancel(execution_id => $1, reason => $2)", &[&id, &reason]).await?;
        match col::<&str>(&r, 0)? {
            "cancelled" => Ok(CancelOutcome::Cancelled),
            "already_terminal" => Ok(CancelOutcome::AlreadyTerminal),
            other => Err(unknown("cancel outcome", other)),
        }
    }
}

fn fail_outcome(r: &Row) -> Result<FailOutcome> {
    match col::<&str>(r, 0)? {
        "retry_scheduled" => Ok(FailOutcome::RetryScheduled { retry_at_ms: col::<Option<i64>>(r, 1)?.unwrap_or_default() }),
        "terminal_failed" => Ok(FailOutcome::TerminalFailed),
        other => Err(unknown("fail outcome", other)),
    }
}
