//! `ff_claim_for_worker`, `ff_claim_execution`, `ff_claim_resumed_execution`, `ff_claim`, `ff_claim_in`.

use crate::checks::text_array;
use crate::error::required;
use crate::postgres::raise::guarded;
use crate::store::claims::{self, Progress};
use pgrx::prelude::*;

/// Pick the best eligible execution of a lane and reserve it with a signed, single-use grant.
#[pg_extern(security_definer, parallel_unsafe)]
#[search_path(@extschema@, pg_temp)]
fn ff_claim_for_worker(
    lane_id: Option<&str>,
    worker_id: Option<&str>,
    worker_instance_id: Option<&str>,
    capabilities: default!(Option<Vec<Option<String>>>, "'{}'"),
    grant_ttl_ms: default!(Option<i64>, 5000),
) -> TableIterator<'static, (name!(execution_id, String), name!(partition_key, String), name!(grant_key, String), name!(expires_at_ms, i64))>
{
    TableIterator::new(guarded(|| {
        let capabilities = text_array(capabilities, "capabilities")?;
        claims::claim_for_worker(lane_id, worker_id, worker_instance_id, capabilities, grant_ttl_ms)
    }))
}

/// Verify and consume a claim grant; open the attempt (or re-lease an interrupted one) under a new lease.
/// Since 0.2.0 (the `continuation` and `step_count` columns) its C symbol is
/// `ff_claim_execution_0_2_wrapper`; 0.1.0's shape stays in [`crate::api::compat`].
#[pg_extern(name = "ff_claim_execution", security_definer, parallel_unsafe)]
#[search_path(@extschema@, pg_temp)]
fn ff_claim_execution_0_2(
    grant_key: Option<&str>,
    worker_id: Option<&str>,
    worker_instance_id: Option<&str>,
    lease_ttl_ms: default!(Option<i64>, 30000),
) -> TableIterator<
    'static,
    (
        name!(execution_id, String),
        name!(attempt_index, i32),
        name!(attempt_id, pgrx::Uuid),
        name!(lease_id, pgrx::Uuid),
        name!(lease_epoch, i64),
        name!(lease_expires_at_ms, i64),
        name!(resumed, bool),
        name!(payload, Option<Vec<u8>>),
        name!(continuation, Option<String>),
        name!(step_count, i32),
    ),
> {
    TableIterator::once(guarded(|| claims::claim_execution(grant_key, worker_id, worker_instance_id, lease_ttl_ms, false, Progress::Read)))
}

/// As ff_claim_execution, but only for grants on interrupted (resumed) attempts (C symbol
/// `ff_claim_resumed_execution_0_2_wrapper` since 0.2.0).
#[pg_extern(name = "ff_claim_resumed_execution", security_definer, parallel_unsafe)]
#[search_path(@extschema@, pg_temp)]
fn ff_claim_resumed_execution_0_2(
    grant_key: Option<&str>,
    worker_id: Option<&str>,
    worker_instance_id: Option<&str>,
    lease_ttl_ms: default!(Option<i64>, 30000),
) -> TableIterator<
    'static,
    (
        name!(execution_id, String),
        name!(attempt_index, i32),
        name!(attempt_id, pgrx::Uuid),
        name!(lease_id, pgrx::Uuid),
        name!(lease_epoch, i64),
        name!(lease_expires_at_ms, i64),
        name!(resumed, bool),
        name!(payload, Option<Vec<u8>>),
        name!(continuation, Option<String>),
        name!(step_count, i32),
    ),
> {
    TableIterator::once(guarded(|| claims::claim_execution(grant_key, worker_id, worker_instance_id, lease_ttl_ms, true, Progress::Read)))
}

/// Pick and lease up to max_items executions of a lane in one call (no grant round trip; C symbol
/// `ff_claim_0_2_wrapper` since 0.2.0).
#[pg_extern(name = "ff_claim", security_definer, parallel_unsafe)]
#[search_path(@extschema@, pg_temp)]
fn ff_claim_0_2(
    lane_id: Option<&str>,
    worker_id: Option<&str>,
    worker_instance_id: Option<&str>,
    capabilities: default!(Option<Vec<Option<String>>>, "'{}'"),
    lease_ttl_ms: default!(Option<i64>, 30000),
    max_items: default!(Option<i32>, 1),
) -> TableIterator<
    'static,
    (
        name!(execution_id, String),
        name!(attempt_index, i32),
        name!(attempt_id, pgrx::Uuid),
        name!(lease_id, pgrx::Uuid),
        name!(lease_epoch, i64),
        name!(lease_expires_at_ms, i64),
        name!(resumed, bool),
        name!(payload, Option<Vec<u8>>),
        name!(continuation, Option<String>),
        name!(step_count, i32),
    ),
> {
    TableIterator::new(guarded(|| {
        let capabilities = text_array(capabilities, "capabilities")?;
        let target = claims::Target { lane: lane_id, partition: None };
        claims::claim_batch(target, worker_id, worker_instance_id, capabilities, lease_ttl_ms, max_items, Progress::Read)
    }))
}

/// ff_claim in one partition (`partition_key` first): on a distributed install, the call Citus
/// delegates to the node holding the partition's shard (docs/scale-out.md).
#[pg_extern(security_definer, parallel_unsafe)]
#[search_path(@extschema@, pg_temp)]
fn ff_claim_in(
    partition_key: Option<i16>,
    lane_id: Option<&str>,
    worker_id: Option<&str>,
    worker_instance_id: Option<&str>,
    capabilities: default!(Option<Vec<Option<String>>>, "'{}'"),
    lease_ttl_ms: default!(Option<i64>, 30000),
    max_items: default!(Option<i32>, 1),
) -> TableIterator<
    'static,
    (
        name!(execution_id, String),
        name!(attempt_index, i32),
        name!(attempt_id, pgrx::Uuid),
        name!(lease_id, pgrx::Uuid),
        name!(lease_epoch, i64),
        name!(lease_expires_at_ms, i64),
        name!(resumed, bool),
        name!(payload, Option<Vec<u8>>),
        name!(continuation, Option<String>),
        name!(step_count, i32),
    ),
> {
    TableIterator::new(guarded(|| {
        let partition = Some(required(partition_key, "partition_key")?);
        let capabilities = text_array(capabilities, "capabilities")?;
        let target = claims::Target { lane: lane_id, partition };
        claims::claim_batch(target, worker_id, worker_instance_id, capabilities, lease_ttl_ms, max_items, Progress::Read)
    }))
}
