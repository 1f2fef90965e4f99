//! The Rust edition's claim-start row trigger (see [`crate::store::claim_starts`]).

use crate::error::{WfError, WfResult};
use crate::postgres::raise::guarded;
use crate::store::claim_starts::{self, RowChange};
use pgrx::prelude::*;
use std::cell::Cell;
use std::num::NonZeroUsize;

/// The attribute numbers of the columns the trigger reads.
#[derive(Clone, Copy)]
struct Columns {
    lane_id: NonZeroUsize,
    priority: NonZeroUsize,
    eligibility_state: NonZeroUsize,
    queue_seq: NonZeroUsize,
}

fn columns(desc: pg_sys::TupleDesc) -> WfResult<Columns> {
    let mut found = [None; 4];
    // SAFETY: desc is the trigger relation's descriptor, valid for the call; not released on drop.
    let tupdesc = unsafe { pgrx::PgTupleDesc::from_pg_unchecked(desc) };
    for (i, att) in tupdesc.iter().enumerate() {
        let at = ["lane_id", "priority", "eligibility_state", "queue_seq"].iter().position(|c| *c == att.name());
        if let (Some(at), false) = (at, att.is_dropped()) {
            found[at] = NonZeroUsize::new(i + 1);
        }
    }
    let need = |n: Option<NonZeroUsize>| n.ok_or_else(|| WfError::corruption("ff_exec_core lacks a column the claim-start trigger reads"));
    Ok(Columns { lane_id: need(found[0])?, priority: need(found[1])?, eligibility_state: need(found[2])?, queue_seq: need(found[3])? })
}

thread_local! {
    /// The attribute numbers found for a relation (its oid), kept until its relcache entry is dropped.
    static KNOWN: Cell<Option<(pg_sys::Oid, Columns)>> = const { Cell::new(None) };
}

/// A relation's relcache entry went (crate::postgres::relcache): the column numbers, if they are its.
pub fn forget(relid: pg_sys::Oid) {
    if relid == pg_sys::InvalidOid || KNOWN.with(Cell::get).is_some_and(|(known, _)| known == relid) {
        KNOWN.with(|k| k.set(None));
    }
}

/// The column numbers of the trigger's relation, found once per relcache entry.
fn columns_of(relid: pg_sys::Oid, desc: pg_sys::TupleDesc) -> WfResult<Columns> {
    if let Some((_, c)) = KNOWN.with(Cell::get).filter(|(known, _)| *known == relid) {
        return Ok(c);
    }
    let c = columns(desc)?;
    KNOWN.with(|k| k.set(Some((relid, c))));
    Ok(c)
}

/// One column of a row, NULL as None.
fn value<T: FromDatum>(tuple: *mut pg_sys::HeapTupleData, desc: pg_sys::TupleDesc, at: NonZeroUsize) -> Option<T> {
    // SAFETY: tuple and desc are the trigger's, at is one of desc's attribute numbers.
    unsafe { pgrx::htup::heap_getattr_raw(tuple, at, desc).and_then(|d| T::from_datum(d, false)) }
}

fn claimable(tuple: *mut pg_sys::HeapTupleData, desc: pg_sys::TupleDesc, c: &Columns) -> bool {
    value::<&str>(tuple, desc, c.eligibility_state) == Some("eligible_now")
}

/// BEFORE INSERT and BEFORE UPDATE OF eligibility_state, priority on ff_exec_core.
#[pg_trigger]
fn ff_claim_start_row<'a>(
    trigger: &'a pgrx::PgTrigger<'a>,
) -> Result<Option<PgHeapTuple<'a, AllocatedByPostgres>>, std::convert::Infallible> {
    let data = trigger.trigger_data();
    // SAFETY: a row trigger's data: tg_relation is open, tg_trigtuple is the row (the old one for an
    // update, whose new one is tg_newtuple).
    let (relid, desc, update) =
        unsafe { ((*data.tg_relation).rd_id, (*data.tg_relation).rd_att, pgrx::trigger_support::trigger_fired_by_update(data.tg_event)) };
    let (new, old) = if update { (data.tg_newtuple, Some(data.tg_trigtuple)) } else { (data.tg_trigtuple, None) };
    guarded(|| {
        let c = columns_of(relid, desc)?;
        if !claimable(new, desc, &c) {
            return Ok(());
        }
        let lane = value::<String>(new, desc, c.lane_id).unwrap_or_default();
        let priority = value::<i32>(new, desc, c.priority).unwrap_or(0);
        let old = old.map(|o| (claimable(o, desc, &c), value::<i32>(o, desc, c.priority).unwrap_or(0)));
        let row = RowChange { lane: &lane, priority, queue_seq: value::<i64>(new, desc, c.queue_seq).unwrap_or(0), old };
        claim_starts::row_changed(row)
    });
    Ok(trigger.new())
}
