//! Waitpoints, suspend, signals, budgets and scanners: one method per SQL function of api.md's last
//! three tables.

use crate::client::col;
use crate::types::*;
use crate::{Client, ExecutionId, Result, ResumeCondition};
use tokio_postgres::Row;
use uuid::Uuid;

/// How `ff_suspend` binds a waitpoint key (FlowFabric's binding form).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WaitpointBinding {
    /// A fresh waitpoint with this key (id generated when None).
    Fresh {
        /// The key, as the condition names it.
        waitpoint_key: String,
        /// An id chosen by the caller.
        waitpoint_id: Option<Uuid>,
    },
    /// A waitpoint made earlier by [`Client::create_waitpoint`] for this execution.
    UsePending(Uuid),
}

/// Arguments of [`Client::suspend`]; `Suspend::new(condition)` gives the SQL defaults.
#[derive(Debug, Clone, PartialEq)]
pub struct Suspend {
    /// When to resume.
    pub condition: ResumeCondition,
    /// Explicit bindings, primary first; None derives one per key the condition references.
    pub waitpoints: Option<Vec<WaitpointBinding>>,
    /// When the suspension times out (ms since the epoch).
    pub timeout_at_ms: Option<i64>,
    /// What the timeout does (default fail).
    pub timeout_behavior: TimeoutBehavior,
    /// Why it suspends (default waiting_for_signal).
    pub reason_code: ReasonCode,
    /// Who asks (default worker).
    pub requested_by: RequestedBy,
    /// A suspension id chosen by the caller.
    pub suspension_id: Option<Uuid>,
    /// Replays with the same key return the first call's result verbatim.
    pub idempotency_key: Option<String>,
    /// Opaque continuation state kept with the suspension.
    pub continuation: Option<String>,
}

impl Suspend {
    /// Suspend until `condition` holds, every other argument at its SQL default.
    pub fn new(condition: ResumeCondition) -> Self {
        Suspend {
            condition,
            waitpoints: None,
            timeout_at_ms: None,
            timeout_behavior: TimeoutBehavior::Fail,
            reason_code: ReasonCode::WaitingForSignal,
            requested_by: RequestedBy::Worker,
            suspension_id: None,
            idempotency_key: None,
            continuation: None,
        }
    }

    /// Time out at `timeout_at_ms` with `behavior`.
    pub fn timeout(mut self, timeout_at_ms: i64, behavior: TimeoutBehavior) -> Self {
        self.timeout_at_ms = Some(timeout_at_ms);
        self.timeout_behavior = behavior;
        self
    }

    /// Set the reason code.
    pub fn reason(mut self, reason: ReasonCode) -> Self {
        self.reason_code = reason;
        self
    }

    /// Keep `continuation` with the suspension: the claim that resumes the attempt hands it back
    /// ([`crate::Job::continuation`]).
    pub fn continuation(mut self, continuation: impl Into<String>) -> Self {
        self.continuation = Some(continuation.into());
        self
    }

    /// Set the idempotency key.
    pub fn idempotency_key(mut self, key: impl Into<String>) -> Self {
        self.idempotency_key = Some(key.into());
        self
    }

    fn bindings_json(&self) -> Option<serde_json::Value> {
        self.waitpoints.as_ref().map(|bs| {
            bs.iter()
                .map(|b| match b {
                    WaitpointBinding::Fresh { waitpoint_key, waitpoint_id: Some(id) } => {
                        serde_json::json!({"waitpoint_key": waitpoint_key, "waitpoint_id": id.to_string()})
                    }
                    WaitpointBinding::Fresh { waitpoint_key, waitpoint_id: None } => serde_json::json!({"waitpoint_key": waitpoint_key}),
                    WaitpointBinding::UsePending(id) => serde_json::json!({"use_pending": id.to_string()}),
                })
                .collect()
        })
    }
}

/// Arguments of [`Client::deliver_signal`]; `Signal::new(..)` gives the SQL defaults.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Signal {
    /// The suspended (or about to suspend) execution.
    pub execution_id: ExecutionId,
    /// The waitpoint signalled.
    pub waitpoint_id: Uuid,
    /// The waitpoint's token.
    pub token: WaitpointToken,
    /// The signal's name (what matchers test).
    pub signal_name: String,
    /// An id chosen by the caller.
    pub signal_id: Option<Uuid>,
    /// Category (free-form; `approval` for approvals).
    pub signal_category: String,
    /// Sender kind (DistinctSources counts `(source_type, source_identity)`).
    pub source_type: String,
    /// Sender identity.
    pub source_identity: String,
    /// Payload, readable through [`Client::observe_signals`].
    pub payload: Option<Vec<u8>>,
    /// The sender's correlation id.
    pub correlation_id: Option<String>,
    /// Deliveries with the same key within `dedup_ttl_ms` are duplicates.
    pub idempotency_key: Option<String>,
    /// How long the idempotency key is remembered (default 24 h).
    pub dedup_ttl_ms: i64,
    /// Delay before a resumed execution becomes claimable (default 0).
    pub resume_delay_ms: i64,
    /// Refuse signals beyond this many per execution (default 10 000).
    pub max_signals_per_execution: i32,
}

impl Signal {
    /// A signal named `signal_name` to `waitpoint_id`, every other argument at its SQL default.
    pub fn new(execution_id: ExecutionId, waitpoint_id: Uuid, token: WaitpointToken, signal_name: impl Into<String>) -> Self {
        Signal {
            execution_id,
            waitpoint_id,
            token,
            signal_name: signal_name.into(),
            signal_id: None,
            signal_category: String::new(),
            source_type: String::new(),
            source_identity: String::new(),
            payload: None,
            correlation_id: None,
            idempotency_key: None,
            dedup_ttl_ms: 86_400_000,
            resume_delay_ms: 0,
            max_signals_per_execution: 10_000,
        }
    }

    /// Set the sender.
    pub fn source(mut self, source_type: impl Into<String>, source_identity: impl Into<String>) -> Self {
        self.source_type = source_type.into();
        self.source_identity = source_identity.into();
        self
    }

    /// Set the payload.
    pub fn payload(mut self, payload: impl Into<Vec<u8>>) -> Self {
        self.payload = Some(payload.into());
        self
    }

    /// Set the idempotency key.
    pub fn idempotency_key(mut self, key: impl Into<String>) -> Self {
        self.idempotency_key = Some(key.into());
        self
    }
}

fn delivered(r: &Row) -> Result<DeliveredSignal> {
    Ok(DeliveredSignal {
        outcome: SignalOutcome::parse(col(r, 0)?)?,
        signal_id: col(r, 1)?,
        effect: col::<Option<&str>>(r, 2)?.map(SignalEffect::parse).transpose()?,
    })
}

impl Client {
    /// `ff_create_waitpoint`: a pending waitpoint whose token can be handed out before suspending;
    /// signals to it are buffered until the suspend.
    pub async fn create_waitpoint(&self, lease: &Lease, waitpoint_key: &str, expires_in_ms: i64) -> Result<Waitpoint> {
        let id = lease.execution_id.to_string();
        let r = self
            .row(
                "SELECT waitpoint_id, waitpoint_key, token FROM ff_create_waitpoint(execution_id => $1, lease_id => $2, \
                 lease_epoch => $3, waitpoint_key => $4, expires_in_ms => $5)",
                &[&id, &lease.lease_id, &lease.lease_epoch, &waitpoint_key, &expires_in_ms],
            )
            .await?;
        Ok(Waitpoint { waitpoint_id: col(&r, 0)?, waitpoint_key: col(&r, 1)?, token: WaitpointToken::new(col::<String>(&r, 2)?) })
    }

    /// `ff_suspend`: release the lease and wait for the condition. With
    /// [`SuspendState::AlreadySatisfied`] the lease is kept and the caller carries on.
    pub async fn suspend(&self, lease: &Lease, s: &Suspend) -> Result<SuspendOutcome> {
        let id = lease.execution_id.to_string();
        let condition = s.condition.to_json();
        let bindings = s.bindings_json();
        let rows = self
            .rows_in(
                lease.execution_id.partition,
                "SELECT outcome, suspension_id, waitpoint_id, waitpoint_key, token FROM ff_suspend(execution_id => $1, \
                 lease_id => $2, lease_epoch => $3, resume_condition => $4, waitpoints => $5, timeout_at_ms => $6, \
                 timeout_behavior => $7, reason_code => $8, requested_by => $9, suspension_id => $10, \
                 idempotency_key => $11, continuation => $12)",
                "SELECT outcome, suspension_id, waitpoint_id, waitpoint_key, token FROM ff_suspend_in($1, $2, $3, $4, $5, $6, \
                 $7, $8, $9, $10, $11, $12, $13)",
                &[
                    &id,
                    &lease.lease_id,
                    &lease.lease_epoch,
                    &condition,
                    &bindings,
                    &s.timeout_at_ms,
                    &s.timeout_behavior.as_str(),
                    &s.reason_code.as_str(),
                    &s.requested_by.as_str(),
                    &s.suspension_id,
                    &s.idempotency_key,
                    &s.continuation,
                ],
            )
            .await?;
        let first = rows.first().ok_or_else(|| crate::Error::Protocol("ff_suspend returned no row".into()))?;
        let mut waitpoints = Vec::with_capacity(rows.len());
        for r in &rows {
            if let Some(waitpoint_id) = col::<Option<Uuid>>(r, 2)? {
                waitpoints.push(Waitpoint { waitpoint_id, waitpoint_key: col(r, 3)?, token: WaitpointToken::new(col::<String>(r, 4)?) });
            }
        }
        Ok(SuspendOutcome { state: SuspendState::parse(col(first, 0)?)?, suspension_id: col(first, 1)?, waitpoints })
    }

    /// `ff_deliver_signal`: deliver a token-authenticated signal.
    pub async fn deliver_signal(&self, s: &Signal) -> Result<DeliveredSignal> {
        let id = s.execution_id.to_string();
        let r = self
            .row_in(
                s.execution_id.partition,
                "SELECT outcome, signal_id, effect FROM ff_deliver_signal(execution_id => $1, waitpoint_id => $2, token => $3, \
                 signal_name => $4, signal_id => $5, signal_category => $6, source_type => $7, source_identity => $8, \
                 payload => $9, correlation_id => $10, idempotency_key => $11, dedup_ttl_ms => $12, \
                 resume_delay_ms => $13, max_signals_per_execution => $14)",
                "SELECT outcome, signal_id, effect FROM ff_deliver_signal_in($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, \
                 $13, $14, $15)",
                &[
                    &id,
                    &s.waitpoint_id,
                    &s.token.expose(),
                    &s.signal_name,
                    &s.signal_id,
                    &s.signal_category,
                    &s.source_type,
                    &s.source_identity,
                    &s.payload,
                    &s.correlation_id,
                    &s.idempotency_key,
                    &s.dedup_ttl_ms,
                    &s.resume_delay_ms,
                    &s.max_signals_per_execution,
                ],
            )
            .await?;
        delivered(&r)
    }

    /// `ff_deliver_approval_signal`: an operator's approval; the token is read server-side and never
    /// leaves the database.
    pub async fn deliver_approval_signal(
        &self,
        execution_id: &ExecutionId,
        lane_id: &str,
        waitpoint_id: Uuid,
        signal_name: &str,
        idempotency_suffix: &str,
    ) -> Result<DeliveredSignal> {
        let id = execution_id.to_string();
        let r = self
            .row(
                "SELECT outcome, signal_id, effect FROM ff_deliver_approval_signal(execution_id => $1, lane_id => $2, \
                 waitpoint_id => $3, signal_name => $4, idempotency_suffix => $5)",
                &[&id, &lane_id, &waitpoint_id, &signal_name, &idempotency_suffix],
            )
            .await?;
        delivered(&r)
    }

    /// `ff_resume_execution`: operator resume of a suspended execution.
    pub async fn resume_execution(&self, execution_id: &ExecutionId, resume_delay_ms: i64) -> Result<()> {
        let id = execution_id.to_string();
        let r = self
            .row("SELECT outcome FROM ff_resume_execution(execution_id => $1, resume_delay_ms => $2)", &[&id, &resume_delay_ms])
            .await?;
        match col::<&str>(&r, 0)? {
            "resumed" => Ok(()),
            other => Err(unknown("resume outcome", other)),
        }
    }

    /// `ff_observe_signals`: the signals that satisfied the latest suspension, in acceptance order.
    pub async fn observe_signals(&self, execution_id: &ExecutionId) -> Result<Vec<ObservedSignal>> {
        let id = execution_id.to_string();
        let rows = self
            .rows(
                "SELECT signal_id, waitpoint_key, signal_name, signal_category, source_type, source_identity, \
                 correlation_id, accepted_at_ms, payload FROM ff_observe_signals(execution_id => $1)",
                &[&id],
            )
            .await?;
        rows.iter()
            .map(|r| {
                Ok(ObservedSignal {
                    signal_id: col(r, 0)?,
                    waitpoint_key: col(r, 1)?,
                    signal_name: col(r, 2)?,
                    signal_category: col(r, 3)?,
                    source_type: col(r, 4)?,
                    source_identity: col(r, 5)?,
                    correlation_id: col(r, 6)?,
                    accepted_at_ms: col(r, 7)?,
                    payload: col(r, 8)?,
                })
            })
            .collect()
    }

    /// `ff_list_suspended`: open suspensions, keyset-paginated by execution id.
    pub async fn list_suspended(&self, after: Option<&ExecutionId>, max_rows: i32) -> Result<Vec<SuspendedExecution>> {
        let after = after.map(|a| a.to_string());
        let rows = self
            .rows(
                "SELECT execution_id, lane_id, suspension_id, suspended_at_ms, timeout_at_ms, reason_code, timeout_behavior \
                 FROM ff_list_suspended(after_execution_id => $1, max_rows => $2)",
                &[&after, &max_rows],
            )
            .await?;
        rows.iter()
            .map(|r| {
                Ok(SuspendedExecution {
                    execution_id: parse_execution_id(col(r, 0)?)?,
                    lane_id: col(r, 1)?,
                    suspension_id: col(r, 2)?,
                    suspended_at_ms: col(r, 3)?,
                    timeout_at_ms: col(r, 4)?,
                    reason_code: ReasonCode::parse(col(r, 5)?)?,
                    timeout_behavior: TimeoutBehavior::parse(col(r, 6)?)?,
                })
            })
            .collect()
    }

    /// `ff_list_pending_waitpoints`: an execution's open waitpoints (and closed ones with
    /// `include_closed`), keyset-paginated by waitpoint id. Never the token.
    pub async fn list_pending_waitpoints(
        &self,
        execution_id: &ExecutionId,
        after: Option<Uuid>,
        max_rows: i32,
        include_closed: bool,
    ) -> Result<Vec<WaitpointInfo>> {
        let id = execution_id.to_string();
        let rows = self
            .rows(
                "SELECT waitpoint_id, waitpoint_key, state, created_at_ms, activated_at_ms, expires_at_ms, \
                 required_signal_names, token_kid, token_fingerprint FROM ff_list_pending_waitpoints(execution_id => $1, \
                 after_waitpoint_id => $2, max_rows => $3, include_closed => $4)",
                &[&id, &after, &max_rows, &include_closed],
            )
            .await?;
        rows.iter()
            .map(|r| {
                Ok(WaitpointInfo {
                    waitpoint_id: col(r, 0)?,
                    waitpoint_key: col(r, 1)?,
                    state: WaitpointState::parse(col(r, 2)?)?,
                    created_at_ms: col(r, 3)?,
                    activated_at_ms: col(r, 4)?,
                    expires_at_ms: col(r, 5)?,
                    required_signal_names: col(r, 6)?,
                    token_kid: col(r, 7)?,
                    token_fingerprint: col(r, 8)?,
                })
            })
            .collect()
    }

    /// `ff_read_waitpoint_token`: an operator reads a waitpoint's token (None: no such open waitpoint).
    pub async fn read_waitpoint_token(&self, execution_id: &ExecutionId, waitpoint_id: Uuid) -> Result<Option<WaitpointToken>> {
        let id = execution_id.to_string();
        let rows =
            self.rows("SELECT token FROM ff_read_waitpoint_token(execution_id => $1, waitpoint_id => $2)", &[&id, &waitpoint_id]).await?;
        rows.first().map(|r| Ok(WaitpointToken::new(col::<String>(r, 0)?))).transpose()
    }

    /// `ff_create_budget`: a budget with hard (and soft) limits per dimension, e.g. `{"tokens": 1000}`.
    pub async fn create_budget(
        &self,
        budget_id: &str,
        hard_limits: &serde_json::Value,
        soft_limits: &serde_json::Value,
        reset_interval_ms: Option<i64>,
    ) -> Result<CreatedBudget> {
        let r = self
            .row(
                "SELECT budget_id, created FROM ff_create_budget(budget_id => $1, hard_limits => $2, soft_limits => $3, \
                 reset_interval_ms => $4)",
                &[&budget_id, hard_limits, soft_limits, &reset_interval_ms],
            )
            .await?;
        Ok(CreatedBudget { budget_id: col(&r, 0)?, created: col(&r, 1)? })
    }

    /// `ff_report_usage`: record usage against the execution's budgets, e.g. `{"tokens": 120}`.
    pub async fn report_usage(&self, lease: &Lease, usage: &serde_json::Value, dedup_key: Option<&str>) -> Result<UsageReport> {
        let id = lease.execution_id.to_string();
        let r = self
            .row(
                "SELECT decision, dimension, retry_after_ms FROM ff_report_usage(execution_id => $1, lease_id => $2, lease_epoch => $3, \
                 usage => $4, dedup_key => $5)",
                &[&id, &lease.lease_id, &lease.lease_epoch, usage, &dedup_key],
            )
            .await?;
        Ok(UsageReport { decision: UsageDecision::parse(col(&r, 0)?)?, dimension: col(&r, 1)?, retry_after_ms: col(&r, 2)? })
    }

    /// `ff_budget_status`: usage and limits per dimension.
    pub async fn budget_status(&self, budget_id: &str) -> Result<Vec<BudgetDimension>> {
        let rows =
            self.rows("SELECT dimension, used, soft_limit, hard_limit FROM ff_budget_status(budget_id => $1)", &[&budget_id]).await?;
        rows.iter()
            .map(|r| Ok(BudgetDimension { dimension: col(r, 0)?, used: col(r, 1)?, soft_limit: col(r, 2)?, hard_limit: col(r, 3)? }))
            .collect()
    }

    /// `ff_create_quota_policy`: a rate (requests per window) and/or concurrency cap for claims.
    pub async fn create_quota_policy(
        &self,
        max_requests_per_window: Option<i32>,
        window_ms: i64,
        active_concurrency_cap: Option<i32>,
        quota_policy_id: Option<Uuid>,
    ) -> Result<Uuid> {
        let r = self
            .row(
                "SELECT quota_policy_id FROM ff_create_quota_policy(max_requests_per_window => $1, window_ms => $2, \
                 active_concurrency_cap => $3, quota_policy_id => $4)",
                &[&max_requests_per_window, &window_ms, &active_concurrency_cap, &quota_policy_id],
            )
            .await?;
        col(&r, 0)
    }

    /// `ff_tick`: run every scanner task once, up to `max_rows` rows each.
    pub async fn tick(&self, max_rows: i32) -> Result<Vec<TickTask>> {
        let rows = self.rows("SELECT task, processed FROM ff_tick(max_rows => $1)", &[&max_rows]).await?;
        rows.iter().map(|r| Ok(TickTask { task: ScannerTask::parse(col(r, 0)?)?, processed: col(r, 1)? })).collect()
    }

    /// One scanner task by itself (`ff_promote_delayed`, `ff_expire_grants`, …); returns rows processed.
    pub async fn run_task(&self, task: ScannerTask, max_rows: i32) -> Result<i32> {
        let sql = match task {
            ScannerTask::PromoteDelayed => "SELECT ff_promote_delayed(max_rows => $1)",
            ScannerTask::ExpireGrants => "SELECT ff_expire_grants(max_rows => $1)",
            ScannerTask::ExpireLeases => "SELECT ff_expire_leases(max_rows => $1)",
            ScannerTask::ExpireSuspensions => "SELECT ff_expire_suspensions(max_rows => $1)",
            ScannerTask::ExpirePendingWaitpoints => "SELECT ff_expire_pending_waitpoints(max_rows => $1)",
            ScannerTask::GcDedup => "SELECT ff_gc_dedup(max_rows => $1)",
            ScannerTask::GcKeys => "SELECT ff_gc_keys(max_rows => $1)",
            ScannerTask::ExpireDeadlines => "SELECT ff_expire_deadlines(max_rows => $1)",
            ScannerTask::PruneExecutions => "SELECT ff_prune_by_retention(max_rows => $1)",
            ScannerTask::VerifyClaimStarts => "SELECT ff_verify_claim_starts(max_rows => $1)",
        };
        col(&self.row(sql, &[&max_rows]).await?, 0)
    }

    /// `ff_prune_events`: delete event rows older than `older_than_ms` (ms since the epoch).
    pub async fn prune_events(&self, older_than_ms: i64) -> Result<Vec<PrunedEvents>> {
        let rows = self.rows("SELECT table_name, deleted FROM ff_prune_events(older_than_ms => $1)", &[&older_than_ms]).await?;
        rows.iter().map(|r| Ok(PrunedEvents { table_name: col(r, 0)?, deleted: col(r, 1)? })).collect()
    }
}
