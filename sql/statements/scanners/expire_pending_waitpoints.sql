-- Close pending waitpoints past their expiry (close reason never_committed).
-- $1 now_ms
-- $2 max_rows
-- $3..$6 filter (namespace, tag_key, tag_value, partitions: store::scanners::ScanFilter)
WITH due AS (
    SELECT p.partition_key, p.execution_id, p.waitpoint_id FROM ff_waitpoint p
    WHERE p.state = 'pending' AND p.expires_at_ms <= $1 AND ($6::smallint[] IS NULL OR p.partition_key = ANY($6))
      AND ($3::text IS NULL AND $4::text IS NULL OR EXISTS (
            SELECT 1 FROM ff_exec_core x WHERE x.partition_key = p.partition_key AND x.execution_id = p.execution_id
              AND ($3::text IS NULL OR x.namespace = $3) AND ($4::text IS NULL OR x.tags ->> $4 = $5)))
    ORDER BY expires_at_ms LIMIT $2 FOR UPDATE SKIP LOCKED)
UPDATE ff_waitpoint w SET state = 'closed', closed_at_ms = $1, close_reason = 'never_committed'
FROM due WHERE w.partition_key = due.partition_key AND w.execution_id = due.execution_id
  AND w.waitpoint_id = due.waitpoint_id AND w.state = 'pending' AND ($6::smallint[] IS NULL OR w.partition_key = ANY($6))
RETURNING 1 AS processed
