-- scanners/expire_leases.sql for a database still on 0.1.0's schema (src/postgres/release.rs): the statement without what that schema lacks.
-- Lease expiry: back to the lane as an interrupted attempt (epoch + 1), or terminal failed after
-- more than max_reclaims (ff_engine.max_reclaims) expiries; lease event `expired`, and a completion
-- event `failed` for those that became terminal; the lanes of those back in a lane (their sleeping
-- workers are woken).
-- $1 now_ms
-- $2 max_rows
-- $3 max_reclaims
-- $4..$7 filter (0.1.0's scanners take no filter: unused)
-- $8 scan_from (0.1.0's schema keeps no scan starts: unused)
WITH due AS (
    SELECT partition_key, execution_id FROM ff_exec_core
    WHERE ownership_state = 'leased' AND lease_expires_at_ms <= $1
    ORDER BY lease_expires_at_ms LIMIT $2 FOR UPDATE SKIP LOCKED),
upd AS (
    UPDATE ff_exec_core e SET
      lifecycle_phase   = CASE WHEN e.reclaim_count + 1 > $3 THEN 'terminal' ELSE 'runnable' END,
      ownership_state   = 'unowned',
      eligibility_state = CASE WHEN e.reclaim_count + 1 > $3 THEN 'not_applicable' ELSE 'eligible_now' END,
      attempt_state     = CASE WHEN e.reclaim_count + 1 > $3 THEN 'attempt_terminal' ELSE 'attempt_interrupted' END,
      public_state      = CASE WHEN e.reclaim_count + 1 > $3 THEN 'failed' ELSE 'waiting' END,
      completed_at_ms   = CASE WHEN e.reclaim_count + 1 > $3 THEN $1 END,
      interrupt_reason  = CASE WHEN e.reclaim_count + 1 > $3 THEN NULL ELSE 'lease_expired' END,
      last_error        = CASE WHEN e.reclaim_count + 1 > $3 THEN 'max_reclaims_exceeded' ELSE e.last_error END,
      lease_epoch = e.lease_epoch + 1, lease_expires_at_ms = NULL, reclaim_count = e.reclaim_count + 1,
      updated_at_ms = $1
    FROM due WHERE e.partition_key = due.partition_key AND e.execution_id = due.execution_id
      AND e.ownership_state = 'leased' AND e.lease_expires_at_ms <= $1
    RETURNING e.partition_key, e.execution_id, e.namespace, e.lease_id, e.lease_epoch, e.lifecycle_phase, e.lane_id, e.priority, e.queue_seq),
le AS (
    INSERT INTO ff_lease_event (partition_key, execution_id, namespace, occurred_at_ms, lease_id, lease_epoch, event_type)
    SELECT partition_key, '{fp:' || partition_key || '}:' || execution_id, namespace, $1, lease_id, lease_epoch, 'expired'
    FROM upd),
ce AS (
    INSERT INTO ff_completion_event (partition_key, execution_id, namespace, occurred_at_ms, outcome)
    SELECT partition_key, '{fp:' || partition_key || '}:' || execution_id, namespace, $1, 'failed'
    FROM upd WHERE lifecycle_phase = 'terminal')
SELECT count(*) FILTER (WHERE lifecycle_phase = 'terminal') AS failed, count(*) AS expired,
       array_agg(lane_id) FILTER (WHERE lifecycle_phase = 'runnable') AS claimable_lane_ids,
       array_agg(priority) FILTER (WHERE lifecycle_phase = 'runnable') AS claimable_priorities,
       array_agg(queue_seq) FILTER (WHERE lifecycle_phase = 'runnable') AS claimable_queue_seqs
FROM upd
