-- Delete signal dedup rows past their TTL.
-- $1 now_ms
-- $2 max_rows
DELETE FROM ff_signal_dedup WHERE ctid IN (SELECT ctid FROM ff_signal_dedup WHERE expires_at_ms <= $1
    ORDER BY expires_at_ms LIMIT $2 FOR UPDATE SKIP LOCKED)
RETURNING 1 AS processed
