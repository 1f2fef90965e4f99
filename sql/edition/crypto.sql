-- ff_engine SQL edition: HMAC-SHA256, constant-time verification, waitpoint tokens and claim grants,
-- on core PostgreSQL only (sha256(bytea), PostgreSQL 11+; gen_random_uuid(), 13+). The wire formats are
-- the Rust edition's (core/src/tokens.rs): a token or grant minted by one edition verifies in the other
-- under the same key (issue #20).

-- The 64-byte HMAC block of `key` XOR-ed with the repeated pad byte (`pad`: '36' inner, '5c' outer),
-- as one 512-bit XOR: keys longer than the block are hashed first (RFC 2104). The crypto functions are
-- single expressions without STRICT, so PostgreSQL inlines them into their callers' plans (a SQL
-- function that is not inlined is planned anew on every call: 0.1 ms per HMAC, measured).
CREATE FUNCTION ff_hmac_pad(key bytea, pad text) RETURNS bytea
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT substr(varbit_send(('x' || rpad(encode(CASE WHEN length(key) > 64 THEN sha256(key) ELSE key END, 'hex'), 128, '0'))::bit(512)
                              # ('x' || repeat(pad, 64))::bit(512)), 5)
$$;
COMMENT ON FUNCTION ff_hmac_pad(bytea, text) IS 'HMAC-SHA256 key block XOR pad (internal).';

-- HMAC-SHA256(key, message) = sha256(opad-key || sha256(ipad-key || message)).
CREATE FUNCTION ff_hmac_sha256(key bytea, message bytea) RETURNS bytea
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT sha256(ff_hmac_pad(key, '5c') || sha256(ff_hmac_pad(key, '36') || message))
$$;
COMMENT ON FUNCTION ff_hmac_sha256(bytea, bytea) IS 'HMAC-SHA256 on core sha256(); agrees with pgcrypto''s hmac(m, k, ''sha256'') (internal).';

-- Whether two digests are equal, without an early-exit comparison of a secret-derived value: each is
-- HMAC-ed under a fresh random key (122 random bits of gen_random_uuid(), which draws from
-- pg_strong_random) and the two HMACs are compared. Where the plain compare stops tells an attacker
-- nothing about the digests, since the key is new on every call and never leaves the call.
CREATE FUNCTION ff_digest_eq(a bytea, b bytea) RETURNS boolean
LANGUAGE plpgsql VOLATILE STRICT PARALLEL SAFE AS $$
DECLARE
    r bytea := uuid_send(gen_random_uuid()) || uuid_send(gen_random_uuid());
BEGIN
    RETURN ff_hmac_sha256(r, a) = ff_hmac_sha256(r, b);
END
$$;
COMMENT ON FUNCTION ff_digest_eq(bytea, bytea) IS 'Digest equality by double HMAC under a per-call random key (no early-exit compare of secret-derived bytes) (internal).';

-- The waitpoint token `<kid>:<64 lowercase hex>` over `<kid>:<execution_id>:<waitpoint_id>`.
CREATE FUNCTION ff_waitpoint_digest(kid text, secret bytea, execution_id text, waitpoint_id uuid) RETURNS bytea
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT ff_hmac_sha256(secret, convert_to(kid || ':' || execution_id || ':' || waitpoint_id::text, 'UTF8'))
$$;
COMMENT ON FUNCTION ff_waitpoint_digest(text, bytea, text, uuid) IS 'HMAC digest of a waitpoint token (internal).';

CREATE FUNCTION ff_waitpoint_token(kid text, secret bytea, execution_id text, waitpoint_id uuid) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT kid || ':' || encode(ff_waitpoint_digest(kid, secret, execution_id, waitpoint_id), 'hex')
$$;
COMMENT ON FUNCTION ff_waitpoint_token(text, bytea, text, uuid) IS 'Mint a waitpoint token; never returned but by the functions that hand tokens out (internal).';

-- A presented token split at its first ':' into (kid, digest); NULL when malformed (the caller raises
-- invalid_token for that and for every other failure alike).
CREATE FUNCTION ff_parse_token(token text) RETURNS TABLE (kid text, digest bytea)
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT split_part(token, ':', 1), decode(substr(token, strpos(token, ':') + 1), 'hex')
    WHERE token ~ '^[\x21-\x39\x3b-\x7e]{1,64}:[0-9a-f]{64}$'
$$;
COMMENT ON FUNCTION ff_parse_token(text) IS 'Split a waitpoint token into kid and digest; no row when malformed (internal).';

-- The claim grant key `pg:{fp:N}:<uuid>:<expires_at_ms>:<kid>:<hex>` over
-- `<kid>:{fp:N}|<uuid>|<worker_id>|<worker_instance_id>|<expires_at_ms>`.
CREATE FUNCTION ff_grant_digest(kid text, secret bytea, partition_key smallint, execution_uuid uuid, worker_id text,
                                worker_instance_id text, expires_at_ms bigint) RETURNS bytea
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT ff_hmac_sha256(secret, convert_to(
        kid || ':{fp:' || partition_key || '}|' || execution_uuid::text || '|' || worker_id || '|' || worker_instance_id
        || '|' || expires_at_ms, 'UTF8'))
$$;
COMMENT ON FUNCTION ff_grant_digest(text, bytea, smallint, uuid, text, text, bigint) IS 'HMAC digest of a claim grant (internal).';

CREATE FUNCTION ff_grant_key(kid text, secret bytea, partition_key smallint, execution_uuid uuid, worker_id text,
                             worker_instance_id text, expires_at_ms bigint) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT 'pg:{fp:' || partition_key || '}:' || execution_uuid::text || ':' || expires_at_ms || ':' || kid || ':'
        || encode(ff_grant_digest(kid, secret, partition_key, execution_uuid, worker_id, worker_instance_id, expires_at_ms), 'hex')
$$;
COMMENT ON FUNCTION ff_grant_key(text, bytea, smallint, uuid, text, text, bigint) IS 'Mint a claim grant key (internal).';

-- A grant key split into its fields; no row when malformed (invalid_claim_grant for all failures).
CREATE FUNCTION ff_parse_grant_key(grant_key text)
RETURNS TABLE (partition_key smallint, execution_uuid uuid, expires_at_ms bigint, kid text, digest bytea)
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT m[1]::smallint, m[2]::uuid, m[3]::bigint, m[4], decode(m[5], 'hex')
    FROM regexp_match(grant_key,
        '^pg:\{fp:(0|[1-9][0-9]{0,2})\}:([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}):([0-9]{1,19}):([\x21-\x39\x3b-\x7e]{1,64}):([0-9a-f]{64})$') AS m
    WHERE length(grant_key) <= 512 AND m[1]::int < 256 AND m[3]::numeric <= 9223372036854775807
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
