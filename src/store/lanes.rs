//! Paused lanes (`ff_pause_lane`), as the Rust edition's claims read them: a per-backend copy of
//! `ff_lane_pause`, so that a claim checks its lane without a statement of its own. The copy is read
//! (one statement) when a backend first claims, and read again after `ff_pause_lane` or
//! `ff_resume_lane` commits: each sends a relcache invalidation of `ff_lane_pause` at commit
//! ([`ff_lanes_changed`](crate::api::lanes)), which every backend applies before its next claim (a
//! transaction's start applies pending invalidations, and [`is_paused`] applies them once more). So a
//! claim that starts after the pause's commit has returned hands nothing out, at the price of a
//! hash-set look-up per claim. An invalidation of any other relation leaves the copy alone.
//!
//! The SQL edition, which cannot register for invalidations, reads `ff_lane_pause` in its claim
//! statement instead (`sql/edition/claims.sql`).

use crate::error::{WfError, WfResult};
use pgrx::pg_sys;
use pgrx::spi::SpiClient;
use std::cell::{Cell, RefCell};
use std::collections::HashSet;

thread_local! {
    /// The paused lanes, while known.
    static PAUSED: RefCell<Option<HashSet<String>>> = const { RefCell::new(None) };
    /// `ff_lane_pause`'s oid, once read.
    static TABLE: Cell<pg_sys::Oid> = const { Cell::new(pg_sys::InvalidOid) };
    /// How many invalidations of the copy this backend has applied.
    static FORGOTTEN: Cell<u64> = const { Cell::new(0) };
}

/// A relation's relcache entry went (crate::postgres::relcache): the paused lanes, if it is their table.
pub fn forget(relid: pg_sys::Oid) {
    if relid == pg_sys::InvalidOid || relid == TABLE.with(Cell::get) {
        PAUSED.with(|p| p.borrow_mut().take());
        FORGOTTEN.with(|f| f.set(f.get() + 1));
    }
}

fn bad(e: pgrx::spi::SpiError) -> WfError {
    WfError::corruption(format!("reading the paused lanes: {e}"))
}

/// `ff_lane_pause`'s oid, read once per backend.
fn table_oid(client: &SpiClient<'_>) -> WfResult<pg_sys::Oid> {
    let known = TABLE.with(Cell::get);
    if known != pg_sys::InvalidOid {
        return Ok(known);
    }
    let oid = client
        .select("SELECT 'ff_lane_pause'::regclass::oid", Some(1), &[])
        .map_err(bad)?
        .first()
        .get_one::<pg_sys::Oid>()
        .map_err(bad)?
        .ok_or_else(|| WfError::corruption("ff_lane_pause has no oid"))?;
    TABLE.with(|t| t.set(oid));
    Ok(oid)
}

/// The paused lanes as of now: read under the latest snapshot, not the calling statement's, which may
/// have been taken before a pause committed whose invalidation this backend has already applied (the
/// copy would then stay stale until the next pause or resume).
fn read(client: &SpiClient<'_>) -> WfResult<HashSet<String>> {
    if crate::postgres::release::on_0_1_schema(client)? {
        return Ok(HashSet::new());
    }
    table_oid(client)?;
    // SAFETY: a snapshot pushed for this one read-only statement and popped right after it; an error in
    // between aborts the transaction, which clears the snapshot stack.
    unsafe { pg_sys::PushActiveSnapshot(pg_sys::GetLatestSnapshot()) };
    let lanes =
        client.select("SELECT ARRAY(SELECT lane_id FROM ff_lane_pause)", Some(1), &[]).and_then(|t| t.first().get_one::<Vec<String>>());
    // SAFETY: pops the snapshot pushed above.
    unsafe { pg_sys::PopActiveSnapshot() };
    Ok(lanes.map_err(bad)?.unwrap_or_default().into_iter().collect())
}

/// Whether `lane` is paused, as of the latest committed pause or resume.
pub fn is_paused(client: &SpiClient<'_>, lane: &str) -> WfResult<bool> {
    // SAFETY: applies invalidations other backends committed; no catalog access of ours is under way.
    unsafe { pg_sys::AcceptInvalidationMessages() };
    if let Some(paused) = PAUSED.with(|p| p.borrow().as_ref().map(|set| set.contains(lane))) {
        return Ok(paused);
    }
    let before = FORGOTTEN.with(Cell::get);
    let set = read(client)?;
    let paused = set.contains(lane);
    // Kept only if no invalidation arrived while it was read (opening the table applies them): one
    // that did may be of a commit the read's snapshot missed.
    if FORGOTTEN.with(Cell::get) == before {
        PAUSED.with(|p| *p.borrow_mut() = Some(set));
    }
    Ok(paused)
}

/// Send a relcache invalidation of `ff_lane_pause` at commit (after a pause or a resume).
pub fn changed() -> WfResult<()> {
    let oid = pgrx::Spi::connect(table_oid)?;
    // SAFETY: registers an invalidation message for the current transaction.
    unsafe { pg_sys::CacheInvalidateRelcacheByRelid(oid) };
    Ok(())
}
