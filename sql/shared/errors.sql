-- ff_engine, both editions: raising the documented WF… errors as the Rust edition writes them
-- (docs/errors.md): SQLSTATE, message `<kind>: <what>`, DETAIL when the Rust edition gives one.

-- The current time in unix milliseconds (the Rust edition reads the system clock per call, not the
-- transaction's start). date_part's double precision, not extract's numeric: exact to well under a
-- microsecond for centuries yet, and a third cheaper (numeric arithmetic allocates).
CREATE FUNCTION ff_now_ms() RETURNS bigint
LANGUAGE sql VOLATILE PARALLEL SAFE AS $$
    SELECT (date_part('epoch', clock_timestamp()) * 1000)::bigint
$$;
COMMENT ON FUNCTION ff_now_ms() IS 'Now, in unix milliseconds (internal).';

CREATE FUNCTION ff_raise(sqlstate text, kind text, what text, detail text DEFAULT NULL) RETURNS void
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
BEGIN
    IF detail IS NULL THEN
        RAISE EXCEPTION USING ERRCODE = sqlstate, MESSAGE = kind || ': ' || what;
    END IF;
    RAISE EXCEPTION USING ERRCODE = sqlstate, MESSAGE = kind || ': ' || what, DETAIL = detail;
END
$$;
COMMENT ON FUNCTION ff_raise(text, text, text, text) IS 'Raise a WF… error as the Rust edition does (internal).';

-- WF001 invalid_input with its reason as DETAIL.
CREATE FUNCTION ff_invalid(reason text, what text) RETURNS void
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT ff_raise('WF001', 'invalid_input', what, reason)
$$;
COMMENT ON FUNCTION ff_invalid(text, text) IS 'Raise WF001 invalid_input (internal).';

-- WF001 invalid_input with `reason` as DETAIL, typed as the value checked, so that a check can be a
-- SQL CASE the planner writes into the calling expression (no function call at run time unless the
-- check fails). VOLATILE, so the planner never evaluates it while folding constants.
CREATE FUNCTION ff_reject(value anyelement, reason text, what text) RETURNS anyelement
LANGUAGE plpgsql VOLATILE PARALLEL SAFE AS $$
BEGIN
    RAISE EXCEPTION USING ERRCODE = 'WF001', MESSAGE = 'invalid_input: ' || what, DETAIL = reason;
END
$$;
COMMENT ON FUNCTION ff_reject(anyelement, text, text) IS 'Raise WF001 invalid_input for a value (internal).';

-- A required argument: WF001 `<param>_required` when NULL; the value otherwise. The checks below
-- return what they checked and are called in assignments (`v := ff_required(v, 'v')`), which PL/pgSQL
-- evaluates without starting an executor (PERFORM starts one); each is written into its caller.
CREATE FUNCTION ff_required(value anyelement, param text) RETURNS anyelement
LANGUAGE sql VOLATILE PARALLEL SAFE AS $$
    SELECT CASE WHEN value IS NULL THEN ff_reject(value, param || '_required', param || ' must not be NULL') ELSE value END
$$;
COMMENT ON FUNCTION ff_required(anyelement, text) IS 'A required argument, or WF001 <param>_required (internal).';

-- A required count from 1 to max (WF001 invalid_<field>), as the Rust edition's bounded_count.
CREATE FUNCTION ff_bounded_count(value integer, field text, max integer) RETURNS bigint
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
BEGIN
    IF ff_required(value, field) NOT BETWEEN 1 AND max THEN
        PERFORM ff_invalid('invalid_' || field, format('%s must be between 1 and %s', field, max));
    END IF;
    RETURN value;
END
$$;
COMMENT ON FUNCTION ff_bounded_count(integer, text, integer) IS 'A count from 1 to max, or WF001 (internal).';

-- Optional text of 1 to max bytes (WF001 invalid_<field>); the value.
CREATE FUNCTION ff_check_optional_text(value text, field text, max integer) RETURNS text
LANGUAGE sql VOLATILE PARALLEL SAFE AS $$
    SELECT CASE WHEN octet_length(value) NOT BETWEEN 1 AND max
                THEN ff_reject(value, 'invalid_' || field, format('%s must be 1-%s bytes', field, max)) ELSE value END
$$;
COMMENT ON FUNCTION ff_check_optional_text(text, text, integer) IS 'WF001 invalid_<field> unless 1-max bytes (internal).';
