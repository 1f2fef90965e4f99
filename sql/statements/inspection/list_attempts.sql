-- The attempts of one execution, oldest first (a resumed attempt keeps its row).
-- $1 partition_key
-- $2 execution_id
SELECT attempt_index, attempt_id, worker_id, worker_instance_id, started_at_ms, ended_at_ms, outcome,
       error_message
FROM ff_attempt WHERE partition_key = $1 AND execution_id = $2
ORDER BY attempt_index
