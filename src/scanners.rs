//! Scanners (semantics §7) as functions: each task processes at most `max_rows` due rows, oldest
//! first, skipping rows locked by live operations and re-checking that each is still due; running it
//! twice changes nothing the second time. `ff_tick` runs them all. No background worker.

use crate::error::{required, WfError, WfResult};
use crate::events::{notify, Channel};
use crate::plans::{now_ms, t, Plan};
use crate::raise::guarded;
use pgrx::prelude::*;

static PROMOTE_DELAYED: Plan = Plan {
    sql: "WITH due AS (SELECT partition_key, execution_id FROM ff_exec_core \
                       WHERE eligibility_state = 'not_eligible_until_time' AND eligible_at_ms <= $1 \
                       ORDER BY eligible_at_ms LIMIT $2 FOR UPDATE SKIP LOCKED) \
          UPDATE ff_exec_core e SET eligibility_state = 'eligible_now', public_state = 'waiting', \
                 eligible_at_ms = NULL, updated_at_ms = $1 \
          FROM due WHERE e.partition_key = due.partition_key AND e.execution_id = due.execution_id \
            AND e.lifecycle_phase = 'runnable' AND e.eligibility_state = 'not_eligible_until_time' AND e.eligible_at_ms <= $1 \
          RETURNING 1",
    args: &[t::INT8, t::INT8],
};
static EXPIRE_GRANTS: Plan = Plan {
    sql: "WITH d AS (DELETE FROM ff_claim_grant WHERE ctid IN (SELECT ctid FROM ff_claim_grant WHERE expires_at_ms <= $1 \
                     ORDER BY expires_at_ms LIMIT $2 FOR UPDATE SKIP LOCKED) AND expires_at_ms <= $1 \
                     RETURNING partition_key, execution_id), \
          r AS (UPDATE ff_exec_core e SET reserved_until_ms = NULL FROM d \
                WHERE e.partition_key = d.partition_key AND e.execution_id = d.execution_id AND e.reserved_until_ms <= $1) \
          SELECT 1 FROM d",
    args: &[t::INT8, t::INT8],
};
/// Lease expiry: back to the lane as an interrupted attempt (epoch + 1), or terminal failed after
/// more than `$3` (ff_engine.max_reclaims) expiries.
static EXPIRE_LEASES: Plan = Plan {
    sql: "WITH due AS (SELECT partition_key, execution_id FROM ff_exec_core \
                       WHERE ownership_state = 'leased' AND lease_expires_at_ms <= $1 \
                       ORDER BY lease_expires_at_ms LIMIT $2 FOR UPDATE SKIP LOCKED), \
          upd AS ( \
            UPDATE ff_exec_core e SET \
              lifecycle_phase   = CASE WHEN e.reclaim_count + 1 > $3 THEN 'terminal' ELSE 'runnable' END, \
              ownership_state   = 'unowned', \
              eligibility_state = CASE WHEN e.reclaim_count + 1 > $3 THEN 'not_applicable' ELSE 'eligible_now' END, \
              attempt_state     = CASE WHEN e.reclaim_count + 1 > $3 THEN 'attempt_terminal' ELSE 'attempt_interrupted' END, \
              public_state      = CASE WHEN e.reclaim_count + 1 > $3 THEN 'failed' ELSE 'waiting' END, \
              completed_at_ms   = CASE WHEN e.reclaim_count + 1 > $3 THEN $1 END, \
              interrupt_reason  = CASE WHEN e.reclaim_count + 1 > $3 THEN NULL ELSE 'lease_expired' END, \
              last_error        = CASE WHEN e.reclaim_count + 1 > $3 THEN 'max_reclaims_exceeded' ELSE e.last_error END, \
              lease_epoch = e.lease_epoch + 1, lease_expires_at_ms = NULL, reclaim_count = e.reclaim_count + 1, \
              updated_at_ms = $1 \
            FROM due WHERE e.partition_key = due.partition_key AND e.execution_id = due.execution_id \
              AND e.ownership_state = 'leased' AND e.lease_expires_at_ms <= $1 \
            RETURNING e.partition_key, e.execution_id, e.namespace, e.lease_id, e.lease_epoch, e.lifecycle_phase), \
          le AS (INSERT INTO ff_lease_event (partition_key, execution_id, namespace, occurred_at_ms, lease_id, lease_epoch, event_type) \
                 SELECT partition_key, '{fp:' || partition_key || '}:' || execution_id, namespace, $1, lease_id, lease_epoch, 'expired' FROM upd), \
          ce AS (INSERT INTO ff_completion_event (partition_key, execution_id, namespace, occurred_at_ms, outcome) \
                 SELECT partition_key, '{fp:' || partition_key || '}:' || execution_id, namespace, $1, 'failed' \
                 FROM upd WHERE lifecycle_phase = 'terminal') \
          SELECT count(*) FILTER (WHERE lifecycle_phase = 'terminal'), count(*) FROM upd",
    args: &[t::INT8, t::INT8, t::INT4],
};
static EXPIRE_PENDING_WAITPOINTS: Plan = Plan {
    sql: "WITH due AS (SELECT partition_key, execution_id, waitpoint_id FROM ff_waitpoint \
                       WHERE state = 'pending' AND expires_at_ms <= $1 ORDER BY expires_at_ms LIMIT $2 FOR UPDATE SKIP LOCKED) \
          UPDATE ff_waitpoint w SET state = 'closed', closed_at_ms = $1, close_reason = 'never_committed' \
          FROM due WHERE w.partition_key = due.partition_key AND w.execution_id = due.execution_id \
            AND w.waitpoint_id = due.waitpoint_id AND w.state = 'pending' RETURNING 1",
    args: &[t::INT8, t::INT8],
};
static GC_SIGNAL_DEDUP: Plan = Plan {
    sql: "DELETE FROM ff_signal_dedup WHERE ctid IN (SELECT ctid FROM ff_signal_dedup WHERE expires_at_ms <= $1 \
          ORDER BY expires_at_ms LIMIT $2 FOR UPDATE SKIP LOCKED) RETURNING 1",
    args: &[t::INT8, t::INT8],
};
static GC_SUSPEND_DEDUP: Plan = Plan {
    sql: "DELETE FROM ff_suspend_dedup WHERE ctid IN (SELECT ctid FROM ff_suspend_dedup WHERE expires_at_ms <= $1 \
          ORDER BY expires_at_ms LIMIT $2 FOR UPDATE SKIP LOCKED) RETURNING 1",
    args: &[t::INT8, t::INT8],
};
static GC_KEYS: Plan = Plan {
    sql: "DELETE FROM ff_keystore WHERE kid IN (SELECT kid FROM ff_keystore WHERE NOT active AND expires_at_ms <= $1 \
          ORDER BY expires_at_ms LIMIT $2 FOR UPDATE SKIP LOCKED) RETURNING 1",
    args: &[t::INT8, t::INT8],
};
static PRUNE: [(&str, Plan); 3] = [
    ("ff_signal_event", Plan { sql: "DELETE FROM ff_signal_event WHERE occurred_at_ms < $1", args: &[t::INT8] }),
    ("ff_lease_event", Plan { sql: "DELETE FROM ff_lease_event WHERE occurred_at_ms < $1", args: &[t::INT8] }),
    ("ff_completion_event", Plan { sql: "DELETE FROM ff_completion_event WHERE occurred_at_ms < $1", args: &[t::INT8] }),
];

/// Every task of `ff_tick`, in the order it runs them.
pub const TASKS: [&str; 7] = [
    "promote_delayed",
    "expire_grants",
    "expire_leases",
    "expire_suspensions",
    "expire_pending_waitpoints",
    "gc_dedup",
    "gc_keys",
];

fn max_rows_arg(max_rows: Option<i32>) -> WfResult<i64> {
    let n = required(max_rows, "max_rows")?;
    if !(1..=1_000_000).contains(&n) {
        return Err(WfError::invalid_input("invalid_max_rows", "max_rows must be between 1 and 1000000"));
    }
    Ok(n as i64)
}

fn run_task(task: &str, max_rows: i64) -> WfResult<i32> {
    let now = now_ms();
    Spi::connect_mut(|client| {
        let n = match task {
            "promote_delayed" => PROMOTE_DELAYED.run(client, &[now.into(), max_rows.into()])?.len(),
            "expire_grants" => EXPIRE_GRANTS.run(client, &[now.into(), max_rows.into()])?.len(),
            "expire_leases" => {
                let max_reclaims = crate::settings::MAX_RECLAIMS.get();
                let r = EXPIRE_LEASES.run(client, &[now.into(), max_rows.into(), max_reclaims.into()])?;
                let row = r.first();
                let failed: i64 = row.get(1)?.unwrap_or(0);
                let n: i64 = row.get(2)?.unwrap_or(0);
                if n > 0 {
                    let ch: &[Channel] = if failed > 0 { &[Channel::Lease, Channel::Completion] } else { &[Channel::Lease] };
                    notify(ch);
                }
                n as usize
            }
            "expire_suspensions" => crate::signals::expire_suspensions(client, now, max_rows)?,
            "expire_pending_waitpoints" => EXPIRE_PENDING_WAITPOINTS.run(client, &[now.into(), max_rows.into()])?.len(),
            "gc_dedup" => {
                GC_SIGNAL_DEDUP.run(client, &[now.into(), max_rows.into()])?.len()
                    + GC_SUSPEND_DEDUP.run(client, &[now.into(), max_rows.into()])?.len()
            }
            "gc_keys" => GC_KEYS.run(client, &[now.into(), max_rows.into()])?.len(),
            other => return Err(WfError::corruption(format!("unknown scanner task {other}"))),
        };
        Ok(n as i32)
    })
}

fn task_fn(task: &str, max_rows: Option<i32>) -> i32 {
    guarded(|| run_task(task, max_rows_arg(max_rows)?))
}

/// Run every scanner task once; one row per task with the number of rows it processed.
#[pg_extern(security_definer, parallel_unsafe)]
#[search_path(@extschema@, pg_temp)]
fn ff_tick(max_rows: default!(Option<i32>, 1000)) -> TableIterator<'static, (name!(task, String), name!(processed, i32))> {
    TableIterator::new(guarded(|| {
        let n = max_rows_arg(max_rows)?;
        TASKS.iter().map(|t| Ok((t.to_string(), run_task(t, n)?))).collect::<WfResult<Vec<_>>>()
    }))
}

/// Promote delayed executions whose time has come to eligible_now.
#[pg_extern(security_definer, parallel_unsafe)]
#[search_path(@extschema@, pg_temp)]
fn ff_promote_delayed(max_rows: default!(Option<i32>, 1000)) -> i32 {
    task_fn("promote_delayed", max_rows)
}

/// Delete expired, unconsumed claim grants.
#[pg_extern(security_definer, parallel_unsafe)]
#[search_path(@extschema@, pg_temp)]
fn ff_expire_grants(max_rows: default!(Option<i32>, 1000)) -> i32 {
    task_fn("expire_grants", max_rows)
}

/// Reclaim executions whose lease expired (epoch + 1); fail them after ff_engine.max_reclaims expiries.
#[pg_extern(security_definer, parallel_unsafe)]
#[search_path(@extschema@, pg_temp)]
fn ff_expire_leases(max_rows: default!(Option<i32>, 1000)) -> i32 {
    task_fn("expire_leases", max_rows)
}

/// Apply the timeout behaviour of suspensions whose timeout has passed.
#[pg_extern(security_definer, parallel_unsafe)]
#[search_path(@extschema@, pg_temp)]
fn ff_expire_suspensions(max_rows: default!(Option<i32>, 1000)) -> i32 {
    task_fn("expire_suspensions", max_rows)
}

/// Close pending waitpoints past their expiry (reason never_committed).
#[pg_extern(security_definer, parallel_unsafe)]
#[search_path(@extschema@, pg_temp)]
fn ff_expire_pending_waitpoints(max_rows: default!(Option<i32>, 1000)) -> i32 {
    task_fn("expire_pending_waitpoints", max_rows)
}

/// Delete signal and suspend dedup rows past their TTL.
#[pg_extern(security_definer, parallel_unsafe)]
#[search_path(@extschema@, pg_temp)]
fn ff_gc_dedup(max_rows: default!(Option<i32>, 1000)) -> i32 {
    task_fn("gc_dedup", max_rows)
}

/// Delete retired HMAC keys past their grace window.
#[pg_extern(security_definer, parallel_unsafe)]
#[search_path(@extschema@, pg_temp)]
fn ff_gc_keys(max_rows: default!(Option<i32>, 1000)) -> i32 {
    task_fn("gc_keys", max_rows)
}

/// Bulk retention of the three event tables: delete events older than older_than_ms.
#[pg_extern(security_definer, parallel_unsafe)]
#[search_path(@extschema@, pg_temp)]
fn ff_prune_events(older_than_ms: Option<i64>) -> TableIterator<'static, (name!(table_name, String), name!(deleted, i64))> {
    TableIterator::new(guarded(|| {
        let cutoff = required(older_than_ms, "older_than_ms")?;
        Spi::connect_mut(|client| {
            PRUNE.iter().map(|(name, plan)| Ok((name.to_string(), plan.run(client, &[cutoff.into()])?.len() as i64))).collect::<WfResult<Vec<_>>>()
        })
    }))
}
