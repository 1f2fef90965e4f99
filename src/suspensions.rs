//! Waitpoints and suspend in the database: `ff_create_waitpoint`, `ff_suspend`,
//! `ff_list_pending_waitpoints`, `ff_read_waitpoint_token`, `ff_list_suspended`. Tokens are never
//! stored: they are recomputed from the waitpoint's `token_kid` whenever they are returned.

use crate::bindings::{self, Bound, ExistingWaitpoint};
use crate::condition::{self, Condition, Effect};
use crate::error::{required, ErrorKind, WfError, WfResult};
use crate::events::{notify, Channel};
use crate::executions::{ex_key, from_pg_uuid, lock_for_lease, optional_text, parse_execution_id, to_pg_uuid};
use crate::ids::ExecutionId;
use crate::keys::StoredKey;
use crate::lifecycle;
use crate::plans::{now_ms, t, Plan};
use crate::raise::guarded;
use crate::tokens;
use pgrx::prelude::*;
use pgrx::spi::SpiClient;
use serde_json::{json, Value};

static INSERT_WAITPOINT: Plan = Plan {
    sql: "INSERT INTO ff_waitpoint (partition_key, execution_id, waitpoint_id, waitpoint_key, suspension_id, state, \
              token_kid, token_fingerprint, required_signal_names, created_at_ms, activated_at_ms, expires_at_ms) \
          VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) ON CONFLICT DO NOTHING RETURNING waitpoint_id",
    args: &[t::INT2, t::UUID, t::UUID, t::TEXT, t::UUID, t::TEXT, t::TEXT, t::TEXT, t::TEXT_ARRAY, t::INT8, t::INT8, t::INT8],
};
/// Everything suspend decides on, read in one statement after the execution row is locked: whether a
/// suspension is open, the stored result of an idempotent replay, the active signing key, and the
/// execution's open waitpoints (one row each; a single row of NULLs in those columns when none).
static SUSPEND_STATE: Plan = Plan {
    sql: concat!(
        "SELECT EXISTS (SELECT 1 FROM ff_suspension s WHERE s.partition_key = $1 AND s.execution_id = $2 AND s.state = 'open'), \
                d.result_rows, ",
        crate::key_columns!(),
        ", w.waitpoint_id, w.waitpoint_key, w.state, w.expires_at_ms, w.token_kid \
         FROM (SELECT 1) one \
         LEFT JOIN ff_suspend_dedup d ON d.partition_key = $1 AND d.execution_id = $2 AND d.idempotency_key = $3 \
         LEFT JOIN ff_keystore k ON k.active \
         LEFT JOIN ff_waitpoint w ON w.partition_key = $1 AND w.execution_id = $2 AND w.state <> 'closed'"
    ),
    args: &[t::INT2, t::UUID, t::TEXT],
};
static DEDUP_PUT: Plan = Plan {
    sql: "INSERT INTO ff_suspend_dedup (partition_key, execution_id, idempotency_key, result_rows, expires_at_ms) \
          VALUES ($1, $2, $3, $4, $5) ON CONFLICT (partition_key, execution_id, idempotency_key) \
          DO UPDATE SET result_rows = EXCLUDED.result_rows, expires_at_ms = EXCLUDED.expires_at_ms",
    args: &[t::INT2, t::UUID, t::TEXT, t::JSONB, t::INT8],
};
static SIGNALS_ON: Plan = Plan {
    sql: "SELECT signal_seq, signal_id, waitpoint_key, signal_name, source_type, source_identity FROM ff_signal \
          WHERE partition_key = $1 AND execution_id = $2 AND waitpoint_id = ANY ($3) ORDER BY signal_seq",
    args: &[t::INT2, t::UUID, t::UUID_ARRAY],
};
static SET_SIGNAL_EFFECT: Plan = Plan {
    sql: "UPDATE ff_signal SET suspension_id = $3, effect = $4 WHERE partition_key = $1 AND execution_id = $2 AND signal_seq = $5",
    args: &[t::INT2, t::UUID, t::UUID, t::TEXT, t::INT8],
};
/// Record the suspension, its fresh waitpoints (`$15`, a JSON array of records) and, when `$21`, end
/// the lease (epoch + 1, attempt interrupted) with the lease event `revoked` — one statement. Returns
/// how many waitpoints were inserted (fewer than given: a caller-chosen waitpoint id is taken).
static SUSPEND_WRITE: Plan = Plan {
    sql: "WITH sus AS ( \
            INSERT INTO ff_suspension (partition_key, execution_id, suspension_id, state, resume_condition, reason_code, \
                requested_by, timeout_at_ms, timeout_behavior, continuation, suspended_at_ms, closed_at_ms, close_reason, \
                satisfier_seqs) \
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)), \
          wps AS ( \
            INSERT INTO ff_waitpoint (partition_key, execution_id, waitpoint_id, waitpoint_key, suspension_id, state, \
                token_kid, token_fingerprint, required_signal_names, created_at_ms, activated_at_ms, expires_at_ms) \
            SELECT $1, $2, w.waitpoint_id, w.waitpoint_key, $3, 'active', w.token_kid, w.token_fingerprint, \
                   w.required_signal_names, $11, $11, $8 \
            FROM jsonb_to_recordset($15) AS w(waitpoint_id uuid, waitpoint_key text, token_kid text, \
                 token_fingerprint text, required_signal_names text[]) \
            ON CONFLICT DO NOTHING RETURNING 1), \
          upd AS ( \
            UPDATE ff_exec_core SET lifecycle_phase = $16, ownership_state = $17, eligibility_state = $18, \
                attempt_state = $19, public_state = $20, lease_epoch = lease_epoch + 1, lease_expires_at_ms = NULL, \
                interrupt_reason = 'suspended', updated_at_ms = $11 \
            WHERE partition_key = $1 AND execution_id = $2 AND $21 \
            RETURNING partition_key, namespace, lease_id, lease_epoch), \
          ev AS ( \
            INSERT INTO ff_lease_event (partition_key, execution_id, namespace, occurred_at_ms, lease_id, lease_epoch, event_type) \
            SELECT partition_key, $22, namespace, $11, lease_id, lease_epoch, 'revoked' FROM upd) \
          SELECT count(*) FROM wps",
    args: &[
        t::INT2, t::UUID, t::UUID, t::TEXT, t::JSONB, t::TEXT, t::TEXT, t::INT8, t::TEXT, t::TEXT, t::INT8, t::INT8, t::TEXT,
        t::INT8_ARRAY, t::JSONB, t::TEXT, t::TEXT, t::TEXT, t::TEXT, t::TEXT, t::BOOL, t::TEXT,
    ],
};
static BIND_PENDING: Plan = Plan {
    sql: "UPDATE ff_waitpoint SET state = $4, suspension_id = $5, activated_at_ms = $6, required_signal_names = $7, \
              closed_at_ms = CASE WHEN $4 = 'closed' THEN $6 END, close_reason = $8 \
          WHERE partition_key = $1 AND execution_id = $2 AND waitpoint_id = $3",
    args: &[t::INT2, t::UUID, t::UUID, t::TEXT, t::UUID, t::INT8, t::TEXT_ARRAY, t::TEXT],
};
static WAITPOINT_KID: Plan = Plan {
    sql: "SELECT token_kid FROM ff_waitpoint WHERE partition_key = $1 AND execution_id = $2 AND waitpoint_id = $3",
    args: &[t::INT2, t::UUID, t::UUID],
};

/// The token of a waitpoint, recomputed under the key it was minted with.
pub fn token_for(client: &SpiClient<'_>, id: &ExecutionId, waitpoint_id: &uuid::Uuid, kid: &str) -> WfResult<String> {
    let key = crate::keystore::key_by_kid(client, kid)?
        .ok_or_else(|| WfError::new(ErrorKind::TokenExpired, "the waitpoint's signing key was retired and reaped"))?;
    Ok(tokens::waitpoint_token(&key.kid, &key.secret, id, waitpoint_id))
}

fn fingerprint(token: &str) -> String {
    token.rsplit_once(':').map(|(_, h)| h[..16].to_string()).unwrap_or_default()
}

fn create_waitpoint(execution_id: Option<&str>, lease_id: Option<pgrx::Uuid>, lease_epoch: Option<i64>, key: Option<&str>, expires_in_ms: Option<i64>) -> WfResult<(pgrx::Uuid, String, String)> {
    let id = parse_execution_id(execution_id)?;
    let key = required(key, "waitpoint_key")?;
    optional_text(Some(key), "waitpoint_key", 256)?;
    let ttl = required(expires_in_ms, "expires_in_ms")?;
    lifecycle::validate_ms(ttl, "expires_in_ms", 1)?;
    let now = now_ms();
    Spi::connect_mut(|client| {
        crate::executions::lock_leased(client, &id, lease_id, lease_epoch, now)?;
        let signing = crate::keystore::active_key(client)?;
        let wp = uuid::Uuid::new_v4();
        let token = tokens::waitpoint_token(&signing.kid, &signing.secret, &id, &wp);
        let (pk, eu) = ex_key(&id);
        INSERT_WAITPOINT.run(
            client,
            &[pk.into(), eu.into(), to_pg_uuid(&wp).into(), key.into(), Option::<pgrx::Uuid>::None.into(), "pending".into(), signing.kid.as_str().into(),
                fingerprint(&token).into(), Vec::<String>::new().into(), now.into(), Option::<i64>::None.into(), (now + ttl).into(),
            ],
        )?;
        Ok((to_pg_uuid(&wp), key.to_string(), token))
    })
}

pub struct SuspendArgs<'a> {
    pub execution_id: Option<&'a str>,
    pub lease_id: Option<pgrx::Uuid>,
    pub lease_epoch: Option<i64>,
    pub resume_condition: Option<pgrx::JsonB>,
    pub waitpoints: Option<pgrx::JsonB>,
    pub timeout_at_ms: Option<i64>,
    pub timeout_behavior: Option<&'a str>,
    pub reason_code: Option<&'a str>,
    pub requested_by: Option<&'a str>,
    pub suspension_id: Option<pgrx::Uuid>,
    pub idempotency_key: Option<&'a str>,
    pub continuation: Option<&'a str>,
}

type SuspendRow = (String, pgrx::Uuid, Option<pgrx::Uuid>, Option<String>, Option<String>);

fn rows_from_dedup(client: &SpiClient<'_>, id: &ExecutionId, stored: &Value) -> WfResult<Vec<SuspendRow>> {
    let arr = stored.as_array().ok_or_else(|| WfError::corruption("suspend dedup row is not an array"))?;
    let mut out = Vec::new();
    for r in arr {
        let s = |k: &str| r.get(k).and_then(|v| v.as_str()).map(str::to_string);
        let sid = s("suspension_id").and_then(|x| uuid::Uuid::parse_str(&x).ok()).ok_or_else(|| WfError::corruption("suspend dedup row without suspension id"))?;
        let wp = s("waitpoint_id").and_then(|x| uuid::Uuid::parse_str(&x).ok());
        let token = match (&wp, s("token_kid")) {
            (Some(w), Some(kid)) => Some(token_for(client, id, w, &kid)?),
            _ => None,
        };
        out.push((s("outcome").unwrap_or_default(), to_pg_uuid(&sid), wp.as_ref().map(to_pg_uuid), s("waitpoint_key"), token));
    }
    Ok(out)
}

fn suspend(a: SuspendArgs<'_>) -> WfResult<Vec<SuspendRow>> {
    let id = parse_execution_id(a.execution_id)?;
    let cond = Condition::parse(&required(a.resume_condition, "resume_condition")?.0)?;
    let specs = match a.waitpoints {
        None => None,
        Some(j) if j.0.is_null() => None,
        Some(j) => Some(bindings::parse_specs(&j.0)?),
    };
    let behavior = required(a.timeout_behavior, "timeout_behavior")?;
    bindings::one_of(behavior, &bindings::TIMEOUT_BEHAVIORS, "timeout_behavior")?;
    let behavior = if behavior == "auto_resume" { "auto_resume_with_timeout_signal" } else { behavior };
    let reason = required(a.reason_code, "reason_code")?;
    bindings::one_of(reason, &bindings::REASON_CODES, "reason_code")?;
    let requested_by = required(a.requested_by, "requested_by")?;
    bindings::one_of(requested_by, &bindings::REQUESTED_BY, "requested_by")?;
    optional_text(a.idempotency_key, "idempotency_key", 256)?;
    if a.continuation.is_some_and(|c| c.len() > 65_536) {
        return Err(WfError::invalid_input("invalid_continuation", "continuation must be at most 64 KiB"));
    }
    let now = now_ms();
    bindings::validate_timeout(&cond, a.timeout_at_ms, now)?;
    Spi::connect_mut(|client| {
        let (view, _) = lock_for_lease(client, &id)?;
        let (pk, eu) = ex_key(&id);
        // One read under the lock: open suspension?, idempotent replay, signing key, open waitpoints.
        let mut already_suspended = false;
        let mut replay: Option<pgrx::JsonB> = None;
        let mut signing: Option<StoredKey> = None;
        let mut existing = Vec::new();
        let mut pending_kids: Vec<(uuid::Uuid, String)> = Vec::new();
        for r in SUSPEND_STATE.run(client, &[pk.into(), eu.into(), a.idempotency_key.into()])? {
            already_suspended = r.get(1)?.unwrap_or(false);
            replay = r.get(2)?;
            signing = crate::keystore::key_at(&r, 3)?;
            let Some(wid) = r.get::<pgrx::Uuid>(7)? else { continue };
            let wid = from_pg_uuid(&wid);
            let state: String = r.get(9)?.unwrap_or_default();
            if state == "pending" {
                pending_kids.push((wid, r.get(11)?.ok_or_else(|| WfError::corruption("pending waitpoint without kid"))?));
            }
            existing.push(ExistingWaitpoint { id: wid, key: r.get(8)?.unwrap_or_default(), pending: state == "pending", expires_at_ms: r.get(10)? });
        }
        if let Some(stored) = replay {
            return rows_from_dedup(client, &id, &stored.0);
        }
        if already_suspended {
            return Err(WfError::new(ErrorKind::AlreadySuspended, "the execution already has an open suspension"));
        }
        let lease_id = required(a.lease_id, "lease_id")?;
        lifecycle::check_fence(&view, lease_id.as_bytes(), required(a.lease_epoch, "lease_epoch")?, now)?;
        let signing = signing.ok_or_else(WfError::keystore_empty)?;

        let bound: Vec<Bound> = bindings::resolve(&cond, specs, &existing, now, uuid::Uuid::new_v4)?;
        let suspension_id = a.suspension_id.map(|u| from_pg_uuid(&u)).unwrap_or_else(uuid::Uuid::new_v4);

        // Replay signals buffered on bound pending waitpoints through the condition.
        let pending_ids: Vec<pgrx::Uuid> = bound.iter().filter(|b| b.pending).map(|b| to_pg_uuid(&b.id)).collect();
        let mut counted: Vec<condition::Signal> = Vec::new();
        let mut replayed: Vec<(i64, Effect)> = Vec::new();
        let mut satisfied = None;
        if !pending_ids.is_empty() {
            for r in SIGNALS_ON.run(client, &[pk.into(), eu.into(), pending_ids.into()])? {
                let sid: pgrx::Uuid = r.get(2)?.ok_or_else(|| WfError::corruption("signal without id"))?;
                let s = condition::Signal {
                    seq: r.get(1)?.unwrap_or(0),
                    signal_id: *sid.as_bytes(),
                    waitpoint_key: r.get(3)?.unwrap_or_default(),
                    name: r.get(4)?.unwrap_or_default(),
                    source_type: r.get(5)?.unwrap_or_default(),
                    source_identity: r.get(6)?.unwrap_or_default(),
                };
                if satisfied.is_some() {
                    replayed.push((s.seq, Effect::AppendedToWaitpointDuplicate));
                    continue;
                }
                let (effect, after) = condition::effect_of(&cond, &counted, &s);
                replayed.push((s.seq, effect));
                if effect.counts() {
                    counted.push(s);
                }
                if effect == Effect::ResumeConditionSatisfied {
                    satisfied = Some(after.satisfiers);
                }
            }
        }
        let sid_pg = to_pg_uuid(&suspension_id);
        let outcome = if satisfied.is_some() { "already_satisfied" } else { "suspended" };
        for (seq, effect) in &replayed {
            SET_SIGNAL_EFFECT.run(client, &[pk.into(), eu.into(), sid_pg.into(), effect.as_str().into(), (*seq).into()])?;
        }
        let mut rows: Vec<SuspendRow> = Vec::new();
        let mut stored = Vec::new();
        let mut fresh = Vec::new();
        for b in &bound {
            let names = cond.required_names(&b.key);
            let wp = to_pg_uuid(&b.id);
            let kid = if b.pending {
                pending_kids.iter().find(|(w, _)| *w == b.id).map(|(_, k)| k.clone()).ok_or_else(|| WfError::corruption("bound pending waitpoint not read"))?
            } else {
                signing.kid.clone()
            };
            let token = if kid == signing.kid { tokens::waitpoint_token(&signing.kid, &signing.secret, &id, &b.id) } else { token_for(client, &id, &b.id, &kid)? };
            if b.pending {
                let (state, close) = if satisfied.is_some() { ("closed", Some("satisfied_before_suspend")) } else { ("active", None) };
                BIND_PENDING.run(client, &[pk.into(), eu.into(), wp.into(), state.into(), sid_pg.into(), now.into(), names.into(), close.into()])?;
            } else if satisfied.is_none() {
                fresh.push(json!({"waitpoint_id": b.id.to_string(), "waitpoint_key": b.key, "token_kid": kid,
                                  "token_fingerprint": fingerprint(&token), "required_signal_names": names}));
            } else {
                continue; // already satisfied: fresh waitpoints are not created
            }
            stored.push(json!({"outcome": outcome, "suspension_id": suspension_id.to_string(), "waitpoint_id": b.id.to_string(),
                               "waitpoint_key": b.key, "token_kid": kid}));
            rows.push((outcome.to_string(), sid_pg, Some(wp), Some(b.key.clone()), Some(token)));
        }
        if rows.is_empty() {
            stored.push(json!({"outcome": outcome, "suspension_id": suspension_id.to_string()}));
            rows.push((outcome.to_string(), sid_pg, None, None, None));
        }
        // The suspension (closed at once when already satisfied, so observers can see why), the fresh
        // waitpoints and, unless already satisfied, the end of the lease: one statement.
        let s = lifecycle::SUSPENDED;
        let fresh_count = fresh.len() as i64;
        let inserted: i64 = SUSPEND_WRITE
            .run(
                client,
                &[
                    pk.into(), eu.into(), sid_pg.into(), (if satisfied.is_some() { "closed" } else { "open" }).into(), pgrx::JsonB(cond.to_json()).into(),
                    reason.into(), requested_by.into(), a.timeout_at_ms.into(), behavior.into(), a.continuation.into(), now.into(),
                    (if satisfied.is_some() { Some(now) } else { None }).into(),
                    (if satisfied.is_some() { Some("already_satisfied") } else { None }).into(),
                    satisfied.clone().into(), pgrx::JsonB(Value::Array(fresh)).into(),
                    s.lifecycle_phase.into(), s.ownership_state.into(), s.eligibility_state.into(), s.attempt_state.into(), s.public_state.into(),
                    satisfied.is_none().into(), id.to_string().into(),
                ],
            )?
            .first()
            .get(1)?
            .unwrap_or(0);
        if inserted != fresh_count {
            return Err(WfError::invalid_input("waitpoint_id_exists", "waitpoint_id_exists: that waitpoint id is already used"));
        }
        if satisfied.is_none() {
            notify(&[Channel::Lease]);
        }
        if let Some(key) = a.idempotency_key {
            // Kept until the suspension's timeout + 60 s, or 7 days.
            let expires = a.timeout_at_ms.map(|t| t.max(now) + 60_000).unwrap_or(now + 7 * 86_400_000);
            DEDUP_PUT.run(client, &[pk.into(), eu.into(), key.into(), pgrx::JsonB(Value::Array(stored)).into(), expires.into()])?;
        }
        Ok(rows)
    })
}

static LIST_PENDING: Plan = Plan {
    sql: "SELECT waitpoint_id, waitpoint_key, state, created_at_ms, activated_at_ms, expires_at_ms, required_signal_names, \
                 token_kid, token_fingerprint \
          FROM ff_waitpoint WHERE partition_key = $1 AND execution_id = $2 \
            AND ($3::uuid IS NULL OR waitpoint_id > $3) AND ($5 OR state <> 'closed') \
          ORDER BY waitpoint_id LIMIT $4",
    args: &[t::INT2, t::UUID, t::UUID, t::INT8, t::BOOL],
};
static LIST_SUSPENDED: Plan = Plan {
    sql: "SELECT s.partition_key, s.execution_id, e.lane_id, s.suspension_id, s.suspended_at_ms, s.timeout_at_ms, \
                 s.reason_code, s.timeout_behavior \
          FROM ff_suspension s JOIN ff_exec_core e ON e.partition_key = s.partition_key AND e.execution_id = s.execution_id \
          WHERE s.state = 'open' AND ($1::smallint IS NULL OR (s.partition_key, s.execution_id) > ($1, $2)) \
          ORDER BY s.partition_key, s.execution_id LIMIT $3",
    args: &[t::INT2, t::UUID, t::INT8],
};

fn page_size(max_rows: Option<i32>) -> WfResult<i64> {
    let n = required(max_rows, "max_rows")?;
    if !(1..=10_000).contains(&n) {
        return Err(WfError::invalid_input("invalid_max_rows", "max_rows must be between 1 and 10000"));
    }
    Ok(n as i64)
}

type PendingRow = (pgrx::Uuid, String, String, i64, Option<i64>, Option<i64>, Vec<String>, String, String);

fn list_pending(execution_id: Option<&str>, after: Option<pgrx::Uuid>, max_rows: Option<i32>, include_closed: Option<bool>) -> WfResult<Vec<PendingRow>> {
    let id = parse_execution_id(execution_id)?;
    let n = page_size(max_rows)?;
    Spi::connect(|client| {
        let (pk, eu) = ex_key(&id);
        let mut out = Vec::new();
        for r in LIST_PENDING.run(client, &[pk.into(), eu.into(), after.into(), n.into(), include_closed.unwrap_or(false).into()])? {
            out.push((
                r.get(1)?.ok_or_else(|| WfError::corruption("waitpoint without id"))?,
                r.get(2)?.unwrap_or_default(),
                r.get(3)?.unwrap_or_default(),
                r.get(4)?.unwrap_or(0),
                r.get(5)?,
                r.get(6)?,
                r.get(7)?.unwrap_or_default(),
                r.get(8)?.unwrap_or_default(),
                r.get(9)?.unwrap_or_default(),
            ));
        }
        Ok(out)
    })
}

type SuspendedRow = (String, String, pgrx::Uuid, i64, Option<i64>, String, String);

fn list_suspended(after: Option<&str>, max_rows: Option<i32>) -> WfResult<Vec<SuspendedRow>> {
    let after = after.map(ExecutionId::parse).transpose()?;
    let n = page_size(max_rows)?;
    Spi::connect(|client| {
        let mut out = Vec::new();
        let args = [after.map(|a| a.partition as i16).into(), after.map(|a| to_pg_uuid(&a.uuid)).into(), n.into()];
        for r in LIST_SUSPENDED.run(client, &args)? {
            let pk: i16 = r.get(1)?.unwrap_or(0);
            let u: pgrx::Uuid = r.get(2)?.ok_or_else(|| WfError::corruption("suspension without execution"))?;
            out.push((
                ExecutionId { partition: pk as u16, uuid: from_pg_uuid(&u) }.to_string(),
                r.get(3)?.unwrap_or_default(),
                r.get(4)?.ok_or_else(|| WfError::corruption("suspension without id"))?,
                r.get(5)?.unwrap_or(0),
                r.get(6)?,
                r.get(7)?.unwrap_or_default(),
                r.get(8)?.unwrap_or_default(),
            ));
        }
        Ok(out)
    })
}

fn read_token(execution_id: Option<&str>, waitpoint_id: Option<pgrx::Uuid>) -> WfResult<Option<String>> {
    let id = parse_execution_id(execution_id)?;
    let wp = required(waitpoint_id, "waitpoint_id")?;
    Spi::connect(|client| {
        let (pk, eu) = ex_key(&id);
        let rows = WAITPOINT_KID.run(client, &[pk.into(), eu.into(), wp.into()])?;
        match rows.into_iter().next() {
            None => Ok(None),
            Some(r) => {
                let kid: String = r.get(1)?.unwrap_or_default();
                Ok(Some(token_for(client, &id, &from_pg_uuid(&wp), &kid)?))
            }
        }
    })
}

/// Create a pending waitpoint (signals to it are buffered until a suspend binds it).
#[pg_extern(security_definer, parallel_unsafe)]
#[search_path(@extschema@, pg_temp)]
fn ff_create_waitpoint(
    execution_id: Option<&str>,
    lease_id: Option<pgrx::Uuid>,
    lease_epoch: Option<i64>,
    waitpoint_key: Option<&str>,
    expires_in_ms: default!(Option<i64>, 3600000),
) -> TableIterator<'static, (name!(waitpoint_id, pgrx::Uuid), name!(waitpoint_key, String), name!(token, String))> {
    TableIterator::once(guarded(|| create_waitpoint(execution_id, lease_id, lease_epoch, waitpoint_key, expires_in_ms)))
}

/// Suspend the leased execution on a resume condition; one row per bound waitpoint, primary first.
#[pg_extern(security_definer, parallel_unsafe)]
#[search_path(@extschema@, pg_temp)]
#[allow(clippy::too_many_arguments)]
fn ff_suspend(
    execution_id: Option<&str>,
    lease_id: Option<pgrx::Uuid>,
    lease_epoch: Option<i64>,
    resume_condition: Option<pgrx::JsonB>,
    waitpoints: default!(Option<pgrx::JsonB>, "NULL"),
    timeout_at_ms: default!(Option<i64>, "NULL"),
    timeout_behavior: default!(Option<&str>, "'fail'"),
    reason_code: default!(Option<&str>, "'waiting_for_signal'"),
    requested_by: default!(Option<&str>, "'worker'"),
    suspension_id: default!(Option<pgrx::Uuid>, "NULL"),
    idempotency_key: default!(Option<&str>, "NULL"),
    continuation: default!(Option<&str>, "NULL"),
) -> TableIterator<
    'static,
    (
        name!(outcome, String),
        name!(suspension_id, pgrx::Uuid),
        name!(waitpoint_id, Option<pgrx::Uuid>),
        name!(waitpoint_key, Option<String>),
        name!(token, Option<String>),
    ),
> {
    TableIterator::new(guarded(|| {
        suspend(SuspendArgs {
            execution_id,
            lease_id,
            lease_epoch,
            resume_condition,
            waitpoints,
            timeout_at_ms,
            timeout_behavior,
            reason_code,
            requested_by,
            suspension_id,
            idempotency_key,
            continuation,
        })
    }))
}

/// The execution's open waitpoints (and closed ones on request), keyset-paginated; never the token.
#[pg_extern(security_definer, parallel_unsafe)]
#[search_path(@extschema@, pg_temp)]
fn ff_list_pending_waitpoints(
    execution_id: Option<&str>,
    after_waitpoint_id: default!(Option<pgrx::Uuid>, "NULL"),
    max_rows: default!(Option<i32>, 100),
    include_closed: default!(Option<bool>, false),
) -> TableIterator<
    'static,
    (
        name!(waitpoint_id, pgrx::Uuid),
        name!(waitpoint_key, String),
        name!(state, String),
        name!(created_at_ms, i64),
        name!(activated_at_ms, Option<i64>),
        name!(expires_at_ms, Option<i64>),
        name!(required_signal_names, Vec<String>),
        name!(token_kid, String),
        name!(token_fingerprint, String),
    ),
> {
    TableIterator::new(guarded(|| list_pending(execution_id, after_waitpoint_id, max_rows, include_closed)))
}

/// Open suspensions, keyset-paginated by execution id.
#[pg_extern(security_definer, parallel_unsafe)]
#[search_path(@extschema@, pg_temp)]
fn ff_list_suspended(
    after_execution_id: default!(Option<&str>, "NULL"),
    max_rows: default!(Option<i32>, 100),
) -> TableIterator<
    'static,
    (
        name!(execution_id, String),
        name!(lane_id, String),
        name!(suspension_id, pgrx::Uuid),
        name!(suspended_at_ms, i64),
        name!(timeout_at_ms, Option<i64>),
        name!(reason_code, String),
        name!(timeout_behavior, String),
    ),
> {
    TableIterator::new(guarded(|| list_suspended(after_execution_id, max_rows)))
}

/// The token of a waitpoint (operators only), or no row.
#[pg_extern(security_definer, parallel_unsafe)]
#[search_path(@extschema@, pg_temp)]
fn ff_read_waitpoint_token(execution_id: Option<&str>, waitpoint_id: Option<pgrx::Uuid>) -> TableIterator<'static, (name!(token, String),)> {
    TableIterator::new(guarded(|| Ok(read_token(execution_id, waitpoint_id)?.map(|t| (t,)).into_iter().collect::<Vec<_>>())))
}
