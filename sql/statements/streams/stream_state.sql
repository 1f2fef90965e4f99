-- An execution's stream: its last seq and totals (no row before its first frame). The caller holds the execution's
-- row lock, so nobody appends meanwhile.
-- $1 partition_key smallint
-- $2 execution_id uuid
-- returns last_seq bigint, frame_count bigint, total_bytes bigint
SELECT t.last_seq, t.frame_count, t.total_bytes FROM ff_stream t WHERE t.partition_key = $1 AND t.execution_id = $2
