//! Scanners (semantics §7) as functions: each task processes at most `max_rows` due rows, oldest
//! first, skipping rows locked by live operations and re-checking that each is still due; running it
//! twice changes nothing the second time. `ff_tick` runs them all. No background worker.

use crate::error::{required, WfResult};
use crate::lifecycle;
use crate::postgres::args::ex_id;
use crate::postgres::notify::{wake, Channel};
use crate::postgres::statement::{now_ms, Param};
use crate::statement;
use crate::store::leases::{terminate_locked, Termination};
use crate::store::scan_starts;
use pgrx::datum::DatumWithOid;
use pgrx::pg_sys::PgOid;
use pgrx::prelude::*;
use pgrx::spi::SpiClient;

statement! {
    /// The tasks that are one statement over (now, max_rows), one variant each, the indices below.
    mod batch_task = variants [
        ["scanners/expire_grants.sql"],
        ["scanners/expire_pending_waitpoints.sql"],
        ["scanners/gc_signal_dedup.sql"],
        ["scanners/gc_suspend_dedup.sql"],
        ["scanners/gc_keys.sql"],
        ["scanners/verify_claim_starts.sql"],
    ];
    args<'a> { now_ms: i64, max_rows: i64, filter: ScanFilter<'a> }
    row { processed: i32 }
}
statement! {
    mod node_partitions = "scanners/node_partitions.sql";
    args {}
    row { partitions: Option<Vec<i16>> }
}
statement! {
    mod promote_delayed = "scanners/promote_delayed.sql";
    args<'a> { now_ms: i64, max_rows: i64, filter: ScanFilter<'a>, scan_from: i64 }
    row { lane_id: String, priority: i32, queue_seq: i64 }
}
statement! {
    mod expire_leases = "scanners/expire_leases.sql", on 0.1.0 schema "releases/0.1.0/scanners/expire_leases.sql";
    args<'a> { now_ms: i64, max_rows: i64, max_reclaims: i32, filter: ScanFilter<'a>, scan_from: i64 }
    row {
        failed: i64, expired: i64,
        claimable_lane_ids: Option<Vec<String>>, claimable_priorities: Option<Vec<i32>>, claimable_queue_seqs: Option<Vec<i64>>,
    }
}
statement! {
    /// Variants: signal, lease, completion, operator events.
    mod prune_events = variants [
        ["scanners/prune_signal_events.sql"],
        ["scanners/prune_lease_events.sql"],
        ["scanners/prune_completion_events.sql"],
        ["scanners/prune_operator_events.sql"],
    ];
    args { older_than_ms: i64 }
    row {}
}

statement! {
    mod due_deadlines = "scanners/due_deadlines.sql";
    args<'a> { now_ms: i64, max_rows: i64, filter: ScanFilter<'a>, scan_from: i64 }
    row { partition_key: i16, execution_id: pgrx::Uuid, lifecycle_phase: String, ownership_state: String }
}

statement! {
    mod prune_executions = "retention/prune_executions.sql";
    args<'a> { cutoff_ms: i64, public_states: Vec<String>, max_rows: i64, filter: ScanFilter<'a> }
    row { deleted: i64 }
}

/// Which executions a scanner may touch (FlowFabric's ScannerFilter): those of one namespace and/or
/// with one tag (`tags ->> tag_key = tag_value`), so that each tenant's scanner touches only its own;
/// and, for `ff_tick_node` on a Citus node, those of the partitions of one local shard (so that
/// Citus routes each statement to that shard). The default touches every execution.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ScanFilter<'a> {
    pub namespace: Option<&'a str>,
    pub tag_key: Option<&'a str>,
    pub tag_value: Option<&'a str>,
    pub partitions: Option<&'a [i16]>,
}

impl<'a> ScanFilter<'a> {
    /// Checked arguments: a namespace of 1-256 bytes; tag_key and tag_value both or neither.
    pub fn new(namespace: Option<&'a str>, tag_key: Option<&'a str>, tag_value: Option<&'a str>) -> WfResult<Self> {
        crate::checks::optional_text(namespace, "namespace", 256)?;
        crate::checks::optional_text(tag_key, "tag_key", 256)?;
        if tag_key.is_some() != tag_value.is_some() {
            return Err(crate::error::WfError::invalid_input("invalid_tag_filter", "tag_key and tag_value must be given together"));
        }
        Ok(ScanFilter { namespace, tag_key, tag_value, partitions: None })
    }

    /// The same filter restricted to `partitions`.
    pub fn in_partitions(self, partitions: &'a [i16]) -> Self {
        ScanFilter { partitions: Some(partitions), ..self }
    }

    /// Whether it narrows anything.
    pub fn is_filtered(&self) -> bool {
        self.namespace.is_some() || self.tag_key.is_some() || self.partitions.is_some()
    }
}

/// A filter binds four statement parameters: namespace, tag_key, tag_value, partitions (`-- $n..$m
/// filter`).
impl Param for ScanFilter<'_> {
    fn describe(name: &'static str, out: &mut Vec<(&'static str, PgOid)>) {
        for _ in 0..3 {
            <Option<&str> as Param>::describe(name, out);
        }
        <Option<Vec<i16>> as Param>::describe(name, out);
    }
    fn push<'a>(self, out: &mut Vec<DatumWithOid<'a>>)
    where
        Self: 'a,
    {
        for value in [self.namespace, self.tag_key, self.tag_value] {
            value.push(out);
        }
        self.partitions.map(<[i16]>::to_vec).push(out);
    }
}

/// The tasks of `ff_tick`, in the order it runs them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Task {
    PromoteDelayed,
    ExpireGrants,
    ExpireLeases,
    ExpireSuspensions,
    ExpireDeadlines,
    ExpirePendingWaitpoints,
    GcDedup,
    GcKeys,
    PruneExecutions,
    VerifyClaimStarts,
}

impl Task {
    /// The tasks of release 0.1.0's `ff_tick` (its schema has no deadlines, and it never pruned
    /// executions).
    pub const RELEASE_0_1: [Task; 7] = [
        Task::PromoteDelayed,
        Task::ExpireGrants,
        Task::ExpireLeases,
        Task::ExpireSuspensions,
        Task::ExpirePendingWaitpoints,
        Task::GcDedup,
        Task::GcKeys,
    ];

    pub const ALL: [Task; 10] = [
        Task::PromoteDelayed,
        Task::ExpireGrants,
        Task::ExpireLeases,
        Task::ExpireSuspensions,
        Task::ExpireDeadlines,
        Task::ExpirePendingWaitpoints,
        Task::GcDedup,
        Task::GcKeys,
        Task::PruneExecutions,
        Task::VerifyClaimStarts,
    ];

    /// The task's name in `ff_tick`'s result (and, with `ff_`, its own function).
    pub fn name(self) -> &'static str {
        match self {
            Task::PromoteDelayed => "promote_delayed",
            Task::ExpireGrants => "expire_grants",
            Task::ExpireLeases => "expire_leases",
            Task::ExpireSuspensions => "expire_suspensions",
            Task::ExpireDeadlines => "expire_deadlines",
            Task::ExpirePendingWaitpoints => "expire_pending_waitpoints",
            Task::GcDedup => "gc_dedup",
            Task::GcKeys => "gc_keys",
            Task::PruneExecutions => "prune_executions",
            Task::VerifyClaimStarts => "verify_claim_starts",
        }
    }

    /// Whether the task touches executions (all but `gc_keys` and `verify_claim_starts`): a
    /// filtered tick runs only these.
    pub fn per_execution(self) -> bool {
        !matches!(self, Task::GcKeys | Task::VerifyClaimStarts)
    }

    /// Run the task once over at most `max_rows` due rows of executions `filter` admits; how many it
    /// processed.
    fn run(self, client: &SpiClient<'_>, now_ms: i64, max_rows: i64, f: ScanFilter<'_>) -> WfResult<usize> {
        let one = |v: usize| batch_task::execute_of(v, client, batch_task::Args { now_ms, max_rows, filter: f });
        match self {
            Task::PromoteDelayed => promote_delayed_task(client, now_ms, max_rows, f),
            Task::ExpireGrants => one(EXPIRE_GRANTS),
            Task::ExpireLeases => expire_leases_task(client, now_ms, max_rows, f),
            Task::ExpireSuspensions => crate::store::signals::expire_suspensions(client, now_ms, max_rows, f),
            Task::ExpireDeadlines => expire_deadlines(client, now_ms, max_rows, f),
            Task::ExpirePendingWaitpoints => one(EXPIRE_PENDING_WAITPOINTS),
            Task::GcDedup => Ok(one(GC_SIGNAL_DEDUP)? + one(GC_SUSPEND_DEDUP)?),
            Task::GcKeys => one(GC_KEYS),
            Task::PruneExecutions => prune_by_retention(client, now_ms, max_rows, f),
            Task::VerifyClaimStarts => one(VERIFY_CLAIM_STARTS),
        }
    }
}

/// The variants of `batch_task`.
const EXPIRE_GRANTS: usize = 0;
const EXPIRE_PENDING_WAITPOINTS: usize = 1;
const GC_SIGNAL_DEDUP: usize = 2;
const GC_SUSPEND_DEDUP: usize = 3;
const GC_KEYS: usize = 4;
const VERIFY_CLAIM_STARTS: usize = 5;

/// Promote due delayed executions and wake the sleeping workers of their lanes.
fn promote_delayed_task(client: &SpiClient<'_>, now_ms: i64, max_rows: i64, f: ScanFilter<'_>) -> WfResult<usize> {
    let run = scan_starts::begin(client, Task::PromoteDelayed.name(), now_ms, &f)?;
    let args = promote_delayed::Args { now_ms, max_rows, filter: f, scan_from: run.from };
    let promoted = promote_delayed::all(client, args)?;
    run.end(client, promoted.len(), max_rows)?;
    let mut lanes: Vec<&str> = promoted.iter().map(|r| r.lane_id.as_str()).collect();
    lanes.sort_unstable();
    lanes.dedup();
    wake(client, &[], &lanes)?;
    Ok(promoted.len())
}

fn expire_leases_task(client: &SpiClient<'_>, now_ms: i64, max_rows: i64, f: ScanFilter<'_>) -> WfResult<usize> {
    let max_reclaims = crate::postgres::settings::MAX_RECLAIMS.get();
    let run = scan_starts::begin(client, Task::ExpireLeases.name(), now_ms, &f)?;
    let args = expire_leases::Args { now_ms, max_rows, max_reclaims, filter: f, scan_from: run.from };
    let r = expire_leases::one(client, args)?;
    run.end(client, r.expired as usize, max_rows)?;
    if r.expired > 0 {
        let channels: &[Channel] = if r.failed > 0 { &[Channel::Lease, Channel::Completion] } else { &[Channel::Lease] };
        let mut lanes: Vec<&str> = r.claimable_lane_ids.iter().flatten().map(String::as_str).collect();
        lanes.sort_unstable();
        lanes.dedup();
        wake(client, channels, &lanes)?;
    }
    Ok(r.expired as usize)
}

/// Expire executions past their deadline: lease ended, suspension and waitpoints closed, attempt
/// closed, completion event `expired` (the same termination as cancel, with other reasons). The
/// deadline rows dealt with are deleted, including those of executions that finished in time; the
/// count is of executions expired.
fn expire_deadlines(client: &SpiClient<'_>, now_ms: i64, max_rows: i64, f: ScanFilter<'_>) -> WfResult<usize> {
    let run = scan_starts::begin(client, Task::ExpireDeadlines.name(), now_ms, &f)?;
    let args = due_deadlines::Args { now_ms, max_rows, filter: f, scan_from: run.from };
    let due = due_deadlines::all(client, args)?;
    let expiry = Termination {
        states: lifecycle::EXPIRED,
        reason: "deadline_exceeded",
        close_reason: "deadline",
        outcome: "expired",
        failure_class: lifecycle::failure_class::TIMEOUT,
    };
    let mut expired = 0;
    for d in &due {
        if d.lifecycle_phase != lifecycle::phase::TERMINAL {
            let id = ex_id(d.partition_key, &d.execution_id);
            terminate_locked(client, &id, &expiry, d.ownership_state == lifecycle::ownership::LEASED, now_ms)?;
            expired += 1;
        }
    }
    run.end(client, due.len(), max_rows)?;
    Ok(expired)
}

/// Prune finished executions past their outcome's retention setting, at most `max_rows` in all.
fn prune_by_retention(client: &SpiClient<'_>, now_ms: i64, max_rows: i64, f: ScanFilter<'_>) -> WfResult<usize> {
    let mut deleted = 0;
    for (state, seconds) in crate::postgres::settings::retention_s() {
        if seconds == 0 || deleted >= max_rows {
            continue;
        }
        let args = prune_executions::Args {
            cutoff_ms: now_ms.saturating_sub(seconds as i64 * 1000),
            public_states: vec![state.to_string()],
            max_rows: max_rows - deleted,
            filter: f,
        };
        deleted += prune_executions::one(client, args)?.deleted;
    }
    Ok(deleted as usize)
}

/// `ff_prune_executions`: delete up to `max_rows` executions in `public_states` that finished before
/// `older_than_ms`, with everything that belongs to them; how many it deleted.
pub fn prune_executions(older_than_ms: Option<i64>, public_states: Option<Vec<String>>, max_rows: Option<i32>) -> WfResult<i64> {
    let cutoff_ms = required(older_than_ms, "older_than_ms")?;
    let public_states = required(public_states, "public_states")?;
    if public_states.is_empty() || public_states.iter().any(|s| !lifecycle::PRUNABLE.contains(&s.as_str())) {
        return Err(crate::error::WfError::invalid_input(
            "invalid_public_states",
            "public_states must name one or more of completed, failed, cancelled, expired",
        ));
    }
    let max_rows = crate::checks::batch_size(max_rows)?;
    let args = prune_executions::Args { cutoff_ms, public_states, max_rows, filter: ScanFilter::default() };
    Spi::connect_mut(|client| Ok(prune_executions::one(client, args)?.deleted))
}

/// Run one task (`ff_promote_delayed`, …) over the executions `filter` admits.
pub fn run_task(task: Task, max_rows: Option<i32>, filter: ScanFilter<'_>) -> WfResult<i32> {
    let max_rows = crate::checks::batch_size(max_rows)?;
    Spi::connect_mut(|client| Ok(task.run(client, now_ms(), max_rows, filter)? as i32))
}

/// `ff_tick`: each of `tasks` once, one (task, processed) each; with a filter, only the tasks that
/// touch executions (a tenant's scanner leaves the keystore to the unfiltered one).
pub fn tick(tasks: &[Task], max_rows: Option<i32>, filter: ScanFilter<'_>) -> WfResult<Vec<(String, i32)>> {
    let max_rows = crate::checks::batch_size(max_rows)?;
    tasks
        .iter()
        .filter(|t| t.per_execution() || !filter.is_filtered())
        .map(|t| {
            Ok((
                t.name().to_string(),
                Spi::connect_mut(|client| Ok::<_, crate::error::WfError>(t.run(client, now_ms(), max_rows, filter)? as i32))?,
            ))
        })
        .collect()
}

/// `ff_tick_node`: on a node of a distributed install, the tasks that touch executions once per
/// shard placed on this node, each restricted to that shard's partitions (so that Citus routes every
/// statement to the local shard, and the node-wide scan starts stay as they are); on one node,
/// `ff_tick`. One (task, processed) per task, summed over the shards.
pub fn tick_node(max_rows: Option<i32>) -> WfResult<Vec<(String, i32)>> {
    let shards = Spi::connect(|client| node_partitions::all(client, node_partitions::Args {}))?;
    let mut totals: Vec<(String, i32)> = Vec::new();
    for shard in &shards {
        let filter = match &shard.partitions {
            Some(partitions) => ScanFilter::default().in_partitions(partitions),
            None => ScanFilter::default(),
        };
        for (task, processed) in tick(&Task::ALL, max_rows, filter)? {
            match totals.iter_mut().find(|(t, _)| *t == task) {
                Some((_, total)) => *total += processed,
                None => totals.push((task, processed)),
            }
        }
    }
    Ok(totals)
}

/// The event tables, in the order of `prune_events`' variants.
pub const EVENT_TABLES: [&str; 4] = ["ff_signal_event", "ff_lease_event", "ff_completion_event", "ff_operator_event"];

/// `ff_prune_events`: (table_name, deleted) for each of `tables` (a prefix of [`EVENT_TABLES`]).
pub fn prune_events(tables: &[&str], older_than_ms: Option<i64>) -> WfResult<Vec<(String, i64)>> {
    let older_than_ms = required(older_than_ms, "older_than_ms")?;
    Spi::connect_mut(|client| {
        tables
            .iter()
            .enumerate()
            .map(|(v, table)| {
                let deleted = prune_events::execute_of(v, client, prune_events::Args { older_than_ms })?;
                Ok((table.to_string(), deleted as i64))
            })
            .collect()
    })
}
