-- Lease expiry: back to the lane as an interrupted attempt (epoch + 1), or terminal failed after
-- more than max_reclaims (ff_engine.max_reclaims) expiries; the attempt records failure class
-- infra_crash (a reclaim resumes it; a terminal one is closed as failed); lease event `expired`, and
-- a completion event `failed` (infra_crash) for those that became terminal; the lane, priority and
-- queue_seq of each row back in a lane (its lane's sleeping workers are woken; the SQL edition lowers
-- the claim starts, sql/edition/claim_starts.sql).
-- $1 now_ms
-- $2 max_rows
-- $3 max_reclaims
-- $4..$7 filter (namespace, tag_key, tag_value, partitions: store::scanners::ScanFilter)
-- $8 scan_from (sql/shared/scan_starts.sql)
WITH due AS (
    SELECT partition_key, execution_id FROM ff_exec_core
    WHERE ownership_state = 'leased' AND lease_expires_at_ms <= $1 AND lease_expires_at_ms >= $8
      AND ($4::text IS NULL OR namespace = $4) AND ($5::text IS NULL OR tags ->> $5 = $6)
      AND ($7::smallint[] IS NULL OR partition_key = ANY($7))
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
    FROM due WHERE e.partition_key = due.partition_key AND e.execution_id = due.execution_id AND ($7::smallint[] IS NULL OR e.partition_key = ANY($7))
      -- Written so that it implies nothing about ff_exec_core_leases: the update reaches its rows by
      -- the primary key from `due`, never by walking that index from its head (every entry a held
      -- snapshot keeps alive).
      AND e.ownership_state || '' = 'leased' AND e.lease_expires_at_ms <= $1
    RETURNING e.partition_key, e.execution_id, e.namespace, e.lease_id, e.lease_epoch, e.lifecycle_phase, e.lane_id,
              e.priority, e.queue_seq, e.attempt_index),
att AS (
    UPDATE ff_attempt a SET failure_class = 'infra_crash',
        ended_at_ms = CASE WHEN upd.lifecycle_phase = 'terminal' THEN $1 ELSE a.ended_at_ms END,
        outcome = CASE WHEN upd.lifecycle_phase = 'terminal' THEN 'failed' ELSE a.outcome END,
        error_message = CASE WHEN upd.lifecycle_phase = 'terminal' THEN 'max_reclaims_exceeded' ELSE a.error_message END
    FROM upd WHERE a.partition_key = upd.partition_key AND a.execution_id = upd.execution_id AND ($7::smallint[] IS NULL OR a.partition_key = ANY($7))
      AND a.attempt_index = upd.attempt_index AND a.ended_at_ms IS NULL),
le AS (
    INSERT INTO ff_lease_event (partition_key, execution_id, namespace, occurred_at_ms, lease_id, lease_epoch, event_type)
    SELECT partition_key, '{fp:' || partition_key || '}:' || execution_id, namespace, $1, lease_id, lease_epoch, 'expired'
    FROM upd),
ce AS (
    INSERT INTO ff_completion_event (partition_key, execution_id, namespace, occurred_at_ms, outcome, failure_class)
    SELECT partition_key, '{fp:' || partition_key || '}:' || execution_id, namespace, $1, 'failed', 'infra_crash'
    FROM upd WHERE lifecycle_phase = 'terminal')
SELECT count(*) FILTER (WHERE lifecycle_phase = 'terminal') AS failed, count(*) AS expired,
       array_agg(lane_id) FILTER (WHERE lifecycle_phase = 'runnable') AS claimable_lane_ids,
       array_agg(priority) FILTER (WHERE lifecycle_phase = 'runnable') AS claimable_priorities,
       array_agg(queue_seq) FILTER (WHERE lifecycle_phase = 'runnable') AS claimable_queue_seqs
FROM upd
