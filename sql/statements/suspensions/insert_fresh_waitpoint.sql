-- Record one fresh waitpoint of a suspension, active at once (as suspensions/suspend_write.sql does
-- for all of them; one row by VALUES, which Citus routes to the partition's shard where it sends an
-- INSERT ... SELECT through the coordinator to every shard). Nothing when its id is taken.
-- $1 partition_key
-- $2 execution_id
-- $3 waitpoint_id
-- $4 waitpoint_key
-- $5 suspension_id
-- $6 token_kid
-- $7 token_fingerprint
-- $8 required_signal_names
-- $9 now_ms
-- $10 expires_at_ms
INSERT INTO ff_waitpoint (partition_key, execution_id, waitpoint_id, waitpoint_key, suspension_id, state,
    token_kid, token_fingerprint, required_signal_names, created_at_ms, activated_at_ms, expires_at_ms)
VALUES ($1, $2, $3, $4, $5, 'active', $6, $7, $8, $9, $9, $10)
ON CONFLICT DO NOTHING
