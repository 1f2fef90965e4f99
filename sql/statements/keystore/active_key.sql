-- The active signing key, if any.
SELECT k.kid, k.secret, k.active, k.expires_at_ms FROM ff_keystore k WHERE k.active
