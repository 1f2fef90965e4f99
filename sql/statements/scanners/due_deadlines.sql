-- Executions past their deadline that are not terminal yet (ff_exec_core_deadline), soonest first,
-- locked; a row another session holds is left for the next run.
-- $1 now_ms
-- $2 max_rows
SELECT partition_key, execution_id, ownership_state
FROM ff_exec_core
WHERE deadline_at_ms IS NOT NULL AND deadline_at_ms <= $1 AND lifecycle_phase <> 'terminal'
ORDER BY deadline_at_ms
LIMIT $2
FOR UPDATE SKIP LOCKED
