-- Remember a usage report's dedup key; no row when it was seen before.
-- $1 partition_key smallint
-- $2 execution_id uuid
-- $3 dedup_key text
-- $4 now_ms bigint
-- returns dedup_key text
INSERT INTO ff_usage_dedup (partition_key, execution_id, dedup_key, created_at_ms) VALUES ($1, $2, $3, $4)
ON CONFLICT DO NOTHING RETURNING dedup_key
