-- Extend the current lease (the caller checked the fence under the row lock) and write the lease
-- event `renewed`.
-- $1 partition_key
-- $2 execution_id
-- $3 lease_expires_at_ms
-- $4 now_ms
-- $5 execution_ref
WITH upd AS (
    UPDATE ff_exec_core SET lease_expires_at_ms = $3, updated_at_ms = $4
    WHERE partition_key = $1 AND execution_id = $2
    RETURNING partition_key, namespace, lease_id, lease_epoch)
INSERT INTO ff_lease_event (partition_key, execution_id, namespace, occurred_at_ms, lease_id, lease_epoch, event_type)
SELECT partition_key, $5, namespace, $4, lease_id, lease_epoch, 'renewed' FROM upd
RETURNING lease_epoch
