//! Signals: delivery with a token (semantics §6, in that order of checks), operator approval and
//! resume, observing the satisfiers, and the suspension timeout task of `ff_tick`. Evaluation
//! recomputes the condition over the recorded signals (`condition`, core); this module reads and
//! writes what that decides.

use crate::condition::{self, Condition, Effect};
use crate::delivery;
use crate::error::{required, ErrorKind, WfError, WfResult};
use crate::ids::ExecutionId;
use crate::keys::StoredKey;
use crate::lifecycle::{self, States};
use crate::postgres::args::{ex_id, ex_key, from_pg_uuid, new_pg_uuid, parse_execution_id, to_pg_uuid};
use crate::postgres::notify::{notify, wake, Channel};
use crate::postgres::settings;
use crate::postgres::statement::now_ms;
use crate::statement;
use crate::store::events;
use crate::store::leases::{self, Termination};
use crate::tokens;
use pgrx::prelude::*;
use pgrx::spi::SpiClient;

const COUNTING_EFFECTS: [&str; 3] = ["appended_to_waitpoint", "appended_to_waitpoint_duplicate", "resume_condition_satisfied"];

statement! {
    mod waitpoint_and_key = "signals/waitpoint_and_key.sql";
    args<'a> { partition_key: i16, execution_id: pgrx::Uuid, waitpoint_id: pgrx::Uuid, kid: Option<&'a str> }
    row { waitpoint_id: Option<pgrx::Uuid>, key: Option<StoredKey> }
}
statement! {
    mod lock_exec = "signals/lock_exec.sql";
    args { partition_key: i16, execution_id: pgrx::Uuid }
    row { lifecycle_phase: String, signal_count: i32, lane_id: String }
}
statement! {
    mod delivery_state = "signals/delivery_state.sql";
    args<'a> { partition_key: i16, execution_id: pgrx::Uuid, waitpoint_id: pgrx::Uuid, idempotency_key: Option<&'a str>, now_ms: i64, counting_effects: Vec<String> }
    row {
        waitpoint_key: String, waitpoint_state: String, expires_at_ms: Option<i64>, waitpoint_suspension_id: Option<pgrx::Uuid>,
        first_signal_id: Option<pgrx::Uuid>, suspension_id: Option<pgrx::Uuid>, resume_condition: Option<pgrx::JsonB>,
        signal_seq: Option<i64>, signal_id: Option<pgrx::Uuid>, signal_waitpoint_key: Option<String>, signal_name: Option<String>,
        source_type: Option<String>, source_identity: Option<String>, signal_correlation_id: Option<String>,
    }
}
statement! {
    mod dedup_put = "signals/dedup_put.sql";
    args<'a> { partition_key: i16, execution_id: pgrx::Uuid, waitpoint_id: pgrx::Uuid, idempotency_key: &'a str, signal_id: pgrx::Uuid, expires_at_ms: i64 }
    row {}
}
statement! {
    mod open_suspension = "signals/open_suspension.sql";
    args { partition_key: i16, execution_id: pgrx::Uuid }
    row { suspension_id: pgrx::Uuid }
}
statement! {
    /// Record a signal: variant 0 (`record.sql`) only records it, with its event and the execution's
    /// signal count; variant 1 (`record_and_resume.sql`) also resumes. Variant 0 declares the resume
    /// parameters ($17–$24) without using them, so the two share their arguments.
    mod record = variants [
        ["signals/insert_signal.sql", "signals/record.sql"],
        ["signals/insert_signal.sql", "signals/record_and_resume.sql"],
    ];
    args<'a> {
        partition_key: i16, execution_id: pgrx::Uuid, signal_id: pgrx::Uuid, waitpoint_id: pgrx::Uuid, waitpoint_key: &'a str,
        suspension_id: Option<pgrx::Uuid>, signal_name: &'a str, signal_category: &'a str, source_type: &'a str,
        source_identity: &'a str, correlation_id: Option<&'a str>, idempotency_key: Option<&'a str>, payload: Option<&'a [u8]>,
        effect: &'a str, now_ms: i64, execution_ref: &'a str, satisfier_seqs: Vec<i64>, states: States,
        eligible_at_ms: Option<i64>, close_reason: &'a str,
    }
    row { signal_seq: i64 }
}
statement! {
    mod signal_row = "signals/signal_row.sql";
    args<'a> {
        partition_key: i16, execution_id: pgrx::Uuid, signal_id: pgrx::Uuid, waitpoint_id: pgrx::Uuid, waitpoint_key: &'a str,
        suspension_id: Option<pgrx::Uuid>, signal_name: &'a str, signal_category: &'a str, source_type: &'a str,
        source_identity: &'a str, correlation_id: Option<&'a str>, idempotency_key: Option<&'a str>, payload: Option<&'a [u8]>,
        effect: &'a str, now_ms: i64,
    }
    row { signal_seq: i64 }
}
statement! {
    mod count_signal = "signals/count_signal.sql";
    args { partition_key: i16, execution_id: pgrx::Uuid }
    row { namespace: Option<String> }
}
statement! {
    mod close_suspension = "signals/close_suspension.sql";
    args<'a> {
        partition_key: i16, execution_id: pgrx::Uuid, suspension_id: Option<pgrx::Uuid>, signal_id: pgrx::Uuid, signal_seq: i64,
        satisfier_seqs: Vec<i64>, now_ms: i64, close_reason: &'a str,
    }
    row {}
}
statement! {
    mod close_waitpoints = "signals/close_waitpoints.sql";
    args<'a> { partition_key: i16, execution_id: pgrx::Uuid, suspension_id: Option<pgrx::Uuid>, now_ms: i64, close_reason: &'a str }
    row {}
}
statement! {
    mod resume_row = "signals/resume_row.sql";
    args { partition_key: i16, execution_id: pgrx::Uuid, states: States, eligible_at_ms: Option<i64>, now_ms: i64 }
    row { namespace: Option<String> }
}
statement! {
    mod resume_by_operator = "signals/resume_by_operator.sql";
    args<'a> { partition_key: i16, execution_id: pgrx::Uuid, suspension_id: pgrx::Uuid, now_ms: i64, states: States, eligible_at_ms: Option<i64>, execution_ref: &'a str }
    row {}
}
statement! {
    mod session_user = "signals/session_user.sql";
    args {}
    row { session_user: String }
}
statement! {
    mod observe = "signals/observe.sql";
    args { partition_key: i16, execution_id: pgrx::Uuid }
    row {
        signal_id: pgrx::Uuid, waitpoint_key: String, signal_name: String, signal_category: String, source_type: String,
        source_identity: String, correlation_id: Option<String>, accepted_at_ms: i64, payload: Option<Vec<u8>>,
    }
}
statement! {
    mod due_suspensions = "signals/due_suspensions.sql";
    args<'a> { now_ms: i64, max_rows: i64, filter: crate::store::scanners::ScanFilter<'a>, scan_from: i64 }
    row { partition_key: i16, execution_id: pgrx::Uuid }
}
statement! {
    mod lock_exec_skip = "signals/lock_exec_skip.sql";
    args { partition_key: i16, execution_id: pgrx::Uuid }
    row { lane_id: String }
}
statement! {
    mod due_recheck = "signals/due_recheck.sql";
    args { partition_key: i16, execution_id: pgrx::Uuid, now_ms: i64 }
    row { suspension_id: pgrx::Uuid, timeout_behavior: String, waitpoint_id: Option<pgrx::Uuid>, waitpoint_key: Option<String> }
}
statement! {
    mod escalate = "signals/escalate.sql";
    args { partition_key: i16, execution_id: pgrx::Uuid, suspension_id: pgrx::Uuid, now_ms: i64 }
    row {}
}

/// A signal to deliver, its arguments checked.
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
    Operator {
        lane_id: &'a str,
    },
    /// The engine itself (a flow member's end signalled to its parent).
    Engine,
}

/// `ff_deliver_signal`'s row: outcome, signal_id, effect.
pub type DeliverRow = (String, pgrx::Uuid, Option<String>);

/// Step 2: the waitpoint exists and the token verifies under a usable key. An unknown waitpoint, an
/// unknown key and a wrong digest are all `invalid_token` on the token path, and the key's grace window
/// is checked only after the digest verifies: nothing about existence is revealed before the token
/// passes.
fn verify_proof(client: &SpiClient<'_>, id: &ExecutionId, waitpoint_id: pgrx::Uuid, proof: &Proof<'_>, now: i64) -> WfResult<()> {
    let presented = match proof {
        Proof::Token(token) => Some(tokens::parse_token(token)?),
        Proof::Operator { .. } | Proof::Engine => None,
    };
    let (partition_key, execution_id) = ex_key(id);
    let args = waitpoint_and_key::Args { partition_key, execution_id, waitpoint_id, kid: presented.as_ref().map(|p| p.kid) };
    let row = waitpoint_and_key::one(client, args)?;
    let exists = row.waitpoint_id.is_some();
    match presented {
        None if !exists => Err(WfError::not_found("waitpoint")),
        None => Ok(()),
        Some(_) if !exists => Err(WfError::invalid_token()),
        Some(p) => crate::store::keystore::verified(row.key, now, |secret| {
            tokens::verify_waitpoint_digest(p.kid, secret, id, &from_pg_uuid(&waitpoint_id), &p.digest)
        }),
    }
}

/// Step 3: lock the execution; the operator path must name its lane; terminal executions take no
/// signals. Returns the execution's signal count and lane.
fn lock_execution(client: &SpiClient<'_>, id: &ExecutionId, proof: &Proof<'_>) -> WfResult<(i32, String)> {
    let (partition_key, execution_id) = ex_key(id);
    let ex =
        lock_exec::optional(client, lock_exec::Args { partition_key, execution_id })?.ok_or_else(|| WfError::not_found("execution"))?;
    if let Proof::Operator { lane_id } = proof {
        if ex.lane_id != *lane_id {
            return Err(WfError::invalid_input("lane_mismatch", "lane_mismatch: the execution is in another lane"));
        }
    }
    delivery::check_execution(&ex.lifecycle_phase)?;
    Ok((ex.signal_count, ex.lane_id))
}

/// What recording a satisfying signal also does: resume the suspension it satisfied.
struct Resumes {
    /// Seqs of the satisfying signals; `i64::MAX` stands for the signal being recorded.
    satisfiers: Vec<i64>,
    delay_ms: i64,
    close_reason: &'static str,
}

/// Step 7's evaluation over the delivery state read under the lock: the effect, the suspension the
/// signal is recorded against, and whether it resumes.
fn evaluate(rows: &[delivery_state::Row], d: &Delivery<'_>) -> WfResult<(&'static str, Option<pgrx::Uuid>, Option<Resumes>)> {
    let wp = &rows[0];
    if wp.waitpoint_state == lifecycle::waitpoint::PENDING {
        return Ok(("buffered_for_pending_waitpoint", None, None));
    }
    let sid = wp.suspension_id.ok_or_else(|| WfError::new(ErrorKind::WaitpointClosed, "the waitpoint's suspension is closed"))?;
    if wp.waitpoint_suspension_id != Some(sid) {
        return Err(WfError::new(ErrorKind::WaitpointClosed, "the waitpoint belongs to a closed suspension"));
    }
    let cond_json = wp.resume_condition.as_ref().ok_or_else(|| WfError::corruption("suspension without condition"))?;
    let cond = Condition::parse(&cond_json.0).map_err(|_| WfError::corruption("stored resume condition does not parse"))?;
    let counted = rows
        .iter()
        .filter_map(|r| {
            Some(condition::Signal {
                seq: r.signal_seq?,
                signal_id: *r.signal_id?.as_bytes(),
                waitpoint_key: r.signal_waitpoint_key.clone().unwrap_or_default(),
                name: r.signal_name.clone().unwrap_or_default(),
                source_type: r.source_type.clone().unwrap_or_default(),
                source_identity: r.source_identity.clone().unwrap_or_default(),
                correlation_id: r.signal_correlation_id.clone(),
            })
        })
        .collect::<Vec<_>>();
    let new = condition::Signal {
        seq: i64::MAX,
        signal_id: *d.signal_id.as_bytes(),
        waitpoint_key: wp.waitpoint_key.clone(),
        name: d.signal_name.to_string(),
        source_type: d.source_type.to_string(),
        source_identity: d.source_identity.to_string(),
        correlation_id: d.correlation_id.map(str::to_string),
    };
    let (effect, after) = condition::effect_of(&cond, &counted, &new);
    let resumes = (effect == Effect::ResumeConditionSatisfied).then_some(Resumes {
        satisfiers: after.satisfiers,
        delay_ms: d.resume_delay_ms,
        close_reason: "condition_satisfied",
    });
    Ok((effect.as_str(), Some(sid), resumes))
}

/// Deliver a signal to a waitpoint of an execution, checking in the order of semantics §6.
pub fn deliver(client: &SpiClient<'_>, id: &ExecutionId, d: &Delivery<'_>, proof: Proof<'_>, now: i64) -> WfResult<DeliverRow> {
    verify_proof(client, id, d.waitpoint_id, &proof, now)?;
    let (signal_count, lane_id) = lock_execution(client, id, &proof)?;
    // 4. Re-read the waitpoint under the lock, with all else the decision needs.
    let (partition_key, execution_id) = ex_key(id);
    let counting_effects: Vec<String> = COUNTING_EFFECTS.iter().map(|s| s.to_string()).collect();
    let args = delivery_state::Args {
        partition_key,
        execution_id,
        waitpoint_id: d.waitpoint_id,
        idempotency_key: d.idempotency_key,
        now_ms: now,
        counting_effects,
    };
    let rows = delivery_state::all(client, args)?;
    let wp = rows.first().ok_or_else(|| WfError::new(ErrorKind::WaitpointClosed, "the waitpoint is gone"))?;
    delivery::check_waitpoint(&wp.waitpoint_state, wp.expires_at_ms, now)?;
    // 5. Per-execution signal limit.
    delivery::check_limit(signal_count, d.max_signals)?;
    // 6. Idempotency: the first signal's id, no second record, no event.
    if let (Some(_), Some(first)) = (d.idempotency_key, wp.first_signal_id) {
        return Ok(("duplicate".to_string(), first, None));
    }
    // 7. Evaluate, then record (and resume).
    let (effect, suspension_id, resumes) = evaluate(&rows, d)?;
    let key = wp.waitpoint_key.clone();
    drop(rows);
    record(client, id, &lane_id, d, &key, suspension_id, effect, resumes, now)?;
    if let Some(idempotency_key) = d.idempotency_key {
        let expires_at_ms = now.saturating_add(d.dedup_ttl_ms);
        dedup_put::execute(
            client,
            dedup_put::Args {
                partition_key,
                execution_id,
                waitpoint_id: d.waitpoint_id,
                idempotency_key,
                signal_id: d.signal_id,
                expires_at_ms,
            },
        )?;
    }
    Ok(("accepted".to_string(), d.signal_id, Some(effect.to_string())))
}

/// `record` one table per statement (events::by_table): the same rows.
fn record_by_table(client: &SpiClient<'_>, mut a: record::Args<'_>, resuming: bool) -> WfResult<()> {
    let (partition_key, execution_id) = (a.partition_key, a.execution_id);
    let row = signal_row::Args {
        partition_key,
        execution_id,
        signal_id: a.signal_id,
        waitpoint_id: a.waitpoint_id,
        waitpoint_key: a.waitpoint_key,
        suspension_id: a.suspension_id,
        signal_name: a.signal_name,
        signal_category: a.signal_category,
        source_type: a.source_type,
        source_identity: a.source_identity,
        correlation_id: a.correlation_id,
        idempotency_key: a.idempotency_key,
        payload: a.payload,
        effect: a.effect,
        now_ms: a.now_ms,
    };
    let signal_seq = signal_row::one(client, row)?.signal_seq;
    let namespace = if resuming {
        let satisfier_seqs = std::mem::take(&mut a.satisfier_seqs);
        resume_by_table(client, &a, signal_seq, satisfier_seqs)?
    } else {
        count_signal::one(client, count_signal::Args { partition_key, execution_id })?.namespace
    };
    record_events(client, &a, namespace.as_deref(), resuming)
}

/// The resume of `record_by_table`: the suspension and its waitpoints closed, the execution resumed.
/// Its namespace.
fn resume_by_table(client: &SpiClient<'_>, a: &record::Args<'_>, signal_seq: i64, satisfier_seqs: Vec<i64>) -> WfResult<Option<String>> {
    let (partition_key, execution_id, suspension_id, now_ms, close_reason) =
        (a.partition_key, a.execution_id, a.suspension_id, a.now_ms, a.close_reason);
    let sus = close_suspension::Args {
        partition_key,
        execution_id,
        suspension_id,
        signal_id: a.signal_id,
        signal_seq,
        satisfier_seqs,
        now_ms,
        close_reason,
    };
    close_suspension::execute(client, sus)?;
    close_waitpoints::execute(client, close_waitpoints::Args { partition_key, execution_id, suspension_id, now_ms, close_reason })?;
    let resumed = resume_row::Args { partition_key, execution_id, states: a.states, eligible_at_ms: a.eligible_at_ms, now_ms };
    Ok(resume_row::one(client, resumed)?.namespace)
}

/// The events of `record_by_table`: the signal's, and the completion event `resumed` when it resumed.
fn record_events(client: &SpiClient<'_>, a: &record::Args<'_>, namespace: Option<&str>, resuming: bool) -> WfResult<()> {
    let event = events::signal_event::Args {
        partition_key: a.partition_key,
        execution_ref: a.execution_ref,
        namespace,
        now_ms: a.now_ms,
        signal_id: a.signal_id,
        waitpoint_id: a.waitpoint_id,
        signal_name: a.signal_name,
        source_type: a.source_type,
        source_identity: a.source_identity,
        effect: a.effect,
    };
    events::signal_event::execute(client, event)?;
    if resuming {
        let event = events::completion_event::Args {
            partition_key: a.partition_key,
            execution_ref: a.execution_ref,
            namespace,
            now_ms: a.now_ms,
            outcome: "resumed",
            failure_class: None,
        };
        events::completion_event::execute(client, event)?;
    }
    Ok(())
}

/// Record an accepted signal (`record`, variant 0), or record it and resume (variant 1), and wake the
/// listeners of what was written.
#[allow(clippy::too_many_arguments)]
fn record(
    client: &SpiClient<'_>,
    id: &ExecutionId,
    lane_id: &str,
    d: &Delivery<'_>,
    key: &str,
    suspension_id: Option<pgrx::Uuid>,
    effect: &str,
    resumes: Option<Resumes>,
    now: i64,
) -> WfResult<()> {
    let (partition_key, execution_id) = ex_key(id);
    let execution_ref = id.to_string();
    let resuming = resumes.is_some();
    let r = resumes.unwrap_or(Resumes { satisfiers: Vec::new(), delay_ms: 0, close_reason: "" });
    let delay_ms = r.delay_ms;
    let args = record::Args {
        partition_key,
        execution_id,
        signal_id: d.signal_id,
        waitpoint_id: d.waitpoint_id,
        waitpoint_key: key,
        suspension_id,
        signal_name: d.signal_name,
        signal_category: d.signal_category,
        source_type: d.source_type,
        source_identity: d.source_identity,
        correlation_id: d.correlation_id,
        idempotency_key: d.idempotency_key,
        payload: d.payload,
        effect,
        now_ms: now,
        execution_ref: &execution_ref,
        satisfier_seqs: r.satisfiers,
        states: lifecycle::resumed(r.delay_ms > 0),
        eligible_at_ms: (r.delay_ms > 0).then_some(now + r.delay_ms),
        close_reason: r.close_reason,
    };
    if events::by_table(client)? {
        record_by_table(client, args, resuming)?;
    } else {
        record::execute_of(resuming as usize, client, args)?;
    }
    if !resuming {
        return notify(client, &[Channel::Signal]);
    }
    // Resumed without a delay: claimable at once, so the lane's sleeping workers are woken too.
    let lanes: &[&str] = if delay_ms > 0 { &[] } else { &[lane_id] };
    wake(client, &[Channel::Signal, Channel::Completion], lanes)
}

/// `ff_deliver_signal`'s arguments as given.
pub struct TokenDelivery<'a> {
    pub execution_id: Option<&'a str>,
    pub waitpoint_id: Option<pgrx::Uuid>,
    pub token: Option<&'a str>,
    pub signal_name: Option<&'a str>,
    pub signal_id: Option<pgrx::Uuid>,
    pub signal_category: Option<&'a str>,
    pub source_type: Option<&'a str>,
    pub source_identity: Option<&'a str>,
    pub payload: Option<&'a [u8]>,
    pub correlation_id: Option<&'a str>,
    pub idempotency_key: Option<&'a str>,
    pub dedup_ttl_ms: Option<i64>,
    pub resume_delay_ms: Option<i64>,
    pub max_signals_per_execution: Option<i32>,
}

/// `ff_deliver_signal`.
pub fn deliver_with_token(a: TokenDelivery<'_>) -> WfResult<DeliverRow> {
    // 1. Argument shapes.
    let id = parse_execution_id(a.execution_id)?;
    let waitpoint_id = required(a.waitpoint_id, "waitpoint_id")?;
    delivery::check_fields(
        a.signal_name,
        a.signal_category,
        a.source_type,
        a.source_identity,
        a.correlation_id,
        a.idempotency_key,
        a.payload.map(<[u8]>::len),
        settings::max_payload_bytes(),
    )?;
    let d = Delivery {
        waitpoint_id,
        signal_name: a.signal_name.unwrap_or_default(),
        signal_id: a.signal_id.unwrap_or_else(new_pg_uuid),
        signal_category: a.signal_category.unwrap_or(""),
        source_type: a.source_type.unwrap_or(""),
        source_identity: a.source_identity.unwrap_or(""),
        payload: a.payload,
        correlation_id: a.correlation_id,
        idempotency_key: a.idempotency_key,
        dedup_ttl_ms: settings::dedup_ttl_ms(lifecycle::required_ms(a.dedup_ttl_ms, "dedup_ttl_ms", 0)?),
        resume_delay_ms: lifecycle::required_ms(a.resume_delay_ms, "resume_delay_ms", 0)?,
        max_signals: settings::max_signals(required(a.max_signals_per_execution, "max_signals_per_execution")?),
    };
    let now = now_ms();
    Spi::connect_mut(|client| deliver(client, &id, &d, Proof::Token(a.token.unwrap_or("")), now))
}

/// A signal the engine delivers itself (`ff_deliver_engine_signal`, called by the shared flow code
/// when a member ends): no token, category `flow`, source `child_execution`, no per-execution signal
/// limit (the signals come from members, bounded by their creation). Returns the effect.
pub fn deliver_from_engine(
    client: &SpiClient<'_>,
    id: &ExecutionId,
    waitpoint_id: pgrx::Uuid,
    signal_name: &str,
    source_identity: &str,
    payload: Option<&[u8]>,
) -> WfResult<Option<String>> {
    let d = Delivery {
        waitpoint_id,
        signal_name,
        signal_id: new_pg_uuid(),
        signal_category: "flow",
        source_type: "child_execution",
        source_identity,
        payload,
        correlation_id: None,
        idempotency_key: None,
        dedup_ttl_ms: 0,
        resume_delay_ms: 0,
        max_signals: i32::MAX,
    };
    Ok(deliver(client, id, &d, Proof::Engine, now_ms())?.2)
}

/// `ff_deliver_approval_signal`: the waitpoint named by an operator, category approval, source
/// operator, identity the session user.
pub fn deliver_approval(
    execution_id: Option<&str>,
    lane_id: Option<&str>,
    waitpoint_id: Option<pgrx::Uuid>,
    signal_name: Option<&str>,
    suffix: Option<&str>,
) -> WfResult<DeliverRow> {
    let id = parse_execution_id(execution_id)?;
    let lane = required(lane_id, "lane_id")?;
    crate::ids::validate_lane_id(lane)?;
    let waitpoint_id = required(waitpoint_id, "waitpoint_id")?;
    let signal_name = crate::checks::required_text(signal_name, "signal_name", 256)?;
    let suffix = crate::checks::required_text(suffix, "idempotency_suffix", 256)?;
    let key = format!("approval:{signal_name}:{suffix}");
    let now = now_ms();
    Spi::connect_mut(|client| {
        let user = session_user::one(client, session_user::Args {})?.session_user;
        let d = Delivery {
            waitpoint_id,
            signal_name,
            signal_id: new_pg_uuid(),
            signal_category: "approval",
            source_type: "operator",
            source_identity: &user,
            payload: None,
            correlation_id: None,
            idempotency_key: Some(&key),
            dedup_ttl_ms: settings::dedup_ttl_ms(86_400_000),
            resume_delay_ms: 0,
            max_signals: settings::max_signals(10_000),
        };
        deliver(client, &id, &d, Proof::Operator { lane_id: lane }, now)
    })
}

/// `ff_resume_execution`: resume a suspended execution without a signal.
pub fn operator_resume(execution_id: Option<&str>, delay: Option<i64>) -> WfResult<String> {
    let id = parse_execution_id(execution_id)?;
    let delay = lifecycle::required_ms(delay, "resume_delay_ms", 0)?;
    let now = now_ms();
    Spi::connect_mut(|client| {
        let (partition_key, execution_id) = ex_key(&id);
        let locked = leases::lock_any::optional(client, leases::lock_any::Args { partition_key, execution_id })?
            .ok_or_else(|| WfError::not_found("execution"))?;
        let phase = locked.lifecycle_phase;
        let open = open_suspension::optional(client, open_suspension::Args { partition_key, execution_id })?;
        let (Some(open), lifecycle::phase::SUSPENDED) = (open, phase.as_str()) else {
            return Err(WfError::new(ErrorKind::ExecutionNotSuspended, format!("the execution is {phase}, not suspended")));
        };
        let execution_ref = id.to_string();
        let args = resume_by_operator::Args {
            partition_key,
            execution_id,
            suspension_id: open.suspension_id,
            now_ms: now,
            states: lifecycle::resumed(delay > 0),
            eligible_at_ms: (delay > 0).then_some(now + delay),
            execution_ref: &execution_ref,
        };
        resume_by_operator::execute(client, args)?;
        let lanes: &[&str] = if delay > 0 { &[] } else { &[locked.lane_id.as_str()] };
        wake(client, &[Channel::Completion], lanes)?;
        Ok("resumed".to_string())
    })
}

/// `ff_observe_signals`' row.
pub type ObservedRow = (pgrx::Uuid, String, String, String, String, String, Option<String>, i64, Option<Vec<u8>>);

pub fn observe(execution_id: Option<&str>) -> WfResult<Vec<ObservedRow>> {
    let id = parse_execution_id(execution_id)?;
    Spi::connect(|client| {
        let (partition_key, execution_id) = ex_key(&id);
        Ok(observe::all(client, observe::Args { partition_key, execution_id })?
            .into_iter()
            .map(|r| {
                (
                    r.signal_id,
                    r.waitpoint_key,
                    r.signal_name,
                    r.signal_category,
                    r.source_type,
                    r.source_identity,
                    r.correlation_id,
                    r.accepted_at_ms,
                    r.payload,
                )
            })
            .collect())
    })
}

// ---- suspension timeouts (ff_tick task expire_suspensions) ----

/// Apply one due suspension's timeout behaviour to its locked execution.
fn apply_timeout(client: &SpiClient<'_>, id: &ExecutionId, lane_id: &str, due: due_recheck::Row, now: i64) -> WfResult<()> {
    let terminate = |states: States, close_reason: &str, outcome: &str| {
        let t =
            Termination { states, reason: "suspension_timeout", close_reason, outcome, failure_class: lifecycle::failure_class::TIMEOUT };
        leases::terminate_locked(client, id, &t, false, now)
    };
    match due.timeout_behavior.as_str() {
        "fail" => terminate(lifecycle::FAILED, "timed_out_fail", "failed"),
        "cancel" => terminate(lifecycle::CANCELLED, "timed_out_cancel", "cancelled"),
        "expire" => terminate(lifecycle::EXPIRED, "timed_out_expire", "expired"),
        "escalate" => {
            let (partition_key, execution_id) = ex_key(id);
            escalate::execute(client, escalate::Args { partition_key, execution_id, suspension_id: due.suspension_id, now_ms: now })?;
            Ok(())
        }
        _ => {
            // auto_resume_with_timeout_signal: a synthetic `timeout` signal is the satisfier.
            let timeout = Delivery {
                waitpoint_id: due.waitpoint_id.unwrap_or_else(|| to_pg_uuid(&uuid::Uuid::nil())),
                signal_name: "timeout",
                signal_id: new_pg_uuid(),
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
            let key = due.waitpoint_key.unwrap_or_default();
            record(
                client,
                id,
                lane_id,
                &timeout,
                &key,
                Some(due.suspension_id),
                Effect::ResumeConditionSatisfied.as_str(),
                Some(resumes),
                now,
            )
        }
    }
}

/// Apply each due suspension's timeout behaviour; returns how many were processed.
pub fn expire_suspensions(client: &SpiClient<'_>, now: i64, max_rows: i64, f: crate::store::scanners::ScanFilter<'_>) -> WfResult<usize> {
    let run = crate::store::scan_starts::begin(client, crate::store::scanners::Task::ExpireSuspensions.name(), now, &f)?;
    let args = due_suspensions::Args { now_ms: now, max_rows, filter: f, scan_from: run.from };
    let due = due_suspensions::all(client, args)?;
    let found = due.len();
    let mut n = 0;
    for d in due {
        let (partition_key, execution_id) = (d.partition_key, d.execution_id);
        let Some(locked) = lock_exec_skip::optional(client, lock_exec_skip::Args { partition_key, execution_id })? else {
            continue;
        };
        let Some(recheck) = due_recheck::optional(client, due_recheck::Args { partition_key, execution_id, now_ms: now })? else {
            continue;
        }; // a signal won the race
        apply_timeout(client, &ex_id(partition_key, &execution_id), &locked.lane_id, recheck, now)?;
        n += 1;
    }
    run.end(client, found, max_rows)?;
    Ok(n)
}
