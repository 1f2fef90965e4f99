-- The attempts of one execution, oldest first (a resumed attempt keeps its row), with why each failed:
-- failure_class and the caller's failure_detail (ff_fail), infra_crash for a lease that expired,
-- cancelled or timeout for one a cancellation or a timeout ended.
-- $1 partition_key smallint
-- $2 execution_id uuid
-- returns attempt_index integer, attempt_id uuid, worker_id text, worker_instance_id text, started_at_ms bigint, ended_at_ms bigint, outcome text, error_message text, failure_class text, failure_detail bytea
SELECT attempt_index, attempt_id, worker_id, worker_instance_id, started_at_ms, ended_at_ms, outcome,
       error_message, failure_class::text AS failure_class, failure_detail
FROM ff_attempt WHERE partition_key = $1 AND execution_id = $2
ORDER BY attempt_index
