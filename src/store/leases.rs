//! Lease operations: renew, complete (one and many), fail, cancel. Each checks the fence (semantics
//! §3) under the execution row lock and changes the state and writes its outbox events (one table
//! per statement: crate::store::events); `complete` first ends the lease with the fence in the
//! execution's update and locks only when it does not hold (to say why). Every lease end bumps the
//! epoch.

use crate::batch;
use crate::error::{required, ErrorKind, WfError, WfResult};
use crate::ids::ExecutionId;
use crate::lifecycle::{self, States};
use crate::postgres::args::{ex_key, parse_execution_id, to_pg_uuid};
use crate::postgres::notify::{notify, wake, Channel};
use crate::postgres::statement::now_ms;
use crate::statement;
use crate::store::events;
use crate::store::executions::lock_leased;
use pgrx::prelude::*;
use pgrx::spi::SpiClient;

statement! {
    mod renew = "leases/renew.sql";
    args<'a> { partition_key: i16, execution_id: pgrx::Uuid, lease_expires_at_ms: i64, now_ms: i64, execution_ref: &'a str }
    row { lease_epoch: i64 }
}
statement! {
    /// The lease end as one statement, on 0.1.0's schema only (events::by_table).
    mod end_lease = "releases/0.1.0/leases/end_lease.sql";
    args<'a> {
        partition_key: i16, execution_id: pgrx::Uuid, states: States, result: Option<&'a [u8]>, eligible_at_ms: Option<i64>,
        completed_at_ms: Option<i64>, error_message: Option<&'a str>, now_ms: i64, completion_outcome: Option<&'a str>,
        attempt_outcome: &'a str, execution_ref: &'a str, lease_id: Option<pgrx::Uuid>, lease_epoch: Option<i64>,
        failure_class: Option<&'a str>, failure_detail: Option<&'a [u8]>,
    }
    row { ended: i64 }
}
statement! {
    mod renew_row = "leases/renew_row.sql";
    args { partition_key: i16, execution_id: pgrx::Uuid, lease_expires_at_ms: i64, now_ms: i64 }
    row { namespace: Option<String>, lease_id: Option<pgrx::Uuid>, lease_epoch: i64 }
}
statement! {
    mod end_lease_row = "leases/end_lease_row.sql";
    args<'a> {
        partition_key: i16, execution_id: pgrx::Uuid, states: States, result: Option<&'a [u8]>, eligible_at_ms: Option<i64>,
        completed_at_ms: Option<i64>, error_message: Option<&'a str>, now_ms: i64, lease_id: Option<pgrx::Uuid>,
        lease_epoch: Option<i64>,
    }
    row { namespace: Option<String>, lease_epoch: i64, attempt_index: i32 }
}
statement! {
    mod end_attempt = "leases/end_attempt.sql";
    args<'a> {
        partition_key: i16, execution_id: pgrx::Uuid, attempt_index: i32, now_ms: i64, attempt_outcome: &'a str,
        error_message: Option<&'a str>, failure_class: Option<&'a str>, failure_detail: Option<&'a [u8]>,
    }
    row {}
}
statement! {
    pub mod lock_any = "leases/lock_any.sql";
    args { partition_key: i16, execution_id: pgrx::Uuid }
    row { lifecycle_phase: String, ownership_state: String, lane_id: String }
}
statement! {
    mod terminate = "leases/terminate.sql", on 0.1.0 schema "releases/0.1.0/leases/terminate.sql";
    args<'a> {
        partition_key: i16, execution_id: pgrx::Uuid, states: States, now_ms: i64, reason: &'a str, close_reason: &'a str,
        outcome: &'a str, execution_ref: &'a str, was_leased: bool, failure_class: Option<&'a str>,
    }
    row {}
}

struct LeaseEnd<'a> {
    states: States,
    result: Option<&'a [u8]>,
    eligible_at_ms: Option<i64>,
    completed_at_ms: Option<i64>,
    error: Option<&'a str>,
    completion_outcome: Option<&'static str>,
    attempt_outcome: &'static str,
    /// A failure's class and detail (on the attempt; the class on the completion event too).
    failure_class: Option<&'static str>,
    failure_detail: Option<&'a [u8]>,
    /// The caller's fence: nothing is written unless it holds.
    lease_id: Option<pgrx::Uuid>,
    lease_epoch: Option<i64>,
}

/// Run `end_lease`; whether the fence held and the lease was ended. The caller wakes the listeners
/// (once per call, however many leases it ended).
fn end_lease(client: &SpiClient<'_>, id: &ExecutionId, end: &LeaseEnd<'_>, now: i64) -> WfResult<bool> {
    if events::by_table(client)? {
        return end_lease_by_table(client, id, end, now);
    }
    let (partition_key, execution_id) = ex_key(id);
    let execution_ref = id.to_string();
    let args = end_lease::Args {
        partition_key,
        execution_id,
        states: end.states,
        result: end.result,
        eligible_at_ms: end.eligible_at_ms,
        completed_at_ms: end.completed_at_ms,
        error_message: end.error,
        now_ms: now,
        completion_outcome: end.completion_outcome,
        attempt_outcome: end.attempt_outcome,
        execution_ref: &execution_ref,
        lease_id: end.lease_id,
        lease_epoch: end.lease_epoch,
        failure_class: end.failure_class,
        failure_detail: end.failure_detail,
    };
    Ok(end_lease::one(client, args)?.ended > 0)
}

/// `end_lease` one table per statement (events::by_table): the same rows.
fn end_lease_by_table(client: &SpiClient<'_>, id: &ExecutionId, end: &LeaseEnd<'_>, now: i64) -> WfResult<bool> {
    let (partition_key, execution_id) = ex_key(id);
    let row = end_lease_row::Args {
        partition_key,
        execution_id,
        states: end.states,
        result: end.result,
        eligible_at_ms: end.eligible_at_ms,
        completed_at_ms: end.completed_at_ms,
        error_message: end.error,
        now_ms: now,
        lease_id: end.lease_id,
        lease_epoch: end.lease_epoch,
    };
    let Some(ended) = end_lease_row::optional(client, row)? else { return Ok(false) };
    let attempt = end_attempt::Args {
        partition_key,
        execution_id,
        attempt_index: ended.attempt_index,
        now_ms: now,
        attempt_outcome: end.attempt_outcome,
        error_message: end.error,
        failure_class: end.failure_class,
        failure_detail: end.failure_detail,
    };
    end_attempt::execute(client, attempt)?;
    let execution_ref = id.to_string();
    let namespace = ended.namespace.as_deref();
    let event = events::lease_event::Args {
        partition_key,
        execution_ref: &execution_ref,
        namespace,
        now_ms: now,
        lease_id: end.lease_id,
        lease_epoch: ended.lease_epoch,
        event_type: "released",
    };
    events::lease_event::execute(client, event)?;
    if let Some(outcome) = end.completion_outcome {
        let event = events::completion_event::Args {
            partition_key,
            execution_ref: &execution_ref,
            namespace,
            now_ms: now,
            outcome,
            failure_class: end.failure_class,
        };
        events::completion_event::execute(client, event)?;
    }
    Ok(true)
}

/// End a lease whose fence was just checked under the row lock: it must hold.
fn end_locked(client: &SpiClient<'_>, id: &ExecutionId, end: &LeaseEnd<'_>, now: i64) -> WfResult<()> {
    if end_lease(client, id, end, now)? {
        Ok(())
    } else {
        Err(WfError::corruption("the lease end wrote nothing under the row lock"))
    }
}

/// `ff_renew_lease`: (lease_expires_at_ms, lease_epoch).
pub fn renew(execution_id: Option<&str>, lease_id: Option<pgrx::Uuid>, lease_epoch: Option<i64>, ttl: Option<i64>) -> WfResult<(i64, i64)> {
    let id = parse_execution_id(execution_id)?;
    let ttl = lifecycle::required_ms(ttl, "lease_ttl_ms", 1)?;
    let now = now_ms();
    Spi::connect_mut(|client| {
        lock_leased(client, &id, lease_id, lease_epoch, now)?;
        let expires = now + ttl;
        let epoch = if events::by_table(client)? {
            renew_by_table(client, &id, expires, now)?
        } else {
            let (partition_key, execution_id) = ex_key(&id);
            let execution_ref = id.to_string();
            let args =
                renew::Args { partition_key, execution_id, lease_expires_at_ms: expires, now_ms: now, execution_ref: &execution_ref };
            renew::one(client, args)?.lease_epoch
        };
        notify(client, &[Channel::Lease])?;
        Ok((expires, epoch))
    })
}

/// `renew` one table per statement (events::by_table): the same rows. The new epoch.
fn renew_by_table(client: &SpiClient<'_>, id: &ExecutionId, expires: i64, now: i64) -> WfResult<i64> {
    let (partition_key, execution_id) = ex_key(id);
    let row = renew_row::Args { partition_key, execution_id, lease_expires_at_ms: expires, now_ms: now };
    let renewed = renew_row::one(client, row)?;
    let execution_ref = id.to_string();
    let event = events::lease_event::Args {
        partition_key,
        execution_ref: &execution_ref,
        namespace: renewed.namespace.as_deref(),
        now_ms: now,
        lease_id: renewed.lease_id,
        lease_epoch: renewed.lease_epoch,
        event_type: "renewed",
    };
    events::lease_event::execute(client, event)?;
    Ok(renewed.lease_epoch)
}

fn complete_one(
    client: &SpiClient<'_>,
    id: &ExecutionId,
    lease_id: Option<pgrx::Uuid>,
    lease_epoch: Option<i64>,
    result: Option<&[u8]>,
    now: i64,
) -> WfResult<()> {
    crate::checks::check_size(result.map(<[u8]>::len), crate::postgres::settings::max_payload_bytes(), "result")?;
    let end = LeaseEnd {
        states: lifecycle::COMPLETED,
        result,
        eligible_at_ms: None,
        completed_at_ms: Some(now),
        error: None,
        completion_outcome: Some("success"),
        attempt_outcome: "success",
        failure_class: None,
        failure_detail: None,
        lease_id,
        lease_epoch,
    };
    // One statement when the fence holds. Otherwise (or with an argument missing) lock and let
    // check_fence say why; should the fence hold by now after all, this completes the same way.
    if end_lease(client, id, &end, now)? {
        return Ok(());
    }
    lock_leased(client, id, lease_id, lease_epoch, now)?;
    end_locked(client, id, &end, now)
}

/// `ff_complete`.
pub fn complete(
    execution_id: Option<&str>,
    lease_id: Option<pgrx::Uuid>,
    lease_epoch: Option<i64>,
    result: Option<&[u8]>,
) -> WfResult<String> {
    let id = parse_execution_id(execution_id)?;
    let now = now_ms();
    Spi::connect_mut(|client| {
        complete_one(client, &id, lease_id, lease_epoch, result, now)?;
        notify(client, &[Channel::Lease, Channel::Completion])
    })?;
    Ok("completed".to_string())
}

/// `ff_complete_many`: one (execution_id, outcome) per element, in input order.
pub fn complete_many(leases: Option<serde_json::Value>) -> WfResult<Vec<(String, String)>> {
    let (items, order) = batch::parse(&required(leases, "leases")?)?;
    let now = now_ms();
    let mut outcomes: Vec<String> = vec![String::new(); items.len()];
    Spi::connect_mut(|client| -> WfResult<()> {
        let mut completed = false;
        for i in order {
            outcomes[i] = match &items[i].parsed {
                Err(e) => e.kind.name().to_string(),
                Ok(l) => {
                    let result = l.result.as_deref();
                    match complete_one(client, &l.execution_id, Some(to_pg_uuid(&l.lease_id)), Some(l.lease_epoch), result, now) {
                        Ok(()) => {
                            completed = true;
                            "completed".to_string()
                        }
                        Err(e) if e.kind != ErrorKind::Corruption => e.kind.name().to_string(),
                        Err(e) => return Err(e),
                    }
                }
            };
        }
        if completed {
            notify(client, &[Channel::Lease, Channel::Completion])?;
        }
        Ok(())
    })?;
    Ok(items.into_iter().zip(outcomes).map(|(item, outcome)| (item.text_id, outcome)).collect())
}

/// How a worker reports a failure: its message, whether it may be retried, its class and detail.
pub struct Failure<'a> {
    pub message: Option<&'a str>,
    pub retryable: Option<bool>,
    pub failure_class: Option<&'a str>,
    pub detail: Option<&'a [u8]>,
}

/// `ff_fail`: (outcome, retry_at_ms).
pub fn fail(
    execution_id: Option<&str>,
    lease_id: Option<pgrx::Uuid>,
    lease_epoch: Option<i64>,
    failure: Failure<'_>,
) -> WfResult<(String, Option<i64>)> {
    let id = parse_execution_id(execution_id)?;
    let Failure { message, retryable, failure_class, detail } = failure;
    if message.is_some_and(|m| m.len() > 65_536) {
        return Err(WfError::invalid_input("message_too_long", "message must be at most 64 KiB"));
    }
    let retryable = retryable.unwrap_or(true);
    let class = lifecycle::failure_class_of(failure_class, retryable)?;
    if detail.is_some_and(|d| d.len() > lifecycle::MAX_FAILURE_DETAIL_BYTES) {
        return Err(WfError::invalid_input("detail_too_long", "detail must be at most 64 KiB"));
    }
    let now = now_ms();
    Spi::connect_mut(|client| {
        let ex = lock_leased(client, &id, lease_id, lease_epoch, now)?;
        let failed = LeaseEnd {
            states: lifecycle::FAILED,
            result: None,
            eligible_at_ms: None,
            completed_at_ms: Some(now),
            error: message,
            completion_outcome: Some("failed"),
            attempt_outcome: "failed",
            failure_class: Some(class),
            failure_detail: detail,
            lease_id,
            lease_epoch,
        };
        if !lifecycle::retried(class, retryable, ex.attempt_index, ex.max_attempts) {
            end_locked(client, &id, &failed, now)?;
            notify(client, &[Channel::Lease, Channel::Completion])?;
            return Ok(("terminal_failed".to_string(), None));
        }
        let delay = lifecycle::retry_delay_ms(ex.retry_backoff_ms, ex.attempt_index);
        let retry_at = now + delay;
        let retry = LeaseEnd {
            states: lifecycle::retry_scheduled(delay > 0),
            eligible_at_ms: (delay > 0).then_some(retry_at),
            completed_at_ms: None,
            completion_outcome: None,
            ..failed
        };
        end_locked(client, &id, &retry, now)?;
        // A retry without backoff is claimable at once: wake the lane's sleeping workers.
        let lanes: &[&str] = if delay > 0 { &[] } else { &[ex.lane_id.as_str()] };
        wake(client, &[Channel::Lease], lanes)?;
        Ok(("retry_scheduled".to_string(), Some(retry_at)))
    })
}

/// How an execution is terminated from outside its lease.
pub struct Termination<'a> {
    pub states: States,
    /// Stored as the execution's last error.
    pub reason: &'a str,
    /// Close reason of its suspension and waitpoints.
    pub close_reason: &'a str,
    /// Completion outcome (and attempt outcome): cancelled, failed, expired.
    pub outcome: &'a str,
    /// Recorded on the attempt and the completion event: cancelled or timeout.
    pub failure_class: &'static str,
}

/// Terminate a locked execution from any non-terminal phase (cancel, suspension timeout).
pub fn terminate_locked(client: &SpiClient<'_>, id: &ExecutionId, t: &Termination<'_>, was_leased: bool, now: i64) -> WfResult<()> {
    let (partition_key, execution_id) = ex_key(id);
    let execution_ref = id.to_string();
    terminate::execute(
        client,
        terminate::Args {
            partition_key,
            execution_id,
            states: t.states,
            now_ms: now,
            reason: t.reason,
            close_reason: t.close_reason,
            outcome: t.outcome,
            execution_ref: &execution_ref,
            was_leased,
            failure_class: Some(t.failure_class),
        },
    )?;
    notify(client, if was_leased { &[Channel::Lease, Channel::Completion] } else { &[Channel::Completion] })
}

/// `ff_cancel`: cancelled or already_terminal.
pub fn cancel(execution_id: Option<&str>, reason: Option<&str>) -> WfResult<String> {
    let id = parse_execution_id(execution_id)?;
    let reason = crate::checks::required_text(reason, "reason", 256)?;
    let now = now_ms();
    Spi::connect_mut(|client| {
        let (partition_key, execution_id) = ex_key(&id);
        let row =
            lock_any::optional(client, lock_any::Args { partition_key, execution_id })?.ok_or_else(|| WfError::not_found("execution"))?;
        if row.lifecycle_phase == lifecycle::phase::TERMINAL {
            return Ok("already_terminal".to_string());
        }
        let t = Termination {
            states: lifecycle::CANCELLED,
            reason,
            close_reason: "cancelled",
            outcome: "cancelled",
            failure_class: lifecycle::failure_class::CANCELLED,
        };
        terminate_locked(client, &id, &t, row.ownership_state == lifecycle::ownership::LEASED, now)?;
        Ok("cancelled".to_string())
    })
}
