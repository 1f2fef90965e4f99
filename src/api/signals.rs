//! `ff_deliver_signal`, `ff_deliver_approval_signal`, `ff_resume_execution`, `ff_observe_signals`.

use crate::postgres::raise::guarded;
use crate::store::signals::{self, TokenDelivery};
use pgrx::prelude::*;

/// Authenticate a signal by its waitpoint token, record it, evaluate the condition, resume if satisfied.
#[pg_extern(security_definer, parallel_unsafe)]
#[search_path(@extschema@, pg_temp)]
#[allow(clippy::too_many_arguments)]
fn ff_deliver_signal(
    execution_id: Option<&str>,
    waitpoint_id: Option<pgrx::Uuid>,
    token: Option<&str>,
    signal_name: Option<&str>,
    signal_id: default!(Option<pgrx::Uuid>, "NULL"),
    signal_category: default!(Option<&str>, "''"),
    source_type: default!(Option<&str>, "''"),
    source_identity: default!(Option<&str>, "''"),
    payload: default!(Option<&[u8]>, "NULL"),
    correlation_id: default!(Option<&str>, "NULL"),
    idempotency_key: default!(Option<&str>, "NULL"),
    dedup_ttl_ms: default!(Option<i64>, 86400000),
    resume_delay_ms: default!(Option<i64>, 0),
    max_signals_per_execution: default!(Option<i32>, 10000),
) -> TableIterator<'static, (name!(outcome, String), name!(signal_id, pgrx::Uuid), name!(effect, Option<String>))> {
    let args = TokenDelivery {
        execution_id,
        waitpoint_id,
        token,
        signal_name,
        signal_id,
        signal_category,
        source_type,
        source_identity,
        payload,
        correlation_id,
        idempotency_key,
        dedup_ttl_ms,
        resume_delay_ms,
        max_signals_per_execution,
    };
    TableIterator::once(guarded(|| signals::deliver_with_token(args)))
}

/// Operator approval: the token is read server-side; category approval, source operator.
#[pg_extern(security_definer, parallel_unsafe)]
#[search_path(@extschema@, pg_temp)]
fn ff_deliver_approval_signal(
    execution_id: Option<&str>,
    lane_id: Option<&str>,
    waitpoint_id: Option<pgrx::Uuid>,
    signal_name: Option<&str>,
    idempotency_suffix: Option<&str>,
) -> TableIterator<'static, (name!(outcome, String), name!(signal_id, pgrx::Uuid), name!(effect, Option<String>))> {
    TableIterator::once(guarded(|| signals::deliver_approval(execution_id, lane_id, waitpoint_id, signal_name, idempotency_suffix)))
}

/// Operator resume of a suspended execution (execution_not_suspended otherwise).
#[pg_extern(security_definer, parallel_unsafe)]
#[search_path(@extschema@, pg_temp)]
fn ff_resume_execution(
    execution_id: Option<&str>,
    resume_delay_ms: default!(Option<i64>, 0),
) -> TableIterator<'static, (name!(outcome, String),)> {
    TableIterator::once((guarded(|| signals::operator_resume(execution_id, resume_delay_ms)),))
}

/// The signals that satisfied the latest suspension, in acceptance order, with payloads.
#[pg_extern(security_definer, parallel_unsafe)]
#[search_path(@extschema@, pg_temp)]
fn ff_observe_signals(
    execution_id: Option<&str>,
) -> TableIterator<
    'static,
    (
        name!(signal_id, pgrx::Uuid),
        name!(waitpoint_key, String),
        name!(signal_name, String),
        name!(signal_category, String),
        name!(source_type, String),
        name!(source_identity, String),
        name!(correlation_id, Option<String>),
        name!(accepted_at_ms, i64),
        name!(payload, Option<Vec<u8>>),
    ),
> {
    TableIterator::new(guarded(|| signals::observe(execution_id)))
}
