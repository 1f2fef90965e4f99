//! Claims: `ff_claim_for_worker` (pick + signed grant), `ff_claim_execution` /
//! `ff_claim_resumed_execution` (verify + consume the grant, open or re-lease the attempt), and
//! `ff_claim` (pick + lease up to `max_items` in one call).
//!
//! The candidate statement scans `ff_exec_core_claimable` (the lane's hash, priority desc, oldest
//! first) once per priority the lane has, each from its claim start, with `FOR UPDATE SKIP LOCKED`;
//! budget and quota admission are predicates of the same statement, so a refused head never blocks
//! the lane. The generic plan of each scan (`EXPLAIN` of it, and the buffers it reads from its start
//! and from the head: the held-snapshot benchmark's `snapshot.md`):
//!
//! ```text
//! Limit
//!   ->  LockRows
//!         ->  Index Scan using ff_exec_core_claimable on ff_exec_core e
//!               Index Cond: ((hashtext(lane_id) = hashtext($1)) AND (priority = $6) AND (queue_seq >= $7))
//!               Filter: ((lane_id = $1) AND (required_capabilities <@ $2) AND ... reserved_until_ms ...)
//! ```
//! The lane's hash is the index's first column because it is fixed-width: a B-tree checks every key
//! of every entry on a leaf page it reads, and behind a variable-length first column each later key
//! is found by walking the entry. The `lane_id` filter tells apart lanes whose hashes collide.
//! Capabilities are a filter on that ordered scan, not a separate index: a GIN index on
//! `required_capabilities` could not return rows in priority order.
//! A quota-limited candidate is re-checked under a lock on its policy row before it is admitted.

use crate::admission::{self, QuotaView};
use crate::error::{required, ErrorKind, WfError, WfResult};
use crate::ids::{self, ExecutionId};
use crate::lifecycle::{self, ClaimedAttempt, States};
use crate::postgres::args::{ex_id, ex_key, new_pg_uuid, to_pg_uuid};
use crate::postgres::notify::{notify, Channel};
use crate::postgres::statement::now_ms;
use crate::statement;
use crate::store::claim_starts::{self, Start};
use crate::store::events;
use crate::tokens::{self, GrantClaims};
use pgrx::prelude::*;
use pgrx::spi::SpiClient;

statement! {
    /// Variant 0, lean: the scan without the admission predicates, what almost every claim needs.
    /// Planning keeps the budget and quota sub-plans out of it, so starting it opens one table and one
    /// index (the full statement initialises aggregates, a function scan and four more relations on
    /// every execution, ~60 % of a claim's executor start-up). When a returned row needs admission,
    /// `pick` runs variant 1, full, with budget and quota admission as predicates (the rows the lean
    /// statement locked stay locked until commit, which only makes other claimers skip them meanwhile).
    mod candidates = variants [
        [
            "claims/candidate_columns.sql", "claims/candidate_needs_admission.sql", "claims/candidate_filter.sql",
            "claims/candidate_order.sql",
        ],
        [
            "claims/candidate_columns.sql", "claims/candidate_needs_admission.sql", "claims/candidate_filter.sql",
            "claims/candidate_admission.sql", "claims/candidate_order.sql",
        ],
    ], on 0.1.0 schema [
        [
            "releases/0.1.0/claims/candidate_columns.sql", "claims/candidate_needs_admission.sql",
            "releases/0.1.0/claims/candidate_filter.sql", "releases/0.1.0/claims/candidate_order.sql",
        ],
        [
            "releases/0.1.0/claims/candidate_columns.sql", "claims/candidate_needs_admission.sql",
            "releases/0.1.0/claims/candidate_filter.sql", "claims/candidate_admission.sql",
            "releases/0.1.0/claims/candidate_order.sql",
        ],
    ];
    args<'a> {
        lane_id: &'a str, capabilities: Vec<String>, now_ms: i64, refused_execution_ids: Vec<pgrx::Uuid>, max_rows: i64,
        priority: i32, start_seq: i64,
    }
    row {
        partition_key: i16, execution_id: pgrx::Uuid, quota_policy_id: Option<pgrx::Uuid>, attempt_state: String,
        attempt_index: i32, current_attempt_id: Option<pgrx::Uuid>, interrupt_reason: Option<String>, reserved: bool,
        scan_priority: i32, scan_start: i64, start_behind: bool, needs_admission: bool,
    }
}
statement! {
    /// The lean candidate statement restricted to one partition (`ff_claim_in`): on a distributed
    /// install, the shard the call runs on.
    mod candidates_in_partition = variants [[
        "claims/candidate_columns.sql", "claims/candidate_needs_admission.sql", "claims/candidate_filter.sql",
        "claims/candidate_in_partition.sql", "claims/candidate_order.sql",
    ]];
    args<'a> {
        lane_id: &'a str, capabilities: Vec<String>, now_ms: i64, refused_execution_ids: Vec<pgrx::Uuid>, max_rows: i64,
        priority: i32, start_seq: i64, partition_key: i16,
    }
    row {
        partition_key: i16, execution_id: pgrx::Uuid, quota_policy_id: Option<pgrx::Uuid>, attempt_state: String,
        attempt_index: i32, current_attempt_id: Option<pgrx::Uuid>, interrupt_reason: Option<String>, reserved: bool,
        scan_priority: i32, scan_start: i64, start_behind: bool, needs_admission: bool,
    }
}
statement! {
    mod start_after_scan = "claims/start_after_scan.sql";
    args<'a> { lane_id: &'a str, priority: i32, start_seq: i64, found: bool, now_ms: i64 }
    row {}
}
statement! {
    mod lock_quota = "claims/lock_quota.sql";
    args { quota_policy_id: pgrx::Uuid }
    row { max_requests_per_window: Option<i32>, active_concurrency_cap: Option<i32>, window_ms: i64 }
}
statement! {
    mod quota_counts = "claims/quota_counts.sql";
    args { quota_policy_id: pgrx::Uuid, now_ms: i64, window_ms: i64 }
    row { requests_in_window: i64, active: i64 }
}
statement! {
    mod record_admission = "claims/record_admission.sql";
    args { quota_policy_id: pgrx::Uuid, now_ms: i64, partition_key: i16, execution_id: pgrx::Uuid }
    row {}
}
statement! {
    mod upsert_grant = "claims/upsert_grant.sql";
    args<'a> {
        partition_key: i16, execution_id: pgrx::Uuid, grant_hash: Vec<u8>, worker_id: &'a str, worker_instance_id: &'a str,
        now_ms: i64, expires_at_ms: i64,
    }
    row {}
}
statement! {
    mod lock_for_claim = "claims/lock_for_claim.sql";
    args { partition_key: i16, execution_id: pgrx::Uuid }
    row {
        lifecycle_phase: String, eligibility_state: String, attempt_state: String, attempt_index: i32,
        current_attempt_id: Option<pgrx::Uuid>, interrupt_reason: Option<String>, grant_hash: Option<Vec<u8>>,
        lane_id: String,
    }
}
statement! {
    /// Variant `2 × consume_grant + new_attempt` (see `lease_head.sql`).
    mod lease = variants [
        ["claims/lease_head.sql", "claims/lease_update.sql", "claims/lease_event.sql"],
        ["claims/lease_head.sql", "claims/lease_update.sql", "claims/lease_new_attempt.sql", "claims/lease_event.sql"],
        ["claims/lease_head.sql", "claims/lease_consume_grant.sql", "claims/lease_update.sql", "claims/lease_event.sql"],
        [
            "claims/lease_head.sql", "claims/lease_consume_grant.sql", "claims/lease_update.sql",
            "claims/lease_new_attempt.sql", "claims/lease_event.sql",
        ],
    ];
    args<'a> {
        partition_key: i16, execution_id: pgrx::Uuid, attempt_index: i32, attempt_id: pgrx::Uuid, lease_id: pgrx::Uuid,
        lease_expires_at_ms: i64, worker_id: &'a str, worker_instance_id: &'a str, now_ms: i64, new_attempt: bool,
        execution_ref: &'a str, event_type: &'a str, states: States,
    }
    row { lease_epoch: i64, payload: Option<Vec<u8>> }
}

statement! {
    mod lease_row = "claims/lease_row.sql";
    args<'a> {
        partition_key: i16, execution_id: pgrx::Uuid, attempt_index: i32, attempt_id: pgrx::Uuid, lease_id: pgrx::Uuid,
        lease_expires_at_ms: i64, worker_id: &'a str, worker_instance_id: &'a str, now_ms: i64, states: States,
    }
    row { namespace: Option<String>, lease_epoch: i64, payload: Option<Vec<u8>> }
}
statement! {
    mod attempt_row = "claims/attempt_row.sql";
    args<'a> {
        partition_key: i16, execution_id: pgrx::Uuid, attempt_index: i32, attempt_id: pgrx::Uuid, worker_id: &'a str,
        worker_instance_id: &'a str, now_ms: i64,
    }
    row {}
}
statement! {
    mod drop_grant = "claims/drop_grant.sql";
    args { partition_key: i16, execution_id: pgrx::Uuid }
    row {}
}

statement! {
    mod claim_progress = "claims/claim_progress.sql";
    args { partition_key: i16, execution_id: pgrx::Uuid, attempt_index: i32 }
    row { continuation: Option<String>, step_count: i32 }
}

/// A locked, claimable execution, with the attempt fields a lease needs (read by the same locking
/// statement, so they are the row's latest version).
struct Candidate {
    id: ExecutionId,
    quota_policy_id: Option<pgrx::Uuid>,
    attempt_state: String,
    attempt_index: i32,
    current_attempt_id: Option<pgrx::Uuid>,
    interrupt_reason: Option<String>,
    /// Reserved now or before (`reserved_until_ms` set): a grant row may exist and is consumed.
    reserved: bool,
}

/// A candidate from a row of either candidate statement (the same columns).
macro_rules! candidate_from {
    ($($row:ty),+) => {$(
        impl From<&$row> for Candidate {
            fn from(r: &$row) -> Self {
                Candidate {
                    id: ex_id(r.partition_key, &r.execution_id),
                    quota_policy_id: r.quota_policy_id,
                    attempt_state: r.attempt_state.clone(),
                    attempt_index: r.attempt_index,
                    current_attempt_id: r.current_attempt_id,
                    interrupt_reason: r.interrupt_reason.clone(),
                    reserved: r.reserved,
                }
            }
        }
    )+};
}
candidate_from!(candidates::Row, candidates_in_partition::Row);

/// The next batch of candidates of one priority: the lean statement first; the full one when a row
/// needs admission (or on later rounds, after a quota refused some).
fn candidate_batch(
    client: &SpiClient<'_>,
    scan: &Scan<'_>,
    at: Start,
    refused: &[pgrx::Uuid],
    want: i64,
    lean: bool,
) -> WfResult<Vec<candidates::Row>> {
    let args = || candidates::Args {
        lane_id: scan.lane,
        capabilities: scan.caps.to_vec(),
        now_ms: scan.now,
        refused_execution_ids: refused.to_vec(),
        max_rows: want,
        priority: at.priority,
        start_seq: at.start_seq,
    };
    if lean {
        let rows = candidates::all_of(LEAN, client, args())?;
        if !rows.iter().any(|r| r.needs_admission) && !rows.is_empty() {
            return Ok(rows);
        }
    }
    candidates::all_of(FULL, client, args())
}

/// The variants of `candidates`.
const LEAN: usize = 0;
const FULL: usize = 1;

/// What a claim scans for: a lane, the worker's capabilities, the time.
struct Scan<'a> {
    lane: &'a str,
    caps: &'a [String],
    now: i64,
}

/// Up to `limit` admitted candidates of the lane, locked: each priority the lane ever had claimable
/// work at, highest first, from its claim start (on release 0.1.0's schema, which keeps no starts,
/// one scan of every priority).
fn pick(client: &SpiClient<'_>, lane: &str, caps: &[String], now: i64, limit: i64) -> WfResult<Vec<Candidate>> {
    let mut admitted = Vec::new();
    if crate::store::lanes::is_paused(client, lane)? {
        return Ok(admitted);
    }
    let scan = Scan { lane, caps, now };
    if crate::postgres::release::on_0_1_schema(client)? {
        pick_priority(client, &scan, Start { priority: 0, start_seq: 0 }, limit, &mut admitted)?;
        return Ok(admitted);
    }
    each_priority(client, lane, limit, &mut admitted, |at, admitted| {
        let before = admitted.len();
        let behind = pick_priority(client, &scan, at, limit, admitted)?;
        // The scan tells the claim start what it found: nothing admitted, or a first row a stride past it.
        let found = admitted.len() > before;
        if !found || behind {
            let args = start_after_scan::Args { lane_id: lane, priority: at.priority, start_seq: at.start_seq, found, now_ms: now };
            start_after_scan::execute(client, args)?;
        }
        Ok(())
    })?;
    Ok(admitted)
}

/// Up to `limit` candidates of the lane in one partition (`ff_claim_in`), locked: each priority the
/// lane has registered here, highest first, scanned from the head (a partition's claim leaves the
/// claim starts alone: the query that moves one reads every partition of the lane). First, on a
/// distributed install, the partition must be on this node (WF035 not_delegated). The lean
/// statement only: a distributed install takes no budgets or quotas (docs/scale-out.md).
fn pick_in_partition(client: &SpiClient<'_>, partition: i16, scan: &Scan<'_>, limit: i64) -> WfResult<Vec<Candidate>> {
    crate::store::distribution::check_partition_here(client, partition)?;
    let mut admitted = Vec::new();
    if crate::store::lanes::is_paused(client, scan.lane)? {
        return Ok(admitted);
    }
    each_priority(client, scan.lane, limit, &mut admitted, |at, admitted| {
        partition_priority(client, partition, scan, at, limit, admitted)
    })?;
    Ok(admitted)
}

/// Runs `scan_priority` for each priority of the lane's claim starts, highest first, until
/// `admitted` holds `limit` candidates. A pass that finds nothing reads the lane's priorities again
/// and, if they changed, looks once more.
fn each_priority(
    client: &SpiClient<'_>,
    lane: &str,
    limit: i64,
    admitted: &mut Vec<Candidate>,
    mut scan_priority: impl FnMut(Start, &mut Vec<Candidate>) -> WfResult<()>,
) -> WfResult<()> {
    let mut starts = claim_starts::starts(client, lane, false)?;
    for pass in 0..2 {
        for &at in &starts {
            scan_priority(at, admitted)?;
            if admitted.len() as i64 >= limit {
                return Ok(());
            }
        }
        if pass > 0 || !admitted.is_empty() {
            break;
        }
        let again = claim_starts::starts(client, lane, true)?;
        if again.iter().map(|s| s.priority).eq(starts.iter().map(|s| s.priority)) {
            break;
        }
        starts = again;
    }
    Ok(())
}

/// One priority's candidates in one partition, from the head, appended to `admitted` up to `limit`.
fn partition_priority(
    client: &SpiClient<'_>,
    partition: i16,
    scan: &Scan<'_>,
    at: Start,
    limit: i64,
    admitted: &mut Vec<Candidate>,
) -> WfResult<()> {
    let args = candidates_in_partition::Args {
        lane_id: scan.lane,
        capabilities: scan.caps.to_vec(),
        now_ms: scan.now,
        refused_execution_ids: Vec::new(),
        max_rows: limit - admitted.len() as i64,
        priority: at.priority,
        start_seq: 0,
        partition_key: partition,
    };
    for row in candidates_in_partition::all(client, args)? {
        if row.needs_admission {
            return Err(
                WfError::new(ErrorKind::FeatureUnavailable, "budgets and quotas are not distributed").with_detail("distributed_admission")
            );
        }
        admitted.push(Candidate::from(&row));
    }
    Ok(())
}

/// Admitted candidates of one priority, appended to `admitted` up to `limit`. Quota-limited ones are
/// re-checked under their policy's lock; refused ones are skipped and the scan continues. Whether the
/// scan's first row was a stride past the priority's claim start.
fn pick_priority(client: &SpiClient<'_>, scan: &Scan<'_>, at: Start, limit: i64, admitted: &mut Vec<Candidate>) -> WfResult<bool> {
    let mut refused: Vec<pgrx::Uuid> = Vec::new();
    let mut lean = true;
    let mut behind = None;
    while (admitted.len() as i64) < limit {
        let batch = candidate_batch(client, scan, at, &refused, limit - admitted.len() as i64, lean)?;
        lean = false;
        behind = behind.or(batch.first().map(|r| r.start_behind));
        if batch.is_empty() {
            break;
        }
        let mut any_refused = false;
        for c in batch.iter().map(Candidate::from) {
            if let Some(q) = c.quota_policy_id {
                if !quota_admits_locked(client, q, scan.now)? {
                    refused.push(to_pg_uuid(&c.id.uuid));
                    any_refused = true;
                    continue;
                }
                let (partition_key, execution_id) = ex_key(&c.id);
                record_admission::execute(
                    client,
                    record_admission::Args { quota_policy_id: q, now_ms: scan.now, partition_key, execution_id },
                )?;
            }
            admitted.push(c);
        }
        if !any_refused {
            break;
        }
    }
    Ok(behind.unwrap_or(false))
}

fn quota_admits_locked(client: &SpiClient<'_>, quota_policy_id: pgrx::Uuid, now: i64) -> WfResult<bool> {
    let Some(p) = lock_quota::optional(client, lock_quota::Args { quota_policy_id })? else { return Ok(false) };
    let c = quota_counts::one(client, quota_counts::Args { quota_policy_id, now_ms: now, window_ms: p.window_ms })?;
    Ok(admission::quota_admits(&QuotaView {
        max_requests_per_window: p.max_requests_per_window,
        active_concurrency_cap: p.active_concurrency_cap,
        requests_in_window: c.requests_in_window,
        active: c.active,
    }))
}

/// The worker identity of a claim.
struct Worker<'a> {
    worker_id: &'a str,
    worker_instance_id: &'a str,
}

/// Check a worker identity given as SQL arguments.
fn worker<'a>(worker_id: Option<&'a str>, worker_instance_id: Option<&'a str>) -> WfResult<Worker<'a>> {
    let worker_id = required(worker_id, "worker_id")?;
    ids::validate_worker_field(worker_id, "worker_id")?;
    let worker_instance_id = required(worker_instance_id, "worker_instance_id")?;
    ids::validate_worker_field(worker_instance_id, "worker_instance_id")?;
    Ok(Worker { worker_id, worker_instance_id })
}

/// A required, valid `lane_id` argument.
fn lane_arg(lane: Option<&str>) -> WfResult<&str> {
    let lane = required(lane, "lane_id")?;
    ids::validate_lane_id(lane)?;
    Ok(lane)
}

/// A valid `capabilities` argument (NULL = none).
fn capabilities_arg(caps: Option<Vec<String>>) -> WfResult<Vec<String>> {
    let caps = caps.unwrap_or_default();
    ids::validate_capabilities(&caps, "capabilities")?;
    Ok(caps)
}

/// What a claim scans: a lane (an argument, checked here), in every partition (`ff_claim`) or the one
/// given (`ff_claim_in`; a number out of range is refused after the other arguments, the SQL
/// edition's order).
pub struct Target<'a> {
    pub lane: Option<&'a str>,
    pub partition: Option<i16>,
}

fn in_range(partition: Option<i16>) -> WfResult<()> {
    match partition {
        Some(p) if !(0..=255).contains(&p) => {
            Err(WfError::invalid_input("invalid_partition_key", "partition_key must be between 0 and 255"))
        }
        _ => Ok(()),
    }
}

/// `ff_claim_for_worker`'s row: execution_id, partition_key, grant_key, expires_at_ms.
pub type GrantRow = (String, String, String, i64);

pub fn claim_for_worker(
    lane: Option<&str>,
    worker_id: Option<&str>,
    instance: Option<&str>,
    caps: Option<Vec<String>>,
    grant_ttl_ms: Option<i64>,
) -> WfResult<Option<GrantRow>> {
    let lane = lane_arg(lane)?;
    let w = worker(worker_id, instance)?;
    let caps = capabilities_arg(caps)?;
    let ttl = lifecycle::required_ms(grant_ttl_ms, "grant_ttl_ms", 1)?;
    let now = now_ms();
    Spi::connect_mut(|client| {
        let key = crate::store::keystore::active_key(client)?;
        let Some(c) = pick(client, lane, &caps, now, 1)?.into_iter().next() else { return Ok(None) };
        let expires_at_ms = now + ttl;
        let claims = GrantClaims { execution_id: c.id, worker_id: w.worker_id, worker_instance_id: w.worker_instance_id, expires_at_ms };
        let grant_key = tokens::grant_key(&key.kid, &key.secret, &claims);
        let (partition_key, execution_id) = ex_key(&c.id);
        let args = upsert_grant::Args {
            partition_key,
            execution_id,
            grant_hash: tokens::sha256(grant_key.as_bytes()).to_vec(),
            worker_id: w.worker_id,
            worker_instance_id: w.worker_instance_id,
            now_ms: now,
            expires_at_ms,
        };
        upsert_grant::execute(client, args)?;
        Ok(Some((c.id.to_string(), c.id.partition_key_text(), grant_key, expires_at_ms)))
    })
}

/// The row `ff_claim_execution` and `ff_claim` return: execution_id, attempt_index, attempt_id,
/// lease_id, lease_epoch, lease_expires_at_ms, resumed, payload, continuation, step_count.
pub type LeaseRow = (String, i32, pgrx::Uuid, pgrx::Uuid, i64, i64, bool, Option<Vec<u8>>, Option<String>, i32);

/// Whether a claim reads the execution's progress (continuation and step count): every claim of this
/// release; not the 0.1.0 symbols kept for databases not yet updated (their schema has no steps).
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Progress {
    Read,
    Skip,
}

/// The continuation the claimed attempt resumes from and the execution's step count. A first attempt
/// has neither, and pays no statement for them.
fn progress_of(client: &SpiClient<'_>, c: &Candidate, attempt: &ClaimedAttempt, progress: Progress) -> WfResult<(Option<String>, i32)> {
    if progress == Progress::Skip || (attempt.new_attempt && attempt.attempt_index == 0) {
        return Ok((None, 0));
    }
    let (partition_key, execution_id) = ex_key(&c.id);
    let r = claim_progress::one(client, claim_progress::Args { partition_key, execution_id, attempt_index: attempt.attempt_index })?;
    // A new attempt starts from the beginning: only a resumed one has a continuation.
    Ok((if attempt.new_attempt { None } else { r.continuation }, r.step_count))
}

/// `lease` one table per statement (events::by_table): the same rows.
fn lease_by_table(client: &SpiClient<'_>, a: lease::Args<'_>, reserved: bool) -> WfResult<lease::Row> {
    let (partition_key, execution_id) = (a.partition_key, a.execution_id);
    if reserved {
        drop_grant::execute(client, drop_grant::Args { partition_key, execution_id })?;
    }
    let leased = lease_row::one(
        client,
        lease_row::Args {
            partition_key,
            execution_id,
            attempt_index: a.attempt_index,
            attempt_id: a.attempt_id,
            lease_id: a.lease_id,
            lease_expires_at_ms: a.lease_expires_at_ms,
            worker_id: a.worker_id,
            worker_instance_id: a.worker_instance_id,
            now_ms: a.now_ms,
            states: a.states,
        },
    )?;
    if a.new_attempt {
        let attempt = attempt_row::Args {
            partition_key,
            execution_id,
            attempt_index: a.attempt_index,
            attempt_id: a.attempt_id,
            worker_id: a.worker_id,
            worker_instance_id: a.worker_instance_id,
            now_ms: a.now_ms,
        };
        attempt_row::execute(client, attempt)?;
    }
    let event = events::lease_event::Args {
        partition_key,
        execution_ref: a.execution_ref,
        namespace: leased.namespace.as_deref(),
        now_ms: a.now_ms,
        lease_id: Some(a.lease_id),
        lease_epoch: leased.lease_epoch,
        event_type: a.event_type,
    };
    events::lease_event::execute(client, event)?;
    Ok(lease::Row { lease_epoch: leased.lease_epoch, payload: leased.payload })
}

/// Lease a locked, claimable execution: open the next attempt or re-lease the interrupted one.
fn lease_locked(
    client: &SpiClient<'_>,
    c: &Candidate,
    attempt: ClaimedAttempt,
    w: &Worker<'_>,
    lease_ttl_ms: i64,
    now: i64,
    progress: Progress,
) -> WfResult<LeaseRow> {
    let attempt_id = match (attempt.new_attempt, c.current_attempt_id) {
        (false, Some(a)) => a,
        _ => new_pg_uuid(),
    };
    let lease_id = new_pg_uuid();
    let expires = now + lease_ttl_ms;
    let event_type =
        if matches!(c.interrupt_reason.as_deref(), Some("lease_expired" | "lease_revoked")) { "reclaimed" } else { "acquired" };
    let (partition_key, execution_id) = ex_key(&c.id);
    let execution_ref = c.id.to_string();
    let args = lease::Args {
        partition_key,
        execution_id,
        attempt_index: attempt.attempt_index,
        attempt_id,
        lease_id,
        lease_expires_at_ms: expires,
        worker_id: w.worker_id,
        worker_instance_id: w.worker_instance_id,
        now_ms: now,
        new_attempt: attempt.new_attempt,
        execution_ref: &execution_ref,
        event_type,
        states: lifecycle::CLAIMED,
    };
    let variant = 2 * c.reserved as usize + attempt.new_attempt as usize;
    let row = if events::by_table(client)? { lease_by_table(client, args, c.reserved)? } else { lease::one_of(variant, client, args)? };
    let (continuation, step_count) = progress_of(client, c, &attempt, progress)?;
    Ok((
        execution_ref,
        attempt.attempt_index,
        attempt_id,
        lease_id,
        row.lease_epoch,
        expires,
        attempt.resumed,
        row.payload,
        continuation,
        step_count,
    ))
}

/// `ff_claim_execution` (`resumed_only` false) and `ff_claim_resumed_execution` (true).
pub fn claim_execution(
    grant_key: Option<&str>,
    worker_id: Option<&str>,
    instance: Option<&str>,
    lease_ttl_ms: Option<i64>,
    resumed_only: bool,
    progress: Progress,
) -> WfResult<LeaseRow> {
    let invalid = || WfError::new(ErrorKind::InvalidClaimGrant, "the claim grant was not accepted");
    let grant_key = required(grant_key, "grant_key")?;
    let w = worker(worker_id, instance)?;
    let ttl = lifecycle::required_ms(lease_ttl_ms, "lease_ttl_ms", 1)?;
    let grant = tokens::parse_grant_key(grant_key)?;
    let now = now_ms();
    Spi::connect_mut(|client| {
        // Signature (which binds the worker identity) first, then expiry, then single use.
        // An unknown kid or a key past its grace window makes the grant invalid (not a token error).
        let verify = |secret: &[u8]| tokens::verify_grant(secret, &grant, w.worker_id, w.worker_instance_id);
        crate::store::keystore::verify_under(client, grant.kid, now, verify).map_err(|e| match e.kind {
            ErrorKind::InvalidToken | ErrorKind::TokenExpired => invalid(),
            _ => e,
        })?;
        if grant.expires_at_ms <= now {
            return Err(WfError::new(ErrorKind::ClaimGrantExpired, "the claim grant has expired"));
        }
        let id = grant.execution_id;
        let (partition_key, execution_id) = ex_key(&id);
        let row = lock_for_claim::optional(client, lock_for_claim::Args { partition_key, execution_id })?.ok_or_else(invalid)?;
        let presented = tokens::sha256(grant_key.as_bytes());
        let claimable = row.lifecycle_phase == lifecycle::phase::RUNNABLE && row.eligibility_state == lifecycle::eligibility::ELIGIBLE_NOW;
        if !row.grant_hash.is_some_and(|h| tokens::ct_eq(&h, &presented)) || !claimable {
            return Err(invalid());
        }
        if crate::store::lanes::is_paused(client, &row.lane_id)? {
            return Err(WfError::new(ErrorKind::InvalidClaimGrant, "the claim grant was not accepted: its lane is paused"));
        }
        if resumed_only && row.attempt_state != lifecycle::attempt::ATTEMPT_INTERRUPTED {
            return Err(WfError::new(ErrorKind::NotAResumedExecution, "the grant is for a fresh attempt, not an interrupted one"));
        }
        let attempt = lifecycle::attempt_for_claim(&row.attempt_state, row.attempt_index)?;
        let c = Candidate {
            id,
            quota_policy_id: None,
            attempt_state: row.attempt_state,
            attempt_index: row.attempt_index,
            current_attempt_id: row.current_attempt_id,
            interrupt_reason: row.interrupt_reason,
            reserved: true,
        };
        let out = lease_locked(client, &c, attempt, &w, ttl, now, progress)?;
        notify(client, &[Channel::Lease])?;
        Ok(out)
    })
}

/// `ff_claim`: pick and lease up to `max_items`.
pub fn claim_batch(
    target: Target<'_>,
    worker_id: Option<&str>,
    instance: Option<&str>,
    caps: Option<Vec<String>>,
    lease_ttl_ms: Option<i64>,
    max_items: Option<i32>,
    progress: Progress,
) -> WfResult<Vec<LeaseRow>> {
    let Target { lane, partition } = target;
    let lane = lane_arg(lane)?;
    let w = worker(worker_id, instance)?;
    let caps = capabilities_arg(caps)?;
    let ttl = lifecycle::required_ms(lease_ttl_ms, "lease_ttl_ms", 1)?;
    let max_items = required(max_items, "max_items")?;
    if !(1..=1000).contains(&max_items) {
        return Err(WfError::invalid_input("invalid_max_items", "max_items must be between 1 and 1000"));
    }
    in_range(partition)?;
    let now = now_ms();
    Spi::connect_mut(|client| {
        let picked = match partition {
            None => pick(client, lane, &caps, now, max_items as i64)?,
            Some(p) => pick_in_partition(client, p, &Scan { lane, caps: &caps, now }, max_items as i64)?,
        };
        let mut out = Vec::with_capacity(picked.len());
        for c in picked {
            let attempt = lifecycle::attempt_for_claim(&c.attempt_state, c.attempt_index)?;
            out.push(lease_locked(client, &c, attempt, &w, ttl, now, progress)?);
        }
        if !out.is_empty() {
            notify(client, &[Channel::Lease])?;
        }
        Ok(out)
    })
}
