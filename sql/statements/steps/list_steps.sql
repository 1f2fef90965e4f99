-- The steps of an execution in write order, and whether the execution exists (a row with NULL step
-- columns when it has none).
-- $1 partition_key smallint
-- $2 execution_id uuid
-- returns step_name text, value bytea, attempt_index integer, stored_at_ms bigint
SELECT s.step_name, s.value, s.attempt_index, s.stored_at_ms
FROM ff_exec_core e
LEFT JOIN ff_step s ON s.partition_key = e.partition_key AND s.execution_id = e.execution_id
WHERE e.partition_key = $1 AND e.execution_id = $2
ORDER BY s.step_seq
