-- Reap retired keys past their grace window, except the one just retired.
-- $1 now_ms
-- $2 keep_kid
DELETE FROM ff_keystore WHERE NOT active AND expires_at_ms <= $1 AND kid IS DISTINCT FROM $2 RETURNING kid
