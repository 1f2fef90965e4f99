//! Settings (GUCs): `ff_engine.notify` and `ff_engine.max_reclaims`, which any session may set, and
//! the ceilings no caller can lift — `ff_engine.max_signals_per_execution`,
//! `ff_engine.max_dedup_ttl_s`, `ff_engine.max_payload_bytes`, and those of steps and streams
//! (`max_steps_per_execution`, `max_frame_bytes`, `max_frames_per_execution`,
//! `max_stream_bytes_per_execution`) — which only a superuser may set
//! (`postgresql.conf`, `ALTER SYSTEM`, `ALTER DATABASE … SET`): a call's own arguments can only lower
//! them. The retention of finished executions (`ff_engine.retention_<outcome>_s`) is superuser-only
//! too.

use pgrx::guc::{GucContext, GucFlags, GucRegistry, GucSetting};
use pgrx::prelude::*;
use std::ffi::CStr;

/// `ff_engine.notify`: who is woken when a transaction writes outbox events or makes work claimable
/// (docs/wakeups.md). The boolean spellings of 0.1.0's boolean setting are accepted (hidden).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PostgresGucEnum)]
pub enum NotifyMode {
    /// No NOTIFY at all (transaction-mode poolers; listeners poll).
    #[name = c"off"]
    Off,
    /// NOTIFY only the channels and lanes a waiter announced itself on (the default).
    #[name = c"on"]
    On,
    /// NOTIFY every channel written, announced or not (0.1.0's behaviour, for plain `LISTEN`).
    #[name = c"always"]
    Always,
    #[name = c"false"]
    #[hidden = true]
    False,
    #[name = c"true"]
    #[hidden = true]
    True,
    #[name = c"no"]
    #[hidden = true]
    No,
    #[name = c"yes"]
    #[hidden = true]
    Yes,
    #[name = c"0"]
    #[hidden = true]
    Zero,
    #[name = c"1"]
    #[hidden = true]
    One,
}

/// What `ff_engine.notify` asks for, its aliases folded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wake {
    Nobody,
    Announced,
    Everyone,
}

/// `ff_engine.notify`.
pub static NOTIFY: GucSetting<NotifyMode> = GucSetting::<NotifyMode>::new(NotifyMode::On);

/// `ff_engine.notify` with its aliases folded.
pub fn wake() -> Wake {
    match NOTIFY.get() {
        NotifyMode::Off | NotifyMode::False | NotifyMode::No | NotifyMode::Zero => Wake::Nobody,
        NotifyMode::On | NotifyMode::True | NotifyMode::Yes | NotifyMode::One => Wake::Announced,
        NotifyMode::Always => Wake::Everyone,
    }
}
/// `ff_engine.max_reclaims`: lease expiries an execution survives before it is failed.
pub static MAX_RECLAIMS: GucSetting<i32> = GucSetting::<i32>::new(1000);
/// `ff_engine.max_signals_per_execution`: the most signals one execution accepts, whatever a
/// delivery asks for.
pub static MAX_SIGNALS_PER_EXECUTION: GucSetting<i32> = GucSetting::<i32>::new(10_000);
/// `ff_engine.max_dedup_ttl_s`: the longest a delivery's idempotency key is remembered.
pub static MAX_DEDUP_TTL_S: GucSetting<i32> = GucSetting::<i32>::new(7 * 86_400);
/// `ff_engine.max_payload_bytes`: the largest execution payload, signal payload or result.
pub static MAX_PAYLOAD_BYTES: GucSetting<i32> = GucSetting::<i32>::new(1 << 20);
/// `ff_engine.max_steps_per_execution`: the most step names one execution stores.
pub static MAX_STEPS_PER_EXECUTION: GucSetting<i32> = GucSetting::<i32>::new(10_000);
/// `ff_engine.max_frame_bytes`: the largest output frame.
pub static MAX_FRAME_BYTES: GucSetting<i32> = GucSetting::<i32>::new(1 << 20);
/// `ff_engine.max_frames_per_execution`: the most frames one execution's stream holds.
pub static MAX_FRAMES_PER_EXECUTION: GucSetting<i32> = GucSetting::<i32>::new(100_000);
/// `ff_engine.max_stream_bytes_per_execution`: the most bytes one execution's stream holds.
pub static MAX_STREAM_BYTES_PER_EXECUTION: GucSetting<i32> = GucSetting::<i32>::new(64 << 20);

/// `ff_engine.retention_<outcome>_s`: how long a finished execution is kept before `ff_tick` prunes
/// it, per terminal public state; 0 keeps it forever.
pub static RETENTION_COMPLETED_S: GucSetting<i32> = GucSetting::<i32>::new(86_400);
pub static RETENTION_FAILED_S: GucSetting<i32> = GucSetting::<i32>::new(7 * 86_400);
pub static RETENTION_CANCELLED_S: GucSetting<i32> = GucSetting::<i32>::new(7 * 86_400);
pub static RETENTION_EXPIRED_S: GucSetting<i32> = GucSetting::<i32>::new(7 * 86_400);

/// The retention settings by terminal public state (`lifecycle::PRUNABLE`'s order), in seconds
/// (0 = forever).
pub fn retention_s() -> [(&'static str, i32); 4] {
    let seconds = [RETENTION_COMPLETED_S.get(), RETENTION_FAILED_S.get(), RETENTION_CANCELLED_S.get(), RETENTION_EXPIRED_S.get()];
    std::array::from_fn(|i| (crate::lifecycle::PRUNABLE[i], seconds[i]))
}

/// An integer setting: name, short and long description, the static, its minimum, whether only a
/// superuser may set it.
type IntSetting = (&'static CStr, &'static CStr, &'static CStr, &'static GucSetting<i32>, i32, bool);

const CEILING: &CStr = c"Superuser-only; past it a write is refused with invalid_input and writes nothing.";
const RETENTION: &CStr =
    c"Superuser-only. Pruning deletes the execution with its attempts, suspensions, waitpoints, signals, steps and frames.";

/// Every integer setting. The ceilings and retentions are superuser-only (`Suset`): a call's own
/// arguments can only lower them.
static INT_SETTINGS: [IntSetting; 12] = {
    const SUPERUSER: bool = true;
    [
        (
            c"ff_engine.max_reclaims",
            c"Lease expiries an execution survives before it is failed.",
            c"After this many lease expiries the scanner fails the execution terminally.",
            &MAX_RECLAIMS,
            0,
            !SUPERUSER,
        ),
        (
            c"ff_engine.max_signals_per_execution",
            c"The most signals one execution accepts (a delivery may ask for fewer, never more).",
            c"Superuser-only: a signaler holding a valid token cannot raise its own cap.",
            &MAX_SIGNALS_PER_EXECUTION,
            1,
            SUPERUSER,
        ),
        (
            c"ff_engine.max_dedup_ttl_s",
            c"The longest, in seconds, a delivery's idempotency key is remembered.",
            c"Superuser-only; a delivery's dedup_ttl_ms above it is lowered to it.",
            &MAX_DEDUP_TTL_S,
            0,
            SUPERUSER,
        ),
        (
            c"ff_engine.retention_completed_s",
            c"Seconds a completed execution is kept before ff_tick prunes it (0 = forever).",
            RETENTION,
            &RETENTION_COMPLETED_S,
            0,
            SUPERUSER,
        ),
        (
            c"ff_engine.retention_failed_s",
            c"Seconds a failed execution is kept before ff_tick prunes it (0 = forever).",
            RETENTION,
            &RETENTION_FAILED_S,
            0,
            SUPERUSER,
        ),
        (
            c"ff_engine.retention_cancelled_s",
            c"Seconds a cancelled execution is kept before ff_tick prunes it (0 = forever).",
            RETENTION,
            &RETENTION_CANCELLED_S,
            0,
            SUPERUSER,
        ),
        (
            c"ff_engine.retention_expired_s",
            c"Seconds an expired execution is kept before ff_tick prunes it (0 = forever).",
            RETENTION,
            &RETENTION_EXPIRED_S,
            0,
            SUPERUSER,
        ),
        (
            c"ff_engine.max_payload_bytes",
            c"The largest execution payload, signal payload, result or step value, in bytes.",
            c"Superuser-only; a larger one is refused with invalid_input (<field>_too_large).",
            &MAX_PAYLOAD_BYTES,
            0,
            SUPERUSER,
        ),
        (
            c"ff_engine.max_steps_per_execution",
            c"The most step names one execution stores (ff_set_step).",
            CEILING,
            &MAX_STEPS_PER_EXECUTION,
            0,
            SUPERUSER,
        ),
        (c"ff_engine.max_frame_bytes", c"The largest output frame, in bytes (ff_append_frame).", CEILING, &MAX_FRAME_BYTES, 0, SUPERUSER),
        (
            c"ff_engine.max_frames_per_execution",
            c"The most frames one execution's stream holds.",
            CEILING,
            &MAX_FRAMES_PER_EXECUTION,
            0,
            SUPERUSER,
        ),
        (
            c"ff_engine.max_stream_bytes_per_execution",
            c"The most bytes one execution's stream holds.",
            CEILING,
            &MAX_STREAM_BYTES_PER_EXECUTION,
            0,
            SUPERUSER,
        ),
    ]
};

pub fn register() {
    GucRegistry::define_enum_guc(
        c"ff_engine.notify",
        c"Who ff_engine wakes with NOTIFY: announced waiters (on), nobody (off) or every listener (always).",
        c"on: a transaction that writes outbox events or makes work claimable notifies only the channels and lanes a waiter announced itself on (ff_await_lane, ff_await_events). off: no NOTIFY; listeners poll. always: every write notifies, announced or not.",
        &NOTIFY,
        GucContext::Userset,
        GucFlags::default(),
    );
    for &(name, short, long, setting, min, superuser_only) in &INT_SETTINGS {
        let context = if superuser_only { GucContext::Suset } else { GucContext::Userset };
        GucRegistry::define_int_guc(name, short, long, setting, min, i32::MAX, context, GucFlags::default());
    }
}

/// `ff_engine.max_steps_per_execution`.
pub fn max_steps() -> i64 {
    MAX_STEPS_PER_EXECUTION.get().max(0) as i64
}

/// `ff_engine.max_frame_bytes`.
pub fn max_frame_bytes() -> usize {
    MAX_FRAME_BYTES.get().max(0) as usize
}

/// `ff_engine.max_frames_per_execution` and `ff_engine.max_stream_bytes_per_execution`.
pub fn stream_limits() -> crate::progress::StreamLimits {
    crate::progress::StreamLimits {
        max_frames: MAX_FRAMES_PER_EXECUTION.get().max(0) as i64,
        max_bytes: MAX_STREAM_BYTES_PER_EXECUTION.get().max(0) as i64,
    }
}

/// The signal ceiling for a delivery that asked for `requested`.
pub fn max_signals(requested: i32) -> i32 {
    requested.min(MAX_SIGNALS_PER_EXECUTION.get())
}

/// The dedup TTL for a delivery that asked for `requested_ms`.
pub fn dedup_ttl_ms(requested_ms: i64) -> i64 {
    requested_ms.min(MAX_DEDUP_TTL_S.get() as i64 * 1000)
}

/// `ff_engine.max_payload_bytes`.
pub fn max_payload_bytes() -> usize {
    MAX_PAYLOAD_BYTES.get().max(0) as usize
}
