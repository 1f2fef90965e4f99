//! The extension's one relcache invalidation callback. PostgreSQL keeps a fixed number of them per
//! backend (10), shared with every other preloaded library: Citus takes most, and four callbacks of
//! ff_engine's own left none for it ("out of relcache_callback_list slots" on CREATE EXTENSION). Each
//! per-backend cache forgets what it keeps about a relation here; [`Remembered`] is the yes/no kind.

use crate::error::WfResult;
use pgrx::pg_sys;
use std::cell::Cell;

unsafe extern "C-unwind" fn forget(_arg: pg_sys::Datum, relid: pg_sys::Oid) {
    crate::postgres::release::forget(relid);
    crate::store::lanes::forget(relid);
    crate::store::claim_starts::forget(relid);
    crate::api::claim_start::forget(relid);
    crate::store::distribution::forget(relid);
}

/// Register the callback (from `_PG_init`).
pub fn register() {
    // SAFETY: called once per backend from _PG_init; the callback only clears thread-locals.
    unsafe { pg_sys::CacheRegisterRelcacheCallback(Some(forget), pg_sys::Datum::from(0usize)) };
}

/// A per-backend yes/no read from the catalog when first needed and kept until the next relcache
/// invalidation (its owner's `forget`, called from the callback above, clears it). Held in a
/// `thread_local!`.
pub struct Remembered(Cell<Option<bool>>);

impl Default for Remembered {
    fn default() -> Self {
        Self::new()
    }
}

impl Remembered {
    pub const fn new() -> Self {
        Remembered(Cell::new(None))
    }

    /// Read it again when next needed.
    pub fn forget(&self) {
        self.0.set(None);
    }

    /// The kept answer, or `read`'s, kept.
    pub fn get_or_read(&self, read: impl FnOnce() -> WfResult<bool>) -> WfResult<bool> {
        if let Some(known) = self.0.get() {
            return Ok(known);
        }
        let known = read()?;
        self.0.set(Some(known));
        Ok(known)
    }
}
