//! Flows: `ff_create_flow`, `ff_get_flow`, `ff_list_flow_members`, `ff_cancel_flow`, and waiting for a
//! flow to end or drain.

use crate::client::col;
use crate::types::*;
use crate::waiting::{Awaited, CompletionWaiter};
use crate::{Client, ExecutionId, Result};
use std::collections::BTreeMap;
use std::time::{Duration, Instant};
use uuid::Uuid;

/// How long [`Client::cancel_flow`] waits for the members left running to end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CancelFlowWait {
    /// Return at once.
    NoWait,
    /// Wait at most this long.
    WaitTimeout(Duration),
    /// Wait until every member has ended.
    WaitIndefinite,
}

/// A flow, as `ff_get_flow` shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct FlowInfo {
    /// The flow.
    pub flow_id: Uuid,
    /// Its partition (`{fp:N}`), which its members share.
    pub partition_key: String,
    /// Its namespace.
    pub namespace: Option<String>,
    /// Its tags.
    pub tags: serde_json::Value,
    /// Its state.
    pub state: FlowState,
    /// How many members it has.
    pub member_count: i64,
    /// Members per public state.
    pub counts: BTreeMap<String, i64>,
    /// Created (ms since the epoch).
    pub created_at_ms: i64,
    /// When it was cancelled, with which policy and reason.
    pub cancelled: Option<(i64, String, String)>,
}

impl FlowInfo {
    /// How many members are in `state`.
    pub fn count(&self, state: PublicState) -> i64 {
        self.counts.get(state.as_str()).copied().unwrap_or(0)
    }

    /// Whether every member has ended (none is waiting, running or suspended).
    pub fn drained(&self) -> bool {
        self.counts.iter().all(|(s, n)| *n == 0 || PublicState::parse(s).is_ok_and(PublicState::is_terminal))
    }
}

/// A member of a flow, as `ff_list_flow_members` shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct FlowMember {
    /// The member.
    pub execution_id: ExecutionId,
    /// Its lane.
    pub lane_id: String,
    /// Its public state.
    pub public_state: PublicState,
    /// The parent it signals when it ends, and the parent's waitpoint key.
    pub parent: Option<(ExecutionId, String)>,
    /// Upstreams it still waits for.
    pub upstreams_left: i32,
    /// Created (ms since the epoch).
    pub created_at_ms: i64,
    /// When it ended.
    pub terminal_at_ms: Option<i64>,
}

/// What [`Client::cancel_flow`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CancelFlowOutcome {
    /// Members cancelled.
    pub cancelled: i64,
    /// Members left running (leased under `CancelPending`, every member under `FlowOnly`).
    pub left_running: i64,
    /// Members that had already ended.
    pub already_terminal: i64,
    /// Whether every member had ended when the call returned (after its wait).
    pub drained: bool,
}

impl Client {
    /// `ff_create_flow`: a new flow (`flow_id` None: minted), or the existing one of that id
    /// (`created` false).
    pub async fn create_flow(&self, flow_id: Option<Uuid>, namespace: Option<&str>, tags: serde_json::Value) -> Result<(Uuid, bool)> {
        let r = self
            .row("SELECT flow_id, created FROM ff_create_flow(flow_id => $1, namespace => $2, tags => $3)", &[&flow_id, &namespace, &tags])
            .await?;
        Ok((col(&r, 0)?, col(&r, 1)?))
    }

    /// `ff_get_flow`: the flow's state and member counts.
    pub async fn get_flow(&self, flow_id: Uuid) -> Result<FlowInfo> {
        let sql = "SELECT flow_id, partition_key, namespace, tags, state, member_count, counts, created_at_ms, cancelled_at_ms, \
                   cancel_policy, cancel_reason FROM ff_get_flow(flow_id => $1)";
        let r = self.row(sql, &[&flow_id]).await?;
        let counts: serde_json::Value = col(&r, 6)?;
        let counts = counts.as_object().map(|o| o.iter().map(|(k, v)| (k.clone(), v.as_i64().unwrap_or(0))).collect()).unwrap_or_default();
        let cancelled_at: Option<i64> = col(&r, 8)?;
        let (policy, reason): (Option<String>, Option<String>) = (col(&r, 9)?, col(&r, 10)?);
        Ok(FlowInfo {
            flow_id: col(&r, 0)?,
            partition_key: col(&r, 1)?,
            namespace: col(&r, 2)?,
            tags: col(&r, 3)?,
            state: FlowState::parse(col(&r, 4)?)?,
            member_count: col(&r, 5)?,
            counts,
            created_at_ms: col(&r, 7)?,
            cancelled: cancelled_at.map(|at| (at, policy.unwrap_or_default(), reason.unwrap_or_default())),
        })
    }

    /// `ff_list_flow_members`: members in execution id order, after `after` (the last id of the
    /// previous page).
    pub async fn list_flow_members(&self, flow_id: Uuid, after: Option<&ExecutionId>, max_rows: i32) -> Result<Vec<FlowMember>> {
        let sql = "SELECT execution_id, lane_id, public_state, parent_execution_id, parent_waitpoint_key, upstreams_left, \
                   created_at_ms, terminal_at_ms FROM ff_list_flow_members(flow_id => $1, after_execution_id => $2, max_rows => $3)";
        let after = after.map(ExecutionId::to_string);
        let rows = self.rows(sql, &[&flow_id, &after, &max_rows]).await?;
        rows.iter()
            .map(|r| {
                let parent: Option<String> = col(r, 3)?;
                let key: Option<String> = col(r, 4)?;
                Ok(FlowMember {
                    execution_id: parse_execution_id(col(r, 0)?)?,
                    lane_id: col(r, 1)?,
                    public_state: PublicState::parse(col(r, 2)?)?,
                    parent: match parent {
                        Some(p) => Some((parse_execution_id(&p)?, key.unwrap_or_default())),
                        None => None,
                    },
                    upstreams_left: col(r, 5)?,
                    created_at_ms: col(r, 6)?,
                    terminal_at_ms: col(r, 7)?,
                })
            })
            .collect()
    }

    /// `ff_cancel_flow` (operator), then wait as `wait` says for the members left running to end
    /// (woken by the completion outbox).
    pub async fn cancel_flow(
        &self,
        flow_id: Uuid,
        policy: CancelFlowPolicy,
        reason: &str,
        wait: CancelFlowWait,
    ) -> Result<CancelFlowOutcome> {
        let rows = self
            .rows(
                "SELECT outcome, members FROM ff_cancel_flow(flow_id => $1, policy => $2, reason => $3)",
                &[&flow_id, &policy.as_str(), &reason],
            )
            .await?;
        let mut out = CancelFlowOutcome { cancelled: 0, left_running: 0, already_terminal: 0, drained: false };
        for r in &rows {
            let n: i64 = col(r, 1)?;
            match col::<&str>(r, 0)? {
                "cancelled" => out.cancelled = n,
                "left_running" => out.left_running = n,
                "already_terminal" => out.already_terminal = n,
                other => return Err(unknown("cancel_flow outcome", other)),
            }
        }
        out.drained = match wait {
            CancelFlowWait::NoWait => self.get_flow(flow_id).await?.drained(),
            CancelFlowWait::WaitTimeout(d) => self.wait_for_flow(flow_id, d).await?.is_some(),
            CancelFlowWait::WaitIndefinite => self.wait_for_flow(flow_id, Duration::MAX).await?.is_some(),
        };
        Ok(out)
    }

    /// Wait until the flow has ended (every member ended, and the flow completed, failed or
    /// cancelled) and return it, or `None` after `timeout`. Announced to the server
    /// (`ff_await_completion(flow_id)`): only the ends of this flow's members wake it.
    pub async fn wait_for_flow(&self, flow_id: Uuid, timeout: Duration) -> Result<Option<FlowInfo>> {
        let deadline = Instant::now().checked_add(timeout);
        let awaited = Awaited::Flow(flow_id);
        let mut waiter = CompletionWaiter::open(self, &awaited).await?;
        if waiter.until_ended(&awaited, deadline).await? {
            return Ok(Some(self.get_flow(flow_id).await?));
        }
        Ok(None)
    }
}
