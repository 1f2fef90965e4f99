//! The extension's one relcache invalidation callback. PostgreSQL keeps a fixed number of them per
//! backend (10), shared with every other preloaded library: Citus takes most, and four callbacks of
//! ff_engine's own left none for it ("out of relcache_callback_list slots" on CREATE EXTENSION). Each
//! per-backend cache forgets what it keeps about a relation here.

use pgrx::pg_sys;

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
