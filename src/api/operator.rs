//! `ff_change_priority`, `ff_replay_execution`, `ff_revoke_lease`.

use crate::postgres::raise::guarded;
use crate::store::operator;
use pgrx::prelude::*;

/// Change an execution's priority (its place in the claim order).
#[pg_extern(security_definer, parallel_unsafe)]
#[search_path(@extschema@, pg_temp)]
fn ff_change_priority(
    execution_id: Option<&str>,
    priority: Option<i32>,
) -> TableIterator<'static, (name!(outcome, String), name!(previous_priority, i32))> {
    TableIterator::once(guarded(|| operator::change_priority(execution_id, priority)))
}

/// Give a failed, cancelled or expired execution a fresh attempt; it is claimable at once. Its steps
/// are kept unless `keep_steps` is false (NULL keeps them).
#[pg_extern(security_definer, parallel_unsafe)]
#[search_path(@extschema@, pg_temp)]
fn ff_replay_execution(
    execution_id: Option<&str>,
    reason: default!(Option<&str>, "NULL"),
    keep_steps: default!(Option<bool>, true),
    with_dependents: default!(Option<bool>, false),
) -> TableIterator<'static, (name!(outcome, String), name!(previous_public_state, String))> {
    let (keep_steps, with_dependents) = (keep_steps.unwrap_or(true), with_dependents.unwrap_or(false));
    TableIterator::once(guarded(|| operator::replay_execution(execution_id, reason, keep_steps, with_dependents)))
}

/// End the current lease at once (epoch + 1); the execution is reclaimable and the old holder's
/// fence is dead. Fenced by `lease_epoch` when given.
#[pg_extern(security_definer, parallel_unsafe)]
#[search_path(@extschema@, pg_temp)]
fn ff_revoke_lease(
    execution_id: Option<&str>,
    reason: default!(Option<&str>, "'revoked_by_operator'"),
    lease_epoch: default!(Option<i64>, "NULL"),
) -> TableIterator<'static, (name!(outcome, String), name!(revoked_lease_epoch, i64))> {
    TableIterator::once(guarded(|| operator::revoke_lease(execution_id, reason, lease_epoch)))
}
