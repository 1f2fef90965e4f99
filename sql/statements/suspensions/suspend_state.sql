-- Everything suspend decides on, read in one statement after the execution row is locked: whether a
-- suspension is open, the stored result of an idempotent replay, the active signing key, and the
-- execution's open waitpoints (one row each, oldest first, then by id: a derived binding reuses the
-- first pending one of its key; a single row of NULLs in those columns when none).
-- The replay is a scalar sub-select, not a join: with no idempotency key its filter folds to false,
-- and Citus routes a statement to one shard only when each distributed table in a join keeps its
-- partition filter (docs/scale-out.md).
-- $1 partition_key
-- $2 execution_id
-- $3 idempotency_key
SELECT EXISTS (SELECT 1 FROM ff_suspension s
               WHERE s.partition_key = $1 AND s.execution_id = $2 AND s.state = 'open') AS already_suspended,
       (SELECT d.result_rows FROM ff_suspend_dedup d
        WHERE d.partition_key = $1 AND d.execution_id = $2 AND d.idempotency_key = $3) AS replay,
       k.kid, k.secret, k.active, k.expires_at_ms,
       w.waitpoint_id, w.waitpoint_key, w.state AS waitpoint_state, w.expires_at_ms AS waitpoint_expires_at_ms,
       w.token_kid
FROM (SELECT 1) one
LEFT JOIN ff_keystore k ON k.active
LEFT JOIN ff_waitpoint w ON w.partition_key = $1 AND w.execution_id = $2 AND w.state <> 'closed'
ORDER BY w.created_at_ms, w.waitpoint_id
