-- Under the lock: the suspension is still open and due (a signal may have won the race), with its
-- timeout behaviour and its primary waitpoint (for the synthetic timeout signal).
-- $1 partition_key
-- $2 execution_id
-- $3 now_ms
SELECT s.suspension_id, s.timeout_behavior, w.waitpoint_id, w.waitpoint_key
FROM ff_suspension s
LEFT JOIN LATERAL (
    SELECT waitpoint_id, waitpoint_key FROM ff_waitpoint w
    WHERE w.partition_key = s.partition_key AND w.execution_id = s.execution_id AND w.suspension_id = s.suspension_id
    ORDER BY activated_at_ms, waitpoint_id LIMIT 1) w ON true
WHERE s.partition_key = $1 AND s.execution_id = $2 AND s.state = 'open' AND s.timeout_at_ms <= $3
