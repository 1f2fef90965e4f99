-- Open suspensions, keyset-paginated by execution.
-- $1 after_partition_key
-- $2 after_execution_id
-- $3 max_rows
SELECT s.partition_key, s.execution_id, e.lane_id, s.suspension_id, s.suspended_at_ms, s.timeout_at_ms,
       s.reason_code, s.timeout_behavior
FROM ff_suspension s JOIN ff_exec_core e ON e.partition_key = s.partition_key AND e.execution_id = s.execution_id
WHERE s.state = 'open' AND ($1::smallint IS NULL OR (s.partition_key, s.execution_id) > ($1, $2))
ORDER BY s.partition_key, s.execution_id LIMIT $3
