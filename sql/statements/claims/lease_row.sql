-- The new lease on a claimed execution's row (claims/lease_update.sql as a statement of its own:
-- both editions' claim writes one table per statement, with claims/attempt_row.sql,
-- claims/drop_grant.sql and events/lease_event.sql). Returns what the claim and its event need.
-- $1 partition_key
-- $2 execution_id
-- $3 attempt_index
-- $4 attempt_id
-- $5 lease_id
-- $6 lease_expires_at_ms
-- $7 worker_id
-- $8 worker_instance_id
-- $9 now_ms
-- $10..$14 states
UPDATE ff_exec_core SET lifecycle_phase = $10, ownership_state = $11, eligibility_state = $12,
    attempt_state = $13, public_state = $14, attempt_index = $3, current_attempt_id = $4, lease_id = $5,
    lease_epoch = lease_epoch + 1, lease_expires_at_ms = $6, lease_worker_id = $7,
    lease_worker_instance_id = $8, interrupt_reason = NULL, eligible_at_ms = NULL,
    reserved_until_ms = NULL, updated_at_ms = $9
WHERE partition_key = $1 AND execution_id = $2
RETURNING namespace, lease_epoch, payload
