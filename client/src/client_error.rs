//! The client's error type: one variant per SQLSTATE of ff_engine's `docs/errors.md`, each carrying the
//! server's message and DETAIL; other SQLSTATEs keep their code in [`Error::Other`].

use crate::ErrorKind;
use std::fmt;

/// What the server said: its message (which starts with the error's name) and its DETAIL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerError {
    /// The primary message, e.g. `invalid_input: execution_id must start with {fp:`.
    pub message: String,
    /// The DETAIL line: for `invalid_input` the validation code (`count_n_zero`, …), else the entity or
    /// field concerned, when the server sent one.
    pub detail: Option<String>,
}

macro_rules! sqlstate_variants {
    ($( $(#[$doc:meta])* $variant:ident = $code:literal ),* $(,)?) => {
        /// A failed client call. Every SQLSTATE of `errors.md` has its own variant; any other SQLSTATE is
        /// [`Error::Other`]; failures without a SQLSTATE are [`Error::Connection`], [`Error::Pool`] or
        /// [`Error::Protocol`].
        #[derive(Debug)]
        #[non_exhaustive]
        pub enum Error {
            $( $(#[$doc])* $variant(ServerError), )*
            /// A SQLSTATE this crate has no variant for; the code is kept.
            Other {
                /// The five-character SQLSTATE.
                sqlstate: String,
                /// The server's message and DETAIL.
                error: ServerError,
            },
            /// The connection failed or was closed (I/O error, server gone, backend terminated before it
            /// could answer).
            Connection(tokio_postgres::Error),
            /// No pooled connection could be had (pool closed, timed out, misconfigured).
            Pool(String),
            /// The server answered with something this crate does not understand (an unknown outcome
            /// string, say): a version mismatch between client and extension.
            Protocol(String),
        }

        impl Error {
            /// The SQLSTATE, when the server sent one.
            pub fn sqlstate(&self) -> Option<&str> {
                match self {
                    $( Error::$variant(_) => Some($code), )*
                    Error::Other { sqlstate, .. } => Some(sqlstate),
                    Error::Connection(e) => e.as_db_error().map(|d| d.code().code()),
                    Error::Pool(_) | Error::Protocol(_) => None,
                }
            }

            /// The server's message and DETAIL, when the server sent an error.
            pub fn server_error(&self) -> Option<&ServerError> {
                match self {
                    $( Error::$variant(e) => Some(e), )*
                    Error::Other { error, .. } => Some(error),
                    _ => None,
                }
            }

            /// Build the variant for `sqlstate` (unknown codes give [`Error::Other`]).
            pub fn from_sqlstate(sqlstate: &str, message: String, detail: Option<String>) -> Error {
                let error = ServerError { message, detail };
                match sqlstate {
                    $( $code => Error::$variant(error), )*
                    _ => Error::Other { sqlstate: sqlstate.to_string(), error },
                }
            }

            /// Every SQLSTATE that has a variant of its own.
            pub const KNOWN_SQLSTATES: &'static [&'static str] = &[$($code),*];
        }
    };
}

sqlstate_variants! {
    /// `WF001`: malformed id, bad enum string, out-of-range number, invalid condition or binding
    /// (DETAIL = the validation code).
    InvalidInput = "WF001",
    /// `WF002`: token missing, malformed, forged, for another waitpoint, unknown kid, or waitpoint unknown.
    InvalidToken = "WF002",
    /// `WF003`: the token's key is retired and past its grace window.
    TokenExpired = "WF003",
    /// `WF004`: the operation needs a signing key and none is active (run `ff_seed_hmac`).
    KeystoreEmpty = "WF004",
    /// `WF005`: rotate with an existing kid and a different secret.
    RotationConflict = "WF005",
    /// `WF010`: execution, budget, quota policy or grant not found (DETAIL = entity).
    NotFound = "WF010",
    /// `WF020`: the fence (lease id, epoch) does not match the current lease.
    LeaseConflict = "WF020",
    /// `WF021`: the fence matches but the lease has expired.
    LeaseExpired = "WF021",
    /// `WF022`: the operation needs an active leased execution and it is in another phase.
    ExecutionNotActive = "WF022",
    /// `WF023`: suspend while a suspension is open.
    AlreadySuspended = "WF023",
    /// `WF024`: `ff_claim_resumed_execution` on a grant for a fresh attempt.
    NotAResumedExecution = "WF024",
    /// `WF025`: claim grant malformed, forged, unknown, consumed, or for another worker.
    InvalidClaimGrant = "WF025",
    /// `WF026`: claim grant past its expiry.
    ClaimGrantExpired = "WF026",
    /// `WF030`: signal to a closed or expired waitpoint.
    WaitpointClosed = "WF030",
    /// `WF031`: signal to a terminal execution.
    TargetNotSignalable = "WF031",
    /// `WF032`: `max_signals_per_execution` reached.
    SignalLimitExceeded = "WF032",
    /// `WF033`: operator resume of an execution that is not suspended.
    ExecutionNotSuspended = "WF033",
    /// `WF034`: replay of an execution that is not failed, cancelled or expired.
    ExecutionNotReplayable = "WF034",
    /// `WF035`: an optional dependency is missing (pg_cron for `ff_schedule_tick`).
    FeatureUnavailable = "WF035",
    /// `WF099`: stored state that cannot be decoded (should never happen).
    Corruption = "WF099",
    /// `42501`: the login role lacks the grant (grant it `ff_admin`, `ff_worker` or `ff_signaler`).
    InsufficientPrivilege = "42501",
    /// `40001`: serialization failure (only under REPEATABLE READ / SERIALIZABLE); retried by the client.
    SerializationFailure = "40001",
    /// `40P01`: deadlock detected; retried by the client.
    DeadlockDetected = "40P01",
    /// `57014`: the statement was cancelled (e.g. `statement_timeout`).
    QueryCanceled = "57014",
    /// `22P02`: Postgres could not convert an argument to the parameter's type.
    InvalidTextRepresentation = "22P02",
    /// `22003`: a number out of range for the parameter's type.
    NumericValueOutOfRange = "22003",
}

impl Error {
    /// The engine error kind (one per `WF…` SQLSTATE), if this is an ff_engine error.
    pub fn kind(&self) -> Option<ErrorKind> {
        let code = self.sqlstate()?;
        ErrorKind::ALL.into_iter().find(|k| k.sqlstate() == code)
    }

    /// Whether the client retries this failure: serialization failures, deadlocks and dropped
    /// connections (I/O errors, closed connections, `57P01`-`57P03` shutdowns, class `08`).
    pub fn is_retryable(&self) -> bool {
        match self {
            Error::SerializationFailure(_) | Error::DeadlockDetected(_) => true,
            Error::Connection(e) => is_dropped_connection(e),
            Error::Other { sqlstate, .. } => is_dropped_connection_code(sqlstate),
            _ => false,
        }
    }
}

fn is_dropped_connection_code(code: &str) -> bool {
    matches!(code, "57P01" | "57P02" | "57P03") || code.starts_with("08")
}

fn is_dropped_connection(e: &tokio_postgres::Error) -> bool {
    if let Some(db) = e.as_db_error() {
        return is_dropped_connection_code(db.code().code());
    }
    if e.is_closed() {
        return true;
    }
    // An I/O error anywhere in the chain: connect refused, reset, broken pipe.
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        if s.is::<std::io::Error>() {
            return true;
        }
        source = s.source();
    }
    // tokio-postgres reports "connection closed" / unexpected EOF without an io::Error source.
    let text = e.to_string();
    text.contains("closed") || text.contains("unexpected EOF")
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Connection(e) => write!(f, "connection: {e}"),
            Error::Pool(e) => write!(f, "connection pool: {e}"),
            Error::Protocol(e) => write!(f, "protocol: {e}"),
            other => {
                let (code, e) = (other.sqlstate().unwrap_or("?????"), other.server_error().expect("server error variant"));
                write!(f, "{code} {}", e.message)?;
                if let Some(d) = &e.detail {
                    write!(f, " ({d})")?;
                }
                Ok(())
            }
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Connection(e) => Some(e),
            _ => None,
        }
    }
}

impl From<tokio_postgres::Error> for Error {
    fn from(e: tokio_postgres::Error) -> Self {
        match e.as_db_error() {
            Some(db) if !is_dropped_connection_code(db.code().code()) => {
                Error::from_sqlstate(db.code().code(), db.message().to_string(), db.detail().map(str::to_string))
            }
            _ => Error::Connection(e),
        }
    }
}

impl From<deadpool_postgres::PoolError> for Error {
    fn from(e: deadpool_postgres::PoolError) -> Self {
        match e {
            deadpool_postgres::PoolError::Backend(e) => Error::from(e),
            other => Error::Pool(other.to_string()),
        }
    }
}

/// The result type of every client call.
pub type Result<T> = std::result::Result<T, Error>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_engine_sqlstate_has_its_own_variant() {
        for k in ErrorKind::ALL {
            let e = Error::from_sqlstate(k.sqlstate(), format!("{}: x", k.name()), Some("d".into()));
            assert!(!matches!(e, Error::Other { .. }), "{k:?} fell through to Other");
            assert_eq!(e.kind(), Some(k));
            assert_eq!(e.sqlstate(), Some(k.sqlstate()));
            assert_eq!(e.server_error().unwrap().detail.as_deref(), Some("d"));
        }
        let mut codes = Error::KNOWN_SQLSTATES.to_vec();
        codes.sort();
        codes.dedup();
        assert_eq!(codes.len(), Error::KNOWN_SQLSTATES.len(), "a SQLSTATE is listed twice");
    }

    #[test]
    fn unknown_codes_keep_sqlstate_and_message() {
        let e = Error::from_sqlstate("XX000", "boom".into(), None);
        assert!(matches!(&e, Error::Other { sqlstate, .. } if sqlstate == "XX000"));
        assert_eq!(e.kind(), None);
        assert_eq!(e.to_string(), "XX000 boom");
    }

    #[test]
    fn only_serialization_deadlock_and_dropped_connections_retry() {
        let retryable: Vec<&str> =
            Error::KNOWN_SQLSTATES.iter().copied().filter(|c| Error::from_sqlstate(c, String::new(), None).is_retryable()).collect();
        assert_eq!(retryable, vec!["40001", "40P01"]);
        assert!(Error::from_sqlstate("57P01", String::new(), None).is_retryable());
        assert!(Error::from_sqlstate("08006", String::new(), None).is_retryable());
        assert!(!Error::from_sqlstate("23505", String::new(), None).is_retryable());
        assert!(!Error::Protocol("x".into()).is_retryable());
    }
}
