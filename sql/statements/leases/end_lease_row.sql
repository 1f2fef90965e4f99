-- End the current lease on the execution's row: new states, epoch + 1 -- only if the caller's fence
-- holds on the row's latest version (the UPDATE waits for the row lock and re-checks its WHERE on
-- what committed meanwhile). The fence terms are lifecycle::check_fence's acceptance, term for term.
-- A lease ends one table per statement: this, leases/end_attempt.sql and the events' (fewer
-- instructions than one statement with data-modifying CTEs, which 0.1.0's schema still runs:
-- releases/0.1.0/leases/end_lease.sql; and one shard's each on Citus, which plans such a statement
-- in steps). Returns the namespace, the new epoch and the attempt to close; no row when the fence
-- does not hold: ff_complete runs it before locking and locks only when it ended nothing, to let
-- check_fence say why. `ownership_state || ''` keeps the partial index ff_exec_core_leases (whose
-- predicate a plain `ownership_state = 'leased'` would imply) out of the plan: a generic plan made
-- while few leases existed scanned it whole, by expiry, instead of the primary key, and under a
-- held snapshot that index keeps every lease ever ended.
-- $1 partition_key
-- $2 execution_id
-- $3..$7 states
-- $8 result
-- $9 eligible_at_ms
-- $10 completed_at_ms
-- $11 error_message
-- $12 now_ms
-- $13 lease_id
-- $14 lease_epoch
UPDATE ff_exec_core SET lifecycle_phase = $3, ownership_state = $4, eligibility_state = $5,
    attempt_state = $6, public_state = $7, lease_epoch = lease_epoch + 1, lease_expires_at_ms = NULL,
    result = coalesce($8, result), eligible_at_ms = $9, completed_at_ms = $10,
    last_error = coalesce($11, last_error), updated_at_ms = $12
WHERE partition_key = $1 AND execution_id = $2 AND lease_id = $13 AND lease_epoch = $14
  AND (lease_expires_at_ms IS NULL OR lease_expires_at_ms > $12)
  AND lifecycle_phase = 'active' AND ownership_state || '' = 'leased'
RETURNING namespace, lease_epoch, attempt_index
