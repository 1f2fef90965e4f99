-- Remember the first signal of an idempotency key until its TTL.
-- $1 partition_key
-- $2 execution_id
-- $3 waitpoint_id
-- $4 idempotency_key
-- $5 signal_id
-- $6 expires_at_ms
INSERT INTO ff_signal_dedup (partition_key, execution_id, waitpoint_id, idempotency_key, signal_id, expires_at_ms)
VALUES ($1, $2, $3, $4, $5, $6)
ON CONFLICT (partition_key, execution_id, waitpoint_id, idempotency_key)
DO UPDATE SET signal_id = EXCLUDED.signal_id, expires_at_ms = EXCLUDED.expires_at_ms
