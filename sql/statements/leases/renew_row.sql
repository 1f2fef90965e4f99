-- Extend a lease on the execution's row (leases/renew.sql's update as a statement of its own: both
-- editions' renewal writes one table per statement, with events/lease_event.sql). Returns what the
-- lease event needs.
-- $1 partition_key
-- $2 execution_id
-- $3 lease_expires_at_ms
-- $4 now_ms
UPDATE ff_exec_core SET lease_expires_at_ms = $3, updated_at_ms = $4
WHERE partition_key = $1 AND execution_id = $2
RETURNING namespace, lease_id, lease_epoch
