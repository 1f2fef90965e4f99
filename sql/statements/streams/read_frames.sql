-- An execution's frames after after_seq in seq order, at most max_rows, and whether the execution
-- exists (a row with NULL frame columns when it has no such frame).
-- $1 partition_key smallint
-- $2 execution_id uuid
-- $3 after_seq bigint
-- $4 max_rows bigint
-- returns seq bigint, frame_kind text, bytes bytea, attempt_index integer, appended_at_ms bigint
SELECT f.seq, f.frame_kind::text AS frame_kind, f.bytes, f.attempt_index, f.appended_at_ms
FROM ff_exec_core e
LEFT JOIN LATERAL (
    SELECT * FROM ff_frame x
    WHERE x.partition_key = e.partition_key AND x.execution_id = e.execution_id AND x.seq > $3
    ORDER BY x.seq LIMIT $4) f ON true
WHERE e.partition_key = $1 AND e.execution_id = $2
ORDER BY f.seq
