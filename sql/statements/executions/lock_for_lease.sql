-- Lock the execution row (the per-execution mutex) and read what a lease-holding operation needs.
-- $1 partition_key
-- $2 execution_id
SELECT lease_id, lease_epoch, lease_expires_at_ms, lifecycle_phase, ownership_state,
       attempt_index, max_attempts, retry_backoff_ms, budget_ids, lane_id
FROM ff_exec_core WHERE partition_key = $1 AND execution_id = $2 FOR UPDATE
