//! `ff_set_step`, `ff_get_steps`, `ff_append_frame`, `ff_read_frames`.

use crate::postgres::raise::guarded;
use crate::store::progress;
use pgrx::prelude::*;

/// Store a step's value for the leased execution; the first write per execution and step wins.
#[pg_extern(security_definer, parallel_unsafe)]
#[search_path(@extschema@, pg_temp)]
fn ff_set_step(
    execution_id: Option<&str>,
    lease_id: Option<pgrx::Uuid>,
    lease_epoch: Option<i64>,
    step_name: Option<&str>,
    value: Option<&[u8]>,
) -> TableIterator<'static, (name!(outcome, String),)> {
    TableIterator::once(guarded(|| progress::set_step(execution_id, lease_id, lease_epoch, step_name, value).map(|o| (o,))))
}

/// The steps of an execution in write order.
#[pg_extern(security_definer, stable, parallel_unsafe)]
#[search_path(@extschema@, pg_temp)]
fn ff_get_steps(
    execution_id: Option<&str>,
) -> TableIterator<'static, (name!(step_name, String), name!(value, Option<Vec<u8>>), name!(attempt_index, i32), name!(stored_at_ms, i64))>
{
    TableIterator::new(guarded(|| progress::get_steps(execution_id)))
}

/// Append an output frame to the leased execution's stream; its seq.
#[pg_extern(security_definer, parallel_unsafe)]
#[search_path(@extschema@, pg_temp)]
fn ff_append_frame(
    execution_id: Option<&str>,
    lease_id: Option<pgrx::Uuid>,
    lease_epoch: Option<i64>,
    frame_kind: Option<&str>,
    bytes: Option<&[u8]>,
    seq: default!(Option<i64>, "NULL"),
) -> TableIterator<'static, (name!(seq, i64),)> {
    TableIterator::once(guarded(|| progress::append_frame(execution_id, lease_id, lease_epoch, frame_kind, bytes, seq).map(|s| (s,))))
}

/// An execution's frames after `after_seq`, in seq order.
#[pg_extern(security_definer, stable, parallel_unsafe)]
#[search_path(@extschema@, pg_temp)]
fn ff_read_frames(
    execution_id: Option<&str>,
    after_seq: default!(Option<i64>, 0),
    max_rows: default!(Option<i32>, 100),
) -> TableIterator<
    'static,
    (name!(seq, i64), name!(frame_kind, String), name!(bytes, Vec<u8>), name!(attempt_index, i32), name!(appended_at_ms, i64)),
> {
    TableIterator::new(guarded(|| progress::read_frames(execution_id, after_seq, max_rows)))
}
