-- A signal event in the outbox of the node that runs the call (see events/lease_event.sql).
-- $1 partition_key
-- $2 execution_ref
-- $3 namespace
-- $4 now_ms
-- $5 signal_id
-- $6 waitpoint_id
-- $7 signal_name
-- $8 source_type
-- $9 source_identity
-- $10 effect
INSERT INTO ff_signal_event (partition_key, execution_id, namespace, occurred_at_ms, signal_id, waitpoint_id,
    signal_name, source_type, source_identity, effect)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
