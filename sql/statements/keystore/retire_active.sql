-- Retire the active key: it verifies for grace_ms more, then GC may reap it.
-- $1 now_ms
-- $2 grace_ms
UPDATE ff_keystore SET active = false, rotated_at_ms = $1, expires_at_ms = $1 + $2 WHERE active RETURNING kid
