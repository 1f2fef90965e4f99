-- End the current lease on the execution's row: new states, epoch + 1 -- only if the caller's fence
-- holds on the row's latest version (the first part of leases/end_lease.sql, which 0.1.0's schema
-- runs whole; both editions end a lease one table per statement: this, leases/end_attempt.sql and
-- the events' -- fewer instructions than the one statement, and one shard's each on Citus, which
-- plans the one statement in steps). Returns the namespace, the new epoch and the attempt to close;
-- no row when the fence does not hold. `ownership_state || ''`: see leases/end_lease.sql.
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
