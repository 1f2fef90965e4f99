//! What a running execution records of its progress: durable steps (`ff_set_step`, the first value
//! per step name wins, across attempts) and output frames (`ff_append_frame`, a per-execution stream
//! with a monotonic `seq`). This module checks the arguments and decides; the extension reads and
//! writes the rows.

use crate::args::{check_size, required_text};
use crate::error::{required, WfError, WfResult};

/// Longest step name, in bytes.
pub const MAX_STEP_NAME_BYTES: usize = 256;

/// The frame kinds a stream accepts.
pub const FRAME_KINDS: [&str; 4] = ["stdout", "stderr", "event", "blob"];

/// A step write's arguments, checked: the name (1-256 bytes) and the value's size.
pub fn check_step(step_name: Option<&str>, value_len: Option<usize>, max_value_bytes: usize) -> WfResult<&str> {
    let name = required_text(step_name, "step_name", MAX_STEP_NAME_BYTES)?;
    check_size(value_len, max_value_bytes, "value")?;
    Ok(name)
}

/// What a step write does given the steps the execution has.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StepWrite {
    /// Insert it: the first write of this name.
    Store,
    /// Leave it: a value is already stored under this name.
    Exists,
}

/// Whether to store a step, given whether its name exists and how many steps the execution has:
/// an existing name is `exists` (never changed, never an error, even at the ceiling); a new one needs
/// room under `max_steps`.
pub fn step_write(exists: bool, step_count: i64, max_steps: i64) -> WfResult<StepWrite> {
    if exists {
        return Ok(StepWrite::Exists);
    }
    if step_count >= max_steps {
        return Err(WfError::invalid_input(
            "too_many_steps",
            format!("the execution has {step_count} steps; ff_engine.max_steps_per_execution is {max_steps}"),
        ));
    }
    Ok(StepWrite::Store)
}

/// The text of [`StepWrite`] that `ff_set_step` returns.
pub fn step_outcome(w: StepWrite) -> &'static str {
    match w {
        StepWrite::Store => "stored",
        StepWrite::Exists => "exists",
    }
}

/// A frame's arguments, checked: its kind and its size (at most `max_frame_bytes`, never NULL).
pub fn check_frame(frame_kind: Option<&str>, bytes_len: Option<usize>, max_frame_bytes: usize) -> WfResult<&str> {
    let kind = required(frame_kind, "frame_kind")?;
    if !FRAME_KINDS.contains(&kind) {
        return Err(WfError::invalid_input("invalid_frame_kind", "frame_kind must be one of stdout, stderr, event, blob"));
    }
    let len = required(bytes_len, "bytes")?;
    check_size(Some(len), max_frame_bytes, "bytes")?;
    Ok(kind)
}

/// An execution's stream: its last seq and totals (zeros before its first frame).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StreamState {
    pub last_seq: i64,
    pub frame_count: i64,
    pub total_bytes: i64,
}

/// The stream ceilings (superuser-only settings).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StreamLimits {
    pub max_frames: i64,
    pub max_bytes: i64,
}

/// The `seq` of the next frame: the caller's (it must be above the last) or the last + 1, within the
/// ceilings; the checks in this order: seq, frame count, total bytes.
pub fn next_frame(state: StreamState, requested_seq: Option<i64>, len: usize, limits: StreamLimits) -> WfResult<i64> {
    let seq = match requested_seq {
        Some(s) if s <= state.last_seq => {
            return Err(WfError::invalid_input(
                "seq_not_increasing",
                format!("seq {s} is not above the stream's last seq {}", state.last_seq),
            ))
        }
        Some(s) => s,
        None => {
            state.last_seq.checked_add(1).ok_or_else(|| WfError::invalid_input("seq_not_increasing", "the stream's seq is exhausted"))?
        }
    };
    if state.frame_count >= limits.max_frames {
        return Err(WfError::invalid_input(
            "too_many_frames",
            format!("the stream has {} frames; ff_engine.max_frames_per_execution is {}", state.frame_count, limits.max_frames),
        ));
    }
    if state.total_bytes.saturating_add(len as i64) > limits.max_bytes {
        return Err(WfError::invalid_input(
            "stream_too_large",
            format!(
                "the stream would hold {} bytes; ff_engine.max_stream_bytes_per_execution is {}",
                state.total_bytes.saturating_add(len as i64),
                limits.max_bytes
            ),
        ));
    }
    Ok(seq)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const LIMITS: StreamLimits = StreamLimits { max_frames: 3, max_bytes: 10 };

    #[test]
    fn step_names_and_values_are_checked() {
        assert_eq!(check_step(Some("a"), Some(3), 3).unwrap(), "a");
        assert_eq!(check_step(Some("a"), None, 3).unwrap(), "a");
        assert_eq!(check_step(None, None, 3).unwrap_err().detail.as_deref(), Some("step_name_required"));
        assert_eq!(check_step(Some(""), None, 3).unwrap_err().detail.as_deref(), Some("invalid_step_name"));
        assert_eq!(check_step(Some(&"x".repeat(257)), None, 3).unwrap_err().detail.as_deref(), Some("invalid_step_name"));
        assert_eq!(check_step(Some("a"), Some(4), 3).unwrap_err().detail.as_deref(), Some("value_too_large"));
    }

    #[test]
    fn first_write_wins_and_the_ceiling_counts_new_names_only() {
        assert_eq!(step_write(false, 0, 2).unwrap(), StepWrite::Store);
        assert_eq!(step_write(true, 2, 2).unwrap(), StepWrite::Exists);
        assert_eq!(step_write(false, 2, 2).unwrap_err().detail.as_deref(), Some("too_many_steps"));
        assert_eq!(step_outcome(StepWrite::Store), "stored");
        assert_eq!(step_outcome(StepWrite::Exists), "exists");
    }

    #[test]
    fn frames_are_checked() {
        assert_eq!(check_frame(Some("stdout"), Some(0), 4).unwrap(), "stdout");
        assert_eq!(check_frame(Some("Stdout"), Some(1), 4).unwrap_err().detail.as_deref(), Some("invalid_frame_kind"));
        assert_eq!(check_frame(None, Some(1), 4).unwrap_err().detail.as_deref(), Some("frame_kind_required"));
        assert_eq!(check_frame(Some("blob"), None, 4).unwrap_err().detail.as_deref(), Some("bytes_required"));
        assert_eq!(check_frame(Some("blob"), Some(5), 4).unwrap_err().detail.as_deref(), Some("bytes_too_large"));
    }

    #[test]
    fn seq_is_assigned_or_must_increase() {
        let s = StreamState { last_seq: 5, frame_count: 1, total_bytes: 2 };
        assert_eq!(next_frame(StreamState::default(), None, 1, LIMITS).unwrap(), 1);
        assert_eq!(next_frame(s, None, 1, LIMITS).unwrap(), 6);
        assert_eq!(next_frame(s, Some(9), 1, LIMITS).unwrap(), 9);
        assert_eq!(next_frame(s, Some(5), 1, LIMITS).unwrap_err().detail.as_deref(), Some("seq_not_increasing"));
        let full = StreamState { last_seq: 3, frame_count: 3, total_bytes: 3 };
        assert_eq!(next_frame(full, None, 1, LIMITS).unwrap_err().detail.as_deref(), Some("too_many_frames"));
        assert_eq!(next_frame(s, None, 9, LIMITS).unwrap_err().detail.as_deref(), Some("stream_too_large"));
        let end = StreamState { last_seq: i64::MAX, frame_count: 0, total_bytes: 0 };
        assert_eq!(next_frame(end, None, 1, LIMITS).unwrap_err().detail.as_deref(), Some("seq_not_increasing"));
    }

    proptest! {
        /// Whatever the callers ask, the accepted seqs strictly increase and the ceilings hold.
        #[test]
        fn accepted_frames_increase_and_stay_within_ceilings(asks in proptest::collection::vec((proptest::option::of(0i64..40), 0usize..5), 0..60)) {
            let limits = StreamLimits { max_frames: 20, max_bytes: 50 };
            let mut s = StreamState::default();
            for (seq, len) in asks {
                if let Ok(n) = next_frame(s, seq, len, limits) {
                    prop_assert!(n > s.last_seq);
                    s = StreamState { last_seq: n, frame_count: s.frame_count + 1, total_bytes: s.total_bytes + len as i64 };
                }
                prop_assert!(s.frame_count <= limits.max_frames && s.total_bytes <= limits.max_bytes);
            }
        }
    }
}
