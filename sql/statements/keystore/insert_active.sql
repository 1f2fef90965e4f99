-- Store a new key as the active signing key.
-- $1 kid
-- $2 secret
-- $3 now_ms
INSERT INTO ff_keystore (kid, secret, created_at_ms, active) VALUES ($1, $2, $3, true)
