//! Execution lifecycle (semantics §2–§3) as pure functions: the five state columns for every
//! transition, the fence check, attempt numbering on claim, and retry backoff. The SPI layer writes
//! exactly what these return.

use crate::error::{ErrorKind, WfError, WfResult};

/// The canonical literals of every state column, in one place. Rust code names states through these;
/// the SQL files name them as literals only where the planner needs a constant (partial-index
/// predicates, CASE arms), and a test of the extension checks every such literal, and the schema's
/// state domains, against these lists.
pub mod vocabulary {
    macro_rules! literals {
        ($(#[$doc:meta])* $module:ident: $($name:ident = $value:literal),* $(,)?) => {
            $(#[$doc])*
            pub mod $module {
                $(pub const $name: &str = $value;)*
                /// Every literal of the column, in the schema's order.
                pub const ALL: &[&str] = &[$($value),*];
            }
        };
    }
    literals!(
        /// `lifecycle_phase`.
        phase: SUBMITTED = "submitted", RUNNABLE = "runnable", ACTIVE = "active", SUSPENDED = "suspended", TERMINAL = "terminal"
    );
    literals!(
        /// `ownership_state`.
        ownership: UNOWNED = "unowned", LEASED = "leased", LEASE_EXPIRED_RECLAIMABLE = "lease_expired_reclaimable",
        LEASE_REVOKED = "lease_revoked"
    );
    literals!(
        /// `eligibility_state`.
        eligibility: ELIGIBLE_NOW = "eligible_now", NOT_ELIGIBLE_UNTIL_TIME = "not_eligible_until_time",
        BLOCKED_BY_DEPENDENCIES = "blocked_by_dependencies", BLOCKED_BY_BUDGET = "blocked_by_budget",
        BLOCKED_BY_QUOTA = "blocked_by_quota", BLOCKED_BY_ROUTE = "blocked_by_route",
        BLOCKED_BY_LANE_STATE = "blocked_by_lane_state", BLOCKED_BY_OPERATOR = "blocked_by_operator",
        NOT_APPLICABLE = "not_applicable"
    );
    literals!(
        /// `attempt_state`.
        attempt: NONE = "none", PENDING_FIRST_ATTEMPT = "pending_first_attempt", RUNNING_ATTEMPT = "running_attempt",
        ATTEMPT_INTERRUPTED = "attempt_interrupted", PENDING_RETRY_ATTEMPT = "pending_retry_attempt",
        PENDING_REPLAY_ATTEMPT = "pending_replay_attempt", ATTEMPT_TERMINAL = "attempt_terminal"
    );
    literals!(
        /// `public_state`.
        public: WAITING = "waiting", DELAYED = "delayed", RATE_LIMITED = "rate_limited", WAITING_CHILDREN = "waiting_children",
        ACTIVE = "active", SUSPENDED = "suspended", RESUMABLE = "resumable", COMPLETED = "completed", FAILED = "failed",
        CANCELLED = "cancelled", EXPIRED = "expired", SKIPPED = "skipped"
    );
    literals!(
        /// `ff_suspension.state`.
        suspension: OPEN = "open", CLOSED = "closed"
    );
    literals!(
        /// `ff_waitpoint.state`.
        waitpoint: PENDING = "pending", ACTIVE = "active", CLOSED = "closed"
    );
    literals!(
        /// `failure_class` of an attempt and of a failure's completion event: why it failed.
        failure_class: TRANSIENT = "transient", PERMANENT = "permanent", INFRA_CRASH = "infra_crash", TIMEOUT = "timeout",
        CANCELLED = "cancelled"
    );
}
pub use vocabulary::{attempt, eligibility, failure_class, ownership, phase, public, suspension, waitpoint};

/// The five state columns of an execution, as their canonical literals.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct States {
    pub lifecycle_phase: &'static str,
    pub ownership_state: &'static str,
    pub eligibility_state: &'static str,
    pub attempt_state: &'static str,
    pub public_state: &'static str,
}

const fn st(l: &'static str, o: &'static str, e: &'static str, a: &'static str, p: &'static str) -> States {
    States { lifecycle_phase: l, ownership_state: o, eligibility_state: e, attempt_state: a, public_state: p }
}

/// Create: delayed when `delay_until_ms` is in the future.
pub fn created(delayed: bool) -> States {
    if delayed {
        st(phase::RUNNABLE, ownership::UNOWNED, eligibility::NOT_ELIGIBLE_UNTIL_TIME, attempt::PENDING_FIRST_ATTEMPT, public::DELAYED)
    } else {
        st(phase::RUNNABLE, ownership::UNOWNED, eligibility::ELIGIBLE_NOW, attempt::PENDING_FIRST_ATTEMPT, public::WAITING)
    }
}

/// A grant consumed: the execution runs under a new lease.
pub const CLAIMED: States = st(phase::ACTIVE, ownership::LEASED, eligibility::NOT_APPLICABLE, attempt::RUNNING_ATTEMPT, public::ACTIVE);
/// Complete.
pub const COMPLETED: States =
    st(phase::TERMINAL, ownership::UNOWNED, eligibility::NOT_APPLICABLE, attempt::ATTEMPT_TERMINAL, public::COMPLETED);
/// Fail with no retries left.
pub const FAILED: States = st(phase::TERMINAL, ownership::UNOWNED, eligibility::NOT_APPLICABLE, attempt::ATTEMPT_TERMINAL, public::FAILED);
/// Suspension timed out with behaviour `expire`.
pub const EXPIRED: States =
    st(phase::TERMINAL, ownership::UNOWNED, eligibility::NOT_APPLICABLE, attempt::ATTEMPT_TERMINAL, public::EXPIRED);
/// Cancel.
pub const CANCELLED: States =
    st(phase::TERMINAL, ownership::UNOWNED, eligibility::NOT_APPLICABLE, attempt::ATTEMPT_TERMINAL, public::CANCELLED);

/// Fail with retries left: delayed until the backoff passes (or waiting at once with zero backoff).
pub fn retry_scheduled(delayed: bool) -> States {
    if delayed {
        st(phase::RUNNABLE, ownership::UNOWNED, eligibility::NOT_ELIGIBLE_UNTIL_TIME, attempt::PENDING_RETRY_ATTEMPT, public::DELAYED)
    } else {
        st(phase::RUNNABLE, ownership::UNOWNED, eligibility::ELIGIBLE_NOW, attempt::PENDING_RETRY_ATTEMPT, public::WAITING)
    }
}

/// Suspend: the lease ends, the attempt is interrupted until the condition is satisfied.
pub const SUSPENDED: States =
    st(phase::SUSPENDED, ownership::UNOWNED, eligibility::NOT_APPLICABLE, attempt::ATTEMPT_INTERRUPTED, public::SUSPENDED);

/// Condition satisfied (or operator resume): back to the lane as an interrupted attempt.
pub fn resumed(delayed: bool) -> States {
    if delayed {
        st(phase::RUNNABLE, ownership::UNOWNED, eligibility::NOT_ELIGIBLE_UNTIL_TIME, attempt::ATTEMPT_INTERRUPTED, public::DELAYED)
    } else {
        st(phase::RUNNABLE, ownership::UNOWNED, eligibility::ELIGIBLE_NOW, attempt::ATTEMPT_INTERRUPTED, public::WAITING)
    }
}

/// Lease expiry: back to the lane as an interrupted attempt.
pub const LEASE_EXPIRED_RECLAIMABLE: States =
    st(phase::RUNNABLE, ownership::UNOWNED, eligibility::ELIGIBLE_NOW, attempt::ATTEMPT_INTERRUPTED, public::WAITING);

/// Operator lease revocation: the lease ends at once and the interrupted attempt waits for a claimer;
/// `lease_revoked` until then, so the revocation shows.
pub const REVOKED: States =
    st(phase::RUNNABLE, ownership::LEASE_REVOKED, eligibility::ELIGIBLE_NOW, attempt::ATTEMPT_INTERRUPTED, public::WAITING);

/// Operator replay of a failed, cancelled or expired execution: a fresh attempt, claimable now.
pub const REPLAYED: States =
    st(phase::RUNNABLE, ownership::UNOWNED, eligibility::ELIGIBLE_NOW, attempt::PENDING_REPLAY_ATTEMPT, public::WAITING);

/// The public states of a finished execution that retention prunes.
pub const PRUNABLE: [&str; 4] = [public::COMPLETED, public::FAILED, public::CANCELLED, public::EXPIRED];

/// Whether an execution in `public_state` may be replayed (terminal, and not completed or skipped).
pub fn replayable(public_state: &str) -> bool {
    PRUNABLE[1..].contains(&public_state)
}

/// Whether an operator may revoke the lease of an execution seen as (`view`): it must be active and
/// leased, and, when the operator names the epoch it saw, still at that epoch (`lease_conflict`
/// otherwise, like a worker's stale fence).
pub fn check_revocable(view: &LeaseView, expected_epoch: Option<i64>) -> WfResult<()> {
    if expected_epoch.is_some_and(|e| e != view.lease_epoch) {
        return Err(WfError::new(ErrorKind::LeaseConflict, "the lease epoch does not match the current lease")
            .with_detail(format!("current lease_epoch {}", view.lease_epoch)));
    }
    if view.lifecycle_phase != phase::ACTIVE || view.ownership_state != ownership::LEASED {
        return Err(not_active(view));
    }
    Ok(())
}

fn not_active(view: &LeaseView) -> WfError {
    WfError::new(ErrorKind::ExecutionNotActive, format!("execution is {} / {}", view.lifecycle_phase, view.ownership_state))
}

/// The attempt a claim opens, given the execution's attempt state and current index.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClaimedAttempt {
    pub attempt_index: i32,
    /// A new attempt row (fresh or retry) rather than re-leasing an interrupted attempt.
    pub new_attempt: bool,
    /// Re-leasing an interrupted attempt (after suspend/resume or lease expiry).
    pub resumed: bool,
}

pub fn attempt_for_claim(attempt_state: &str, attempt_index: i32) -> WfResult<ClaimedAttempt> {
    match attempt_state {
        attempt::PENDING_FIRST_ATTEMPT => Ok(ClaimedAttempt { attempt_index: 0, new_attempt: true, resumed: false }),
        attempt::PENDING_RETRY_ATTEMPT | attempt::PENDING_REPLAY_ATTEMPT => Ok(ClaimedAttempt {
            attempt_index: attempt_index.checked_add(1).ok_or_else(|| WfError::corruption("attempt index overflow"))?,
            new_attempt: true,
            resumed: false,
        }),
        attempt::ATTEMPT_INTERRUPTED => Ok(ClaimedAttempt { attempt_index, new_attempt: false, resumed: true }),
        other => Err(WfError::corruption(format!("execution in attempt state {other} cannot be claimed"))),
    }
}

/// The current lease of an execution, as the fence check needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeaseView {
    pub lease_id: Option<[u8; 16]>,
    pub lease_epoch: i64,
    pub lease_expires_at_ms: Option<i64>,
    pub lifecycle_phase: String,
    pub ownership_state: String,
}

/// Semantics §3, in this order: fence differs → lease_conflict; lease expired → lease_expired;
/// not active/leased → execution_not_active.
pub fn check_fence(view: &LeaseView, lease_id: &[u8; 16], lease_epoch: i64, now_ms: i64) -> WfResult<()> {
    if view.lease_id.as_ref() != Some(lease_id) || view.lease_epoch != lease_epoch {
        return Err(WfError::new(ErrorKind::LeaseConflict, "the lease id or epoch does not match the current lease")
            .with_detail(format!("current lease_epoch {}", view.lease_epoch)));
    }
    if view.lease_expires_at_ms.is_some_and(|e| e <= now_ms) {
        return Err(WfError::new(ErrorKind::LeaseExpired, "the lease has expired"));
    }
    if view.lifecycle_phase != phase::ACTIVE || view.ownership_state != ownership::LEASED {
        return Err(not_active(view));
    }
    Ok(())
}

/// Longest retry delay.
pub const MAX_RETRY_DELAY_MS: i64 = 24 * 3_600_000;

/// Exponential backoff: `retry_backoff_ms × 2^failed_attempt_index`, capped at 24 h, never overflowing.
pub fn retry_delay_ms(retry_backoff_ms: i64, failed_attempt_index: i32) -> i64 {
    if retry_backoff_ms <= 0 {
        return 0;
    }
    let shift = failed_attempt_index.clamp(0, 62) as u32;
    retry_backoff_ms.checked_mul(1i64 << shift).map_or(MAX_RETRY_DELAY_MS, |d| d.min(MAX_RETRY_DELAY_MS))
}

/// Whether a failure is retried: retryable and attempts left.
pub fn retries_left(retryable: bool, attempt_index: i32, max_attempts: i32) -> bool {
    retryable && (attempt_index as i64) + 1 < max_attempts as i64
}

/// The failure class `ff_fail` records: the caller's (`transient`, `permanent`, `timeout` or
/// `infra_crash`; `cancelled` is the engine's, recorded by a cancellation), or when none is given
/// `transient`, and `permanent` when the caller said the failure is not retryable.
pub fn failure_class_of(given: Option<&str>, retryable: bool) -> WfResult<&'static str> {
    match given {
        None if retryable => Ok(failure_class::TRANSIENT),
        None => Ok(failure_class::PERMANENT),
        Some(c) => [failure_class::TRANSIENT, failure_class::PERMANENT, failure_class::TIMEOUT, failure_class::INFRA_CRASH]
            .into_iter()
            .find(|k| *k == c)
            .ok_or_else(|| {
                WfError::invalid_input(
                    "invalid_failure_class",
                    "failure_class must be transient, permanent, timeout or infra_crash (cancelled is recorded by ff_cancel)",
                )
            }),
    }
}

/// Whether a failure of this class is retried: every class but `permanent`, while attempts remain
/// and the caller did not say `retryable => false`.
pub fn retried(class: &str, retryable: bool, attempt_index: i32, max_attempts: i32) -> bool {
    class != failure_class::PERMANENT && retries_left(retryable, attempt_index, max_attempts)
}

/// Longest failure detail, in bytes.
pub const MAX_FAILURE_DETAIL_BYTES: usize = 65_536;

/// A required duration argument in milliseconds, from `min` (0 or 1) to 2^53 − 1.
pub fn required_ms(value: Option<i64>, field: &str, min: i64) -> WfResult<i64> {
    let v = crate::error::required(value, field)?;
    validate_ms(v, field, min)?;
    Ok(v)
}

/// Validate a duration argument in milliseconds: from `min` (0 or 1) to 2^53 − 1.
pub fn validate_ms(value: i64, field: &str, min: i64) -> WfResult<()> {
    if !(min..=crate::keys::MAX_GRACE_MS).contains(&value) {
        return Err(WfError::invalid_input(&format!("invalid_{field}"), format!("{field} must be between {min} and 2^53-1")));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transition_table_matches_semantics() {
        assert_eq!(
            created(false),
            st(phase::RUNNABLE, ownership::UNOWNED, eligibility::ELIGIBLE_NOW, attempt::PENDING_FIRST_ATTEMPT, public::WAITING)
        );
        assert_eq!(created(true).public_state, "delayed");
        assert_eq!(created(true).eligibility_state, "not_eligible_until_time");
        assert_eq!(CLAIMED, st(phase::ACTIVE, ownership::LEASED, eligibility::NOT_APPLICABLE, attempt::RUNNING_ATTEMPT, public::ACTIVE));
        assert_eq!(COMPLETED.public_state, "completed");
        assert_eq!(FAILED.public_state, "failed");
        assert_eq!(CANCELLED.public_state, "cancelled");
        assert_eq!(retry_scheduled(true).attempt_state, "pending_retry_attempt");
        assert_eq!(retry_scheduled(false).public_state, "waiting");
        assert_eq!(LEASE_EXPIRED_RECLAIMABLE.attempt_state, "attempt_interrupted");
    }

    #[test]
    fn failure_classes_decide_retries() {
        assert_eq!(failure_class_of(None, true).unwrap(), "transient");
        assert_eq!(failure_class_of(None, false).unwrap(), "permanent");
        assert_eq!(failure_class_of(Some("timeout"), true).unwrap(), "timeout");
        assert_eq!(failure_class_of(Some("cancelled"), true).unwrap_err().detail.as_deref(), Some("invalid_failure_class"));
        assert_eq!(failure_class_of(Some("Transient"), true).unwrap_err().detail.as_deref(), Some("invalid_failure_class"));
        assert!(retried("transient", true, 0, 3));
        assert!(retried("timeout", true, 1, 3));
        assert!(retried("infra_crash", true, 1, 3));
        assert!(!retried("transient", true, 2, 3));
        assert!(!retried("permanent", true, 0, 3));
        assert!(!retried("transient", false, 0, 3));
    }

    #[test]
    fn attempts_on_claim() {
        assert_eq!(
            attempt_for_claim("pending_first_attempt", 0).unwrap(),
            ClaimedAttempt { attempt_index: 0, new_attempt: true, resumed: false }
        );
        assert_eq!(
            attempt_for_claim("pending_retry_attempt", 2).unwrap(),
            ClaimedAttempt { attempt_index: 3, new_attempt: true, resumed: false }
        );
        assert_eq!(
            attempt_for_claim("attempt_interrupted", 2).unwrap(),
            ClaimedAttempt { attempt_index: 2, new_attempt: false, resumed: true }
        );
        assert!(attempt_for_claim("running_attempt", 0).is_err());
        assert!(attempt_for_claim("pending_retry_attempt", i32::MAX).is_err());
    }

    fn view(epoch: i64, expires: i64, phase: &str) -> LeaseView {
        LeaseView {
            lease_id: Some([1; 16]),
            lease_epoch: epoch,
            lease_expires_at_ms: Some(expires),
            lifecycle_phase: phase.into(),
            ownership_state: "leased".into(),
        }
    }

    #[test]
    fn revocation_needs_a_current_lease() {
        let v = view(3, 100, "active");
        assert!(check_revocable(&v, None).is_ok());
        assert!(check_revocable(&v, Some(3)).is_ok());
        assert_eq!(check_revocable(&v, Some(2)).unwrap_err().kind, ErrorKind::LeaseConflict);
        assert_eq!(check_revocable(&view(3, 100, "terminal"), None).unwrap_err().kind, ErrorKind::ExecutionNotActive);
        assert!(replayable("failed") && replayable("expired") && !replayable("completed") && !replayable("waiting"));
    }

    #[test]
    fn fence_order() {
        let v = view(3, 100, "active");
        assert!(check_fence(&v, &[1; 16], 3, 50).is_ok());
        assert_eq!(check_fence(&v, &[2; 16], 3, 50).unwrap_err().kind, ErrorKind::LeaseConflict);
        assert_eq!(check_fence(&v, &[1; 16], 2, 50).unwrap_err().kind, ErrorKind::LeaseConflict);
        // Conflict wins over expiry.
        assert_eq!(check_fence(&v, &[1; 16], 2, 500).unwrap_err().kind, ErrorKind::LeaseConflict);
        assert_eq!(check_fence(&v, &[1; 16], 3, 100).unwrap_err().kind, ErrorKind::LeaseExpired);
        assert_eq!(check_fence(&view(3, 100, "suspended"), &[1; 16], 3, 50).unwrap_err().kind, ErrorKind::ExecutionNotActive);
        let mut none = v.clone();
        none.lease_id = None;
        assert_eq!(check_fence(&none, &[1; 16], 3, 50).unwrap_err().kind, ErrorKind::LeaseConflict);
    }

    #[test]
    fn backoff_arithmetic() {
        assert_eq!(retry_delay_ms(1000, 0), 1000);
        assert_eq!(retry_delay_ms(1000, 1), 2000);
        assert_eq!(retry_delay_ms(1000, 3), 8000);
        assert_eq!(retry_delay_ms(0, 5), 0);
        assert_eq!(retry_delay_ms(1000, 40), MAX_RETRY_DELAY_MS);
        assert_eq!(retry_delay_ms(i64::MAX, 1), MAX_RETRY_DELAY_MS);
        assert_eq!(retry_delay_ms(1000, -3), 1000);
        assert_eq!(retry_delay_ms(1000, i32::MAX), MAX_RETRY_DELAY_MS);
    }

    #[test]
    fn retry_decision() {
        assert!(retries_left(true, 0, 2));
        assert!(!retries_left(true, 1, 2));
        assert!(!retries_left(false, 0, 5));
        assert!(!retries_left(true, 0, 1));
        assert!(!retries_left(true, i32::MAX, i32::MAX));
    }

    proptest::proptest! {
        #[test]
        fn backoff_is_monotone_and_bounded(b in 0i64..10_000_000, i in 0i32..100) {
            let d = retry_delay_ms(b, i);
            proptest::prop_assert!((0..=MAX_RETRY_DELAY_MS).contains(&d));
            proptest::prop_assert!(retry_delay_ms(b, i + 1) >= d);
        }
    }
}
