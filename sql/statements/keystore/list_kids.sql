-- The stored keys, oldest first; never their secrets.
SELECT kid, active, created_at_ms, rotated_at_ms, expires_at_ms FROM ff_keystore ORDER BY created_at_ms, kid
