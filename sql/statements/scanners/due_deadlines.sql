-- Deadlines that have passed, soonest first, with their executions locked (a row another session
-- holds is left for the next run); the deadline rows are deleted in the same statement. The caller
-- expires the executions still running.
-- $1 now_ms
-- $2 max_rows
-- $3..$6 filter (namespace, tag_key, tag_value, partitions: store::scanners::ScanFilter)
-- $7 scan_from (sql/shared/scan_starts.sql)
WITH due AS (
    SELECT d.partition_key, d.execution_id, e.lifecycle_phase, e.ownership_state
    FROM ff_deadline d
    JOIN ff_exec_core e ON e.partition_key = d.partition_key AND e.execution_id = d.execution_id
    WHERE d.deadline_at_ms <= $1 AND d.deadline_at_ms >= $7
      AND ($3::text IS NULL OR e.namespace = $3) AND ($4::text IS NULL OR e.tags ->> $4 = $5)
      AND ($6::smallint[] IS NULL OR d.partition_key = ANY($6) AND e.partition_key = ANY($6))
    ORDER BY d.deadline_at_ms
    LIMIT $2
    FOR UPDATE OF e SKIP LOCKED),
gone AS (
    DELETE FROM ff_deadline x USING due WHERE x.partition_key = due.partition_key AND x.execution_id = due.execution_id
      AND ($6::smallint[] IS NULL OR x.partition_key = ANY($6)))
SELECT partition_key, execution_id, lifecycle_phase, ownership_state FROM due
