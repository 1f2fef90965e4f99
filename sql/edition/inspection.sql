-- ff_engine SQL edition: reading executions back (ff_get_execution, ff_list_attempts,
-- ff_list_executions), as the Rust edition (src/store/inspection.rs). Never a grant or a token.

-- max_rows of a listing: 1 to 10 000 (WF001).
CREATE FUNCTION ff_page_size(max_rows integer) RETURNS bigint
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$ SELECT ff_bounded_count(max_rows, 'max_rows', 10000) $$;
COMMENT ON FUNCTION ff_page_size(integer) IS 'A listing''s page size, or WF001 (internal).';

-- The row is the statement inspection/get_execution.sql's, which the Rust edition runs too.
CREATE FUNCTION ff_get_execution_body(p_execution_id text)
RETURNS TABLE (r_execution_id text, r_lane_id text, r_namespace text, r_flow_id uuid, r_tags jsonb, r_priority integer,
    r_lifecycle_phase text, r_ownership_state text, r_eligibility_state text, r_attempt_state text, r_public_state text,
    r_attempt_index integer, r_attempt_count integer, r_max_attempts integer, r_created_at_ms bigint, r_started_at_ms bigint,
    r_terminal_at_ms bigint, r_updated_at_ms bigint, r_lease_worker_id text, r_lease_worker_instance_id text,
    r_lease_expires_at_ms bigint, r_lease_epoch bigint, r_suspension_id uuid, r_suspension_reason text, r_next_retry_at_ms bigint,
    r_deadline_at_ms bigint, r_last_error text, r_payload bytea, r_result bytea, r_continuation text, r_step_count integer, r_blocked_by text[])
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = @extschema@, pg_temp AS $$
DECLARE
    id record := ff_parse_execution_id(ff_required(p_execution_id, 'execution_id'));
BEGIN
    RETURN QUERY
    SELECT '{fp:' || id.partition_key || '}:' || id.execution_uuid, g.*
    FROM ff_stmt_inspection_get_execution(id.partition_key, id.execution_uuid) g;
    IF NOT FOUND THEN
        PERFORM ff_raise('WF010', 'not_found', 'execution not found', 'execution');
    END IF;
END
$$;
COMMENT ON FUNCTION ff_get_execution_body(text) IS 'ff_get_execution''s body (internal).';

CREATE FUNCTION ff_get_execution(execution_id text)
RETURNS TABLE (execution_id text, lane_id text, namespace text, flow_id uuid, tags jsonb, priority integer,
    lifecycle_phase text, ownership_state text, eligibility_state text, attempt_state text, public_state text,
    attempt_index integer, attempt_count integer, max_attempts integer, created_at_ms bigint, started_at_ms bigint,
    terminal_at_ms bigint, updated_at_ms bigint, lease_worker_id text, lease_worker_instance_id text,
    lease_expires_at_ms bigint, lease_epoch bigint, suspension_id uuid, suspension_reason text, next_retry_at_ms bigint,
    deadline_at_ms bigint, last_error text, payload bytea, result bytea, continuation text, step_count integer, blocked_by text[])
LANGUAGE sql STABLE AS $$
    SELECT * FROM @extschema@.ff_get_execution_body($1)
$$;

CREATE FUNCTION ff_list_attempts_body(p_execution_id text)
RETURNS TABLE (r_attempt_index integer, r_attempt_id uuid, r_worker_id text, r_worker_instance_id text, r_started_at_ms bigint,
    r_ended_at_ms bigint, r_outcome text, r_error_message text, r_failure_class text, r_failure_detail bytea)
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = @extschema@, pg_temp AS $$
DECLARE
    id record := ff_parse_execution_id(ff_required(p_execution_id, 'execution_id'));
BEGIN
    IF NOT EXISTS (SELECT 1 FROM ff_exec_core e WHERE e.partition_key = id.partition_key AND e.execution_id = id.execution_uuid) THEN
        PERFORM ff_raise('WF010', 'not_found', 'execution not found', 'execution');
    END IF;
    RETURN QUERY SELECT * FROM ff_stmt_inspection_list_attempts(id.partition_key, id.execution_uuid);
END
$$;
COMMENT ON FUNCTION ff_list_attempts_body(text) IS 'ff_list_attempts''s body (internal).';

CREATE FUNCTION ff_list_attempts(execution_id text)
RETURNS TABLE (attempt_index integer, attempt_id uuid, worker_id text, worker_instance_id text, started_at_ms bigint,
    ended_at_ms bigint, outcome text, error_message text, failure_class text, failure_detail bytea)
LANGUAGE sql STABLE AS $$
    SELECT * FROM @extschema@.ff_list_attempts_body($1)
$$;

CREATE FUNCTION ff_list_executions_body(p_lane_id text, p_public_state text, p_after text, p_max_rows integer)
RETURNS TABLE (r_execution_id text, r_namespace text, r_priority integer, r_public_state text, r_attempt_index integer,
    r_created_at_ms bigint, r_terminal_at_ms bigint, r_last_error text, r_result_bytes integer)
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = @extschema@, pg_temp AS $$
DECLARE
    after record;
    rows bigint;
    after_seq bigint := 0;
    pos record;
BEGIN
    p_lane_id := ff_required(p_lane_id, 'lane_id');
    p_lane_id := ff_check_lane_id(p_lane_id);
    IF p_public_state IS NOT NULL AND p_public_state NOT IN ('waiting', 'delayed', 'rate_limited', 'waiting_children', 'active',
            'suspended', 'resumable', 'completed', 'failed', 'cancelled', 'expired', 'skipped') THEN
        PERFORM ff_invalid('invalid_public_state', 'public_state must be one of waiting, delayed, rate_limited, waiting_children, '
            || 'active, suspended, resumable, completed, failed, cancelled, expired, skipped');
    END IF;
    IF p_after IS NOT NULL THEN
        after := ff_parse_execution_id(p_after);
    END IF;
    rows := ff_page_size(p_max_rows);
    IF p_after IS NOT NULL THEN
        SELECT e.lane_id, e.queue_seq INTO pos FROM ff_exec_core e
        WHERE e.partition_key = after.partition_key AND e.execution_id = after.execution_uuid;
        IF NOT FOUND OR pos.lane_id <> p_lane_id THEN
            PERFORM ff_raise('WF010', 'not_found', 'execution not found', 'execution');
        END IF;
        after_seq := pos.queue_seq;
    END IF;
    RETURN QUERY
    SELECT '{fp:' || e.partition_key || '}:' || e.execution_id, e.namespace, e.priority, e.public_state::text, e.attempt_index,
           e.created_at_ms, e.completed_at_ms, e.last_error, octet_length(e.result)
    FROM ff_exec_core e
    WHERE e.lane_id = p_lane_id AND (p_public_state IS NULL OR e.public_state = p_public_state) AND e.queue_seq > after_seq
    ORDER BY e.queue_seq LIMIT rows;
END
$$;
COMMENT ON FUNCTION ff_list_executions_body(text, text, text, integer) IS 'ff_list_executions''s body (internal).';

CREATE FUNCTION ff_list_executions(lane_id text, public_state text DEFAULT NULL, after_execution_id text DEFAULT NULL,
    max_rows integer DEFAULT 100)
RETURNS TABLE (execution_id text, namespace text, priority integer, public_state text, attempt_index integer,
    created_at_ms bigint, terminal_at_ms bigint, last_error text, result_bytes integer)
LANGUAGE sql STABLE AS $$
    SELECT * FROM @extschema@.ff_list_executions_body($1, $2, $3, $4)
$$;
