-- Close pending waitpoints past their expiry (close reason never_committed).
-- $1 now_ms
-- $2 max_rows
WITH due AS (
    SELECT partition_key, execution_id, waitpoint_id FROM ff_waitpoint
    WHERE state = 'pending' AND expires_at_ms <= $1 ORDER BY expires_at_ms LIMIT $2 FOR UPDATE SKIP LOCKED)
UPDATE ff_waitpoint w SET state = 'closed', closed_at_ms = $1, close_reason = 'never_committed'
FROM due WHERE w.partition_key = due.partition_key AND w.execution_id = due.execution_id
  AND w.waitpoint_id = due.waitpoint_id AND w.state = 'pending'
RETURNING 1 AS processed
