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

CREATE FUNCTION ff_setting_int(name text, fallback bigint, min bigint, superuser_only boolean) RETURNS bigint
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
    RAISE EXCEPTION USING ERRCODE = '22023', MESSAGE = format('invalid value for parameter "%s": "%s"', name, left(v, 100)),
        DETAIL = format('%s takes an integer between %s and 2147483647', name, min);
END
$$;
COMMENT ON FUNCTION ff_setting_int(text, bigint, bigint, boolean) IS 'An integer setting, or its default (internal).';
