-- Open suspensions whose timeout has passed, soonest first.
-- $1 now_ms
-- $2 max_rows
-- $3..$6 filter (namespace, tag_key, tag_value, partitions: store::scanners::ScanFilter)
-- $7 scan_from (sql/shared/scan_starts.sql)
SELECT s.partition_key, s.execution_id FROM ff_suspension s WHERE s.state = 'open' AND s.timeout_at_ms <= $1
  AND s.timeout_at_ms >= $7 AND ($6::smallint[] IS NULL OR s.partition_key = ANY($6))
  AND ($3::text IS NULL AND $4::text IS NULL OR EXISTS (
        SELECT 1 FROM ff_exec_core x WHERE x.partition_key = s.partition_key AND x.execution_id = s.execution_id
          AND ($3::text IS NULL OR x.namespace = $3) AND ($4::text IS NULL OR x.tags ->> $4 = $5)))
ORDER BY timeout_at_ms LIMIT $2
