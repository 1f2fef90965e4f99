//! Reading executions back, waiting for their outcome, operator actions and retention: one method per
//! SQL function (`ff_get_execution`, `ff_list_attempts`, `ff_list_executions`, `ff_change_priority`,
//! `ff_replay_execution`, `ff_revoke_lease`, `ff_prune_executions`), plus
//! [`Client::wait_for_completion`] and [`Client::create_and_wait`].

use crate::client::col;
use crate::types::*;
use crate::waiting::{Awaited, CompletionWaiter};
use crate::{Client, ExecutionId, NewExecution, Result};
use std::time::{Duration, Instant};
use tokio_postgres::Row;
use uuid::Uuid;

/// One execution, as `ff_get_execution` shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct ExecutionInfo {
    /// The execution.
    pub execution_id: ExecutionId,
    /// Its lane.
    pub lane_id: String,
    /// Its namespace.
    pub namespace: Option<String>,
    /// Its flow.
    pub flow_id: Option<Uuid>,
    /// Its tags.
    pub tags: serde_json::Value,
    /// Its priority.
    pub priority: i32,
    /// `lifecycle_phase`, `ownership_state`, `eligibility_state`, `attempt_state` (canonical literals).
    pub states: [String; 4],
    /// The public state.
    pub public_state: PublicState,
    /// The current attempt's index.
    pub attempt_index: i32,
    /// Attempts so far.
    pub attempt_count: i32,
    /// Attempts allowed.
    pub max_attempts: i32,
    /// Created (ms since the epoch).
    pub created_at_ms: i64,
    /// The first attempt's start.
    pub started_at_ms: Option<i64>,
    /// When it finished.
    pub terminal_at_ms: Option<i64>,
    /// The current lease's worker (only while leased).
    pub lease_worker_id: Option<String>,
    /// The current lease's expiry (only while leased).
    pub lease_expires_at_ms: Option<i64>,
    /// The lease epoch.
    pub lease_epoch: i64,
    /// The open suspension and its reason.
    pub suspension: Option<(Uuid, String)>,
    /// When the next retry becomes claimable.
    pub next_retry_at_ms: Option<i64>,
    /// The deadline.
    pub deadline_at_ms: Option<i64>,
    /// The last failure message (or cancel / expiry reason).
    pub last_error: Option<String>,
    /// The payload.
    pub payload: Option<Vec<u8>>,
    /// The result.
    pub result: Option<Vec<u8>>,
    /// The continuation the current attempt resumes from (its latest suspension's).
    pub continuation: Option<String>,
    /// How many steps the execution has stored.
    pub step_count: i32,
    /// The flow upstreams it waits for that have not completed.
    pub blocked_by: Vec<ExecutionId>,
}

/// One attempt of an execution.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttemptInfo {
    /// 0, 1, …
    pub attempt_index: i32,
    /// The attempt's id.
    pub attempt_id: Uuid,
    /// The worker that ran it.
    pub worker_id: Option<String>,
    /// Started (ms since the epoch).
    pub started_at_ms: i64,
    /// Ended, if it has.
    pub ended_at_ms: Option<i64>,
    /// `success`, `failed`, `cancelled`, `expired`, … when ended.
    pub outcome: Option<String>,
    /// The failure message.
    pub error_message: Option<String>,
    /// Why it failed, if it did (a reclaimed attempt keeps `InfraCrash` until it ends).
    pub failure_class: Option<FailureClass>,
    /// The detail the worker gave with the failure.
    pub failure_detail: Option<Vec<u8>>,
}

/// One row of [`Client::list_executions`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExecutionSummary {
    /// The execution (the keyset cursor for the next page).
    pub execution_id: ExecutionId,
    /// Its public state.
    pub public_state: PublicState,
    /// Its priority.
    pub priority: i32,
    /// The current attempt's index.
    pub attempt_index: i32,
    /// Created (ms since the epoch).
    pub created_at_ms: i64,
    /// Finished, if it has.
    pub terminal_at_ms: Option<i64>,
    /// The last failure message.
    pub last_error: Option<String>,
    /// The result's size in bytes.
    pub result_bytes: Option<i32>,
}

/// Work of a lane held back, from [`Client::lane_holdback`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Holdback {
    /// `lane_paused`, `delayed`, `dependencies`, `reserved`, `budget`, `quota_rate` or `quota_concurrency`.
    pub reason: String,
    /// Executions held for it.
    pub executions: i64,
    /// The earliest time one could pass (None: when a lease ends, an upstream completes, a limit changes).
    pub earliest_at_ms: Option<i64>,
}

/// One lane, from [`Client::list_lanes`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LaneInfo {
    /// The lane.
    pub lane_id: String,
    /// Whether [`Client::pause_lane`] holds it.
    pub paused: bool,
    /// Executions it could hand out now.
    pub depth: i64,
    /// How long the oldest of those has waited since it became claimable (ms).
    pub oldest_eligible_age_ms: Option<i64>,
    /// Runnable executions not claimable now (delayed, blocked, held).
    pub not_eligible: i64,
    /// Executions leased now.
    pub active: i64,
    /// When it was paused.
    pub paused_at_ms: Option<i64>,
    /// The reason given for the pause.
    pub pause_reason: Option<String>,
}

/// How an execution finished, from [`Client::wait_for_completion`].
#[derive(Debug, Clone, PartialEq)]
pub struct FinishedExecution {
    /// Completed, failed, cancelled, expired (or skipped).
    pub public_state: PublicState,
    /// The result (completed executions).
    pub result: Option<Vec<u8>>,
    /// The failure message, cancel reason or expiry reason.
    pub last_error: Option<String>,
    /// Attempts it took.
    pub attempt_count: i32,
    /// When it finished.
    pub terminal_at_ms: Option<i64>,
}

const GET_SQL: &str = "SELECT execution_id, lane_id, namespace, flow_id, tags, priority, lifecycle_phase, ownership_state, \
     eligibility_state, attempt_state, public_state, attempt_index, attempt_count, max_attempts, created_at_ms, started_at_ms, \
     terminal_at_ms, lease_worker_id, lease_expires_at_ms, lease_epoch, suspension_id, suspension_reason, next_retry_at_ms, \
     deadline_at_ms, last_error, payload, result, continuation, step_count, blocked_by FROM ff_get_execution(execution_id => $1)";

fn execution_info(r: &Row) -> Result<ExecutionInfo> {
    let suspension: Option<Uuid> = col(r, 20)?;
    let reason: Option<String> = col(r, 21)?;
    Ok(ExecutionInfo {
        execution_id: parse_execution_id(col(r, 0)?)?,
        lane_id: col(r, 1)?,
        namespace: col(r, 2)?,
        flow_id: col(r, 3)?,
        tags: col(r, 4)?,
        priority: col(r, 5)?,
        states: [col(r, 6)?, col(r, 7)?, col(r, 8)?, col(r, 9)?],
        public_state: PublicState::parse(col(r, 10)?)?,
        attempt_index: col(r, 11)?,
        attempt_count: col(r, 12)?,
        max_attempts: col(r, 13)?,
        created_at_ms: col(r, 14)?,
        started_at_ms: col(r, 15)?,
        terminal_at_ms: col(r, 16)?,
        lease_worker_id: col(r, 17)?,
        lease_expires_at_ms: col(r, 18)?,
        lease_epoch: col(r, 19)?,
        suspension: suspension.map(|id| (id, reason.unwrap_or_default())),
        next_retry_at_ms: col(r, 22)?,
        deadline_at_ms: col(r, 23)?,
        last_error: col(r, 24)?,
        payload: col(r, 25)?,
        result: col(r, 26)?,
        continuation: col(r, 27)?,
        step_count: col(r, 28)?,
        blocked_by: col::<Vec<String>>(r, 29)?.iter().map(|id| parse_execution_id(id)).collect::<Result<_>>()?,
    })
}

impl Client {
    /// `ff_get_execution`: the execution with its states, attempts, lease holder, result and last
    /// failure ([`crate::Error::NotFound`] when it does not exist or was pruned).
    pub async fn get_execution(&self, execution_id: &ExecutionId) -> Result<ExecutionInfo> {
        execution_info(&self.row(GET_SQL, &[&execution_id.to_string()]).await?)
    }

    /// `ff_list_attempts`: every attempt, oldest first.
    pub async fn list_attempts(&self, execution_id: &ExecutionId) -> Result<Vec<AttemptInfo>> {
        let sql = "SELECT attempt_index, attempt_id, worker_id, started_at_ms, ended_at_ms, outcome, error_message, \
                   failure_class, failure_detail FROM ff_list_attempts(execution_id => $1)";
        let rows = self.rows(sql, &[&execution_id.to_string()]).await?;
        rows.iter()
            .map(|r| {
                Ok(AttemptInfo {
                    attempt_index: col(r, 0)?,
                    attempt_id: col(r, 1)?,
                    worker_id: col(r, 2)?,
                    started_at_ms: col(r, 3)?,
                    ended_at_ms: col(r, 4)?,
                    outcome: col(r, 5)?,
                    error_message: col(r, 6)?,
                    failure_class: col::<Option<&str>>(r, 7)?.map(FailureClass::parse).transpose()?,
                    failure_detail: col(r, 8)?,
                })
            })
            .collect()
    }

    /// `ff_list_executions`: a lane's executions in creation order, optionally of one public state,
    /// after `after` (the last id of the previous page).
    pub async fn list_executions(
        &self,
        lane_id: &str,
        public_state: Option<PublicState>,
        after: Option<&ExecutionId>,
        max_rows: i32,
    ) -> Result<Vec<ExecutionSummary>> {
        let sql = "SELECT execution_id, public_state, priority, attempt_index, created_at_ms, terminal_at_ms, last_error, \
                   result_bytes FROM ff_list_executions(lane_id => $1, public_state => $2, after_execution_id => $3, max_rows => $4)";
        let state = public_state.map(PublicState::as_str);
        let after = after.map(ExecutionId::to_string);
        let rows = self.rows(sql, &[&lane_id, &state, &after, &max_rows]).await?;
        rows.iter()
            .map(|r| {
                Ok(ExecutionSummary {
                    execution_id: parse_execution_id(col(r, 0)?)?,
                    public_state: PublicState::parse(col(r, 1)?)?,
                    priority: col(r, 2)?,
                    attempt_index: col(r, 3)?,
                    created_at_ms: col(r, 4)?,
                    terminal_at_ms: col(r, 5)?,
                    last_error: col(r, 6)?,
                    result_bytes: col(r, 7)?,
                })
            })
            .collect()
    }

    /// Wait until the execution has finished and return how, or `None` after `timeout`. Correct when it
    /// finished before the call, and across retries (a retried failure is not a finish). The wait is
    /// announced to the server (`ff_await_completion`), so only the transaction that ends this
    /// execution wakes it, never a busy loop nor other executions' ends (with a safety-net look every
    /// second); the connection is its own and is closed on return.
    pub async fn wait_for_completion(&self, execution_id: &ExecutionId, timeout: Duration) -> Result<Option<FinishedExecution>> {
        let deadline = Instant::now().checked_add(timeout);
        let awaited = Awaited::Execution(execution_id);
        let mut waiter = CompletionWaiter::open(self, &awaited).await?;
        if waiter.until_ended(&awaited, deadline).await? {
            return self.finished(execution_id).await;
        }
        Ok(None)
    }

    /// Create an execution and wait for it to finish (see [`Client::wait_for_completion`]); `None`
    /// after `timeout`, with the execution left running.
    pub async fn create_and_wait(&self, e: &NewExecution, timeout: Duration) -> Result<(ExecutionId, Option<FinishedExecution>)> {
        let created = self.create_execution(e).await?;
        let finished = self.wait_for_completion(&created.execution_id, timeout).await?;
        Ok((created.execution_id, finished))
    }

    async fn finished(&self, execution_id: &ExecutionId) -> Result<Option<FinishedExecution>> {
        let e = self.get_execution(execution_id).await?;
        Ok(e.public_state.is_terminal().then_some(FinishedExecution {
            public_state: e.public_state,
            result: e.result,
            last_error: e.last_error,
            attempt_count: e.attempt_count,
            terminal_at_ms: e.terminal_at_ms,
        }))
    }

    /// `ff_lane_holdback`: why the lane's runnable work is not handed out, per reason (`delayed`,
    /// `dependencies`, `reserved`, `budget`, `quota_rate`, `quota_concurrency`): the executions held and
    /// the earliest time one could pass.
    pub async fn lane_holdback(&self, lane_id: &str) -> Result<Vec<Holdback>> {
        let rows = self.rows("SELECT reason, executions, earliest_at_ms FROM ff_lane_holdback(lane_id => $1)", &[&lane_id]).await?;
        rows.iter().map(|r| Ok(Holdback { reason: col(r, 0)?, executions: col(r, 1)?, earliest_at_ms: col(r, 2)? })).collect()
    }

    /// `ff_change_priority` (operator): returns whether it changed and the previous priority.
    pub async fn change_priority(&self, execution_id: &ExecutionId, priority: i32) -> Result<(bool, i32)> {
        let sql = "SELECT outcome, previous_priority FROM ff_change_priority(execution_id => $1, priority => $2)";
        let r = self.row(sql, &[&execution_id.to_string(), &priority]).await?;
        match col::<&str>(&r, 0)? {
            "changed" => Ok((true, col(&r, 1)?)),
            "unchanged" => Ok((false, col(&r, 1)?)),
            other => Err(unknown("change_priority outcome", other)),
        }
    }

    /// `ff_replay_execution` (operator): a failed, cancelled or expired execution gets a fresh attempt
    /// and is claimable at once; returns the public state it had.
    pub async fn replay_execution(&self, execution_id: &ExecutionId, reason: Option<&str>) -> Result<PublicState> {
        let sql = "SELECT previous_public_state FROM ff_replay_execution(execution_id => $1, reason => $2)";
        PublicState::parse(col(&self.row(sql, &[&execution_id.to_string(), &reason]).await?, 0)?)
    }

    /// `ff_replay_execution(with_dependents => true)` (operator): replay a failed, cancelled or
    /// expired flow member and bring back, transitively, the members its end skipped (semantics §11);
    /// returns the public state it had.
    pub async fn replay_with_dependents(&self, execution_id: &ExecutionId, reason: Option<&str>) -> Result<PublicState> {
        let sql = "SELECT previous_public_state FROM ff_replay_execution(execution_id => $1, reason => $2, with_dependents => true)";
        PublicState::parse(col(&self.row(sql, &[&execution_id.to_string(), &reason]).await?, 0)?)
    }

    /// `ff_hold_execution` (operator): take a waiting, delayed or blocked execution out of the claimable
    /// set until [`Client::release_execution`]; false when it was held already.
    pub async fn hold_execution(&self, execution_id: &ExecutionId, reason: Option<&str>) -> Result<bool> {
        let sql = "SELECT outcome FROM ff_hold_execution(execution_id => $1, reason => $2)";
        Ok(col::<&str>(&self.row(sql, &[&execution_id.to_string(), &reason]).await?, 0)? == "held")
    }

    /// `ff_release_execution` (operator): end a hold; false when it was not held.
    pub async fn release_execution(&self, execution_id: &ExecutionId) -> Result<bool> {
        let sql = "SELECT outcome FROM ff_release_execution(execution_id => $1)";
        Ok(col::<&str>(&self.row(sql, &[&execution_id.to_string()]).await?, 0)? == "released")
    }

    /// `ff_pause_lane` (operator): the lane keeps accepting executions and hands out none until
    /// [`Client::resume_lane`]; false when it was paused already.
    pub async fn pause_lane(&self, lane_id: &str, reason: Option<&str>) -> Result<bool> {
        let sql = "SELECT outcome FROM ff_pause_lane(lane_id => $1, reason => $2)";
        Ok(col::<&str>(&self.row(sql, &[&lane_id, &reason]).await?, 0)? == "paused")
    }

    /// `ff_resume_lane` (operator): end a pause and wake the lane's sleeping workers; false when it was
    /// not paused.
    pub async fn resume_lane(&self, lane_id: &str) -> Result<bool> {
        let sql = "SELECT outcome FROM ff_resume_lane(lane_id => $1)";
        Ok(col::<&str>(&self.row(sql, &[&lane_id]).await?, 0)? == "resumed")
    }

    /// `ff_list_lanes` (operator): every lane with unfinished work or a pause.
    pub async fn list_lanes(&self) -> Result<Vec<LaneInfo>> {
        let sql = "SELECT lane_id, state, depth, oldest_eligible_age_ms, not_eligible, active, paused_at_ms, pause_reason \
                   FROM ff_list_lanes()";
        self.rows(sql, &[])
            .await?
            .iter()
            .map(|r| {
                Ok(LaneInfo {
                    lane_id: col(r, 0)?,
                    paused: col::<&str>(r, 1)? == "paused",
                    depth: col(r, 2)?,
                    oldest_eligible_age_ms: col(r, 3)?,
                    not_eligible: col(r, 4)?,
                    active: col(r, 5)?,
                    paused_at_ms: col(r, 6)?,
                    pause_reason: col(r, 7)?,
                })
            })
            .collect()
    }

    /// `ff_revoke_lease` (operator): end the current lease at once (fenced by `lease_epoch` when
    /// given); returns the revoked lease's epoch.
    pub async fn revoke_lease(&self, execution_id: &ExecutionId, reason: &str, lease_epoch: Option<i64>) -> Result<i64> {
        let sql = "SELECT revoked_lease_epoch FROM ff_revoke_lease(execution_id => $1, reason => $2, lease_epoch => $3)";
        col(&self.row(sql, &[&execution_id.to_string(), &reason, &lease_epoch]).await?, 0)
    }

    /// `ff_prune_executions` (retention): delete up to `max_rows` executions in `states` that finished
    /// before `older_than_ms`, with everything that belongs to them; how many.
    pub async fn prune_executions(&self, older_than_ms: i64, states: &[PublicState], max_rows: i32) -> Result<i64> {
        let states: Vec<&str> = states.iter().map(|s| s.as_str()).collect();
        let sql = "SELECT ff_prune_executions(older_than_ms => $1, public_states => $2, max_rows => $3)";
        col(&self.row(sql, &[&older_than_ms, &states, &max_rows]).await?, 0)
    }
}
