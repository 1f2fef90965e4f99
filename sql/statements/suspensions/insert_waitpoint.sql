-- Create a pending waitpoint (signals to it are buffered until a suspend binds it).
-- $1 partition_key
-- $2 execution_id
-- $3 waitpoint_id
-- $4 waitpoint_key
-- $5 token_kid
-- $6 token_fingerprint
-- $7 now_ms
-- $8 expires_at_ms
INSERT INTO ff_waitpoint (partition_key, execution_id, waitpoint_id, waitpoint_key, suspension_id, state,
    token_kid, token_fingerprint, required_signal_names, created_at_ms, activated_at_ms, expires_at_ms)
VALUES ($1, $2, $3, $4, NULL, 'pending', $5, $6, '{}', $7, NULL, $8)
ON CONFLICT DO NOTHING
RETURNING waitpoint_id
