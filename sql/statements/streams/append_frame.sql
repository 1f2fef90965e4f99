-- Append a frame at seq (checked by the caller against the stream's state under the row lock) and
-- advance the stream's totals. Returns the frame's seq.
-- $1 partition_key smallint
-- $2 execution_id uuid
-- $3 seq bigint
-- $4 frame_kind text
-- $5 bytes bytea
-- $6 attempt_index integer
-- $7 now_ms bigint
-- returns seq bigint
WITH st AS (
    INSERT INTO ff_stream AS t (partition_key, execution_id, last_seq, frame_count, total_bytes)
    VALUES ($1, $2, $3, 1, octet_length($5))
    ON CONFLICT (partition_key, execution_id) DO UPDATE
        SET last_seq = $3, frame_count = t.frame_count + 1, total_bytes = t.total_bytes + octet_length($5)
    RETURNING t.last_seq)
INSERT INTO ff_frame (partition_key, execution_id, seq, frame_kind, bytes, attempt_index, appended_at_ms)
SELECT $1, $2, st.last_seq, $4, $5, $6, $7 FROM st
RETURNING ff_frame.seq
