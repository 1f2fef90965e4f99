-- Revoke a locked execution's lease at once: epoch + 1 (the old holder's fence is dead), the attempt
-- is interrupted (lease_revoked) and waits for a claimer, which re-leases it. Records the lease event
-- `revoked` and the operator event.
-- $1 partition_key smallint
-- $2 execution_id uuid
-- $3..$7 states text
-- $8 now_ms bigint
-- $9 execution_ref text
-- $10 reason text
WITH upd AS (
    UPDATE ff_exec_core SET lifecycle_phase = $3, ownership_state = $4, eligibility_state = $5,
        attempt_state = $6, public_state = $7, lease_epoch = lease_epoch + 1, lease_expires_at_ms = NULL,
        interrupt_reason = 'lease_revoked', eligible_at_ms = NULL, updated_at_ms = $8
    WHERE partition_key = $1 AND execution_id = $2
    RETURNING partition_key, namespace, lease_id, lease_epoch),
le AS (
    INSERT INTO ff_lease_event (partition_key, execution_id, namespace, occurred_at_ms, lease_id, lease_epoch, event_type)
    SELECT partition_key, $9, namespace, $8, lease_id, lease_epoch, 'revoked' FROM upd)
INSERT INTO ff_operator_event (partition_key, execution_id, namespace, occurred_at_ms, action, actor, reason, detail)
SELECT partition_key, $9, namespace, $8, 'lease_revoked', session_user, $10,
       jsonb_build_object('lease_epoch', lease_epoch) FROM upd
