//! Which release's schema the current database has. A package upgrade replaces `ff_engine.so` under
//! every database at once, and a database keeps its schema until `ALTER EXTENSION ff_engine UPDATE`:
//! until then this library's statements may name columns and tables it does not have. A statement
//! whose text changed since 0.1.0 declares the text 0.1.0's schema runs as well (`statement!`'s
//! `on 0.1.0 schema` list), and [`Plan`](super::statement::Plan) prepares that one while the
//! database's `extversion` is `0.1.0`.
//!
//! The answer is read from `pg_extension` once and kept until a relcache invalidation, which every
//! `ALTER EXTENSION … UPDATE` causes (it alters tables); an invalidation merely clears a flag, so the
//! ones autovacuum causes cost one catalog read on the next call that needs the answer.

use crate::error::{WfError, WfResult};
use crate::postgres::relcache::Remembered;
use pgrx::pg_sys;
use pgrx::spi::SpiClient;

thread_local! {
    static ON_0_1_SCHEMA: Remembered = const { Remembered::new() };
}

/// A relation's relcache entry went (crate::postgres::relcache): read the schema's release again.
pub fn forget(_relid: pg_sys::Oid) {
    ON_0_1_SCHEMA.with(Remembered::forget);
}

/// Whether this database's ff_engine schema is 0.1.0's.
pub fn on_0_1_schema(client: &SpiClient<'_>) -> WfResult<bool> {
    ON_0_1_SCHEMA.with(|r| r.get_or_read(|| read_on_0_1_schema(client)))
}

fn read_on_0_1_schema(client: &SpiClient<'_>) -> WfResult<bool> {
    let version = client
        .select("SELECT extversion FROM pg_catalog.pg_extension WHERE extname = 'ff_engine'", Some(1), &[])
        .map_err(|e| WfError::corruption(format!("reading the extension's version: {e}")))?
        .first()
        .get_one::<String>()
        .map_err(|e| WfError::corruption(format!("reading the extension's version: {e}")))?;
    Ok(version.as_deref() == Some("0.1.0"))
}
