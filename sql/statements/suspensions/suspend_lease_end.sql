-- End a suspending execution's lease (its row already locked and fenced): the suspended states, epoch
-- + 1, the attempt interrupted (the lease end of suspensions/suspend_write.sql). Returns what the
-- lease event needs.
-- $1 partition_key
-- $2 execution_id
-- $3..$7 states
-- $8 now_ms
UPDATE ff_exec_core SET lifecycle_phase = $3, ownership_state = $4, eligibility_state = $5,
    attempt_state = $6, public_state = $7, lease_epoch = lease_epoch + 1, lease_expires_at_ms = NULL,
    interrupt_reason = 'suspended', updated_at_ms = $8
WHERE partition_key = $1 AND execution_id = $2
RETURNING namespace, lease_id, lease_epoch
