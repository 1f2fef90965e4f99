//! Progress of a running execution: durable steps (`ff_set_step`, `ff_get_steps`) and its output
//! stream (`ff_append_frame`, `ff_read_frames`). Writes are fenced like every lease call: the
//! execution row is locked and the caller's lease checked first, so a stale worker writes nothing,
//! and two writers of one execution take turns. The core ([`crate::progress`]) decides; the
//! statements are in `sql/statements/{steps,streams}/`, which the SQL edition runs too.

use crate::error::{WfError, WfResult};
use crate::postgres::args::{ex_key, parse_execution_id};
use crate::postgres::notify::{notify, Channel};
use crate::postgres::settings;
use crate::postgres::statement::now_ms;
use crate::progress::{self, StepWrite, StreamState};
use crate::statement;
use crate::store::executions::lock_leased;
use pgrx::prelude::*;

statement! {
    mod set_step = "steps/set_step.sql";
    args<'a> {
        partition_key: i16, execution_id: pgrx::Uuid, step_name: &'a str, value: Option<&'a [u8]>, attempt_index: i32, now_ms: i64,
        max_steps: i64,
    }
    row { existed: bool, step_count: i64, stored: i64 }
}
statement! {
    mod list_steps = "steps/list_steps.sql";
    args { partition_key: i16, execution_id: pgrx::Uuid }
    row { step_name: Option<String>, value: Option<Vec<u8>>, attempt_index: Option<i32>, stored_at_ms: Option<i64> }
}
statement! {
    mod stream_state = "streams/stream_state.sql";
    args { partition_key: i16, execution_id: pgrx::Uuid }
    row { last_seq: i64, frame_count: i64, total_bytes: i64 }
}
statement! {
    mod append_frame = "streams/append_frame.sql";
    args<'a> {
        partition_key: i16, execution_id: pgrx::Uuid, seq: i64, frame_kind: &'a str, bytes: &'a [u8], attempt_index: i32, now_ms: i64,
    }
    row { seq: i64 }
}
statement! {
    mod read_frames = "streams/read_frames.sql";
    args { partition_key: i16, execution_id: pgrx::Uuid, after_seq: i64, max_rows: i64 }
    row { seq: Option<i64>, frame_kind: Option<String>, bytes: Option<Vec<u8>>, attempt_index: Option<i32>, appended_at_ms: Option<i64> }
}

/// `ff_set_step`: `stored` or `exists`.
pub fn set_step(
    execution_id: Option<&str>,
    lease_id: Option<pgrx::Uuid>,
    lease_epoch: Option<i64>,
    step_name: Option<&str>,
    value: Option<&[u8]>,
) -> WfResult<String> {
    let id = parse_execution_id(execution_id)?;
    let step_name = progress::check_step(step_name, value.map(<[u8]>::len), settings::max_payload_bytes())?;
    let max_steps = settings::max_steps();
    let now = now_ms();
    Spi::connect_mut(|client| {
        let ex = lock_leased(client, &id, lease_id, lease_epoch, now)?;
        let (partition_key, execution_id) = ex_key(&id);
        let args =
            set_step::Args { partition_key, execution_id, step_name, value, attempt_index: ex.attempt_index, now_ms: now, max_steps };
        let r = set_step::one(client, args)?;
        let write = progress::step_write(r.existed, r.step_count, max_steps)?;
        if (write == StepWrite::Store) != (r.stored == 1) {
            return Err(WfError::corruption("the step write disagrees with the execution's steps"));
        }
        Ok(progress::step_outcome(write).to_string())
    })
}

/// `ff_get_steps`' row: step_name, value, attempt_index, stored_at_ms.
pub type StepRow = (String, Option<Vec<u8>>, i32, i64);

/// `ff_get_steps`: the steps in write order; `not_found` for an unknown execution.
pub fn get_steps(execution_id: Option<&str>) -> WfResult<Vec<StepRow>> {
    let id = parse_execution_id(execution_id)?;
    let (partition_key, execution_id) = ex_key(&id);
    let rows = Spi::connect(|client| list_steps::all(client, list_steps::Args { partition_key, execution_id }))?;
    if rows.is_empty() {
        return Err(WfError::not_found("execution"));
    }
    Ok(rows.into_iter().filter_map(|r| Some((r.step_name?, r.value, r.attempt_index?, r.stored_at_ms?))).collect())
}

/// `ff_append_frame`: the frame's seq.
pub fn append_frame(
    execution_id: Option<&str>,
    lease_id: Option<pgrx::Uuid>,
    lease_epoch: Option<i64>,
    frame_kind: Option<&str>,
    bytes: Option<&[u8]>,
    seq: Option<i64>,
) -> WfResult<i64> {
    let id = parse_execution_id(execution_id)?;
    let frame_kind = progress::check_frame(frame_kind, bytes.map(<[u8]>::len), settings::max_frame_bytes())?;
    let bytes = bytes.unwrap_or_default();
    let now = now_ms();
    Spi::connect_mut(|client| {
        let ex = lock_leased(client, &id, lease_id, lease_epoch, now)?;
        let (partition_key, execution_id) = ex_key(&id);
        let state = stream_state::optional(client, stream_state::Args { partition_key, execution_id })?
            .map(|r| StreamState { last_seq: r.last_seq, frame_count: r.frame_count, total_bytes: r.total_bytes })
            .unwrap_or_default();
        let seq = progress::next_frame(state, seq, bytes.len(), settings::stream_limits())?;
        let args = append_frame::Args { partition_key, execution_id, seq, frame_kind, bytes, attempt_index: ex.attempt_index, now_ms: now };
        let seq = append_frame::one(client, args)?.seq;
        notify(client, &[Channel::Frame])?;
        Ok(seq)
    })
}

/// `ff_read_frames`' row: seq, frame_kind, bytes, attempt_index, appended_at_ms.
pub type FrameRow = (i64, String, Vec<u8>, i32, i64);

/// `ff_read_frames`: frames after `after_seq`, at most `max_rows`; `not_found` for an unknown
/// execution.
pub fn read_frames(execution_id: Option<&str>, after_seq: Option<i64>, max_rows: Option<i32>) -> WfResult<Vec<FrameRow>> {
    let id = parse_execution_id(execution_id)?;
    let after_seq = crate::error::required(after_seq, "after_seq")?;
    let max_rows = crate::checks::page_size(max_rows)?;
    let (partition_key, execution_id) = ex_key(&id);
    let rows = Spi::connect(|client| read_frames::all(client, read_frames::Args { partition_key, execution_id, after_seq, max_rows }))?;
    if rows.is_empty() {
        return Err(WfError::not_found("execution"));
    }
    Ok(rows.into_iter().filter_map(|r| Some((r.seq?, r.frame_kind?, r.bytes?, r.attempt_index?, r.appended_at_ms?))).collect())
}
