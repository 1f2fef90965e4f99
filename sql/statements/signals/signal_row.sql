-- Record an accepted signal's row (the first part of signals/record.sql and
-- signals/record_and_resume.sql, which 0.1.0's schema runs whole; a delivery writes one table per
-- statement: see leases/end_lease_row.sql). Returns its seq.
-- $1 partition_key
-- $2 execution_id
-- $3 signal_id
-- $4 waitpoint_id
-- $5 waitpoint_key
-- $6 suspension_id
-- $7 signal_name
-- $8 signal_category
-- $9 source_type
-- $10 source_identity
-- $11 correlation_id
-- $12 idempotency_key
-- $13 payload
-- $14 effect
-- $15 now_ms
INSERT INTO ff_signal (partition_key, execution_id, signal_id, waitpoint_id, waitpoint_key, suspension_id,
    signal_name, signal_category, source_type, source_identity, correlation_id, idempotency_key, payload,
    effect, accepted_at_ms)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)
RETURNING signal_seq
