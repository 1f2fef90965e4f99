//! `ff-engine-client`: a thin typed async client for the `ff_engine` PostgreSQL extension.
//!
//! Every method is one SQL call (one round trip) to the function of the same name. Errors raised by the
//! extension come back as [`Error::Engine`] with their [`ErrorKind`] (one per `WF…` SQLSTATE); other
//! database errors keep their SQLSTATE and message.
//!
//! The pure id and error definitions are the extension's own source files (`src/ids.rs`,
//! `src/error.rs`), compiled into this crate, so client and server parse ids and map codes identically.

#[path = "../../src/error.rs"]
#[allow(dead_code)] // server-side helpers of the shared module
mod engine_error;
#[path = "../../src/ids.rs"]
pub mod ids;

// `ids.rs` refers to `crate::error`.
use engine_error as error;

pub use engine_error::ErrorKind;
pub use ids::ExecutionId;

use std::collections::HashMap;
use std::sync::Mutex;
use tokio_postgres::{NoTls, Row, Statement};

/// A client error.
#[derive(Debug)]
pub enum Error {
    /// An error raised by ff_engine, with its `WF…` SQLSTATE as `kind`.
    Engine { kind: ErrorKind, message: String, detail: Option<String> },
    /// Any other database error (e.g. `42501` insufficient_privilege, `40001`), SQLSTATE kept.
    Database { sqlstate: String, message: String, detail: Option<String> },
    /// Connection or protocol failure.
    Connection(tokio_postgres::Error),
}

impl Error {
    /// The SQLSTATE, when the server sent one.
    pub fn sqlstate(&self) -> Option<&str> {
        match self {
            Error::Engine { kind, .. } => Some(kind.sqlstate()),
            Error::Database { sqlstate, .. } => Some(sqlstate),
            Error::Connection(_) => None,
        }
    }

    pub fn kind(&self) -> Option<ErrorKind> {
        match self {
            Error::Engine { kind, .. } => Some(*kind),
            _ => None,
        }
    }
}

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (code, message, detail) = match self {
            Error::Engine { kind, message, detail } => (kind.sqlstate(), message, detail),
            Error::Database { sqlstate, message, detail } => (sqlstate.as_str(), message, detail),
            Error::Connection(e) => return write!(f, "connection: {e}"),
        };
        write!(f, "{code} {message}")?;
        if let Some(d) = detail {
            write!(f, " ({d})")?;
        }
        Ok(())
    }
}

impl std::error::Error for Error {}

/// Map a SQLSTATE to its engine error kind, if it is one of ff_engine's.
pub fn kind_for_sqlstate(sqlstate: &str) -> Option<ErrorKind> {
    ErrorKind::ALL.into_iter().find(|k| k.sqlstate() == sqlstate)
}

impl From<tokio_postgres::Error> for Error {
    fn from(e: tokio_postgres::Error) -> Self {
        match e.as_db_error() {
            Some(db) => {
                let code = db.code().code();
                let message = db.message().to_string();
                let detail = db.detail().map(str::to_string);
                match kind_for_sqlstate(code) {
                    Some(kind) => Error::Engine { kind, message, detail },
                    None => Error::Database { sqlstate: code.to_string(), message, detail },
                }
            }
            None => Error::Connection(e),
        }
    }
}

pub type Result<T> = std::result::Result<T, Error>;

/// Result of [`Client::seed_hmac`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeedOutcome {
    /// `seeded` or `already_seeded`.
    pub outcome: String,
    pub kid: String,
    /// Whether the given secret equals the stored one (None when seeded or no secret given).
    pub same_secret: Option<bool>,
}

/// Result of [`Client::rotate_hmac`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RotateOutcome {
    /// `rotated` or `noop`.
    pub outcome: String,
    pub previous_kid: Option<String>,
    pub new_kid: String,
    /// Retired keys past their grace window that this rotation deleted.
    pub gc_count: i32,
}

/// One row of [`Client::hmac_kids`]; never carries the secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyInfo {
    pub kid: String,
    pub active: bool,
    pub created_at_ms: i64,
    pub rotated_at_ms: Option<i64>,
    pub expires_at_ms: Option<i64>,
}

/// A connection to a database where `CREATE EXTENSION ff_engine` was run.
pub struct Client {
    inner: tokio_postgres::Client,
    // Prepared once per connection, so every later call is a single round trip (Bind/Execute).
    statements: Mutex<HashMap<&'static str, Statement>>,
}

impl Client {
    /// Connect with a libpq-style connection string; the connection task runs on the current Tokio runtime.
    pub async fn connect(conninfo: &str) -> Result<Client> {
        let (inner, connection) = tokio_postgres::connect(conninfo, NoTls).await?;
        tokio::spawn(async move {
            let _ = connection.await;
        });
        Ok(Client::from_postgres(inner))
    }

    /// Wrap an existing tokio-postgres client.
    pub fn from_postgres(inner: tokio_postgres::Client) -> Client {
        Client { inner, statements: Mutex::new(HashMap::new()) }
    }

    async fn statement(&self, sql: &'static str) -> Result<Statement> {
        if let Some(s) = self.statements.lock().unwrap_or_else(|p| p.into_inner()).get(sql) {
            return Ok(s.clone());
        }
        let stmt = self.inner.prepare(sql).await?;
        self.statements.lock().unwrap_or_else(|p| p.into_inner()).insert(sql, stmt.clone());
        Ok(stmt)
    }

    async fn one(&self, sql: &'static str, params: &[&(dyn tokio_postgres::types::ToSql + Sync)]) -> Result<Row> {
        let stmt = self.statement(sql).await?;
        Ok(self.inner.query_one(&stmt, params).await?)
    }

    async fn all(&self, sql: &'static str, params: &[&(dyn tokio_postgres::types::ToSql + Sync)]) -> Result<Vec<Row>> {
        let stmt = self.statement(sql).await?;
        Ok(self.inner.query(&stmt, params).await?)
    }

    /// `ff_seed_hmac`: install the first signing key (idempotent).
    pub async fn seed_hmac(&self, kid: &str, secret_hex: Option<&str>) -> Result<SeedOutcome> {
        let r = self.one("SELECT outcome, kid, same_secret FROM ff_seed_hmac($1, $2)", &[&kid, &secret_hex]).await?;
        Ok(SeedOutcome { outcome: r.get(0), kid: r.get(1), same_secret: r.get(2) })
    }

    /// `ff_rotate_hmac`: make `new_kid` the signing key; the previous key verifies for `grace_ms` more.
    pub async fn rotate_hmac(&self, new_kid: &str, new_secret_hex: Option<&str>, grace_ms: i64) -> Result<RotateOutcome> {
        let r = self
            .one(
                "SELECT outcome, previous_kid, new_kid, gc_count FROM ff_rotate_hmac($1, $2, $3)",
                &[&new_kid, &new_secret_hex, &grace_ms],
            )
            .await?;
        Ok(RotateOutcome { outcome: r.get(0), previous_kid: r.get(1), new_kid: r.get(2), gc_count: r.get(3) })
    }

    /// `ff_hmac_kids`: the stored key ids and their state.
    pub async fn hmac_kids(&self) -> Result<Vec<KeyInfo>> {
        let rows = self.all("SELECT kid, active, created_at_ms, rotated_at_ms, expires_at_ms FROM ff_hmac_kids()", &[]).await?;
        Ok(rows
            .iter()
            .map(|r| KeyInfo {
                kid: r.get(0),
                active: r.get(1),
                created_at_ms: r.get(2),
                rotated_at_ms: r.get(3),
                expires_at_ms: r.get(4),
            })
            .collect())
    }
}

#[cfg(test)]
mod client_tests {
    use super::*;

    #[test]
    fn every_engine_sqlstate_maps_back_to_its_kind() {
        for k in ErrorKind::ALL {
            assert_eq!(kind_for_sqlstate(k.sqlstate()), Some(k));
        }
        assert_eq!(kind_for_sqlstate("42501"), None);
        assert_eq!(kind_for_sqlstate("XX000"), None);
    }
}
