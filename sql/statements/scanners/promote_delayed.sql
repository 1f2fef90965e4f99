-- Promote delayed executions whose time has come to eligible_now, oldest first; one row per
-- execution promoted, with its lane (whose sleeping workers are woken), priority and queue_seq (the
-- SQL edition lowers their claim starts, sql/edition/claim_starts.sql).
-- $1 now_ms
-- $2 max_rows
-- $3..$6 filter (namespace, tag_key, tag_value, partitions: store::scanners::ScanFilter)
-- $7 scan_from (sql/shared/scan_starts.sql)
WITH due AS (
    SELECT partition_key, execution_id FROM ff_exec_core
    WHERE eligibility_state = 'not_eligible_until_time' AND eligible_at_ms <= $1 AND eligible_at_ms >= $7
      AND ($3::text IS NULL OR namespace = $3) AND ($4::text IS NULL OR tags ->> $4 = $5)
      AND ($6::smallint[] IS NULL OR partition_key = ANY($6))
    ORDER BY eligible_at_ms LIMIT $2 FOR UPDATE SKIP LOCKED)
UPDATE ff_exec_core e SET eligibility_state = 'eligible_now', public_state = 'waiting',
       eligible_at_ms = NULL, updated_at_ms = $1
FROM due WHERE e.partition_key = due.partition_key AND e.execution_id = due.execution_id AND ($6::smallint[] IS NULL OR e.partition_key = ANY($6))
  -- Written so that it implies nothing about ff_exec_core_delayed: the update reaches its rows by the
  -- primary key from `due`, never by walking that index from its head.
  AND e.lifecycle_phase = 'runnable' AND e.eligibility_state || '' = 'not_eligible_until_time' AND e.eligible_at_ms <= $1
RETURNING e.lane_id, e.priority, e.queue_seq
