-- Open suspensions whose timeout has passed, soonest first.
-- $1 now_ms
-- $2 max_rows
SELECT partition_key, execution_id FROM ff_suspension WHERE state = 'open' AND timeout_at_ms <= $1
ORDER BY timeout_at_ms LIMIT $2
