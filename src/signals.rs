//! Signals in the database: `ff_deliver_signal` (semantics §6, in that order of checks),
//! `ff_deliver_approval_signal`, `ff_resume_execution`, `ff_observe_signals`, and the suspension
//! timeout task of `ff_tick`. Evaluation recomputes the condition over the recorded signals
//! (`condition.rs`); this module reads and writes what that decides.

use crate::condition::{self, Condition, Effect};
use crate::error::{required, ErrorKind, WfError, WfResult};
use crate::events::{notify, Channel};
use crate::executions::{bounded_text, ex_key, optional_text, parse_execution_id, to_pg_uuid};
use crate::ids::ExecutionId;
use crate::lifecycle::{self, States};
use crate::plans::{now_ms, t, Plan};
use crate::raise::guarded;
use crate::tokens;
use pgrx::prelude::*;
use pgrx::spi::SpiClient;

const COUNTING_EFFECTS: [&str; 3] = ["appended_to_waitpoint", "appended_to_waitpoint_duplicate", "resume_condition_satisfied"];

/// Before the lock: the waitpoint (does it exist?) and the key the presented token names, one statement.
static WAITPOINT_AND_KEY: Plan = Plan {
    sql: concat!(
        "SELECT w.waitpoint_id, ",
        crate::key_columns!(),
        " FROM (SELECT 1) one \
          LEFT JOIN ff_waitpoint w ON w.partition_key = $1 AND w.execution_id = $2 AND w.waitpoint_id = $3 \
          LEFT JOIN ff_keystore k ON k.kid = $4"
    ),
    args: &[t::INT2, t::UUID, t::UUID, t::TEXT],
};
static LOCK_EXEC: Plan = Plan {
    sql: "SELECT lifecycle_phase, signal_count, lane_id FROM ff_exec_core \
          WHERE partition_key = $1 AND execution_id = $2 FOR UPDATE",
    args: &[t::INT2, t::UUID],
};
/// After the lock (a new statement, so it sees what committed while we waited): the waitpoint, the
/// first signal id of an idempotency key, the open suspension with its condition, and the signals that
/// count towards it (one row each, in acceptance order; a single row of NULLs in those columns when
/// none).
static DELIVERY_STATE: Plan = Plan {
    sql: "SELECT w.waitpoint_key, w.state, w.expires_at_ms, w.suspension_id, \
                 (SELECT d.signal_id FROM ff_signal_dedup d WHERE d.partition_key = $1 AND d.execution_id = $2 \
                    AND d.waitpoint_id = $3 AND d.idempotency_key = $4 AND d.expires_at_ms > $5), \
                 s.suspension_id, s.resume_condition, \
                 g.signal_seq, g.signal_id, g.waitpoint_key, g.signal_name, g.source_type, g.source_identity \
          FROM ff_waitpoint w \
          LEFT JOIN ff_suspension s ON s.partition_key = $1 AND s.execution_id = $2 AND s.state = 'open' \
          LEFT JOIN ff_signal g ON g.partition_key = $1 AND g.execution_id = $2 AND g.suspension_id = s.suspension_id \
                AND g.effect = ANY ($6) \
          WHERE w.partition_key = $1 AND w.execution_id = $2 AND w.waitpoint_id = $3 \
          ORDER BY g.signal_seq",
    args: &[t::INT2, t::UUID, t::UUID, t::TEXT, t::INT8, t::TEXT_ARRAY],
};
static DEDUP_PUT: Plan = Plan {
    sql: "INSERT INTO ff_signal_dedup (partition_key, execution_id, waitpoint_id, idempotency_key, signal_id, expires_at_ms) \
          VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (partition_key, execution_id, waitpoint_id, idempotency_key) \
          DO UPDATE SET signal_id = EXCLUDED.signal_id, expires_at_ms = EXCLUDED.expires_at_ms",
    args: &[t::INT2, t::UUID, t::UUID, t::TEXT, t::UUID, t::INT8],
};
/// The open suspension of an execution (at most one), with its condition.
static OPEN_SUSPENSION: Plan = Plan {
    sql: "SELECT suspension_id, resume_condition FROM ff_suspension \
          WHERE partition_key = $1 AND execution_id = $2 AND state = 'open'",
    args: &[t::INT2, t::UUID],
};
/// The first CTE of both recording statements: insert the signal (`$1`–`$15`), return its seq.
macro_rules! insert_signal_cte {
    () => {
        "WITH sig AS ( \
            INSERT INTO ff_signal (partition_key, execution_id, signal_id, waitpoint_id, waitpoint_key, suspension_id, \
                signal_name, signal_category, source_type, source_identity, correlation_id, idempotency_key, payload, \
                effect, accepted_at_ms) \
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15) RETURNING signal_seq), "
    };
}
/// Record an accepted signal, its outbox event, and the execution's signal count, in one statement.
static RECORD: Plan = Plan {
    sql: concat!(
        insert_signal_cte!(),
        "cnt AS (UPDATE ff_exec_core SET signal_count = signal_count + 1 WHERE partition_key = $1 AND execution_id = $2 \
                  RETURNING namespace), \
          ev AS (INSERT INTO ff_signal_event (partition_key, execution_id, namespace, occurred_at_ms, signal_id, waitpoint_id, \
                     signal_name, source_type, source_identity, effect) \
                 SELECT $1, $16, namespace, $15, $3, $4, $7, $9, $10, $14 FROM cnt) \
          SELECT signal_seq FROM sig"
    ),
    args: &[
        t::INT2, t::UUID, t::UUID, t::UUID, t::TEXT, t::UUID, t::TEXT, t::TEXT, t::TEXT, t::TEXT, t::TEXT, t::TEXT, t::BYTEA,
        t::TEXT, t::INT8, t::TEXT,
    ],
};
/// Operator resume: close the suspension (no closing signal, no satisfiers) and its waitpoints, put
/// the execution back in its lane as an interrupted attempt (optionally delayed), write the completion
/// event `resumed`.
static RESUME_BY_OPERATOR: Plan = Plan {
    sql: "WITH sus AS (UPDATE ff_suspension SET state = 'closed', closed_at_ms = $4, close_reason = 'resumed_by_operator', \
                           closer_signal_id = NULL, satisfier_seqs = '{}' \
                       WHERE partition_key = $1 AND execution_id = $2 AND suspension_id = $3 AND state = 'open'), \
          wps AS (UPDATE ff_waitpoint SET state = 'closed', closed_at_ms = $4, close_reason = 'resumed_by_operator' \
                  WHERE partition_key = $1 AND execution_id = $2 AND suspension_id = $3 AND state <> 'closed'), \
          upd AS (UPDATE ff_exec_core SET lifecycle_phase = $5, ownership_state = $6, eligibility_state = $7, \
                      attempt_state = $8, public_state = $9, eligible_at_ms = $10, updated_at_ms = $4 \
                  WHERE partition_key = $1 AND execution_id = $2 RETURNING partition_key, namespace) \
          INSERT INTO ff_completion_event (partition_key, execution_id, namespace, occurred_at_ms, outcome) \
          SELECT partition_key, $11, namespace, $4, 'resumed' FROM upd",
    args: &[t::INT2, t::UUID, t::UUID, t::INT8, t::TEXT, t::TEXT, t::TEXT, t::TEXT, t::TEXT, t::INT8, t::TEXT],
};

/// Record the signal that satisfies the condition and resume, in one statement: the signal and its
/// event, the execution's signal count and resumed states, the suspension and its waitpoints closed
/// (the placeholder seq i64::MAX in the satisfiers `$17` becomes the new signal's; close reason `$24`), the
/// completion event.
static RECORD_AND_RESUME: Plan = Plan {
    sql: concat!(
        insert_signal_cte!(),
        "sus AS (UPDATE ff_suspension SET state = 'closed', closed_at_ms = $15, close_reason = $24, \
                      closer_signal_id = $3, satisfier_seqs = array_replace($17, 9223372036854775807, (SELECT signal_seq FROM sig)) \
                  WHERE partition_key = $1 AND execution_id = $2 AND suspension_id = $6 AND state = 'open'), \
          wps AS (UPDATE ff_waitpoint SET state = 'closed', closed_at_ms = $15, close_reason = $24 \
                  WHERE partition_key = $1 AND execution_id = $2 AND suspension_id = $6 AND state <> 'closed'), \
          upd AS (UPDATE ff_exec_core SET signal_count = signal_count + 1, lifecycle_phase = $18, ownership_state = $19, \
                      eligibility_state = $20, attempt_state = $21, public_state = $22, eligible_at_ms = $23, updated_at_ms = $15 \
                  WHERE partition_key = $1 AND execution_id = $2 RETURNING partition_key, namespace), \
          ev AS (INSERT INTO ff_signal_event (partition_key, execution_id, namespace, occurred_at_ms, signal_id, waitpoint_id, \
                     signal_name, source_type, source_identity, effect) \
                 SELECT $1, $16, namespace, $15, $3, $4, $7, $9, $10, $14 FROM upd), \
          ce AS (INSERT INTO ff_completion_event (partition_key, execution_id, namespace, occurred_at_ms, outcome) \
                 SELECT partition_key, $16, namespace, $15, 'resumed' FROM upd) \
          SELECT signal_seq FROM sig"
    ),
    args: &[
        t::INT2, t::UUID, t::UUID, t::UUID, t::TEXT, t::UUID, t::TEXT, t::TEXT, t::TEXT, t::TEXT, t::TEXT, t::TEXT, t::BYTEA,
        t::TEXT, t::INT8, t::TEXT, t::INT8_ARRAY, t::TEXT, t::TEXT, t::TEXT, t::TEXT, t::TEXT, t::INT8, t::TEXT,
    ],
};

pub struct Delivery<'a> {
    pub waitpoint_id: pgrx::Uuid,
    pub signal_name: &'a str,
    pub signal_id: pgrx::Uuid,
    pub signal_category: &'a str,
    pub source_type: &'a str,
    pub source_identity: &'a str,
    pub payload: Option<&'a [u8]>,
    pub correlation_id: Option<&'a str>,
    pub idempotency_key: Option<&'a str>,
    pub dedup_ttl_ms: i64,
    pub resume_delay_ms: i64,
    pub max_signals: i32,
}

/// How the caller proved it may signal: a token (checked here, revealing nothing before it passes),
/// or an operator path that already resolved the waitpoint.
pub enum Proof<'a> {
    Token(&'a str),
    Operator { lane_id: &'a str },
}

pub type DeliverRow = (String, pgrx::Uuid, Option<String>);

/// Operator resume of a locked, suspended execution.
fn resume_by_operator(client: &SpiClient<'_>, id: &ExecutionId, suspension_id: pgrx::Uuid, delay_ms: i64, now: i64) -> WfResult<()> {
    let states: States = lifecycle::resumed(delay_ms > 0);
    let (pk, eu) = ex_key(id);
    RESUME_BY_OPERATOR.run(
        client,
        &[
            pk.into(), eu.into(), suspension_id.into(), now.into(), states.lifecycle_phase.into(), states.ownership_state.into(),
            states.eligibility_state.into(), states.attempt_state.into(), states.public_state.into(),
            (if delay_ms > 0 { Some(now + delay_ms) } else { None }).into(), id.to_string().into(),
        ],
    )?;
    Ok(())
}

pub fn deliver(client: &SpiClient<'_>, id: &ExecutionId, d: &Delivery<'_>, proof: Proof<'_>, now: i64) -> WfResult<DeliverRow> {
    let (pk, eu) = ex_key(id);
    // 2. Find the waitpoint and verify the token; nothing about existence is revealed before this.
    let presented = match proof {
        Proof::Token(token) => Some(tokens::parse_token(token)?),
        Proof::Operator { .. } => None,
    };
    let kid = presented.as_ref().map(|p| p.kid);
    {
        let row = WAITPOINT_AND_KEY
            .run(client, &[pk.into(), eu.into(), d.waitpoint_id.into(), kid.into()])?
            .next()
            .ok_or_else(|| WfError::corruption("waitpoint look-up returned no row"))?;
        let exists = row.get::<pgrx::Uuid>(1)?.is_some();
        match &presented {
            Some(presented) => {
                if !exists {
                    return Err(WfError::invalid_token());
                }
                let key = crate::keystore::usable_for_verification(crate::keystore::key_at(&row, 2)?, now)?;
                let wp_uuid = crate::executions::from_pg_uuid(&d.waitpoint_id);
                if !tokens::verify_waitpoint_digest(presented.kid, &key.secret, id, &wp_uuid, &presented.digest) {
                    return Err(WfError::invalid_token());
                }
            }
            None if !exists => return Err(WfError::not_found("waitpoint")),
            None => {}
        }
    }
    // 3. Lock the execution; terminal executions take no signals.
    let ex = LOCK_EXEC.run(client, &[pk.into(), eu.into()])?;
    let ex = ex.into_iter().next().ok_or_else(|| WfError::not_found("execution"))?;
    let phase: String = ex.get(1)?.unwrap_or_default();
    let signal_count: i32 = ex.get(2)?.unwrap_or(0);
    let lane: String = ex.get(3)?.unwrap_or_default();
    if let Proof::Operator { lane_id } = proof {
        if lane != lane_id {
            return Err(WfError::invalid_input("lane_mismatch", "lane_mismatch: the execution is in another lane"));
        }
    }
    if phase == "terminal" {
        return Err(WfError::new(ErrorKind::TargetNotSignalable, "the execution is terminal"));
    }
    // 4. Re-read the waitpoint under the lock (with all else the decision needs): closed or expired
    //    waitpoints take no signals.
    let effects: Vec<String> = COUNTING_EFFECTS.iter().map(|s| s.to_string()).collect();
    let rows: Vec<_> = DELIVERY_STATE
        .run(client, &[pk.into(), eu.into(), d.waitpoint_id.into(), d.idempotency_key.into(), now.into(), effects.into()])?
        .collect();
    let wp = rows.first().ok_or_else(|| WfError::new(ErrorKind::WaitpointClosed, "the waitpoint is gone"))?;
    let key: String = wp.get(1)?.unwrap_or_default();
    let state: String = wp.get(2)?.unwrap_or_default();
    let expires: Option<i64> = wp.get(3)?;
    let wp_suspension: Option<pgrx::Uuid> = wp.get(4)?;
    if state == "closed" || (state == "pending" && expires.is_some_and(|e| e <= now)) {
        return Err(WfError::new(ErrorKind::WaitpointClosed, "the waitpoint is closed or expired"));
    }
    // 5. Per-execution signal limit.
    if signal_count >= d.max_signals {
        return Err(WfError::new(ErrorKind::SignalLimitExceeded, format!("the execution already has {signal_count} signals")));
    }
    // 6. Idempotency: the first signal's id, no second record, no event.
    if d.idempotency_key.is_some() {
        if let Some(first) = wp.get::<pgrx::Uuid>(5)? {
            return Ok(("duplicate".to_string(), first, None));
        }
    }
    // 7. Evaluate, then record (and resume) in one statement.
    let mut resume: Option<Vec<i64>> = None;
    let (effect, suspension_id) = if state == "pending" {
        ("buffered_for_pending_waitpoint", None)
    } else {
        let sid: pgrx::Uuid = wp.get(6)?.ok_or_else(|| WfError::new(ErrorKind::WaitpointClosed, "the waitpoint's suspension is closed"))?;
        if wp_suspension != Some(sid) {
            return Err(WfError::new(ErrorKind::WaitpointClosed, "the waitpoint belongs to a closed suspension"));
        }
        let cond_json: pgrx::JsonB = wp.get(7)?.ok_or_else(|| WfError::corruption("suspension without condition"))?;
        let cond = Condition::parse(&cond_json.0).map_err(|_| WfError::corruption("stored resume condition does not parse"))?;
        let mut counted = Vec::new();
        for r in &rows {
            let Some(seq) = r.get::<i64>(8)? else { continue };
            let signal_id: pgrx::Uuid = r.get(9)?.ok_or_else(|| WfError::corruption("signal without id"))?;
            counted.push(condition::Signal {
                seq,
                signal_id: *signal_id.as_bytes(),
                waitpoint_key: r.get(10)?.unwrap_or_default(),
                name: r.get(11)?.unwrap_or_default(),
                source_type: r.get(12)?.unwrap_or_default(),
                source_identity: r.get(13)?.unwrap_or_default(),
            });
        }
        let new = condition::Signal {
            seq: i64::MAX,
            signal_id: *d.signal_id.as_bytes(),
            waitpoint_key: key.clone(),
            name: d.signal_name.to_string(),
            source_type: d.source_type.to_string(),
            source_identity: d.source_identity.to_string(),
        };
        let (effect, after) = condition::effect_of(&cond, &counted, &new);
        if effect == Effect::ResumeConditionSatisfied {
            resume = Some(after.satisfiers);
        }
        (effect.as_str(), Some(sid))
    };
    drop(rows);
    let resumes = resume.map(|satisfiers| Resumes { satisfiers, delay_ms: d.resume_delay_ms, close_reason: "condition_satisfied" });
    record(client, id, d, &key, suspension_id, effect, resumes, now)?;
    if let Some(k) = d.idempotency_key {
        DEDUP_PUT.run(client, &[pk.into(), eu.into(), d.waitpoint_id.into(), k.into(), d.signal_id.into(), now.saturating_add(d.dedup_ttl_ms).into()])?;
    }
    Ok(("accepted".to_string(), d.signal_id, Some(effect.to_string())))
}

/// What recording a satisfying signal also does: resume the suspension it satisfied.
struct Resumes {
    /// Seqs of the satisfying signals; `i64::MAX` stands for the signal being recorded.
    satisfiers: Vec<i64>,
    delay_ms: i64,
    close_reason: &'static str,
}

/// Record an accepted signal (`RECORD`), or record it and resume (`RECORD_AND_RESUME`), and wake the
/// listeners of what was written.
#[allow(clippy::too_many_arguments)]
fn record(client: &SpiClient<'_>, id: &ExecutionId, d: &Delivery<'_>, key: &str, suspension_id: Option<pgrx::Uuid>, effect: &str, resumes: Option<Resumes>, now: i64) -> WfResult<()> {
    let (pk, eu) = ex_key(id);
    let mut args = vec![
        pk.into(), eu.into(), d.signal_id.into(), d.waitpoint_id.into(), key.into(), suspension_id.into(), d.signal_name.into(),
        d.signal_category.into(), d.source_type.into(), d.source_identity.into(), d.correlation_id.into(), d.idempotency_key.into(),
        d.payload.into(), effect.into(), now.into(), id.to_string().into(),
    ];
    let Some(r) = resumes else {
        RECORD.run(client, &args)?;
        notify(&[Channel::Signal]);
        return Ok(());
    };
    let s: States = lifecycle::resumed(r.delay_ms > 0);
    let eligible_at = if r.delay_ms > 0 { Some(now + r.delay_ms) } else { None };
    args.extend([
        r.satisfiers.into(), s.lifecycle_phase.into(), s.ownership_state.into(), s.eligibility_state.into(), s.attempt_state.into(),
        s.public_state.into(), eligible_at.into(), r.close_reason.into(),
    ]);
    RECORD_AND_RESUME.run(client, &args)?;
    notify(&[Channel::Signal, Channel::Completion]);
    Ok(())
}

fn delay_arg(v: Option<i64>, field: &str) -> WfResult<i64> {
    let v = required(v, field)?;
    lifecycle::validate_ms(v, field, 0)?;
    Ok(v)
}

#[allow(clippy::too_many_arguments)]
fn deliver_with_token(
    execution_id: Option<&str>, waitpoint_id: Option<pgrx::Uuid>, token: Option<&str>, signal_name: Option<&str>, signal_id: Option<pgrx::Uuid>,
    signal_category: Option<&str>, source_type: Option<&str>, source_identity: Option<&str>, payload: Option<&[u8]>,
    correlation_id: Option<&str>, idempotency_key: Option<&str>, dedup_ttl_ms: Option<i64>, resume_delay_ms: Option<i64>,
    max_signals: Option<i32>,
) -> WfResult<DeliverRow> {
    // 1. Argument shapes.
    let id = parse_execution_id(execution_id)?;
    let waitpoint_id = required(waitpoint_id, "waitpoint_id")?;
    let token = token.unwrap_or("");
    let signal_name = required(signal_name, "signal_name")?;
    optional_text(Some(signal_name), "signal_name", 256)?;
    for (v, f) in [(signal_category, "signal_category"), (source_type, "source_type"), (source_identity, "source_identity"), (correlation_id, "correlation_id")] {
        bounded_text(v, f, 0, 256)?;
    }
    optional_text(idempotency_key, "idempotency_key", 256)?;
    if payload.is_some_and(|p| p.len() > 1 << 20) {
        return Err(WfError::invalid_input("payload_too_large", "signal payloads are at most 1 MiB"));
    }
    let d = Delivery {
        waitpoint_id,
        signal_name,
        signal_id: signal_id.unwrap_or_else(|| to_pg_uuid(&uuid::Uuid::new_v4())),
        signal_category: signal_category.unwrap_or(""),
        source_type: source_type.unwrap_or(""),
        source_identity: source_identity.unwrap_or(""),
        payload,
        correlation_id,
        idempotency_key,
        dedup_ttl_ms: delay_arg(dedup_ttl_ms, "dedup_ttl_ms")?,
        resume_delay_ms: delay_arg(resume_delay_ms, "resume_delay_ms")?,
        max_signals: required(max_signals, "max_signals_per_execution")?,
    };
    let now = now_ms();
    Spi::connect_mut(|client| deliver(client, &id, &d, Proof::Token(token), now))
}

fn deliver_approval(execution_id: Option<&str>, lane_id: Option<&str>, waitpoint_id: Option<pgrx::Uuid>, signal_name: Option<&str>, suffix: Option<&str>) -> WfResult<DeliverRow> {
    let id = parse_execution_id(execution_id)?;
    let lane = required(lane_id, "lane_id")?;
    crate::ids::validate_lane_id(lane)?;
    let waitpoint_id = required(waitpoint_id, "waitpoint_id")?;
    let signal_name = required(signal_name, "signal_name")?;
    optional_text(Some(signal_name), "signal_name", 256)?;
    let suffix = required(suffix, "idempotency_suffix")?;
    optional_text(Some(suffix), "idempotency_suffix", 256)?;
    let key = format!("approval:{signal_name}:{suffix}");
    let d = Delivery {
        waitpoint_id,
        signal_name,
        signal_id: to_pg_uuid(&uuid::Uuid::new_v4()),
        signal_category: "approval",
        source_type: "operator",
        source_identity: "",
        payload: None,
        correlation_id: None,
        idempotency_key: Some(&key),
        dedup_ttl_ms: 86_400_000,
        resume_delay_ms: 0,
        max_signals: 10_000,
    };
    let now = now_ms();
    Spi::connect_mut(|client| {
        let user: String = SESSION_USER.run(client, &[])?.first().get(1)?.unwrap_or_default();
        let d = Delivery { source_identity: &user, ..d };
        deliver(client, &id, &d, Proof::Operator { lane_id: lane }, now)
    })
}

static SESSION_USER: Plan = Plan { sql: "SELECT session_user::text", args: &[] };

fn operator_resume(execution_id: Option<&str>, delay: Option<i64>) -> WfResult<String> {
    let id = parse_execution_id(execution_id)?;
    let delay = delay_arg(delay, "resume_delay_ms")?;
    let now = now_ms();
    Spi::connect_mut(|client| {
        let (pk, eu) = ex_key(&id);
        let r = crate::leases::LOCK_ANY.run(client, &[pk.into(), eu.into()])?;
        let phase: String = r.into_iter().next().ok_or_else(|| WfError::not_found("execution"))?.get(1)?.unwrap_or_default();
        let sus = OPEN_SUSPENSION.run(client, &[pk.into(), eu.into()])?;
        let sid: Option<pgrx::Uuid> = match sus.into_iter().next() {
            Some(r) => r.get(1)?,
            None => None,
        };
        let (Some(sid), "suspended") = (sid, phase.as_str()) else {
            return Err(WfError::new(ErrorKind::ExecutionNotSuspended, format!("the execution is {phase}, not suspended")));
        };
        resume_by_operator(client, &id, sid, delay, now)?;
        notify(&[Channel::Completion]);
        Ok("resumed".to_string())
    })
}

static OBSERVE: Plan = Plan {
    sql: "WITH s AS (SELECT satisfier_seqs FROM ff_suspension WHERE partition_key = $1 AND execution_id = $2 \
                     ORDER BY suspended_at_ms DESC, closed_at_ms DESC NULLS FIRST LIMIT 1) \
          SELECT g.signal_id, g.waitpoint_key, g.signal_name, g.signal_category, g.source_type, g.source_identity, \
                 g.correlation_id, g.accepted_at_ms, g.payload \
          FROM s JOIN ff_signal g ON g.partition_key = $1 AND g.execution_id = $2 AND g.signal_seq = ANY (s.satisfier_seqs) \
          ORDER BY g.signal_seq",
    args: &[t::INT2, t::UUID],
};

type ObservedRow = (pgrx::Uuid, String, String, String, String, String, Option<String>, i64, Option<Vec<u8>>);

fn observe(execution_id: Option<&str>) -> WfResult<Vec<ObservedRow>> {
    let id = parse_execution_id(execution_id)?;
    Spi::connect(|client| {
        let (pk, eu) = ex_key(&id);
        let mut out = Vec::new();
        for r in OBSERVE.run(client, &[pk.into(), eu.into()])? {
            out.push((
                r.get(1)?.ok_or_else(|| WfError::corruption("signal without id"))?,
                r.get(2)?.unwrap_or_default(),
                r.get(3)?.unwrap_or_default(),
                r.get(4)?.unwrap_or_default(),
                r.get(5)?.unwrap_or_default(),
                r.get(6)?.unwrap_or_default(),
                r.get(7)?,
                r.get(8)?.unwrap_or(0),
                r.get(9)?,
            ));
        }
        Ok(out)
    })
}

// ---- suspension timeouts (ff_tick task expire_suspensions) ----

static DUE_SUSPENSIONS: Plan = Plan {
    sql: "SELECT partition_key, execution_id FROM ff_suspension WHERE state = 'open' AND timeout_at_ms <= $1 \
          ORDER BY timeout_at_ms LIMIT $2",
    args: &[t::INT8, t::INT8],
};
// Lock order is always execution row first, then suspension (as in delivery), so no deadlock;
// a busy execution is skipped and caught by the next tick.
static LOCK_EXEC_SKIP: Plan = Plan {
    sql: "SELECT 1 FROM ff_exec_core WHERE partition_key = $1 AND execution_id = $2 FOR UPDATE SKIP LOCKED",
    args: &[t::INT2, t::UUID],
};
static DUE_RECHECK: Plan = Plan {
    sql: "SELECT suspension_id, timeout_behavior, (SELECT waitpoint_id FROM ff_waitpoint w WHERE w.partition_key = s.partition_key \
                 AND w.execution_id = s.execution_id AND w.suspension_id = s.suspension_id ORDER BY activated_at_ms, waitpoint_id LIMIT 1), \
                 (SELECT waitpoint_key FROM ff_waitpoint w WHERE w.partition_key = s.partition_key \
                 AND w.execution_id = s.execution_id AND w.suspension_id = s.suspension_id ORDER BY activated_at_ms, waitpoint_id LIMIT 1) \
          FROM ff_suspension s WHERE partition_key = $1 AND execution_id = $2 AND state = 'open' AND timeout_at_ms <= $3",
    args: &[t::INT2, t::UUID, t::INT8],
};
static ESCALATE: Plan = Plan {
    sql: "WITH s AS (UPDATE ff_suspension SET reason_code = 'waiting_for_operator_review', timeout_at_ms = NULL \
                     WHERE partition_key = $1 AND execution_id = $2 AND suspension_id = $3) \
          UPDATE ff_exec_core SET eligibility_state = 'blocked_by_operator', updated_at_ms = $4 \
          WHERE partition_key = $1 AND execution_id = $2",
    args: &[t::INT2, t::UUID, t::UUID, t::INT8],
};

/// Apply each due suspension's timeout behaviour; returns how many were processed.
pub fn expire_suspensions(client: &SpiClient<'_>, now: i64, max_rows: i64) -> WfResult<usize> {
    let due: Vec<(i16, pgrx::Uuid)> = DUE_SUSPENSIONS
        .run(client, &[now.into(), max_rows.into()])?
        .into_iter()
        .map(|r| Ok((r.get(1)?.unwrap_or(0), r.get(2)?.ok_or_else(|| WfError::corruption("suspension without execution"))?)))
        .collect::<WfResult<_>>()?;
    let mut n = 0;
    for (pk, eu) in due {
        if LOCK_EXEC_SKIP.run(client, &[pk.into(), eu.into()])?.is_empty() {
            continue;
        }
        let r = DUE_RECHECK.run(client, &[pk.into(), eu.into(), now.into()])?;
        let Some(r) = r.into_iter().next() else { continue }; // a signal won the race
        let sid: pgrx::Uuid = r.get(1)?.ok_or_else(|| WfError::corruption("suspension without id"))?;
        let behavior: String = r.get(2)?.unwrap_or_default();
        let id = ExecutionId { partition: pk as u16, uuid: crate::executions::from_pg_uuid(&eu) };
        match behavior.as_str() {
            "fail" => crate::leases::terminate_locked(client, &id, lifecycle::FAILED, "suspension_timeout", "timed_out_fail", "failed", false, now)?,
            "cancel" => crate::leases::terminate_locked(client, &id, lifecycle::CANCELLED, "suspension_timeout", "timed_out_cancel", "cancelled", false, now)?,
            "expire" => crate::leases::terminate_locked(client, &id, lifecycle::EXPIRED, "suspension_timeout", "timed_out_expire", "expired", false, now)?,
            "escalate" => {
                ESCALATE.run(client, &[pk.into(), eu.into(), sid.into(), now.into()])?;
            }
            _ => {
                // auto_resume_with_timeout_signal: a synthetic `timeout` signal is the satisfier.
                let wp: pgrx::Uuid = r.get(3)?.unwrap_or_else(|| to_pg_uuid(&uuid::Uuid::nil()));
                let key: String = r.get(4)?.unwrap_or_default();
                let timeout = Delivery {
                    waitpoint_id: wp,
                    signal_name: "timeout",
                    signal_id: to_pg_uuid(&uuid::Uuid::new_v4()),
                    signal_category: "",
                    source_type: "system",
                    source_identity: "",
                    payload: None,
                    correlation_id: None,
                    idempotency_key: None,
                    dedup_ttl_ms: 0,
                    resume_delay_ms: 0,
                    max_signals: i32::MAX,
                };
                let resumes = Resumes { satisfiers: vec![i64::MAX], delay_ms: 0, close_reason: "timed_out_auto_resume" };
                record(client, &id, &timeout, &key, Some(sid), "resume_condition_satisfied", Some(resumes), now)?;
            }
        }
        n += 1;
    }
    Ok(n)
}

/// Authenticate a signal by its waitpoint token, record it, evaluate the condition, resume if satisfied.
#[pg_extern(security_definer, parallel_unsafe)]
#[search_path(@extschema@, pg_temp)]
#[allow(clippy::too_many_arguments)]
fn ff_deliver_signal(
    execution_id: Option<&str>,
    waitpoint_id: Option<pgrx::Uuid>,
    token: Option<&str>,
    signal_name: Option<&str>,
    signal_id: default!(Option<pgrx::Uuid>, "NULL"),
    signal_category: default!(Option<&str>, "''"),
    source_type: default!(Option<&str>, "''"),
    source_identity: default!(Option<&str>, "''"),
    payload: default!(Option<&[u8]>, "NULL"),
    correlation_id: default!(Option<&str>, "NULL"),
    idempotency_key: default!(Option<&str>, "NULL"),
    dedup_ttl_ms: default!(Option<i64>, 86400000),
    resume_delay_ms: default!(Option<i64>, 0),
    max_signals_per_execution: default!(Option<i32>, 10000),
) -> TableIterator<'static, (name!(outcome, String), name!(signal_id, pgrx::Uuid), name!(effect, Option<String>))> {
    TableIterator::once(guarded(|| {
        deliver_with_token(
            execution_id, waitpoint_id, token, signal_name, signal_id, signal_category, source_type, source_identity, payload,
            correlation_id, idempotency_key, dedup_ttl_ms, resume_delay_ms, max_signals_per_execution,
        )
    }))
}

/// Operator approval: the token is read server-side; category approval, source operator.
#[pg_extern(security_definer, parallel_unsafe)]
#[search_path(@extschema@, pg_temp)]
fn ff_deliver_approval_signal(
    execution_id: Option<&str>,
    lane_id: Option<&str>,
    waitpoint_id: Option<pgrx::Uuid>,
    signal_name: Option<&str>,
    idempotency_suffix: Option<&str>,
) -> TableIterator<'static, (name!(outcome, String), name!(signal_id, pgrx::Uuid), name!(effect, Option<String>))> {
    TableIterator::once(guarded(|| deliver_approval(execution_id, lane_id, waitpoint_id, signal_name, idempotency_suffix)))
}

/// Operator resume of a suspended execution (execution_not_suspended otherwise).
#[pg_extern(security_definer, parallel_unsafe)]
#[search_path(@extschema@, pg_temp)]
fn ff_resume_execution(execution_id: Option<&str>, resume_delay_ms: default!(Option<i64>, 0)) -> TableIterator<'static, (name!(outcome, String),)> {
    TableIterator::once((guarded(|| operator_resume(execution_id, resume_delay_ms)),))
}

/// The signals that satisfied the latest suspension, in acceptance order, with payloads.
#[pg_extern(security_definer, parallel_unsafe)]
#[search_path(@extschema@, pg_temp)]
fn ff_observe_signals(
    execution_id: Option<&str>,
) -> TableIterator<
    'static,
    (
        name!(signal_id, pgrx::Uuid),
        name!(waitpoint_key, String),
        name!(signal_name, String),
        name!(signal_category, String),
        name!(source_type, String),
        name!(source_identity, String),
        name!(correlation_id, Option<String>),
        name!(accepted_at_ms, i64),
        name!(payload, Option<Vec<u8>>),
    ),
> {
    TableIterator::new(guarded(|| observe(execution_id)))
}

