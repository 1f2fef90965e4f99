-- A lease event in the outbox of the node that runs the call (a statement of its own: event tables
-- are node-local on a Citus cluster; see leases/end_lease_row.sql).
-- $1 partition_key
-- $2 execution_ref
-- $3 namespace
-- $4 now_ms
-- $5 lease_id
-- $6 lease_epoch
-- $7 event_type
INSERT INTO ff_lease_event (partition_key, execution_id, namespace, occurred_at_ms, lease_id, lease_epoch, event_type)
VALUES ($1, $2, $3, $4, $5, $6, $7)
