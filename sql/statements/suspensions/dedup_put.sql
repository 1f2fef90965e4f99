-- Store a suspend's result rows under its idempotency key.
-- $1 partition_key
-- $2 execution_id
-- $3 idempotency_key
-- $4 result_rows
-- $5 expires_at_ms
INSERT INTO ff_suspend_dedup (partition_key, execution_id, idempotency_key, result_rows, expires_at_ms)
VALUES ($1, $2, $3, $4, $5)
ON CONFLICT (partition_key, execution_id, idempotency_key)
DO UPDATE SET result_rows = EXCLUDED.result_rows, expires_at_ms = EXCLUDED.expires_at_ms
