-- Delete retired HMAC keys past their grace window.
-- $1 now_ms
-- $2 max_rows
-- $3..$6 filter (keys belong to no execution: a filtered tick does not run this task; unused)
DELETE FROM ff_keystore WHERE kid IN (SELECT kid FROM ff_keystore WHERE NOT active AND expires_at_ms <= $1
    ORDER BY expires_at_ms LIMIT $2 FOR UPDATE SKIP LOCKED)
RETURNING 1 AS processed
