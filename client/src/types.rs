//! Typed arguments and results of the SQL functions: ids, secrets that redact themselves, fences,
//! outcome enums and result rows.

use crate::{Error, ExecutionId, Result};
use std::fmt;
use uuid::Uuid;

macro_rules! secret_text {
    ($(#[$doc:meta])* $name:ident, $label:literal) => {
        $(#[$doc])*
        ///
        /// `Debug` and `Display` print only a short prefix; use [`Self::expose`] to send it on.
        #[derive(Clone, PartialEq, Eq, Hash)]
        pub struct $name(String);

        impl $name {
            /// Wrap text received from elsewhere (e.g. a token handed to a signaler).
            pub fn new(text: impl Into<String>) -> Self {
                $name(text.into())
            }

            /// The full text: pass it to the engine or to whoever must hold it, never to a log.
            pub fn expose(&self) -> &str {
                &self.0
            }

            fn redacted(&self) -> String {
                let prefix: String = self.0.chars().take(8).collect();
                format!("{}({prefix}…redacted)", $label)
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.redacted())
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.redacted())
            }
        }
    };
}

secret_text!(
    /// A waitpoint token (`kid:hex`): whoever holds it can signal the waitpoint.
    WaitpointToken,
    "WaitpointToken"
);
secret_text!(
    /// A claim grant key, consumed by [`crate::Client::claim_execution`].
    GrantKey,
    "GrantKey"
);

/// The fence of a lease: every lease-scoped call must present it, and fails with
/// [`Error::LeaseConflict`] once another lease replaced it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Lease {
    /// The leased execution.
    pub execution_id: ExecutionId,
    /// The lease's id.
    pub lease_id: Uuid,
    /// The lease's epoch (bumped by every lease end; renewals keep it).
    pub lease_epoch: i64,
}

pub(crate) fn parse_execution_id(text: &str) -> Result<ExecutionId> {
    ExecutionId::parse(text).map_err(|e| Error::Protocol(format!("server returned a bad execution id: {}", e.message)))
}

pub(crate) fn unknown(what: &str, value: &str) -> Error {
    Error::Protocol(format!("unknown {what} '{value}' (is the extension newer than this client?)"))
}

macro_rules! text_enum {
    ($(#[$doc:meta])* $name:ident { $( $(#[$vdoc:meta])* $variant:ident = $text:literal ),* $(,)? }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum $name { $( $(#[$vdoc])* $variant, )* }

        impl $name {
            /// The SQL text form.
            pub fn as_str(self) -> &'static str {
                match self { $( $name::$variant => $text, )* }
            }

            /// Parse the SQL text form.
            pub fn parse(text: &str) -> Result<Self> {
                match text {
                    $( $text => Ok($name::$variant), )*
                    other => Err(unknown(stringify!($name), other)),
                }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

text_enum!(
    /// Why an attempt failed, which decides whether it is retried: every class but `Permanent` is
    /// retried while attempts remain. A worker reports `Transient`, `Permanent`, `Timeout` or
    /// `InfraCrash` ([`crate::Client::fail_with`]); the engine records `InfraCrash` when a lease
    /// expires, `Cancelled` for a cancellation and `Timeout` for a suspension timeout or a deadline.
    FailureClass {
        /// May succeed if tried again (the default).
        Transient = "transient",
        /// Will not succeed: the execution fails at once.
        Permanent = "permanent",
        /// The work took too long.
        Timeout = "timeout",
        /// The worker or its host went away.
        InfraCrash = "infra_crash",
        /// Cancelled (recorded by the engine).
        Cancelled = "cancelled",
    }
);

text_enum!(
    /// What happens when a suspension's timeout passes.
    TimeoutBehavior {
        /// Fail the execution (the default).
        Fail = "fail",
        /// Cancel it.
        Cancel = "cancel",
        /// Mark it expired.
        Expire = "expire",
        /// Resume it, recording a synthetic `timeout` signal as the satisfier.
        AutoResumeWithTimeoutSignal = "auto_resume_with_timeout_signal",
        /// Resume it.
        AutoResume = "auto_resume",
        /// Keep it suspended and record an escalation.
        Escalate = "escalate",
    }
);

text_enum!(
    /// Why an execution suspends.
    ReasonCode {
        /// The default.
        WaitingForSignal = "waiting_for_signal",
        /// A human approval.
        WaitingForApproval = "waiting_for_approval",
        /// A webhook / callback.
        WaitingForCallback = "waiting_for_callback",
        /// A tool call's result.
        WaitingForToolResult = "waiting_for_tool_result",
        /// An operator's review.
        WaitingForOperatorReview = "waiting_for_operator_review",
        /// Paused by policy.
        PausedByPolicy = "paused_by_policy",
        /// Paused by a budget.
        PausedByBudget = "paused_by_budget",
        /// A step boundary.
        StepBoundary = "step_boundary",
        /// Paused by hand.
        ManualPause = "manual_pause",
    }
);

text_enum!(
    /// Who asked for a suspension.
    RequestedBy {
        /// The worker holding the lease (the default).
        Worker = "worker",
        /// An operator.
        Operator = "operator",
        /// A policy.
        Policy = "policy",
        /// The system's timeout policy.
        SystemTimeoutPolicy = "system_timeout_policy",
    }
);

text_enum!(
    /// Result of `ff_suspend`.
    SuspendState {
        /// The execution is suspended; its lease is released.
        Suspended = "suspended",
        /// Signals buffered before the suspend already satisfy the condition: the lease is kept, carry on.
        AlreadySatisfied = "already_satisfied",
    }
);

text_enum!(
    /// Whether a delivered signal was recorded.
    SignalOutcome {
        /// Recorded (see the effect).
        Accepted = "accepted",
        /// A duplicate of an earlier signal (same idempotency key); nothing changed.
        Duplicate = "duplicate",
    }
);

text_enum!(
    /// What an accepted signal did (semantics §6).
    SignalEffect {
        /// Recorded on a pending waitpoint, evaluated when the execution suspends.
        Buffered = "buffered_for_pending_waitpoint",
        /// Root is `Single` and the signal does not match.
        NoOp = "no_op",
        /// Root is composite and the signal does not pass its node's matcher.
        IgnoredMatcherFailed = "signal_ignored_matcher_failed",
        /// The signal's waitpoint is not referenced by the condition.
        IgnoredNotInCondition = "signal_ignored_not_in_condition",
        /// Counted towards the condition, which is not yet satisfied.
        Appended = "appended_to_waitpoint",
        /// Recorded, but it adds nothing new to its Count node (same waitpoint / source again).
        AppendedDuplicate = "appended_to_waitpoint_duplicate",
        /// The condition is now satisfied: the execution resumes.
        Satisfied = "resume_condition_satisfied",
    }
);

text_enum!(
    /// Result of `ff_report_usage`.
    UsageDecision {
        /// Below every limit.
        Admitted = "admitted",
        /// At or over a soft limit.
        SoftBreach = "soft_breach",
        /// At or over a hard limit of a budget that never resets: claims stop admitting executions on
        /// this budget.
        HardBreach = "hard_breach",
        /// At or over a hard limit of budgets that reset (a rate window): come back after
        /// [`UsageReport::retry_after_ms`].
        Throttled = "throttled",
        /// The same dedup key was reported before; not recorded again.
        Duplicate = "duplicate",
    }
);

/// Result of [`crate::Client::create_execution`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CreatedExecution {
    /// The execution's id (`{fp:N}:<uuid>`).
    pub execution_id: ExecutionId,
    /// False when this was an idempotent replay of the same idempotency key in the lane.
    pub created: bool,
}

/// A claim grant from [`crate::Client::claim_for_worker`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClaimGrant {
    /// The execution granted.
    pub execution_id: ExecutionId,
    /// Its partition key (`{fp:N}`).
    pub partition_key: String,
    /// The grant to consume with [`crate::Client::claim_execution`].
    pub grant_key: GrantKey,
    /// When the grant lapses (ms since the epoch).
    pub expires_at_ms: i64,
}

/// A leased execution: what `ff_claim_execution`, `ff_claim_resumed_execution` and `ff_claim` return.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClaimedExecution {
    /// The lease fence.
    pub lease: Lease,
    /// 0-based attempt number.
    pub attempt_index: i32,
    /// The attempt's id.
    pub attempt_id: Uuid,
    /// When the lease lapses unless renewed (ms since the epoch).
    pub lease_expires_at_ms: i64,
    /// True when an interrupted attempt is re-leased (after a resume or a reclaim).
    pub resumed: bool,
    /// The execution's payload.
    pub payload: Option<Vec<u8>>,
    /// The continuation the resumed attempt suspended with (None for a new attempt, or when it gave none).
    pub continuation: Option<String>,
    /// How many steps the execution has stored ([`crate::Client::get_steps`]).
    pub step_count: i32,
}

/// Result of [`crate::Client::renew_lease`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RenewedLease {
    /// The new expiry (ms since the epoch).
    pub lease_expires_at_ms: i64,
    /// The epoch (unchanged by a renewal).
    pub lease_epoch: i64,
}

/// One element's outcome in [`crate::Client::complete_many`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CompleteManyOutcome {
    /// The element's execution id as sent.
    pub execution_id: String,
    /// Completed, or the error that refused this element (the others are unaffected).
    pub outcome: CompleteManyStatus,
}

impl CompleteManyOutcome {
    /// Whether this element completed.
    pub fn is_completed(&self) -> bool {
        self.outcome == CompleteManyStatus::Completed
    }
}

/// What happened to one element of [`crate::Client::complete_many`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CompleteManyStatus {
    /// The lease was completed.
    Completed,
    /// Refused with this error (`LeaseConflict`, `LeaseExpired`, `InvalidInput`, …).
    Refused(crate::ErrorKind),
}

impl CompleteManyStatus {
    /// Parse the SQL text: `completed` or an error's name.
    pub fn parse(text: &str) -> Result<Self> {
        if text == "completed" {
            return Ok(CompleteManyStatus::Completed);
        }
        crate::ErrorKind::ALL
            .into_iter()
            .find(|k| k.name() == text)
            .map(CompleteManyStatus::Refused)
            .ok_or_else(|| unknown("complete_many outcome", text))
    }
}

/// Result of [`crate::Client::fail`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailOutcome {
    /// Another attempt is scheduled at `retry_at_ms`.
    RetryScheduled {
        /// When the execution becomes claimable again (ms since the epoch).
        retry_at_ms: i64,
    },
    /// No attempts left (or not retryable): the execution failed.
    TerminalFailed,
}

/// Result of [`crate::Client::cancel`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CancelOutcome {
    /// Cancelled now.
    Cancelled,
    /// It had already ended; nothing changed.
    AlreadyTerminal,
}

/// A waitpoint and the token that signals it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Waitpoint {
    /// The waitpoint's id.
    pub waitpoint_id: Uuid,
    /// Its key, as the condition names it.
    pub waitpoint_key: String,
    /// The token a signaler must present.
    pub token: WaitpointToken,
}

/// Result of [`crate::Client::suspend`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SuspendOutcome {
    /// Suspended, or already satisfied (lease kept).
    pub state: SuspendState,
    /// The suspension's id.
    pub suspension_id: Uuid,
    /// The bound waitpoints, primary first.
    pub waitpoints: Vec<Waitpoint>,
}

/// Result of [`crate::Client::deliver_signal`] and [`crate::Client::deliver_approval_signal`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DeliveredSignal {
    /// Accepted or duplicate.
    pub outcome: SignalOutcome,
    /// The signal's id (the first one's, for a duplicate).
    pub signal_id: Uuid,
    /// What it did; `None` for a duplicate.
    pub effect: Option<SignalEffect>,
}

impl DeliveredSignal {
    /// Whether this signal resumed the execution.
    pub fn resumed(&self) -> bool {
        self.effect == Some(SignalEffect::Satisfied)
    }
}

/// A satisfier signal of the latest suspension ([`crate::Client::observe_signals`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObservedSignal {
    /// The signal's id.
    pub signal_id: Uuid,
    /// The waitpoint key it arrived on.
    pub waitpoint_key: String,
    /// Its name.
    pub signal_name: String,
    /// Its category (`approval`, …).
    pub signal_category: String,
    /// Who sent it (kind).
    pub source_type: String,
    /// Who sent it (identity).
    pub source_identity: String,
    /// The sender's correlation id.
    pub correlation_id: Option<String>,
    /// When it was accepted (ms since the epoch).
    pub accepted_at_ms: i64,
    /// Its payload.
    pub payload: Option<Vec<u8>>,
}

/// An open suspension ([`crate::Client::list_suspended`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SuspendedExecution {
    /// The execution (keyset cursor for the next page).
    pub execution_id: ExecutionId,
    /// Its lane.
    pub lane_id: String,
    /// The suspension's id.
    pub suspension_id: Uuid,
    /// When it suspended (ms since the epoch).
    pub suspended_at_ms: i64,
    /// When it times out, if ever.
    pub timeout_at_ms: Option<i64>,
    /// Why it suspended.
    pub reason_code: ReasonCode,
    /// What happens at the timeout.
    pub timeout_behavior: TimeoutBehavior,
}

/// A waitpoint of an execution ([`crate::Client::list_pending_waitpoints`]); never the token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WaitpointInfo {
    /// The waitpoint's id (keyset cursor for the next page).
    pub waitpoint_id: Uuid,
    /// Its key.
    pub waitpoint_key: String,
    /// Pending, active or closed.
    pub state: WaitpointState,
    /// Created (ms since the epoch).
    pub created_at_ms: i64,
    /// Bound to a suspension (ms since the epoch).
    pub activated_at_ms: Option<i64>,
    /// Expiry (ms since the epoch).
    pub expires_at_ms: Option<i64>,
    /// The signal names the condition needs on it (empty for wildcards).
    pub required_signal_names: Vec<String>,
    /// The key id that signs its token.
    pub token_kid: String,
    /// First 16 hex digits of the token's digest, to tell tokens apart in logs.
    pub token_fingerprint: String,
}

/// Result of [`crate::Client::create_budget`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreatedBudget {
    /// The budget's id.
    pub budget_id: String,
    /// False when it existed already.
    pub created: bool,
}

/// Result of [`crate::Client::report_usage`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UsageReport {
    /// The decision after recording the usage.
    pub decision: UsageDecision,
    /// The breached dimension, for a breach.
    pub dimension: Option<String>,
    /// For [`UsageDecision::Throttled`]: how long until the window resets (ms).
    pub retry_after_ms: Option<i64>,
}

/// One dimension of [`crate::Client::budget_status`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BudgetDimension {
    /// The dimension's name (`tokens`, `usd_micros`, …).
    pub dimension: String,
    /// Usage so far.
    pub used: i64,
    /// Soft limit, if any.
    pub soft_limit: Option<i64>,
    /// Hard limit, if any.
    pub hard_limit: Option<i64>,
}

/// One task of [`crate::Client::tick`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TickTask {
    /// The task.
    pub task: ScannerTask,
    /// Rows it processed.
    pub processed: i32,
}

/// One table of [`crate::Client::prune_events`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PrunedEvents {
    /// The event table.
    pub table_name: String,
    /// Rows deleted.
    pub deleted: i64,
}

/// Result of [`crate::Client::seed_hmac`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeedOutcome {
    /// Seeded now, or already seeded.
    pub outcome: SeedState,
    /// The active key's id.
    pub kid: String,
    /// Whether the given secret equals the stored one (None when seeded or no secret given).
    pub same_secret: Option<bool>,
}

/// Result of [`crate::Client::rotate_hmac`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RotateOutcome {
    /// Rotated, or nothing to do.
    pub outcome: RotateState,
    /// The key that was active before.
    pub previous_kid: Option<String>,
    /// The key active now.
    pub new_kid: String,
    /// Retired keys past their grace window that this rotation deleted.
    pub gc_count: i32,
}

/// One row of [`crate::Client::hmac_kids`]; never carries the secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyInfo {
    /// The key's id.
    pub kid: String,
    /// Whether it signs new tokens.
    pub active: bool,
    /// Created (ms since the epoch).
    pub created_at_ms: i64,
    /// Retired (ms since the epoch).
    pub rotated_at_ms: Option<i64>,
    /// End of its grace window (ms since the epoch).
    pub expires_at_ms: Option<i64>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_redact_themselves() {
        let t = WaitpointToken::new("k1:00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff");
        for shown in [format!("{t}"), format!("{t:?}"), format!("{:?}", Some(&t))] {
            assert!(!shown.contains("778899"), "{shown}");
            assert!(shown.contains("redacted"), "{shown}");
        }
        assert!(t.expose().ends_with("ccddeeff"));
        let g = GrantKey::new("grant-secret-0123456789abcdef");
        assert!(!format!("{g:?}").contains("0123456789"));
    }

    #[test]
    fn enums_round_trip_their_sql_text() {
        for b in [TimeoutBehavior::Fail, TimeoutBehavior::AutoResumeWithTimeoutSignal, TimeoutBehavior::Escalate] {
            assert_eq!(TimeoutBehavior::parse(b.as_str()).unwrap(), b);
        }
        assert_eq!(SignalEffect::parse("resume_condition_satisfied").unwrap(), SignalEffect::Satisfied);
        assert!(matches!(SignalEffect::parse("nonsense"), Err(Error::Protocol(_))));
    }
}

text_enum!(
    /// Result of `ff_seed_hmac`.
    SeedState {
        /// The key was installed.
        Seeded = "seeded",
        /// A key with this id exists already (see `same_secret`).
        AlreadySeeded = "already_seeded",
    }
);

text_enum!(
    /// Result of `ff_rotate_hmac`.
    RotateState {
        /// `new_kid` is the signing key now.
        Rotated = "rotated",
        /// `new_kid` was already the signing key.
        Noop = "noop",
    }
);

text_enum!(
    /// A waitpoint's state.
    WaitpointState {
        /// Created ahead of a suspend; signals are buffered.
        Pending = "pending",
        /// Bound to the open suspension.
        Active = "active",
        /// Closed (resumed, cancelled, expired, never committed).
        Closed = "closed",
    }
);

text_enum!(
    /// The scanner tasks of `ff_tick`, each also its own SQL function (`ff_<name>`).
    ScannerTask {
        /// `ff_promote_delayed`: delayed executions whose time came become claimable.
        PromoteDelayed = "promote_delayed",
        /// `ff_expire_grants`: unconsumed claim grants lapse.
        ExpireGrants = "expire_grants",
        /// `ff_expire_leases`: expired leases are reclaimed (or failed after `ff_engine.max_reclaims`).
        ExpireLeases = "expire_leases",
        /// `ff_expire_suspensions`: suspension timeouts apply their behaviour.
        ExpireSuspensions = "expire_suspensions",
        /// `ff_expire_deadlines`: executions past their deadline expire.
        ExpireDeadlines = "expire_deadlines",
        /// `ff_expire_pending_waitpoints`: unused pending waitpoints close.
        ExpirePendingWaitpoints = "expire_pending_waitpoints",
        /// `ff_gc_dedup`: expired dedup rows are deleted.
        GcDedup = "gc_dedup",
        /// `ff_gc_keys`: retired keys past their grace window are deleted.
        GcKeys = "gc_keys",
        /// `ff_prune_by_retention`: finished executions past their retention setting are deleted.
        PruneExecutions = "prune_executions",
        /// `ff_verify_claim_starts`: each (lane, priority)'s claim start is lowered to its true head
        /// (processed: how many were lowered).
        VerifyClaimStarts = "verify_claim_starts",
    }
);

text_enum!(
    /// An execution's public state.
    PublicState {
        /// Queued, claimable.
        Waiting = "waiting",
        /// Not claimable before a time (delay or retry backoff).
        Delayed = "delayed",
        /// Held back by a quota.
        RateLimited = "rate_limited",
        /// Waiting for child executions.
        WaitingChildren = "waiting_children",
        /// Running under a lease.
        Active = "active",
        /// Suspended on a resume condition.
        Suspended = "suspended",
        /// Resumable.
        Resumable = "resumable",
        /// Finished successfully.
        Completed = "completed",
        /// Finished with a failure.
        Failed = "failed",
        /// Cancelled.
        Cancelled = "cancelled",
        /// Expired (deadline or suspension timeout).
        Expired = "expired",
        /// Skipped.
        Skipped = "skipped",
    }
);

impl PublicState {
    /// Whether the execution has finished (completed, failed, cancelled, expired or skipped).
    pub fn is_terminal(self) -> bool {
        matches!(self, PublicState::Completed | PublicState::Failed | PublicState::Cancelled | PublicState::Expired | PublicState::Skipped)
    }
}

text_enum!(
    /// What `ff_set_step` did.
    StepOutcome {
        /// This call stored the value.
        Stored = "stored",
        /// A value was already stored under that name (the first write wins); nothing changed.
        Exists = "exists",
    }
);

text_enum!(
    /// The kind of an output frame.
    FrameKind {
        /// Standard output.
        Stdout = "stdout",
        /// Standard error.
        Stderr = "stderr",
        /// A structured event.
        Event = "event",
        /// Opaque bytes.
        Blob = "blob",
    }
);

text_enum!(
    /// A flow's state, derived from its members when read.
    FlowState {
        /// A member has not ended (or there is none yet).
        Open = "open",
        /// Every member completed.
        Completed = "completed",
        /// Every member ended, not all completed.
        Failed = "failed",
        /// `ff_cancel_flow` ran.
        Cancelled = "cancelled",
    }
);

text_enum!(
    /// What `ff_cancel_flow` does to the members.
    CancelFlowPolicy {
        /// Only the flow: it takes no new members; the members carry on.
        FlowOnly = "flow_only",
        /// Every member not terminal is cancelled; a leased one's worker is fenced off.
        CancelAll = "cancel_all",
        /// The members not leased are cancelled; the leased ones run to their end.
        CancelPending = "cancel_pending",
    }
);

/// How [`crate::Client::claim_with`] claims: how long it waits for work on an empty lane.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ClaimPolicy {
    /// Longest wait for work (zero: return at once, as [`crate::Client::claim`]).
    pub max_wait: std::time::Duration,
}

impl ClaimPolicy {
    /// Wait up to `max_wait` for work.
    pub fn max_wait(max_wait: std::time::Duration) -> Self {
        ClaimPolicy { max_wait }
    }
}
