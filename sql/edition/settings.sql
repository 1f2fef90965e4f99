-- ff_engine SQL edition: settings. The Rust edition registers ff_engine.* with a type, bounds and a
-- context (src/postgres/settings.rs); a SQL body cannot, so here they stay custom placeholders that
-- any session may SET to any text. Two consequences, both handled when a setting is read:
-- * a superuser-only setting (the ceilings and retentions) takes a session's own value only in a
--   session whose login role is a superuser. Any other session reads the value the session started
--   with, from the server's configuration, ALTER SYSTEM, ALTER DATABASE or ALTER ROLE (only a superuser
--   may set a placeholder those ways): set_config(name, NULL, true) is SET LOCAL name TO DEFAULT, for
--   the rest of the call (the API functions' SET clauses end it) or at most of the transaction. So an
--   API role cannot raise its own ceiling with SET, where the Rust edition refuses the SET itself;
-- * a value that is not a decimal integer in the setting's range is 22023 invalid_parameter_value, as
--   the Rust edition's SET says, raised by the first call that reads it.

-- 22023 for a value a setting does not take, worded as PostgreSQL's SET would. STABLE, so that the
-- SQL functions that call it stay inlinable.
CREATE FUNCTION ff_setting_invalid(name text, value text, expected text) RETURNS text
LANGUAGE plpgsql STABLE AS $$
BEGIN
    RAISE EXCEPTION USING ERRCODE = '22023', MESSAGE = format('invalid value for parameter "%s": "%s"', name, left(value, 100)),
        DETAIL = format('%s takes %s', name, expected);
END
$$;
COMMENT ON FUNCTION ff_setting_invalid(text, text, text) IS '22023 for a setting''s invalid value (internal).';

CREATE FUNCTION ff_setting_text(name text, superuser_only boolean) RETURNS text
LANGUAGE plpgsql STABLE AS $$
DECLARE
    v text := current_setting(name, true);
BEGIN
    IF superuser_only AND v <> '' AND NOT coalesce((SELECT r.rolsuper FROM pg_roles r WHERE r.rolname = session_user), false) THEN
        v := set_config(name, NULL, true);
    END IF;
    RETURN nullif(v, '');
END
$$;
COMMENT ON FUNCTION ff_setting_text(text, boolean) IS 'A setting as this session may see it, NULL when unset (internal).';

-- An integer setting that is set: its value as this session may see it (ff_setting_text), checked.
-- One function, so that the expression ff_setting_int is written into names one.
CREATE FUNCTION ff_setting_int_of(name text, fallback bigint, min bigint, superuser_only boolean) RETURNS bigint
LANGUAGE plpgsql STABLE AS $$
DECLARE
    v text := ff_setting_text(name, superuser_only);
BEGIN
    IF v IS NULL THEN
        RETURN fallback;
    END IF;
    IF v ~ '^\s*[+-]?[0-9]{1,10}\s*$' THEN
        IF v::bigint BETWEEN min AND 2147483647 THEN
            RETURN v::bigint;
        END IF;
    END IF;
    PERFORM ff_setting_invalid(name, v, format('an integer between %s and 2147483647', min));
    RETURN NULL;
END
$$;
COMMENT ON FUNCTION ff_setting_int_of(text, bigint, bigint, boolean) IS 'An integer setting''s value checked (internal).';

-- An integer setting, or its default. Unset is the common case and costs one current_setting(): the
-- function is inlined into its callers' expressions.
CREATE FUNCTION ff_setting_int(name text, fallback bigint, min bigint, superuser_only boolean) RETURNS bigint
LANGUAGE sql STABLE AS $$
    SELECT CASE WHEN coalesce(current_setting(name, true), '') = '' THEN fallback
                ELSE ff_setting_int_of(name, fallback, min, superuser_only) END
$$;
COMMENT ON FUNCTION ff_setting_int(text, bigint, bigint, boolean) IS 'An integer setting, or its default (internal).';
