//! Claim starts (`sql/shared/claim_start.sql`), the Rust edition's side: where each priority's claim
//! scan begins, and the row trigger that keeps the starts below every claimable row.
//!
//! Per backend it keeps, for each lane it claims from, the lane's priorities and the sequences that
//! hold their starts, and reads the starts themselves (`pg_sequence_last_value`, no statement) on
//! every claim. The copy is read again when `ff_claim_start_generation` moved (every registration
//! moves it), when it is a second old (a registration whose transaction had not committed when the
//! copy was read: its priority is visited at most a second late), and when a claim finds nothing.
//! It is dropped with `ff_claim_start`'s relcache entry (DROP EXTENSION) or a reset of all.
//!
//! The trigger (`ff_claim_start_row`, BEFORE INSERT and BEFORE UPDATE OF eligibility_state, priority)
//! is a C function without a WHEN clause: PostgreSQL parses a WHEN clause again for each statement
//! that updates a row, which cost the claim's and the lease end's updates more than this function.
//! It returns at once unless the row becomes claimable; a create registers its (lane, priority) when
//! this backend has not seen it registered, and a transition lowers the start as
//! `ff_claim_start_lower` does (the slot's gate, its mutex, `setval`), through direct calls of the
//! builtins and a per-backend copy of the pair's slot: no statement once the slot is known.

use crate::error::{WfError, WfResult};
use crate::statement;
use pgrx::pg_sys;
use pgrx::spi::{Spi, SpiClient};
use pgrx::IntoDatum;
use std::cell::{Cell, RefCell};
use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};

statement! {
    mod lane_starts = "claims/starts.sql";
    args<'a> { lane_id: &'a str }
    row { priority: i32, start_seq_oid: Option<i64>, start_seq: i64 }
}

/// How long a backend's copy of a lane's priorities is used without reading it again.
const COPY_TTL: Duration = Duration::from_secs(1);

/// A lane's priorities, highest first, each with the sequence holding its start (None: no slot).
struct LaneCopy {
    priorities: Vec<(i32, Option<pg_sys::Oid>)>,
    generation: i64,
    read_at: Instant,
}

thread_local! {
    static LANES: RefCell<HashMap<String, LaneCopy>> = RefCell::new(HashMap::new());
    /// (lane, priority) pairs seen registered by a committed transaction.
    static REGISTERED: RefCell<HashSet<(String, i32)>> = RefCell::new(HashSet::new());
    /// The oids of `ff_claim_start` and `ff_claim_start_generation`, once read.
    static OIDS: Cell<(pg_sys::Oid, pg_sys::Oid)> = const { Cell::new((pg_sys::InvalidOid, pg_sys::InvalidOid)) };
}

/// A relation's relcache entry went (crate::postgres::relcache): the copies, if it is ff_claim_start.
pub fn forget(relid: pg_sys::Oid) {
    if relid == pg_sys::InvalidOid || relid == OIDS.with(Cell::get).0 {
        LANES.with(|l| l.borrow_mut().clear());
        SLOTS.with(|s| s.borrow_mut().clear());
        REGISTERED.with(|r| r.borrow_mut().clear());
        OIDS.with(|o| o.set((pg_sys::InvalidOid, pg_sys::InvalidOid)));
    }
}

fn bad(e: pgrx::spi::SpiError) -> WfError {
    WfError::corruption(format!("reading the claim starts: {e}"))
}

fn oids(client: &SpiClient<'_>) -> WfResult<(pg_sys::Oid, pg_sys::Oid)> {
    let known = OIDS.with(Cell::get);
    if known.0 != pg_sys::InvalidOid {
        return Ok(known);
    }
    let sql = "SELECT 'ff_claim_start'::regclass::oid, 'ff_claim_start_generation'::regclass::oid";
    let row = client.select(sql, Some(1), &[]).map_err(bad)?.first();
    let table = row.get::<pg_sys::Oid>(1).map_err(bad)?.unwrap_or(pg_sys::InvalidOid);
    let generation = row.get::<pg_sys::Oid>(2).map_err(bad)?.unwrap_or(pg_sys::InvalidOid);
    OIDS.with(|o| o.set((table, generation)));
    Ok((table, generation))
}

/// A sequence's value, read without a statement (0 before its first setval).
fn sequence_value(seq: pg_sys::Oid) -> i64 {
    // SAFETY: pg_sequence_last_value takes one oid argument; it raises a Postgres error for a missing
    // sequence or a missing privilege, which unwinds as any SPI error would.
    unsafe { pgrx::direct_function_call::<i64>(pg_sys::pg_sequence_last_value, &[Some(pg_sys::Datum::from(seq))]) }.unwrap_or(0)
}

/// One priority of a lane and where its scan starts.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Start {
    pub priority: i32,
    pub start_seq: i64,
}

/// The lane's priorities, highest first, each with its start now; `fresh`: read the copy again.
pub fn starts(client: &SpiClient<'_>, lane: &str, fresh: bool) -> WfResult<Vec<Start>> {
    let (_, generation_seq) = oids(client)?;
    let generation = sequence_value(generation_seq);
    let known = LANES.with(|l| {
        l.borrow()
            .get(lane)
            .filter(|c| !fresh && c.generation == generation && c.read_at.elapsed() < COPY_TTL)
            .map(|c| c.priorities.iter().map(|&(priority, seq)| Start { priority, start_seq: seq.map_or(0, sequence_value) }).collect())
    });
    if let Some(known) = known {
        return Ok(known);
    }
    let rows = lane_starts::all(client, lane_starts::Args { lane_id: lane })?;
    let priorities = rows.iter().map(|r| (r.priority, r.start_seq_oid.map(|o| pg_sys::Oid::from(o as u32)))).collect();
    LANES.with(|l| l.borrow_mut().insert(lane.to_string(), LaneCopy { priorities, generation, read_at: Instant::now() }));
    Ok(rows.iter().map(|r| Start { priority: r.priority, start_seq: r.start_seq }).collect())
}

statement! {
    mod registered = "claims/start_registered.sql";
    args<'a> { lane_id: &'a str, priority: i32 }
    row { registered_by: Option<i64> }
}
statement! {
    mod lower = "claims/start_lower.sql";
    args<'a> { lane_id: &'a str, priority: i32, queue_seq: i64 }
    row {}
}
statement! {
    mod slot_of = "claims/start_slot.sql";
    args<'a> { lane_id: &'a str, priority: i32 }
    row { slot: Option<i32>, start_seq_oid: Option<i64> }
}

/// The advisory lock classes of a slot (sql/shared/claim_start.sql): its gate, held shared by a
/// transition until its transaction ends, and its mutex, which orders lowerings.
const GATE_CLASS: i32 = 1_717_985_657;
const MUTEX_CLASS: i32 = 1_717_985_658;

/// The slot a registered (lane, priority) is lowered through: its number and the sequence holding its
/// start (None: the pool was used up, nothing to lower).
type Slot = Option<(i32, pg_sys::Oid)>;

/// A backend's copy of a registered pair's slot, kept for COPY_TTL as the lanes' copies are.
struct SlotCopy {
    slot: Slot,
    read_at: Instant,
}

thread_local! {
    static SLOTS: RefCell<HashMap<(String, i32), SlotCopy>> = RefCell::new(HashMap::new());
}

/// The copy of a pair's slot while it holds. Registrations are never updated: a copy can only miss
/// a lower slot whose registration had not committed when it was read (two transactions registering
/// the pair at once), for at most COPY_TTL, as the lanes' copies do (a statement reading the slot at
/// that moment would miss it too); the verifier corrects a start not lowered through it.
fn known_slot(lane: &str, priority: i32) -> Option<Slot> {
    SLOTS.with(|s| s.borrow().get(&(lane.to_string(), priority)).filter(|c| c.read_at.elapsed() < COPY_TTL).map(|c| c.slot))
}

/// The slot of a pair read now (and kept); None when the pair is not registered.
fn read_slot(client: &SpiClient<'_>, lane: &str, priority: i32) -> WfResult<Option<Slot>> {
    let Some(row) = slot_of::optional(client, slot_of::Args { lane_id: lane, priority })? else {
        return Ok(None);
    };
    let slot = row.slot.zip(row.start_seq_oid).map(|(n, oid)| (n, pg_sys::Oid::from(oid as u32)));
    SLOTS.with(|s| s.borrow_mut().insert((lane.to_string(), priority), SlotCopy { slot, read_at: Instant::now() }));
    Ok(Some(slot))
}

/// One of the int4 advisory-lock builtins (the same locks the SQL functions take).
fn advisory(lock: unsafe fn(pg_sys::FunctionCallInfo) -> pg_sys::Datum, class: i32, slot: i32) {
    // SAFETY: the lock builtins take the two int4 arguments given; they raise a Postgres error only
    // on lock-table exhaustion, which unwinds as any SPI error would.
    unsafe { pgrx::direct_function_call_as_datum(lock, &[class.into_datum(), slot.into_datum()]) };
}

/// A row became claimable at queue_seq: hold the slot's gate shared until the transaction ends (no
/// raise meanwhile), and lower its start to the row under the slot's mutex (what
/// ff_claim_start_lower does, without its statements). An unregistered pair is registered by it.
fn lowered(lane: &str, priority: i32, queue_seq: i64) -> WfResult<()> {
    let slot = match known_slot(lane, priority) {
        Some(slot) => slot,
        None => match Spi::connect(|client| read_slot(client, lane, priority))? {
            Some(slot) => slot,
            None => {
                return Spi::connect(|client| lower::execute(client, lower::Args { lane_id: lane, priority, queue_seq }).map(drop));
            }
        },
    };
    let Some((number, seq)) = slot else { return Ok(()) };
    advisory(pg_sys::pg_advisory_xact_lock_shared_int4, GATE_CLASS, number);
    if sequence_value(seq) <= queue_seq {
        return Ok(());
    }
    advisory(pg_sys::pg_advisory_lock_int4, MUTEX_CLASS, number);
    if sequence_value(seq) > queue_seq {
        // SAFETY: setval(regclass, bigint, boolean) with its three arguments; a missing privilege
        // raises a Postgres error as the SQL function's setval would.
        unsafe { pgrx::direct_function_call_as_datum(pg_sys::setval3_oid, &[seq.into_datum(), queue_seq.into_datum(), true.into_datum()]) };
    }
    advisory(pg_sys::pg_advisory_unlock_int4, MUTEX_CLASS, number);
    Ok(())
}

/// A row was created claimable: register its (lane, priority) unless known registered. A pair is
/// remembered only when another transaction wrote its registration (so it is committed: this
/// transaction's own could still roll back). A create takes its transaction id before its row
/// (store::executions), so "this transaction has written nothing" cannot tell that here.
fn created(lane: &str, priority: i32) -> WfResult<()> {
    let key = (lane.to_string(), priority);
    if REGISTERED.with(|r| r.borrow().contains(&key)) {
        return Ok(());
    }
    let registered_by = Spi::connect(|client| registered::one(client, registered::Args { lane_id: lane, priority }))?.registered_by;
    // SAFETY: reads the current transaction's state; any 32-bit value is a valid argument.
    if registered_by.is_some_and(|xid| unsafe { !pg_sys::TransactionIdIsCurrentTransactionId(pg_sys::TransactionId::from(xid as u32)) }) {
        REGISTERED.with(|r| r.borrow_mut().insert(key));
    }
    Ok(())
}

/// A row the trigger saw become or stay claimable: its (lane, priority, queue_seq), and its old state.
pub struct RowChange<'a> {
    pub lane: &'a str,
    pub priority: i32,
    pub queue_seq: i64,
    /// The old row (an update): whether it was claimable, and its priority.
    pub old: Option<(bool, i32)>,
}

/// Keep the claim starts below the row: register a created claimable row's pair, lower the start
/// of a row that becomes claimable (or moves to another priority while claimable).
/// Connects to SPI only for a statement (a pair not seen registered, a slot not known).
pub fn row_changed(row: RowChange<'_>) -> WfResult<()> {
    match row.old {
        None => created(row.lane, row.priority),
        Some((was_claimable, old_priority)) if !was_claimable || old_priority != row.priority => {
            lowered(row.lane, row.priority, row.queue_seq)
        }
        Some(_) => Ok(()),
    }
}
