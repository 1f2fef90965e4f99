//! The pure half of signal delivery (semantics §6): checking a signal's arguments, and the checks
//! on the execution and the waitpoint once the execution row is locked, in the order the semantics
//! give them.

use crate::args::{bounded_text, check_size, optional_text};
use crate::error::{required, ErrorKind, WfError, WfResult};
use crate::lifecycle::{phase, waitpoint};

/// The descriptive text fields of a signal, checked: name 1–256 bytes, the others 0–256.
#[allow(clippy::too_many_arguments)]
pub fn check_fields(
    signal_name: Option<&str>,
    signal_category: Option<&str>,
    source_type: Option<&str>,
    source_identity: Option<&str>,
    correlation_id: Option<&str>,
    idempotency_key: Option<&str>,
    payload_len: Option<usize>,
    max_payload_bytes: usize,
) -> WfResult<()> {
    let name = required(signal_name, "signal_name")?;
    optional_text(Some(name), "signal_name", 256)?;
    for (v, f) in [
        (signal_category, "signal_category"),
        (source_type, "source_type"),
        (source_identity, "source_identity"),
        (correlation_id, "correlation_id"),
    ] {
        bounded_text(v, f, 0, 256)?;
    }
    optional_text(idempotency_key, "idempotency_key", 256)?;
    check_size(payload_len, max_payload_bytes, "payload")
}

/// Step 3: a terminal execution takes no signals.
pub fn check_execution(lifecycle_phase: &str) -> WfResult<()> {
    if lifecycle_phase == phase::TERMINAL {
        return Err(WfError::new(ErrorKind::TargetNotSignalable, "the execution is terminal"));
    }
    Ok(())
}

/// Step 4: a closed waitpoint, or a pending one past its expiry, takes no signals.
pub fn check_waitpoint(state: &str, expires_at_ms: Option<i64>, now_ms: i64) -> WfResult<()> {
    if state == waitpoint::CLOSED || (state == waitpoint::PENDING && expires_at_ms.is_some_and(|e| e <= now_ms)) {
        return Err(WfError::new(ErrorKind::WaitpointClosed, "the waitpoint is closed or expired"));
    }
    Ok(())
}

/// Step 5: the per-execution signal limit.
pub fn check_limit(signal_count: i32, max_signals: i32) -> WfResult<()> {
    if signal_count >= max_signals {
        return Err(WfError::new(ErrorKind::SignalLimitExceeded, format!("the execution already has {signal_count} signals")));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn field_checks_name_the_field() {
        assert!(check_fields(Some("n"), None, None, None, None, None, None, 10).is_ok());
        let detail = |r: WfResult<()>| r.unwrap_err().detail.unwrap();
        assert_eq!(detail(check_fields(None, None, None, None, None, None, None, 10)), "signal_name_required");
        assert_eq!(detail(check_fields(Some(""), None, None, None, None, None, None, 10)), "invalid_signal_name");
        let long = "x".repeat(257);
        assert_eq!(detail(check_fields(Some("n"), None, Some(&long), None, None, None, None, 10)), "invalid_source_type");
        assert_eq!(detail(check_fields(Some("n"), None, None, None, None, None, Some(11), 10)), "payload_too_large");
        assert_eq!(detail(crate::lifecycle::required_ms(Some(-1), "resume_delay_ms", 0).map(|_| ())), "invalid_resume_delay_ms");
    }

    #[test]
    fn state_checks_in_order() {
        assert_eq!(check_execution("terminal").unwrap_err().kind, ErrorKind::TargetNotSignalable);
        assert!(check_execution("suspended").is_ok());
        assert_eq!(check_waitpoint("closed", None, 0).unwrap_err().kind, ErrorKind::WaitpointClosed);
        assert_eq!(check_waitpoint("pending", Some(5), 5).unwrap_err().kind, ErrorKind::WaitpointClosed);
        assert!(check_waitpoint("pending", Some(6), 5).is_ok());
        assert!(check_waitpoint("active", Some(1), 5).is_ok());
        assert_eq!(check_limit(3, 3).unwrap_err().kind, ErrorKind::SignalLimitExceeded);
        assert!(check_limit(2, 3).is_ok());
    }
}
