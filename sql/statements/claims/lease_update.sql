-- Fragment of lease (see lease_head.sql): the new lease on the execution row.
upd AS (
    UPDATE ff_exec_core SET lifecycle_phase = $13, ownership_state = $14, eligibility_state = $15,
        attempt_state = $16, public_state = $17, attempt_index = $3, current_attempt_id = $4, lease_id = $5,
        lease_epoch = lease_epoch + 1, lease_expires_at_ms = $6, lease_worker_id = $7,
        lease_worker_instance_id = $8, interrupt_reason = NULL, eligible_at_ms = NULL,
        reserved_until_ms = NULL, updated_at_ms = $9
    WHERE partition_key = $1 AND execution_id = $2
    RETURNING partition_key, namespace, lease_epoch, payload),
