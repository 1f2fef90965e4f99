-- Delete expired, unconsumed claim grants and release their reservations.
-- $1 now_ms
-- $2 max_rows
-- $3..$6 filter (namespace, tag_key, tag_value, partitions: store::scanners::ScanFilter)
WITH d AS (
    DELETE FROM ff_claim_grant WHERE ctid IN (SELECT ctid FROM ff_claim_grant g WHERE g.expires_at_ms <= $1 AND ($6::smallint[] IS NULL OR g.partition_key = ANY($6))
        AND ($3::text IS NULL AND $4::text IS NULL OR EXISTS (
              SELECT 1 FROM ff_exec_core x WHERE x.partition_key = g.partition_key AND x.execution_id = g.execution_id
                AND ($3::text IS NULL OR x.namespace = $3) AND ($4::text IS NULL OR x.tags ->> $4 = $5)))
        ORDER BY expires_at_ms LIMIT $2 FOR UPDATE SKIP LOCKED) AND expires_at_ms <= $1 AND ($6::smallint[] IS NULL OR partition_key = ANY($6))
    RETURNING partition_key, execution_id),
r AS (
    UPDATE ff_exec_core e SET reserved_until_ms = NULL FROM d
    WHERE e.partition_key = d.partition_key AND e.execution_id = d.execution_id AND e.reserved_until_ms <= $1
      AND ($6::smallint[] IS NULL OR e.partition_key = ANY($6)))
SELECT 1 AS processed FROM d
