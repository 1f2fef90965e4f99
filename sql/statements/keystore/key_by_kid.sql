-- The key stored under a kid, if any.
-- $1 kid
SELECT k.kid, k.secret, k.active, k.expires_at_ms FROM ff_keystore k WHERE k.kid = $1
