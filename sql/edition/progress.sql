-- ff_engine SQL edition: progress of a running execution, durable steps (ff_set_step, ff_get_steps) and
-- its output stream (ff_append_frame, ff_read_frames), as the Rust edition (src/store/progress.rs,
-- core/src/progress.rs): the checks in the same order, then the same statements (sql/statements/steps,
-- sql/statements/streams, as the ff_stmt_* functions of statements.sql).

CREATE FUNCTION ff_max_steps() RETURNS bigint
LANGUAGE sql STABLE AS $$ SELECT ff_setting_int('ff_engine.max_steps_per_execution', 10000, 0, true) $$;
COMMENT ON FUNCTION ff_max_steps() IS 'ff_engine.max_steps_per_execution (internal).';

CREATE FUNCTION ff_set_step_body(p_execution_id text, p_lease_id uuid, p_lease_epoch bigint, p_step_name text, p_value bytea)
RETURNS text
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = @extschema@, pg_temp AS $$
DECLARE
    id record := ff_parse_execution_id(ff_required(p_execution_id, 'execution_id'));
    max_steps bigint;
    now_ms bigint;
    e ff_exec_core;
    r record;
BEGIN
    p_step_name := ff_required(p_step_name, 'step_name');
    p_step_name := ff_check_optional_text(p_step_name, 'step_name', 256);
    p_value := ff_check_payload(p_value, 'value');
    max_steps := ff_max_steps();
    now_ms := ff_now_ms();
    e := ff_lock_leased(id.partition_key, id.execution_uuid, p_lease_id, p_lease_epoch, now_ms);
    SELECT * INTO r FROM ff_stmt_steps_set_step(id.partition_key, id.execution_uuid, p_step_name, p_value, e.attempt_index,
        now_ms, max_steps);
    IF r.existed THEN
        RETURN 'exists';
    ELSIF r.stored = 1 THEN
        RETURN 'stored';
    END IF;
    PERFORM ff_invalid('too_many_steps',
        format('the execution has %s steps; ff_engine.max_steps_per_execution is %s', r.step_count, max_steps));
    RETURN NULL;
END
$$;
COMMENT ON FUNCTION ff_set_step_body(text, uuid, bigint, text, bytea) IS 'ff_set_step''s body (internal).';

CREATE FUNCTION ff_set_step(execution_id text, lease_id uuid, lease_epoch bigint, step_name text, value bytea)
RETURNS TABLE (outcome text)
LANGUAGE sql STABLE AS $$
    SELECT * FROM @extschema@.ff_set_step_body($1, $2, $3, $4, $5)
$$;

CREATE FUNCTION ff_get_steps_body(p_execution_id text)
RETURNS TABLE (r_step_name text, r_value bytea, r_attempt_index integer, r_stored_at_ms bigint)
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = @extschema@, pg_temp AS $$
DECLARE
    id record := ff_parse_execution_id(ff_required(p_execution_id, 'execution_id'));
    found_execution boolean := false;
    s record;
BEGIN
    FOR s IN SELECT * FROM ff_stmt_steps_list_steps(id.partition_key, id.execution_uuid) LOOP
        found_execution := true;
        IF s.step_name IS NOT NULL THEN
            RETURN QUERY SELECT s.step_name, s.value, s.attempt_index, s.stored_at_ms;
        END IF;
    END LOOP;
    IF NOT found_execution THEN
        PERFORM ff_raise('WF010', 'not_found', 'execution not found', 'execution');
    END IF;
END
$$;
COMMENT ON FUNCTION ff_get_steps_body(text) IS 'ff_get_steps''s body (internal).';

CREATE FUNCTION ff_get_steps(execution_id text)
RETURNS TABLE (step_name text, value bytea, attempt_index integer, stored_at_ms bigint)
LANGUAGE sql STABLE AS $$
    SELECT * FROM @extschema@.ff_get_steps_body($1)
$$;

-- The next frame's seq: the caller's (above the last) or the last + 1, within the stream ceilings;
-- core/src/progress.rs next_frame, check for check.
CREATE FUNCTION ff_next_frame(last_seq bigint, frame_count bigint, total_bytes bigint, requested bigint, len integer)
RETURNS bigint
LANGUAGE plpgsql STABLE AS $$
DECLARE
    max_frames bigint := ff_setting_int('ff_engine.max_frames_per_execution', 100000, 0, true);
    max_bytes bigint := ff_setting_int('ff_engine.max_stream_bytes_per_execution', 67108864, 0, true);
    seq bigint := requested;
BEGIN
    IF requested IS NOT NULL AND requested <= last_seq THEN
        PERFORM ff_invalid('seq_not_increasing', format('seq %s is not above the stream''s last seq %s', requested, last_seq));
    ELSIF requested IS NULL THEN
        IF last_seq = 9223372036854775807 THEN
            PERFORM ff_invalid('seq_not_increasing', 'the stream''s seq is exhausted');
        END IF;
        seq := last_seq + 1;
    END IF;
    IF frame_count >= max_frames THEN
        PERFORM ff_invalid('too_many_frames',
            format('the stream has %s frames; ff_engine.max_frames_per_execution is %s', frame_count, max_frames));
    END IF;
    IF total_bytes + len > max_bytes THEN
        PERFORM ff_invalid('stream_too_large',
            format('the stream would hold %s bytes; ff_engine.max_stream_bytes_per_execution is %s', total_bytes + len, max_bytes));
    END IF;
    RETURN seq;
END
$$;
COMMENT ON FUNCTION ff_next_frame(bigint, bigint, bigint, bigint, integer) IS 'The next frame''s seq, or WF001 (internal).';

CREATE FUNCTION ff_append_frame_body(p_execution_id text, p_lease_id uuid, p_lease_epoch bigint, p_frame_kind text, p_bytes bytea,
    p_seq bigint)
RETURNS bigint
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = @extschema@, pg_temp AS $$
DECLARE
    id record := ff_parse_execution_id(ff_required(p_execution_id, 'execution_id'));
    now_ms bigint;
    e ff_exec_core;
    st record;
    seq bigint;
    max_bytes bigint;
BEGIN
    IF ff_required(p_frame_kind, 'frame_kind') NOT IN ('stdout', 'stderr', 'event', 'blob') THEN
        PERFORM ff_invalid('invalid_frame_kind', 'frame_kind must be one of stdout, stderr, event, blob');
    END IF;
    p_bytes := ff_required(p_bytes, 'bytes');
    max_bytes := ff_setting_int('ff_engine.max_frame_bytes', 1048576, 0, true);
    IF octet_length(p_bytes) > max_bytes THEN
        PERFORM ff_invalid('bytes_too_large', format('bytes is %s bytes; at most %s are accepted', octet_length(p_bytes), max_bytes));
    END IF;
    now_ms := ff_now_ms();
    e := ff_lock_leased(id.partition_key, id.execution_uuid, p_lease_id, p_lease_epoch, now_ms);
    SELECT * INTO st FROM ff_stmt_streams_stream_state(id.partition_key, id.execution_uuid);
    seq := ff_next_frame(coalesce(st.last_seq, 0), coalesce(st.frame_count, 0), coalesce(st.total_bytes, 0), p_seq,
        octet_length(p_bytes));
    SELECT a.seq INTO seq FROM ff_stmt_streams_append_frame(id.partition_key, id.execution_uuid, seq, p_frame_kind, p_bytes,
        e.attempt_index, now_ms) a;
    PERFORM ff_wake('{ff_frame}', '{}');
    RETURN seq;
END
$$;
COMMENT ON FUNCTION ff_append_frame_body(text, uuid, bigint, text, bytea, bigint) IS 'ff_append_frame''s body (internal).';

CREATE FUNCTION ff_append_frame(execution_id text, lease_id uuid, lease_epoch bigint, frame_kind text, bytes bytea,
    seq bigint DEFAULT NULL)
RETURNS TABLE (seq bigint)
LANGUAGE sql STABLE AS $$
    SELECT * FROM @extschema@.ff_append_frame_body($1, $2, $3, $4, $5, $6)
$$;

CREATE FUNCTION ff_read_frames_body(p_execution_id text, p_after_seq bigint, p_max_rows integer)
RETURNS TABLE (r_seq bigint, r_frame_kind text, r_bytes bytea, r_attempt_index integer, r_appended_at_ms bigint)
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = @extschema@, pg_temp AS $$
DECLARE
    id record := ff_parse_execution_id(ff_required(p_execution_id, 'execution_id'));
    rows bigint;
    found_execution boolean := false;
    f record;
BEGIN
    p_after_seq := ff_required(p_after_seq, 'after_seq');
    rows := ff_page_size(p_max_rows);
    FOR f IN SELECT * FROM ff_stmt_streams_read_frames(id.partition_key, id.execution_uuid, p_after_seq, rows) LOOP
        found_execution := true;
        IF f.seq IS NOT NULL THEN
            RETURN QUERY SELECT f.seq, f.frame_kind, f.bytes, f.attempt_index, f.appended_at_ms;
        END IF;
    END LOOP;
    IF NOT found_execution THEN
        PERFORM ff_raise('WF010', 'not_found', 'execution not found', 'execution');
    END IF;
END
$$;
COMMENT ON FUNCTION ff_read_frames_body(text, bigint, integer) IS 'ff_read_frames''s body (internal).';

CREATE FUNCTION ff_read_frames(execution_id text, after_seq bigint DEFAULT 0, max_rows integer DEFAULT 100)
RETURNS TABLE (seq bigint, frame_kind text, bytes bytea, attempt_index integer, appended_at_ms bigint)
LANGUAGE sql STABLE AS $$
    SELECT * FROM @extschema@.ff_read_frames_body($1, $2, $3)
$$;
