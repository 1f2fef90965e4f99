//! Prepared SPI plans, prepared once per backend and kept (`SPI_keepplan`) for its lifetime.
//! Each concept module declares its statements as `static Plan`s next to the code that runs them.

use pgrx::pg_sys::PgOid;
use pgrx::datum::DatumWithOid;
use pgrx::spi::{OwnedPreparedStatement, SpiClient, SpiResult, SpiTupleTable};
use std::cell::RefCell;
use std::collections::HashMap;

/// One statement: its SQL and argument types.
///
/// Every plan is prepared read-write (`prepare_mut`), even a pure read: a read-only SPI execution
/// reuses the calling query's snapshot, and the hot paths rely on each statement seeing what committed
/// while an earlier statement waited for a row lock (READ COMMITTED), and on seeing their own writes.
pub struct Plan {
    pub sql: &'static str,
    pub args: &'static [PgOid],
}

thread_local! {
    // Keyed by the address of the `static Plan`. Plans are leaked on purpose: they live as long as
    // the backend, and freeing SPI plans from a thread-local destructor at exit would be unsafe.
    static CACHE: RefCell<HashMap<usize, &'static OwnedPreparedStatement>> = RefCell::new(HashMap::new());
}

impl Plan {
    /// The kept plan for this statement, preparing it on first use in this backend.
    pub fn get(&'static self, client: &SpiClient<'_>) -> SpiResult<&'static OwnedPreparedStatement> {
        let key = self as *const Plan as usize;
        if let Some(stmt) = CACHE.with(|c| c.borrow().get(&key).copied()) {
            return Ok(stmt);
        }
        let prepared = client.prepare_mut(self.sql, self.args)?;
        let kept: &'static OwnedPreparedStatement = Box::leak(Box::new(prepared.keep()));
        CACHE.with(|c| c.borrow_mut().insert(key, kept));
        Ok(kept)
    }

    /// Execute the kept plan with `args`.
    pub fn run<'conn>(&'static self, client: &SpiClient<'conn>, args: &[DatumWithOid<'_>]) -> SpiResult<SpiTupleTable<'conn>> {
        client.select(self.get(client)?, None, args)
    }
}

/// Argument type shorthands for `Plan::args`.
#[allow(dead_code)]
pub mod t {
    use pgrx::pg_sys::{BuiltinOid, PgOid};
    pub const TEXT: PgOid = PgOid::BuiltIn(BuiltinOid::TEXTOID);
    pub const BYTEA: PgOid = PgOid::BuiltIn(BuiltinOid::BYTEAOID);
    pub const INT8: PgOid = PgOid::BuiltIn(BuiltinOid::INT8OID);
    pub const INT4: PgOid = PgOid::BuiltIn(BuiltinOid::INT4OID);
    pub const INT2: PgOid = PgOid::BuiltIn(BuiltinOid::INT2OID);
    pub const BOOL: PgOid = PgOid::BuiltIn(BuiltinOid::BOOLOID);
    pub const UUID: PgOid = PgOid::BuiltIn(BuiltinOid::UUIDOID);
    pub const JSONB: PgOid = PgOid::BuiltIn(BuiltinOid::JSONBOID);
    pub const TEXT_ARRAY: PgOid = PgOid::BuiltIn(BuiltinOid::TEXTARRAYOID);
    pub const UUID_ARRAY: PgOid = PgOid::BuiltIn(BuiltinOid::UUIDARRAYOID);
    pub const INT8_ARRAY: PgOid = PgOid::BuiltIn(BuiltinOid::INT8ARRAYOID);
}

/// Server clock in unix milliseconds (semantics: every timestamp is the database's clock).
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

impl From<pgrx::spi::SpiError> for crate::error::WfError {
    fn from(e: pgrx::spi::SpiError) -> Self {
        crate::error::WfError::corruption(format!("SPI: {e}"))
    }
}
