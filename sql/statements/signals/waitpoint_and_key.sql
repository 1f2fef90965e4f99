-- Before the lock: whether the waitpoint exists, and the key the presented token names (none for
-- the operator path), in one statement.
-- $1 partition_key
-- $2 execution_id
-- $3 waitpoint_id
-- $4 kid
SELECT w.waitpoint_id, k.kid, k.secret, k.active, k.expires_at_ms
FROM (SELECT 1) one
LEFT JOIN ff_waitpoint w ON w.partition_key = $1 AND w.execution_id = $2 AND w.waitpoint_id = $3
LEFT JOIN ff_keystore k ON k.kid = $4
