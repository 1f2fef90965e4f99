-- Delete suspend dedup rows past their TTL.
-- $1 now_ms
-- $2 max_rows
-- $3..$6 filter (namespace, tag_key, tag_value, partitions: store::scanners::ScanFilter)
DELETE FROM ff_suspend_dedup WHERE ctid IN (SELECT ctid FROM ff_suspend_dedup k WHERE k.expires_at_ms <= $1 AND ($6::smallint[] IS NULL OR k.partition_key = ANY($6))
    AND ($3::text IS NULL AND $4::text IS NULL OR EXISTS (
          SELECT 1 FROM ff_exec_core x WHERE x.partition_key = k.partition_key AND x.execution_id = k.execution_id
            AND ($3::text IS NULL OR x.namespace = $3) AND ($4::text IS NULL OR x.tags ->> $4 = $5)))
    ORDER BY expires_at_ms LIMIT $2 FOR UPDATE SKIP LOCKED)
    AND ($6::smallint[] IS NULL OR partition_key = ANY($6))
RETURNING 1 AS processed
