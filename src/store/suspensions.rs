//! Waitpoints and suspend: create a pending waitpoint, suspend, list pending waitpoints and open
//! suspensions, read a waitpoint's token. Tokens are never stored: they are recomputed from the
//! waitpoint's `token_kid` whenever they are returned. The checks and the layout of a suspend are
//! in `suspend` (core).

use crate::bindings::{self, Bound, ExistingWaitpoint};
use crate::checks::{page_size, required_text};
use crate::condition;
use crate::error::{required, ErrorKind, WfError, WfResult};
use crate::ids::ExecutionId;
use crate::keys::StoredKey;
use crate::lifecycle::{self, States};
use crate::postgres::args::{ex_id, ex_key, from_pg_uuid, parse_execution_id, to_pg_uuid};
use crate::postgres::notify::{notify, Channel};
use crate::postgres::statement::now_ms;
use crate::statement;
use crate::store::events;
use crate::store::executions::{lock_for_lease, lock_leased};
use crate::suspend::{self, Layout, ResultRow, Signed, SuspendRequest};
use crate::tokens;
use pgrx::prelude::*;
use pgrx::spi::SpiClient;

statement! {
    mod insert_waitpoint = "suspensions/insert_waitpoint.sql";
    args<'a> {
        partition_key: i16, execution_id: pgrx::Uuid, waitpoint_id: pgrx::Uuid, waitpoint_key: &'a str, token_kid: &'a str,
        token_fingerprint: String, now_ms: i64, expires_at_ms: i64,
    }
    row { waitpoint_id: pgrx::Uuid }
}
statement! {
    mod suspend_state = "suspensions/suspend_state.sql";
    args<'a> { partition_key: i16, execution_id: pgrx::Uuid, idempotency_key: Option<&'a str> }
    row {
        already_suspended: bool, replay: Option<pgrx::JsonB>, key: Option<StoredKey>, waitpoint_id: Option<pgrx::Uuid>,
        waitpoint_key: Option<String>, waitpoint_state: Option<String>, waitpoint_expires_at_ms: Option<i64>,
        token_kid: Option<String>,
    }
}
statement! {
    mod dedup_put = "suspensions/dedup_put.sql";
    args<'a> { partition_key: i16, execution_id: pgrx::Uuid, idempotency_key: &'a str, result_rows: pgrx::JsonB, expires_at_ms: i64 }
    row {}
}
statement! {
    mod signals_on = "suspensions/signals_on.sql";
    args { partition_key: i16, execution_id: pgrx::Uuid, waitpoint_ids: Vec<pgrx::Uuid> }
    row {
        signal_seq: i64, signal_id: pgrx::Uuid, waitpoint_key: String, signal_name: String, source_type: String, source_identity: String,
        correlation_id: Option<String>,
    }
}
statement! {
    mod set_signal_effect = "suspensions/set_signal_effect.sql";
    args<'a> { partition_key: i16, execution_id: pgrx::Uuid, suspension_id: pgrx::Uuid, effect: &'a str, signal_seq: i64 }
    row {}
}
statement! {
    mod suspend_write = "suspensions/suspend_write.sql";
    args<'a> {
        partition_key: i16, execution_id: pgrx::Uuid, suspension_id: pgrx::Uuid, suspension_state: &'a str,
        resume_condition: pgrx::JsonB, reason_code: &'a str, requested_by: &'a str, timeout_at_ms: Option<i64>,
        timeout_behavior: &'a str, continuation: Option<&'a str>, now_ms: i64, closed_at_ms: Option<i64>,
        close_reason: Option<&'a str>, satisfier_seqs: Option<Vec<i64>>, fresh_waitpoints: pgrx::JsonB, states: States,
        end_lease: bool, execution_ref: &'a str,
    }
    row { inserted: i64 }
}
statement! {
    mod insert_suspension = "suspensions/insert_suspension.sql";
    args<'a> {
        partition_key: i16, execution_id: pgrx::Uuid, suspension_id: pgrx::Uuid, suspension_state: &'a str,
        resume_condition: pgrx::JsonB, reason_code: &'a str, requested_by: &'a str, timeout_at_ms: Option<i64>,
        timeout_behavior: &'a str, continuation: Option<&'a str>, now_ms: i64, closed_at_ms: Option<i64>,
        close_reason: Option<&'a str>, satisfier_seqs: Option<Vec<i64>>,
    }
    row {}
}
statement! {
    mod insert_fresh_waitpoint = "suspensions/insert_fresh_waitpoint.sql";
    args<'a> {
        partition_key: i16, execution_id: pgrx::Uuid, waitpoint_id: pgrx::Uuid, waitpoint_key: &'a str, suspension_id: pgrx::Uuid,
        token_kid: &'a str, token_fingerprint: &'a str, required_signal_names: Vec<String>, now_ms: i64, expires_at_ms: Option<i64>,
    }
    row {}
}
statement! {
    mod suspend_lease_end = "suspensions/suspend_lease_end.sql";
    args { partition_key: i16, execution_id: pgrx::Uuid, states: States, now_ms: i64 }
    row { namespace: Option<String>, lease_id: Option<pgrx::Uuid>, lease_epoch: i64 }
}
statement! {
    mod bind_pending = "suspensions/bind_pending.sql";
    args<'a> {
        partition_key: i16, execution_id: pgrx::Uuid, waitpoint_id: pgrx::Uuid, waitpoint_state: &'a str,
        suspension_id: pgrx::Uuid, now_ms: i64, required_signal_names: Vec<String>, close_reason: Option<&'a str>,
    }
    row {}
}
statement! {
    mod waitpoint_kid = "suspensions/waitpoint_kid.sql";
    args { partition_key: i16, execution_id: pgrx::Uuid, waitpoint_id: pgrx::Uuid }
    row { token_kid: String }
}
statement! {
    mod list_pending = "suspensions/list_pending.sql";
    args { partition_key: i16, execution_id: pgrx::Uuid, after_waitpoint_id: Option<pgrx::Uuid>, max_rows: i64, include_closed: bool }
    row {
        waitpoint_id: pgrx::Uuid, waitpoint_key: String, state: String, created_at_ms: i64, activated_at_ms: Option<i64>,
        expires_at_ms: Option<i64>, required_signal_names: Vec<String>, token_kid: String, token_fingerprint: String,
    }
}
statement! {
    mod list_suspended = "suspensions/list_suspended.sql";
    args { after_partition_key: Option<i16>, after_execution_id: Option<pgrx::Uuid>, max_rows: i64 }
    row {
        partition_key: i16, execution_id: pgrx::Uuid, lane_id: String, suspension_id: pgrx::Uuid, suspended_at_ms: i64,
        timeout_at_ms: Option<i64>, reason_code: String, timeout_behavior: String,
    }
}

/// The token of a waitpoint, recomputed under the key it was minted with.
pub fn token_for(client: &SpiClient<'_>, id: &ExecutionId, waitpoint_id: &uuid::Uuid, kid: &str) -> WfResult<String> {
    let key = crate::store::keystore::key_by_kid(client, kid)?
        .ok_or_else(|| WfError::new(ErrorKind::TokenExpired, "the waitpoint's signing key was retired and reaped"))?;
    Ok(tokens::waitpoint_token(&key.kid, &key.secret, id, waitpoint_id))
}

/// `ff_create_waitpoint`: (waitpoint_id, waitpoint_key, token).
pub fn create_waitpoint(
    execution_id: Option<&str>,
    lease_id: Option<pgrx::Uuid>,
    lease_epoch: Option<i64>,
    key: Option<&str>,
    expires_in_ms: Option<i64>,
) -> WfResult<(pgrx::Uuid, String, String)> {
    let id = parse_execution_id(execution_id)?;
    let waitpoint_key = required_text(key, "waitpoint_key", 256)?;
    let ttl = lifecycle::required_ms(expires_in_ms, "expires_in_ms", 1)?;
    let now = now_ms();
    Spi::connect_mut(|client| {
        lock_leased(client, &id, lease_id, lease_epoch, now)?;
        let signing = crate::store::keystore::active_key(client)?;
        let wp = uuid::Uuid::new_v4();
        let token = tokens::waitpoint_token(&signing.kid, &signing.secret, &id, &wp);
        let (partition_key, execution_id) = ex_key(&id);
        let args = insert_waitpoint::Args {
            partition_key,
            execution_id,
            waitpoint_id: to_pg_uuid(&wp),
            waitpoint_key,
            token_kid: &signing.kid,
            token_fingerprint: suspend::fingerprint(&token),
            now_ms: now,
            expires_at_ms: now + ttl,
        };
        insert_waitpoint::execute(client, args)?;
        Ok((to_pg_uuid(&wp), waitpoint_key.to_string(), token))
    })
}

/// `ff_suspend`'s arguments as given.
pub struct SuspendArgs<'a> {
    pub execution_id: Option<&'a str>,
    pub lease_id: Option<pgrx::Uuid>,
    pub lease_epoch: Option<i64>,
    pub resume_condition: Option<serde_json::Value>,
    pub waitpoints: Option<serde_json::Value>,
    pub timeout_at_ms: Option<i64>,
    pub timeout_behavior: Option<&'a str>,
    pub reason_code: Option<&'a str>,
    pub requested_by: Option<&'a str>,
    pub suspension_id: Option<pgrx::Uuid>,
    pub idempotency_key: Option<&'a str>,
    pub continuation: Option<&'a str>,
}

/// One row of `ff_suspend`'s result.
pub type SuspendRow = (String, pgrx::Uuid, Option<pgrx::Uuid>, Option<String>, Option<String>);

fn to_sql_row(r: ResultRow) -> SuspendRow {
    (r.outcome.to_string(), to_pg_uuid(&r.suspension_id), r.waitpoint_id.as_ref().map(to_pg_uuid), r.waitpoint_key, r.token)
}

/// What suspend reads under the execution lock (one statement).
struct SuspendState {
    already_suspended: bool,
    replay: Option<pgrx::JsonB>,
    signing: Option<StoredKey>,
    existing: Vec<ExistingWaitpoint>,
    /// The key ids of the open pending waitpoints.
    pending_kids: Vec<(uuid::Uuid, String)>,
}

fn read_state(client: &SpiClient<'_>, id: &ExecutionId, idempotency_key: Option<&str>) -> WfResult<SuspendState> {
    let (partition_key, execution_id) = ex_key(id);
    let rows = suspend_state::all(client, suspend_state::Args { partition_key, execution_id, idempotency_key })?;
    let mut state = SuspendState { already_suspended: false, replay: None, signing: None, existing: Vec::new(), pending_kids: Vec::new() };
    for r in rows {
        state.already_suspended = r.already_suspended;
        state.replay = r.replay;
        state.signing = r.key;
        let Some(wid) = r.waitpoint_id else { continue };
        let wid = from_pg_uuid(&wid);
        let pending = r.waitpoint_state.as_deref() == Some(lifecycle::waitpoint::PENDING);
        if pending {
            state.pending_kids.push((wid, r.token_kid.ok_or_else(|| WfError::corruption("pending waitpoint without kid"))?));
        }
        let key = r.waitpoint_key.ok_or_else(|| WfError::corruption("waitpoint without key"))?;
        state.existing.push(ExistingWaitpoint { id: wid, key, pending, expires_at_ms: r.waitpoint_expires_at_ms });
    }
    Ok(state)
}

/// The result rows of an idempotent replay, tokens recomputed.
fn replayed_rows(client: &SpiClient<'_>, id: &ExecutionId, stored: &serde_json::Value) -> WfResult<Vec<SuspendRow>> {
    suspend::parse_stored(stored)?
        .into_iter()
        .map(|r| {
            let token = match (&r.waitpoint_id, &r.token_kid) {
                (Some(w), Some(kid)) => Some(token_for(client, id, w, kid)?),
                _ => None,
            };
            Ok((r.outcome, to_pg_uuid(&r.suspension_id), r.waitpoint_id.as_ref().map(to_pg_uuid), r.waitpoint_key, token))
        })
        .collect()
}

/// Replay the signals buffered on the bound pending waitpoints and record each one's effect.
fn replay_buffered(
    client: &SpiClient<'_>,
    id: &ExecutionId,
    cond: &condition::Condition,
    bound: &[Bound],
    suspension_id: pgrx::Uuid,
) -> WfResult<Option<Vec<i64>>> {
    let waitpoint_ids: Vec<pgrx::Uuid> = bound.iter().filter(|b| b.pending).map(|b| to_pg_uuid(&b.id)).collect();
    if waitpoint_ids.is_empty() {
        return Ok(None);
    }
    let (partition_key, execution_id) = ex_key(id);
    let buffered = signals_on::all(client, signals_on::Args { partition_key, execution_id, waitpoint_ids })?
        .into_iter()
        .map(|r| condition::Signal {
            seq: r.signal_seq,
            signal_id: *r.signal_id.as_bytes(),
            waitpoint_key: r.waitpoint_key,
            name: r.signal_name,
            source_type: r.source_type,
            source_identity: r.source_identity,
            correlation_id: r.correlation_id,
        })
        .collect();
    let replay = suspend::replay(cond, buffered);
    for (signal_seq, effect) in &replay.effects {
        let args = set_signal_effect::Args { partition_key, execution_id, suspension_id, effect: effect.as_str(), signal_seq: *signal_seq };
        set_signal_effect::execute(client, args)?;
    }
    Ok(replay.satisfied)
}

/// Each bound waitpoint with its key id and token: a pending one keeps the key it was minted under.
fn sign(
    client: &SpiClient<'_>,
    id: &ExecutionId,
    bound: Vec<Bound>,
    signing: &StoredKey,
    pending_kids: &[(uuid::Uuid, String)],
) -> WfResult<Vec<Signed>> {
    bound
        .into_iter()
        .map(|b| {
            let kid = if b.pending {
                pending_kids
                    .iter()
                    .find(|(w, _)| *w == b.id)
                    .map(|(_, k)| k.clone())
                    .ok_or_else(|| WfError::corruption("bound pending waitpoint not read"))?
            } else {
                signing.kid.clone()
            };
            let token = if kid == signing.kid {
                tokens::waitpoint_token(&signing.kid, &signing.secret, id, &b.id)
            } else {
                token_for(client, id, &b.id, &kid)?
            };
            Ok(Signed { bound: b, kid, token })
        })
        .collect()
}

/// The pending waitpoints a suspend binds: bound to its suspension (closed at once when it is already
/// satisfied).
fn bind_pending_waitpoints(client: &SpiClient<'_>, id: &ExecutionId, l: &Layout, suspension_id: pgrx::Uuid, now: i64) -> WfResult<()> {
    let (partition_key, execution_id) = ex_key(id);
    for p in &l.pending {
        let args = bind_pending::Args {
            partition_key,
            execution_id,
            waitpoint_id: to_pg_uuid(&p.waitpoint_id),
            waitpoint_state: p.state,
            suspension_id,
            now_ms: now,
            required_signal_names: p.required_signal_names.clone(),
            close_reason: p.close_reason,
        };
        bind_pending::execute(client, args)?;
    }
    Ok(())
}

/// `suspend_write` one table per statement (events::by_table): the same rows, each fresh waitpoint
/// by its own insert (on a Citus cluster an `INSERT … SELECT` from its JSON goes to every shard). How
/// many fresh waitpoints were inserted.
fn write_by_table(client: &SpiClient<'_>, a: suspend_write::Args<'_>) -> WfResult<i64> {
    let (partition_key, execution_id, suspension_id, now_ms) = (a.partition_key, a.execution_id, a.suspension_id, a.now_ms);
    let suspension = insert_suspension::Args {
        partition_key,
        execution_id,
        suspension_id,
        suspension_state: a.suspension_state,
        resume_condition: a.resume_condition,
        reason_code: a.reason_code,
        requested_by: a.requested_by,
        timeout_at_ms: a.timeout_at_ms,
        timeout_behavior: a.timeout_behavior,
        continuation: a.continuation,
        now_ms,
        closed_at_ms: a.closed_at_ms,
        close_reason: a.close_reason,
        satisfier_seqs: a.satisfier_seqs,
    };
    insert_suspension::execute(client, suspension)?;
    let mut inserted = 0;
    for w in a.fresh_waitpoints.0.as_array().map(Vec::as_slice).unwrap_or_default() {
        let text = |field: &str| w[field].as_str().ok_or_else(|| WfError::corruption(format!("a fresh waitpoint without {field}")));
        let waitpoint_id = uuid::Uuid::parse_str(text("waitpoint_id")?).map_err(|e| WfError::corruption(e.to_string()))?;
        let names = w["required_signal_names"].as_array().map(Vec::as_slice).unwrap_or_default();
        let waitpoint = insert_fresh_waitpoint::Args {
            partition_key,
            execution_id,
            waitpoint_id: to_pg_uuid(&waitpoint_id),
            waitpoint_key: text("waitpoint_key")?,
            suspension_id,
            token_kid: text("token_kid")?,
            token_fingerprint: text("token_fingerprint")?,
            required_signal_names: names.iter().filter_map(|n| n.as_str().map(str::to_string)).collect(),
            now_ms,
            expires_at_ms: a.timeout_at_ms,
        };
        inserted += insert_fresh_waitpoint::execute(client, waitpoint)? as i64;
    }
    if a.end_lease {
        let ended = suspend_lease_end::one(client, suspend_lease_end::Args { partition_key, execution_id, states: a.states, now_ms })?;
        let event = events::lease_event::Args {
            partition_key,
            execution_ref: a.execution_ref,
            namespace: ended.namespace.as_deref(),
            now_ms,
            lease_id: ended.lease_id,
            lease_epoch: ended.lease_epoch,
            event_type: "revoked",
        };
        events::lease_event::execute(client, event)?;
    }
    Ok(inserted)
}

/// Write the suspend: bound pending waitpoints, then the suspension (closed at once when already
/// satisfied, so observers can see why), the fresh waitpoints and, unless already satisfied, the end
/// of the lease (one table per statement: events::by_table).
#[allow(clippy::too_many_arguments)]
fn write(
    client: &SpiClient<'_>,
    id: &ExecutionId,
    req: &SuspendRequest,
    a: &SuspendArgs<'_>,
    l: &Layout,
    suspension_id: pgrx::Uuid,
    satisfied: Option<Vec<i64>>,
    now: i64,
) -> WfResult<()> {
    let (partition_key, execution_id) = ex_key(id);
    bind_pending_waitpoints(client, id, l, suspension_id, now)?;
    let already = satisfied.is_some();
    let fresh_count = l.fresh.as_array().map_or(0, Vec::len) as i64;
    let execution_ref = id.to_string();
    let args = suspend_write::Args {
        partition_key,
        execution_id,
        suspension_id,
        suspension_state: if already { lifecycle::suspension::CLOSED } else { lifecycle::suspension::OPEN },
        resume_condition: pgrx::JsonB(req.condition.to_json()),
        reason_code: req.reason_code,
        requested_by: req.requested_by,
        timeout_at_ms: a.timeout_at_ms,
        timeout_behavior: req.timeout_behavior,
        continuation: a.continuation,
        now_ms: now,
        closed_at_ms: already.then_some(now),
        close_reason: already.then_some("already_satisfied"),
        satisfier_seqs: satisfied,
        fresh_waitpoints: pgrx::JsonB(l.fresh.clone()),
        states: lifecycle::SUSPENDED,
        end_lease: !already,
        execution_ref: &execution_ref,
    };
    let inserted = if events::by_table(client)? { write_by_table(client, args)? } else { suspend_write::one(client, args)?.inserted };
    if inserted != fresh_count {
        return Err(WfError::invalid_input("waitpoint_id_exists", "waitpoint_id_exists: that waitpoint id is already used"));
    }
    if !already {
        notify(client, &[Channel::Lease])?;
    }
    if let Some(idempotency_key) = a.idempotency_key {
        let expires_at_ms = suspend::dedup_expires_at_ms(a.timeout_at_ms, now);
        dedup_put::execute(
            client,
            dedup_put::Args { partition_key, execution_id, idempotency_key, result_rows: pgrx::JsonB(l.stored.clone()), expires_at_ms },
        )?;
    }
    Ok(())
}

/// `ff_suspend`: one row per bound waitpoint, primary first.
pub fn suspend(a: SuspendArgs<'_>) -> WfResult<Vec<SuspendRow>> {
    let id = parse_execution_id(a.execution_id)?;
    let now = now_ms();
    let req = suspend::check(
        a.resume_condition.as_ref(),
        a.waitpoints.as_ref(),
        a.timeout_at_ms,
        a.timeout_behavior,
        a.reason_code,
        a.requested_by,
        a.idempotency_key,
        a.continuation,
        now,
    )?;
    Spi::connect_mut(|client| {
        let (view, _) = lock_for_lease(client, &id)?;
        let state = read_state(client, &id, a.idempotency_key)?;
        if let Some(stored) = state.replay {
            return replayed_rows(client, &id, &stored.0);
        }
        if state.already_suspended {
            return Err(WfError::new(ErrorKind::AlreadySuspended, "the execution already has an open suspension"));
        }
        let lease_id = required(a.lease_id, "lease_id")?;
        lifecycle::check_fence(&view, lease_id.as_bytes(), required(a.lease_epoch, "lease_epoch")?, now)?;
        let signing = state.signing.ok_or_else(WfError::keystore_empty)?;
        let bound = bindings::resolve(&req.condition, req.specs.clone(), &state.existing, now, uuid::Uuid::new_v4)?;
        let suspension_id = a.suspension_id.unwrap_or_else(crate::postgres::args::new_pg_uuid);
        let satisfied = replay_buffered(client, &id, &req.condition, &bound, suspension_id)?;
        let signed = sign(client, &id, bound, &signing, &state.pending_kids)?;
        let l = suspend::layout(&req.condition, &signed, from_pg_uuid(&suspension_id), satisfied.is_some());
        write(client, &id, &req, &a, &l, suspension_id, satisfied, now)?;
        Ok(l.rows.into_iter().map(to_sql_row).collect())
    })
}

/// `ff_list_pending_waitpoints`' row.
pub type PendingRow = (pgrx::Uuid, String, String, i64, Option<i64>, Option<i64>, Vec<String>, String, String);

pub fn list_pending(
    execution_id: Option<&str>,
    after: Option<pgrx::Uuid>,
    max_rows: Option<i32>,
    include_closed: Option<bool>,
) -> WfResult<Vec<PendingRow>> {
    let id = parse_execution_id(execution_id)?;
    let max_rows = page_size(max_rows)?;
    Spi::connect(|client| {
        let (partition_key, execution_id) = ex_key(&id);
        let args = list_pending::Args {
            partition_key,
            execution_id,
            after_waitpoint_id: after,
            max_rows,
            include_closed: include_closed.unwrap_or(false),
        };
        Ok(list_pending::all(client, args)?
            .into_iter()
            .map(|r| {
                (
                    r.waitpoint_id,
                    r.waitpoint_key,
                    r.state,
                    r.created_at_ms,
                    r.activated_at_ms,
                    r.expires_at_ms,
                    r.required_signal_names,
                    r.token_kid,
                    r.token_fingerprint,
                )
            })
            .collect())
    })
}

/// `ff_list_suspended`'s row.
pub type SuspendedRow = (String, String, pgrx::Uuid, i64, Option<i64>, String, String);

pub fn list_suspended(after: Option<&str>, max_rows: Option<i32>) -> WfResult<Vec<SuspendedRow>> {
    let after = after.map(ExecutionId::parse).transpose()?;
    let max_rows = page_size(max_rows)?;
    Spi::connect(|client| {
        let args = list_suspended::Args {
            after_partition_key: after.map(|a| a.partition as i16),
            after_execution_id: after.map(|a| to_pg_uuid(&a.uuid)),
            max_rows,
        };
        Ok(list_suspended::all(client, args)?
            .into_iter()
            .map(|r| {
                let id = ex_id(r.partition_key, &r.execution_id).to_string();
                (id, r.lane_id, r.suspension_id, r.suspended_at_ms, r.timeout_at_ms, r.reason_code, r.timeout_behavior)
            })
            .collect())
    })
}

/// `ff_read_waitpoint_token`: the token, or none.
pub fn read_token(execution_id: Option<&str>, waitpoint_id: Option<pgrx::Uuid>) -> WfResult<Option<String>> {
    let id = parse_execution_id(execution_id)?;
    let waitpoint_id = required(waitpoint_id, "waitpoint_id")?;
    Spi::connect(|client| {
        let (partition_key, execution_id) = ex_key(&id);
        match waitpoint_kid::optional(client, waitpoint_kid::Args { partition_key, execution_id, waitpoint_id })? {
            None => Ok(None),
            Some(r) => Ok(Some(token_for(client, &id, &from_pg_uuid(&waitpoint_id), &r.token_kid)?)),
        }
    })
}
