-- ff_engine SQL edition: the HMAC keystore (docs/semantics.md §4): ff_seed_hmac, ff_rotate_hmac,
-- ff_hmac_kids. Same checks, outcomes, errors and rows as the Rust edition (src/store/keystore.rs,
-- core/src/keys.rs). Secrets are read only inside these SECURITY DEFINER functions and never returned.

-- kid: 1-64 printable ASCII bytes without space or ':'.
CREATE FUNCTION ff_check_kid(kid text) RETURNS void
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
BEGIN
    IF kid !~ '^[\x21-\x39\x3b-\x7e]{1,64}$' THEN
        PERFORM ff_invalid('invalid_kid', 'kid must be 1-64 printable ASCII bytes without space or '':''');
    END IF;
END
$$;
COMMENT ON FUNCTION ff_check_kid(text) IS 'WF001 invalid_kid unless a valid kid (internal).';

-- A secret given as hex: even length, only hex digits, 32-64 bytes. The message never echoes it.
CREATE FUNCTION ff_parse_secret_hex(secret_hex text) RETURNS bytea
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
BEGIN
    IF length(secret_hex) % 2 <> 0 THEN
        PERFORM ff_invalid('invalid_secret', 'secret_hex must have an even number of hex digits');
    END IF;
    IF secret_hex !~ '^[0-9a-fA-F]*$' THEN
        PERFORM ff_invalid('invalid_secret', 'secret_hex must contain only hex digits');
    END IF;
    IF length(secret_hex) / 2 NOT BETWEEN 32 AND 64 THEN
        PERFORM ff_invalid('invalid_secret', 'secret_hex must be 32 to 64 bytes (64 to 128 hex digits)');
    END IF;
    RETURN decode(secret_hex, 'hex');
END
$$;
COMMENT ON FUNCTION ff_parse_secret_hex(text) IS 'Decode a hex secret, or WF001 invalid_secret (internal).';

-- The public functions whose result repeats an argument's name (kid, new_kid) are SQL-language shells
-- over a PL/pgSQL body: PL/pgSQL refuses an input and an output parameter of one name, the SQL
-- language and the Rust edition's signature do not.
CREATE FUNCTION ff_seed_hmac_body(p_kid text, secret_hex text)
RETURNS TABLE (r_outcome text, r_kid text, r_same_secret boolean)
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = @extschema@, pg_temp AS $$
DECLARE
    given bytea;
    existing ff_keystore;
    active_kid text;
BEGIN
    p_kid := ff_required(p_kid, 'kid');
    PERFORM ff_check_kid(p_kid);
    IF secret_hex IS NOT NULL THEN
        given := ff_parse_secret_hex(secret_hex);
    END IF;
    LOCK TABLE ff_keystore IN EXCLUSIVE MODE;
    SELECT * INTO existing FROM ff_keystore k WHERE k.kid = p_kid;
    IF FOUND THEN
        RETURN QUERY SELECT 'already_seeded'::text, p_kid,
            CASE WHEN given IS NULL THEN NULL ELSE ff_digest_eq(given, existing.secret) END;
        RETURN;
    END IF;
    SELECT k.kid INTO active_kid FROM ff_keystore k WHERE k.active;
    IF active_kid IS NOT NULL THEN
        PERFORM ff_invalid('another_kid_active',
            format('another kid (%s) is already active; use ff_rotate_hmac to change keys', active_kid));
    END IF;
    given := coalesce(given, ff_generate_secret());
    -- @statement keystore/insert_active.sql: p_kid, given, ff_now_ms()
    INSERT INTO ff_keystore (kid, secret, created_at_ms, active) VALUES (p_kid, given, ff_now_ms(), true)
    -- @end statement
    ;
    RETURN QUERY SELECT 'seeded'::text, p_kid, NULL::boolean;
END
$$;
COMMENT ON FUNCTION ff_seed_hmac_body(text, text) IS 'ff_seed_hmac''s body (internal).';

CREATE FUNCTION ff_seed_hmac(kid text, secret_hex text DEFAULT NULL)
RETURNS TABLE (outcome text, kid text, same_secret boolean)
LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = @extschema@, pg_temp AS $$
    SELECT * FROM ff_seed_hmac_body($1, $2)
$$;

CREATE FUNCTION ff_rotate_hmac_body(p_kid text, new_secret_hex text, p_grace bigint)
RETURNS TABLE (r_outcome text, r_previous_kid text, r_new_kid text, r_gc_count integer)
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = @extschema@, pg_temp AS $$
DECLARE
    secret bytea;
    existing ff_keystore;
    previous text;
    now_ms bigint;
    gc integer;
    reaped record;
BEGIN
    p_kid := ff_required(p_kid, 'new_kid');
    PERFORM ff_check_kid(p_kid);
    p_grace := ff_required(p_grace, 'grace_ms');
    IF p_grace NOT BETWEEN 0 AND 9007199254740991 THEN
        PERFORM ff_invalid('invalid_grace_ms', 'grace_ms must be between 0 and 2^53-1');
    END IF;
    secret := CASE WHEN new_secret_hex IS NULL THEN ff_generate_secret() ELSE ff_parse_secret_hex(new_secret_hex) END;
    LOCK TABLE ff_keystore IN EXCLUSIVE MODE;
    SELECT * INTO existing FROM ff_keystore k WHERE k.kid = p_kid;
    IF FOUND THEN
        IF ff_digest_eq(existing.secret, secret) THEN
            RETURN QUERY SELECT 'noop'::text, NULL::text, p_kid, 0;
            RETURN;
        END IF;
        PERFORM ff_raise('WF005', 'rotation_conflict', format('kid %s already exists with a different secret', p_kid), 'kid');
    END IF;
    now_ms := ff_now_ms();
    -- @statement keystore/retire_active.sql: now_ms, p_grace
    UPDATE ff_keystore SET active = false, rotated_at_ms = now_ms, expires_at_ms = now_ms + p_grace WHERE active RETURNING kid
    -- @end statement
    INTO previous;
    -- @statement keystore/insert_active.sql: p_kid, secret, now_ms
    INSERT INTO ff_keystore (kid, secret, created_at_ms, active) VALUES (p_kid, secret, now_ms, true)
    -- @end statement
    ;
    gc := 0;
    FOR reaped IN
        -- @statement keystore/gc_retired.sql: now_ms, previous
        DELETE FROM ff_keystore WHERE NOT active AND expires_at_ms <= now_ms AND kid IS DISTINCT FROM previous RETURNING kid
        -- @end statement
    LOOP
        gc := gc + 1;
    END LOOP;
    RETURN QUERY SELECT 'rotated'::text, previous, p_kid, gc;
END
$$;
COMMENT ON FUNCTION ff_rotate_hmac_body(text, text, bigint) IS 'ff_rotate_hmac''s body (internal).';

CREATE FUNCTION ff_rotate_hmac(new_kid text, new_secret_hex text DEFAULT NULL, grace_ms bigint DEFAULT 86400000)
RETURNS TABLE (outcome text, previous_kid text, new_kid text, gc_count integer)
LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = @extschema@, pg_temp AS $$
    SELECT * FROM ff_rotate_hmac_body($1, $2, $3)
$$;

CREATE FUNCTION ff_hmac_kids()
RETURNS TABLE (kid text, active boolean, created_at_ms bigint, rotated_at_ms bigint, expires_at_ms bigint)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = @extschema@, pg_temp AS $$
    SELECT kid, active, created_at_ms, rotated_at_ms, expires_at_ms FROM ff_keystore ORDER BY created_at_ms, kid
$$;

-- The active signing key (WF004 keystore_empty when there is none). Internal: it returns the secret.
CREATE FUNCTION ff_active_key() RETURNS ff_keystore
LANGUAGE plpgsql STABLE AS $$
DECLARE
    k ff_keystore := (SELECT x FROM ff_keystore x WHERE x.active);  -- the row as one value (ff_lock_execution)
BEGIN
    IF k.kid IS NULL THEN
        PERFORM ff_raise('WF004', 'keystore_empty', 'no active HMAC key; call ff_seed_hmac or ff_rotate_hmac first');
    END IF;
    RETURN k;
END
$$;
COMMENT ON FUNCTION ff_active_key() IS 'The active signing key, or WF004 (internal).';
