-- ff_engine SQL edition: HMAC-SHA256, constant-time verification, waitpoint tokens and claim grants,
-- on core PostgreSQL only (sha256(bytea), PostgreSQL 11+; gen_random_uuid(), 13+). The wire formats are
-- the Rust edition's (core/src/tokens.rs): a token or grant minted by one edition verifies in the other
-- under the same key.

-- HMAC-SHA256(key, message) = sha256(opad-key || sha256(ipad-key || message)) (RFC 2104), from the
-- key's padded keys (ff_hmac_pads, kept with the key in ff_keystore.hmac_pads): two sha256() calls,
-- written into the caller's expression (a SQL function PostgreSQL inlines).
CREATE FUNCTION ff_hmac_sha256(pads bytea, message bytea) RETURNS bytea
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT sha256(substr(pads, 65) || sha256(substr(pads, 1, 64) || message))
$$;
COMMENT ON FUNCTION ff_hmac_sha256(bytea, bytea) IS 'HMAC-SHA256 on core sha256() from a key''s padded keys (ff_hmac_pads); agrees with pgcrypto''s hmac(m, k, ''sha256'') (internal).';

-- Whether two digests are equal, without an early-exit comparison of a secret-derived value: each is
-- hashed after a fresh random prefix (the 122 random bits of a gen_random_uuid(), which draws from
-- pg_strong_random) and the two hashes are compared. Where the plain compare stops tells an attacker
-- nothing about the digests, since the prefix is new on every call and never leaves the call.
CREATE FUNCTION ff_digest_eq(a bytea, b bytea) RETURNS boolean
LANGUAGE plpgsql VOLATILE STRICT PARALLEL SAFE AS $$
DECLARE
    r bytea := uuid_send(gen_random_uuid());
BEGIN
    RETURN sha256(r || a) = sha256(r || b);
END
$$;
COMMENT ON FUNCTION ff_digest_eq(bytea, bytea) IS 'Digest equality by hashes under a per-call random prefix (no early-exit compare of secret-derived bytes) (internal).';

-- Whether a presented digest is the one expected under a key, without an early-exit comparison of a
-- secret-derived value: each is hashed under the key's padded keys, which an attacker does not know,
-- and the two hashes are compared (a double-HMAC comparison), so where the plain compare stops says
-- nothing about the expected digest. SQL, written into the caller's expression.
CREATE FUNCTION ff_digest_matches(pads bytea, expected bytea, presented bytea) RETURNS boolean
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT sha256(pads || expected) = sha256(pads || presented)
$$;
COMMENT ON FUNCTION ff_digest_matches(bytea, bytea, bytea) IS 'Digest equality by hashes keyed with the key''s padded keys (no early-exit compare of secret-derived bytes) (internal).';

-- The waitpoint token `<kid>:<64 lowercase hex>` over `<kid>:<execution_id>:<waitpoint_id>`. The
-- digest and token functions are STABLE, not IMMUTABLE: convert_to() is STABLE, and PostgreSQL inlines
-- a SQL function only into a body no more volatile than it is declared.
CREATE FUNCTION ff_waitpoint_digest(kid text, pads bytea, execution_id text, waitpoint_id uuid) RETURNS bytea
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT ff_hmac_sha256(pads, convert_to(kid || ':' || execution_id || ':' || waitpoint_id::text, 'UTF8'))
$$;
COMMENT ON FUNCTION ff_waitpoint_digest(text, bytea, text, uuid) IS 'HMAC digest of a waitpoint token (internal).';

CREATE FUNCTION ff_waitpoint_token(kid text, pads bytea, execution_id text, waitpoint_id uuid) RETURNS text
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT kid || ':' || encode(ff_waitpoint_digest(kid, pads, execution_id, waitpoint_id), 'hex')
$$;
COMMENT ON FUNCTION ff_waitpoint_token(text, bytea, text, uuid) IS 'Mint a waitpoint token; never returned but by the functions that hand tokens out (internal).';

-- Whether a token has the shape `<kid>:<64 lowercase hex>`, the kid 1-64 bytes of printable ASCII
-- without ':'. The lengths are checked apart from the regex: with counted repetitions ({1,64},
-- {64}) a match costs about three times as much.
CREATE FUNCTION ff_token_well_formed(token text) RETURNS boolean
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT token ~ '^[!-9;-~]+:[0-9a-f]+$' AND strpos(token, ':') <= 65 AND octet_length(token) - strpos(token, ':') = 64
$$;
COMMENT ON FUNCTION ff_token_well_formed(text) IS 'Whether a waitpoint token is well formed (internal).';

-- A presented token split at its first ':' into (kid, digest); NULL when malformed (the caller raises
-- invalid_token for that and for every other failure alike).
CREATE FUNCTION ff_parse_token(token text) RETURNS TABLE (kid text, digest bytea)
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT split_part(token, ':', 1), decode(substr(token, strpos(token, ':') + 1), 'hex')
    WHERE ff_token_well_formed(token)
$$;
COMMENT ON FUNCTION ff_parse_token(text) IS 'Split a waitpoint token into kid and digest; no row when malformed (internal).';

-- The claim grant key `pg:{fp:N}:<uuid>:<expires_at_ms>:<kid>:<hex>` over
-- `<kid>:{fp:N}|<uuid>|<worker_id>|<worker_instance_id>|<expires_at_ms>`.
CREATE FUNCTION ff_grant_digest(kid text, pads bytea, partition_key smallint, execution_uuid uuid, worker_id text,
                                worker_instance_id text, expires_at_ms bigint) RETURNS bytea
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT ff_hmac_sha256(pads, convert_to(
        kid || ':{fp:' || partition_key || '}|' || execution_uuid::text || '|' || worker_id || '|' || worker_instance_id
        || '|' || expires_at_ms, 'UTF8'))
$$;
COMMENT ON FUNCTION ff_grant_digest(text, bytea, smallint, uuid, text, text, bigint) IS 'HMAC digest of a claim grant (internal).';

CREATE FUNCTION ff_grant_key(kid text, pads bytea, partition_key smallint, execution_uuid uuid, worker_id text,
                             worker_instance_id text, expires_at_ms bigint) RETURNS text
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT 'pg:{fp:' || partition_key || '}:' || execution_uuid::text || ':' || expires_at_ms || ':' || kid || ':'
        || encode(ff_grant_digest(kid, pads, partition_key, execution_uuid, worker_id, worker_instance_id, expires_at_ms), 'hex')
$$;
COMMENT ON FUNCTION ff_grant_key(text, bytea, smallint, uuid, text, text, bigint) IS 'Mint a claim grant key (internal).';

-- A grant key split into its fields; no row when malformed (invalid_claim_grant for all failures).
CREATE FUNCTION ff_parse_grant_key(grant_key text)
RETURNS TABLE (partition_key smallint, execution_uuid uuid, expires_at_ms bigint, kid text, digest bytea)
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    -- Checked by one match without capture groups (with them a match costs 90 us, without 7), then
    -- split at ':' (a kid holds none). g is the key when well-formed, else NULL: nested CASEs, since the
    -- planner folds the casts of a constant key whatever a WHERE says.
    SELECT rtrim(split_part(g, ':', 3), '}')::smallint, split_part(g, ':', 4)::uuid, split_part(g, ':', 5)::bigint,
           split_part(g, ':', 6), decode(split_part(g, ':', 7), 'hex')
    FROM (SELECT CASE WHEN length(grant_key) <= 512 AND grant_key ~
                           '^pg:\{fp:(?:0|[1-9][0-9]{0,2})\}:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}:[0-9]{1,19}:[\x21-\x39\x3b-\x7e]{1,64}:[0-9a-f]{64}$'
                      THEN CASE WHEN rtrim(split_part(grant_key, ':', 3), '}')::integer < 256
                                     AND split_part(grant_key, ':', 5)::numeric <= 9223372036854775807 THEN grant_key END
                 END AS g) v
    WHERE g IS NOT NULL
$$;
COMMENT ON FUNCTION ff_parse_grant_key(text) IS 'Split a claim grant key into its fields; no row when malformed (internal).';

-- Secrets generated in the database: 32 bytes, 244 random bits (two gen_random_uuid(), 122 random bits
-- each, from pg_strong_random), or 256 from pgcrypto's gen_random_bytes where pgcrypto is installed.
CREATE FUNCTION ff_generate_secret() RETURNS bytea
LANGUAGE plpgsql VOLATILE PARALLEL SAFE AS $$
BEGIN
    IF to_regproc('gen_random_bytes') IS NOT NULL THEN
        RETURN gen_random_bytes(32);
    END IF;
    RETURN uuid_send(gen_random_uuid()) || uuid_send(gen_random_uuid());
END
$$;
COMMENT ON FUNCTION ff_generate_secret() IS 'A 32-byte HMAC secret from a cryptographic source (internal).';
