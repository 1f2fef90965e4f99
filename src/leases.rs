//! Lease operations in the database: `ff_renew_lease`, `ff_complete`, `ff_complete_many`, `ff_fail`,
//! `ff_cancel`. Each locks the execution row, checks the fence (semantics §3) and applies one
//! statement that changes the state and writes its outbox events; `ff_complete` first tries that
//! statement with the fence in its WHERE and locks only when it does not hold (to say why). Every
//! lease end bumps the epoch.

use crate::error::{required, WfError, WfResult};
use crate::events::{notify, Channel};
use crate::executions::{ex_key, lock_leased, optional_text, parse_execution_id, to_pg_uuid};
use crate::ids::ExecutionId;
use crate::lifecycle::{self, States};
use crate::plans::{now_ms, t, Plan};
use crate::raise::guarded;
use pgrx::prelude::*;
use pgrx::spi::SpiClient;

static RENEW: Plan = Plan {
    sql: "WITH upd AS (UPDATE ff_exec_core SET lease_expires_at_ms = $3, updated_at_ms = $4 \
                       WHERE partition_key = $1 AND execution_id = $2 \
                       RETURNING partition_key, namespace, lease_id, lease_epoch) \
          INSERT INTO ff_lease_event (partition_key, execution_id, namespace, occurred_at_ms, lease_id, lease_epoch, event_type) \
          SELECT partition_key, $5, namespace, $4, lease_id, lease_epoch, 'renewed' FROM upd RETURNING lease_epoch",
    args: &[t::INT2, t::UUID, t::INT8, t::INT8, t::TEXT],
};

/// End the current lease: new states, epoch + 1, attempt closed, lease event `released`, and a
/// completion event when `$13` (its outcome) is not NULL — only if the caller's fence (`$16`, `$17`)
/// holds on the row's latest version (the UPDATE waits for the row lock and re-checks its WHERE on
/// what committed meanwhile). The fence terms are `lifecycle::check_fence`'s acceptance, term for
/// term. Returns how many rows it ended (0 or 1): `ff_complete` runs it before locking and locks only
/// when it ended nothing, to let `check_fence` say why.
static END_LEASE: Plan = Plan {
    sql: "WITH upd AS ( \
            UPDATE ff_exec_core SET lifecycle_phase = $3, ownership_state = $4, eligibility_state = $5, \
                attempt_state = $6, public_state = $7, lease_epoch = lease_epoch + 1, lease_expires_at_ms = NULL, \
                result = coalesce($8, result), eligible_at_ms = $9, completed_at_ms = $10, \
                last_error = coalesce($11, last_error), updated_at_ms = $12 \
            WHERE partition_key = $1 AND execution_id = $2 AND lease_id = $16 AND lease_epoch = $17 \
              AND (lease_expires_at_ms IS NULL OR lease_expires_at_ms > $12) \
              AND lifecycle_phase = 'active' AND ownership_state = 'leased' \
            RETURNING partition_key, namespace, lease_id, lease_epoch, attempt_index), \
          att AS ( \
            UPDATE ff_attempt SET ended_at_ms = $12, outcome = $14, error_message = $11 \
            WHERE partition_key = $1 AND execution_id = $2 AND attempt_index = (SELECT attempt_index FROM upd)), \
          le AS ( \
            INSERT INTO ff_lease_event (partition_key, execution_id, namespace, occurred_at_ms, lease_id, lease_epoch, event_type) \
            SELECT partition_key, $15, namespace, $12, lease_id, lease_epoch, 'released' FROM upd), \
          ce AS ( \
            INSERT INTO ff_completion_event (partition_key, execution_id, namespace, occurred_at_ms, outcome) \
            SELECT partition_key, $15, namespace, $12, $13 FROM upd WHERE $13 IS NOT NULL) \
          SELECT count(*) FROM upd",
    args: &[
        t::INT2, t::UUID, t::TEXT, t::TEXT, t::TEXT, t::TEXT, t::TEXT, t::BYTEA, t::INT8, t::INT8, t::TEXT, t::INT8,
        t::TEXT, t::TEXT, t::TEXT, t::UUID, t::INT8,
    ],
};

struct LeaseEnd<'a> {
    states: States,
    result: Option<&'a [u8]>,
    eligible_at_ms: Option<i64>,
    completed_at_ms: Option<i64>,
    error: Option<&'a str>,
    completion_outcome: Option<&'static str>,
    attempt_outcome: &'static str,
    /// The caller's fence: nothing is written unless it holds.
    lease_id: Option<pgrx::Uuid>,
    lease_epoch: Option<i64>,
}

/// Run `END_LEASE`; whether the fence held and the lease was ended.
fn end_lease(client: &SpiClient<'_>, id: &ExecutionId, end: &LeaseEnd<'_>, now: i64) -> WfResult<bool> {
    let s = end.states;
    let ended: i64 = END_LEASE
        .run(
            client,
            &[
                (id.partition as i16).into(),
                to_pg_uuid(&id.uuid).into(),
                s.lifecycle_phase.into(),
                s.ownership_state.into(),
                s.eligibility_state.into(),
                s.attempt_state.into(),
                s.public_state.into(),
                end.result.into(),
                end.eligible_at_ms.into(),
                end.completed_at_ms.into(),
                end.error.into(),
                now.into(),
                end.completion_outcome.into(),
                end.attempt_outcome.into(),
                id.to_string().into(),
                end.lease_id.into(),
                end.lease_epoch.into(),
            ],
        )?
        .first()
        .get(1)?
        .unwrap_or(0);
    if ended == 0 {
        return Ok(false);
    }
    let channels: &[Channel] = if end.completion_outcome.is_some() { &[Channel::Lease, Channel::Completion] } else { &[Channel::Lease] };
    notify(channels);
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

fn renew(execution_id: Option<&str>, lease_id: Option<pgrx::Uuid>, lease_epoch: Option<i64>, ttl: Option<i64>) -> WfResult<(i64, i64)> {
    let id = parse_execution_id(execution_id)?;
    let ttl = required(ttl, "lease_ttl_ms")?;
    lifecycle::validate_ms(ttl, "lease_ttl_ms", 1)?;
    let now = now_ms();
    Spi::connect_mut(|client| {
        lock_leased(client, &id, lease_id, lease_epoch, now)?;
        let expires = now + ttl;
        let (pk, eu) = ex_key(&id);
        let rows = RENEW.run(client, &[pk.into(), eu.into(), expires.into(), now.into(), id.to_string().into()])?;
        let epoch: i64 = rows.first().get(1)?.unwrap_or(0);
        notify(&[Channel::Lease]);
        Ok((expires, epoch))
    })
}

fn complete_locked(client: &SpiClient<'_>, id: &ExecutionId, lease_id: Option<pgrx::Uuid>, lease_epoch: Option<i64>, result: Option<&[u8]>, now: i64) -> WfResult<()> {
    let end = LeaseEnd {
        states: lifecycle::COMPLETED,
        result,
        eligible_at_ms: None,
        completed_at_ms: Some(now),
        error: None,
        completion_outcome: Some("success"),
        attempt_outcome: "success",
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

fn complete(execution_id: Option<&str>, lease_id: Option<pgrx::Uuid>, lease_epoch: Option<i64>, result: Option<&[u8]>) -> WfResult<String> {
    let id = parse_execution_id(execution_id)?;
    let now = now_ms();
    Spi::connect_mut(|client| complete_locked(client, &id, lease_id, lease_epoch, result, now))?;
    Ok("completed".to_string())
}

/// One element of `ff_complete_many`'s array, parsed; a malformed element becomes its own error row.
struct ManyItem {
    text_id: String,
    parsed: WfResult<(ExecutionId, pgrx::Uuid, i64, Option<Vec<u8>>)>,
}

fn parse_many_item(v: &serde_json::Value) -> ManyItem {
    let text_id = v.get("execution_id").and_then(|x| x.as_str()).unwrap_or("").to_string();
    let parsed = (|| {
        let obj = v.as_object().ok_or_else(|| WfError::invalid_input("invalid_leases", "each element must be an object"))?;
        let id = ExecutionId::parse(obj.get("execution_id").and_then(|x| x.as_str()).unwrap_or(""))?;
        let lease = obj
            .get("lease_id")
            .and_then(|x| x.as_str())
            .and_then(|s| uuid::Uuid::parse_str(s).ok())
            .ok_or_else(|| WfError::invalid_input("invalid_lease_id", "lease_id must be a uuid"))?;
        let epoch = obj.get("lease_epoch").and_then(|x| x.as_i64()).ok_or_else(|| WfError::invalid_input("invalid_lease_epoch", "lease_epoch must be an integer"))?;
        let result = match obj.get("result_hex") {
            None | Some(serde_json::Value::Null) => None,
            Some(serde_json::Value::String(h)) => Some(hex::decode(h).map_err(|_| WfError::invalid_input("invalid_result_hex", "result_hex must be hex"))?),
            Some(_) => return Err(WfError::invalid_input("invalid_result_hex", "result_hex must be a hex string")),
        };
        Ok((id, to_pg_uuid(&lease), epoch, result))
    })();
    ManyItem { text_id, parsed }
}

fn complete_many(leases: Option<pgrx::JsonB>) -> WfResult<Vec<(String, String)>> {
    let leases = required(leases, "leases")?.0;
    let items = leases.as_array().ok_or_else(|| WfError::invalid_input("invalid_leases", "leases must be a JSON array"))?;
    if items.len() > 10_000 {
        return Err(WfError::invalid_input("invalid_leases", "at most 10000 leases per call"));
    }
    let parsed: Vec<ManyItem> = items.iter().map(parse_many_item).collect();
    // Lock in a global order (partition, uuid) so concurrent batches cannot deadlock; answer in input order.
    let mut order: Vec<usize> = (0..parsed.len()).collect();
    order.sort_by_key(|&i| parsed[i].parsed.as_ref().ok().map(|p| p.0));
    let now = now_ms();
    let mut outcomes: Vec<Option<String>> = vec![None; parsed.len()];
    Spi::connect_mut(|client| -> WfResult<()> {
        for i in order {
            let outcome = match &parsed[i].parsed {
                Err(e) => e.kind.name().to_string(),
                Ok((id, lease, epoch, result)) => match complete_locked(client, id, Some(*lease), Some(*epoch), result.as_deref(), now) {
                    Ok(()) => "completed".to_string(),
                    Err(e) if e.kind != crate::error::ErrorKind::Corruption => e.kind.name().to_string(),
                    Err(e) => return Err(e),
                },
            };
            outcomes[i] = Some(outcome);
        }
        Ok(())
    })?;
    Ok(parsed.into_iter().zip(outcomes).map(|(p, o)| (p.text_id, o.unwrap_or_default())).collect())
}

fn fail(execution_id: Option<&str>, lease_id: Option<pgrx::Uuid>, lease_epoch: Option<i64>, message: Option<&str>, retryable: Option<bool>) -> WfResult<(String, Option<i64>)> {
    let id = parse_execution_id(execution_id)?;
    if message.is_some_and(|m| m.len() > 65_536) {
        return Err(WfError::invalid_input("message_too_long", "message must be at most 64 KiB"));
    }
    let retryable = retryable.unwrap_or(true);
    let now = now_ms();
    Spi::connect_mut(|client| {
        let ex = lock_leased(client, &id, lease_id, lease_epoch, now)?;
        if lifecycle::retries_left(retryable, ex.attempt_index, ex.max_attempts) {
            let delay = lifecycle::retry_delay_ms(ex.retry_backoff_ms, ex.attempt_index);
            let retry_at = now + delay;
            end_locked(
                client,
                &id,
                &LeaseEnd {
                    states: lifecycle::retry_scheduled(delay > 0),
                    result: None,
                    eligible_at_ms: (delay > 0).then_some(retry_at),
                    completed_at_ms: None,
                    error: message,
                    completion_outcome: None,
                    attempt_outcome: "failed",
                    lease_id,
                    lease_epoch,
                },
                now,
            )?;
            Ok(("retry_scheduled".to_string(), Some(retry_at)))
        } else {
            end_locked(
                client,
                &id,
                &LeaseEnd {
                    states: lifecycle::FAILED,
                    result: None,
                    eligible_at_ms: None,
                    completed_at_ms: Some(now),
                    error: message,
                    completion_outcome: Some("failed"),
                    attempt_outcome: "failed",
                    lease_id,
                    lease_epoch,
                },
                now,
            )?;
            Ok(("terminal_failed".to_string(), None))
        }
    })
}

/// Lock an execution row in any phase (cancel, operator resume).
pub static LOCK_ANY: Plan = Plan {
    sql: "SELECT lifecycle_phase, ownership_state FROM ff_exec_core WHERE partition_key = $1 AND execution_id = $2 FOR UPDATE",
    args: &[t::INT2, t::UUID],
};

/// Terminate an execution from any non-terminal phase: close its suspension and every waitpoint,
/// drop its grant, end its lease (epoch + 1), write the events. Shared with the suspension timeout.
pub static TERMINATE: Plan = Plan {
    sql: "WITH upd AS ( \
            UPDATE ff_exec_core SET lifecycle_phase = $3, ownership_state = $4, eligibility_state = $5, \
                attempt_state = $6, public_state = $7, lease_epoch = lease_epoch + 1, lease_expires_at_ms = NULL, \
                eligible_at_ms = NULL, reserved_until_ms = NULL, completed_at_ms = $8, updated_at_ms = $8, \
                last_error = $9 \
            WHERE partition_key = $1 AND execution_id = $2 \
            RETURNING partition_key, execution_id, namespace, lease_id, lease_epoch, attempt_index), \
          sus AS (UPDATE ff_suspension SET state = 'closed', closed_at_ms = $8, close_reason = $10 \
                  WHERE partition_key = $1 AND execution_id = $2 AND state = 'open'), \
          wps AS (UPDATE ff_waitpoint SET state = 'closed', closed_at_ms = $8, close_reason = $10 \
                  WHERE partition_key = $1 AND execution_id = $2 AND state <> 'closed'), \
          gr AS (DELETE FROM ff_claim_grant WHERE partition_key = $1 AND execution_id = $2), \
          att AS (UPDATE ff_attempt a SET ended_at_ms = $8, outcome = $11 FROM upd \
                  WHERE a.partition_key = upd.partition_key AND a.execution_id = upd.execution_id \
                    AND a.attempt_index = upd.attempt_index AND a.ended_at_ms IS NULL), \
          le AS (INSERT INTO ff_lease_event (partition_key, execution_id, namespace, occurred_at_ms, lease_id, lease_epoch, event_type) \
                 SELECT partition_key, $12, namespace, $8, lease_id, lease_epoch, 'released' FROM upd WHERE $13) \
          INSERT INTO ff_completion_event (partition_key, execution_id, namespace, occurred_at_ms, outcome) \
          SELECT partition_key, $12, namespace, $8, $11 FROM upd",
    args: &[
        t::INT2, t::UUID, t::TEXT, t::TEXT, t::TEXT, t::TEXT, t::TEXT, t::INT8, t::TEXT, t::TEXT, t::TEXT, t::TEXT, t::BOOL,
    ],
};

/// Apply TERMINATE to a locked execution. `outcome` is the completion outcome (cancelled, failed, expired).
pub fn terminate_locked(client: &SpiClient<'_>, id: &ExecutionId, states: States, reason: &str, close_reason: &str, outcome: &str, was_leased: bool, now: i64) -> WfResult<()> {
    TERMINATE.run(
        client,
        &[
            (id.partition as i16).into(),
            to_pg_uuid(&id.uuid).into(),
            states.lifecycle_phase.into(),
            states.ownership_state.into(),
            states.eligibility_state.into(),
            states.attempt_state.into(),
            states.public_state.into(),
            now.into(),
            reason.into(),
            close_reason.into(),
            outcome.into(),
            id.to_string().into(),
            was_leased.into(),
        ],
    )?;
    let channels: &[Channel] = if was_leased { &[Channel::Lease, Channel::Completion] } else { &[Channel::Completion] };
    notify(channels);
    Ok(())
}

fn cancel(execution_id: Option<&str>, reason: Option<&str>) -> WfResult<String> {
    let id = parse_execution_id(execution_id)?;
    let reason = required(reason, "reason")?;
    optional_text(Some(reason), "reason", 256)?;
    let now = now_ms();
    Spi::connect_mut(|client| {
        let (pk, eu) = ex_key(&id);
        let rows = LOCK_ANY.run(client, &[pk.into(), eu.into()])?;
        let row = rows.into_iter().next().ok_or_else(|| WfError::not_found("execution"))?;
        let phase: String = row.get(1)?.unwrap_or_default();
        let ownership: String = row.get(2)?.unwrap_or_default();
        if phase == "terminal" {
            return Ok("already_terminal".to_string());
        }
        terminate_locked(client, &id, lifecycle::CANCELLED, reason, "cancelled", "cancelled", ownership == "leased", now)?;
        Ok("cancelled".to_string())
    })
}

/// Extend the current lease by lease_ttl_ms from now (fenced).
#[pg_extern(security_definer, parallel_unsafe)]
#[search_path(@extschema@, pg_temp)]
fn ff_renew_lease(
    execution_id: Option<&str>,
    lease_id: Option<pgrx::Uuid>,
    lease_epoch: Option<i64>,
    lease_ttl_ms: default!(Option<i64>, 30000),
) -> TableIterator<'static, (name!(lease_expires_at_ms, i64), name!(lease_epoch, i64))> {
    TableIterator::once(guarded(|| renew(execution_id, lease_id, lease_epoch, lease_ttl_ms)))
}

/// Complete the leased attempt with an optional result (fenced; a second complete is lease_conflict).
#[pg_extern(security_definer, parallel_unsafe)]
#[search_path(@extschema@, pg_temp)]
fn ff_complete(
    execution_id: Option<&str>,
    lease_id: Option<pgrx::Uuid>,
    lease_epoch: Option<i64>,
    result: default!(Option<&[u8]>, "NULL"),
) -> TableIterator<'static, (name!(outcome, String),)> {
    TableIterator::once((guarded(|| complete(execution_id, lease_id, lease_epoch, result)),))
}

/// Complete many leases in one call; one row per element, a bad fence fails only its own element.
#[pg_extern(security_definer, parallel_unsafe)]
#[search_path(@extschema@, pg_temp)]
fn ff_complete_many(leases: Option<pgrx::JsonB>) -> TableIterator<'static, (name!(execution_id, String), name!(outcome, String))> {
    TableIterator::new(guarded(|| complete_many(leases)))
}

/// Fail the leased attempt: retry after exponential backoff while attempts remain, else terminal.
#[pg_extern(security_definer, parallel_unsafe)]
#[search_path(@extschema@, pg_temp)]
fn ff_fail(
    execution_id: Option<&str>,
    lease_id: Option<pgrx::Uuid>,
    lease_epoch: Option<i64>,
    message: Option<&str>,
    retryable: default!(Option<bool>, true),
) -> TableIterator<'static, (name!(outcome, String), name!(retry_at_ms, Option<i64>))> {
    TableIterator::once(guarded(|| fail(execution_id, lease_id, lease_epoch, message, retryable)))
}

/// Cancel an execution in any non-terminal phase; closes its suspension and every waitpoint.
#[pg_extern(security_definer, parallel_unsafe)]
#[search_path(@extschema@, pg_temp)]
fn ff_cancel(
    execution_id: Option<&str>,
    reason: default!(Option<&str>, "'cancelled_by_operator'"),
) -> TableIterator<'static, (name!(outcome, String),)> {
    TableIterator::once((guarded(|| cancel(execution_id, reason)),))
}
