//! The one error type of ff_engine. Every failure a caller can see is a `WfError` whose kind maps to
//! exactly one SQLSTATE of `docs/errors.md`. Pure Rust: no Postgres here (the raising lives in `src/postgres/raise.rs`).

use std::fmt;

/// Error kinds, one per row of the errors table (docs/errors.md).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    InvalidInput,
    InvalidToken,
    TokenExpired,
    KeystoreEmpty,
    RotationConflict,
    NotFound,
    LeaseConflict,
    LeaseExpired,
    ExecutionNotActive,
    AlreadySuspended,
    NotAResumedExecution,
    InvalidClaimGrant,
    ClaimGrantExpired,
    WaitpointClosed,
    TargetNotSignalable,
    SignalLimitExceeded,
    ExecutionNotSuspended,
    ExecutionNotReplayable,
    FeatureUnavailable,
    Corruption,
}

impl ErrorKind {
    pub const ALL: [ErrorKind; 20] = [
        ErrorKind::InvalidInput,
        ErrorKind::InvalidToken,
        ErrorKind::TokenExpired,
        ErrorKind::KeystoreEmpty,
        ErrorKind::RotationConflict,
        ErrorKind::NotFound,
        ErrorKind::LeaseConflict,
        ErrorKind::LeaseExpired,
        ErrorKind::ExecutionNotActive,
        ErrorKind::AlreadySuspended,
        ErrorKind::NotAResumedExecution,
        ErrorKind::InvalidClaimGrant,
        ErrorKind::ClaimGrantExpired,
        ErrorKind::WaitpointClosed,
        ErrorKind::TargetNotSignalable,
        ErrorKind::SignalLimitExceeded,
        ErrorKind::ExecutionNotSuspended,
        ErrorKind::ExecutionNotReplayable,
        ErrorKind::FeatureUnavailable,
        ErrorKind::Corruption,
    ];

    /// The five-character SQLSTATE.
    pub const fn sqlstate(self) -> &'static str {
        match self {
            ErrorKind::InvalidInput => "WF001",
            ErrorKind::InvalidToken => "WF002",
            ErrorKind::TokenExpired => "WF003",
            ErrorKind::KeystoreEmpty => "WF004",
            ErrorKind::RotationConflict => "WF005",
            ErrorKind::NotFound => "WF010",
            ErrorKind::LeaseConflict => "WF020",
            ErrorKind::LeaseExpired => "WF021",
            ErrorKind::ExecutionNotActive => "WF022",
            ErrorKind::AlreadySuspended => "WF023",
            ErrorKind::NotAResumedExecution => "WF024",
            ErrorKind::InvalidClaimGrant => "WF025",
            ErrorKind::ClaimGrantExpired => "WF026",
            ErrorKind::WaitpointClosed => "WF030",
            ErrorKind::TargetNotSignalable => "WF031",
            ErrorKind::SignalLimitExceeded => "WF032",
            ErrorKind::ExecutionNotSuspended => "WF033",
            ErrorKind::ExecutionNotReplayable => "WF034",
            ErrorKind::FeatureUnavailable => "WF035",
            ErrorKind::Corruption => "WF099",
        }
    }

    /// The error's name; every message starts with it.
    pub const fn name(self) -> &'static str {
        match self {
            ErrorKind::InvalidInput => "invalid_input",
            ErrorKind::InvalidToken => "invalid_token",
            ErrorKind::TokenExpired => "token_expired",
            ErrorKind::KeystoreEmpty => "keystore_empty",
            ErrorKind::RotationConflict => "rotation_conflict",
            ErrorKind::NotFound => "not_found",
            ErrorKind::LeaseConflict => "lease_conflict",
            ErrorKind::LeaseExpired => "lease_expired",
            ErrorKind::ExecutionNotActive => "execution_not_active",
            ErrorKind::AlreadySuspended => "already_suspended",
            ErrorKind::NotAResumedExecution => "not_a_resumed_execution",
            ErrorKind::InvalidClaimGrant => "invalid_claim_grant",
            ErrorKind::ClaimGrantExpired => "claim_grant_expired",
            ErrorKind::WaitpointClosed => "waitpoint_closed",
            ErrorKind::TargetNotSignalable => "target_not_signalable",
            ErrorKind::SignalLimitExceeded => "signal_limit_exceeded",
            ErrorKind::ExecutionNotSuspended => "execution_not_suspended",
            ErrorKind::ExecutionNotReplayable => "execution_not_replayable",
            ErrorKind::FeatureUnavailable => "feature_unavailable",
            ErrorKind::Corruption => "corruption",
        }
    }

    /// The kind whose [`name`](Self::name) this is.
    pub fn from_name(name: &str) -> Option<ErrorKind> {
        ErrorKind::ALL.into_iter().find(|k| k.name() == name)
    }

    /// The SQLSTATE packed as Postgres's `MAKE_SQLSTATE` macro packs it (6 bits per character).
    pub const fn packed_sqlstate(self) -> i32 {
        let b = self.sqlstate().as_bytes();
        let mut code = 0i32;
        let mut i = 0;
        while i < 5 {
            code += (((b[i] as i32) - ('0' as i32)) & 0x3F) << (6 * i);
            i += 1;
        }
        code
    }
}

/// A failure with the message and DETAIL that reach the client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WfError {
    pub kind: ErrorKind,
    /// Always starts with `kind.name()`.
    pub message: String,
    /// For `invalid_input`: the validation code (`count_n_zero`, `kid_invalid`, …); otherwise the
    /// entity or field concerned, when that helps.
    pub detail: Option<String>,
}

pub type WfResult<T> = Result<T, WfError>;

impl WfError {
    /// The error a message of ours names by its leading `<kind>: `, keeping message and detail: how
    /// a `WF…` error raised in SQL (the shared PL/pgSQL) is recognised after pgrx caught it and
    /// forgot its SQLSTATE.
    pub fn from_message(message: &str, detail: Option<&str>) -> Option<WfError> {
        let (name, _) = message.split_once(": ")?;
        let kind = ErrorKind::from_name(name)?;
        Some(WfError { kind, message: message.to_string(), detail: detail.map(str::to_string) })
    }

    pub fn new(kind: ErrorKind, what: impl fmt::Display) -> Self {
        WfError { kind, message: format!("{}: {}", kind.name(), what), detail: None }
    }

    pub fn with_detail(mut self, detail: impl Into<String>) -> Self {
        self.detail = Some(detail.into());
        self
    }

    /// `invalid_input` with its validation code as DETAIL.
    pub fn invalid_input(code: &str, what: impl fmt::Display) -> Self {
        WfError::new(ErrorKind::InvalidInput, what).with_detail(code)
    }

    /// The single `invalid_token` error: it never says why, so it reveals nothing about what exists.
    pub fn invalid_token() -> Self {
        WfError::new(ErrorKind::InvalidToken, "the waitpoint token was not accepted")
    }

    pub fn not_found(entity: &str) -> Self {
        WfError::new(ErrorKind::NotFound, format!("{entity} not found")).with_detail(entity)
    }

    pub fn keystore_empty() -> Self {
        WfError::new(ErrorKind::KeystoreEmpty, "no active HMAC key; call ff_seed_hmac or ff_rotate_hmac first")
    }

    pub fn corruption(what: impl fmt::Display) -> Self {
        WfError::new(ErrorKind::Corruption, what)
    }

    /// A required argument was NULL.
    pub fn required(param: &str) -> Self {
        WfError::invalid_input(&format!("{param}_required"), format!("{param} must not be NULL"))
    }
}

impl fmt::Display for WfError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)?;
        if let Some(d) = &self.detail {
            write!(f, " ({d})")?;
        }
        Ok(())
    }
}

impl std::error::Error for WfError {}

/// Unwrap a nullable SQL argument or fail with `invalid_input: <param>_required`.
pub fn required<T>(value: Option<T>, param: &str) -> WfResult<T> {
    value.ok_or_else(|| WfError::required(param))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn make_sqlstate(s: &str) -> i32 {
        // Postgres: #define PGSIXBIT(ch) (((ch) - '0') & 0x3F); MAKE_SQLSTATE packs 5 of them.
        s.bytes().enumerate().map(|(i, c)| (((c as i32) - 48) & 0x3F) << (6 * i)).sum()
    }

    #[test]
    fn sqlstates_are_unique_and_well_formed() {
        let mut seen = std::collections::HashSet::new();
        for k in ErrorKind::ALL {
            let s = k.sqlstate();
            assert_eq!(s.len(), 5);
            assert!(s.starts_with("WF"));
            assert!(seen.insert(s), "duplicate {s}");
            assert_eq!(k.packed_sqlstate(), make_sqlstate(s));
        }
    }

    #[test]
    fn known_packing() {
        // ERRCODE_INTERNAL_ERROR 'XX000' as Postgres packs it.
        assert_eq!(make_sqlstate("XX000"), 2600);
        assert_eq!(ErrorKind::InvalidInput.packed_sqlstate(), make_sqlstate("WF001"));
    }

    #[test]
    fn messages_start_with_the_name() {
        for k in ErrorKind::ALL {
            assert!(WfError::new(k, "x").message.starts_with(k.name()));
        }
        let e = WfError::invalid_input("count_n_zero", "n must be at least 1");
        assert_eq!(e.message, "invalid_input: n must be at least 1");
        assert_eq!(e.detail.as_deref(), Some("count_n_zero"));
    }
}
