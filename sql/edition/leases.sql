-- ff_engine SQL edition: leases (ff_renew_lease, ff_complete, ff_complete_many, ff_fail, ff_cancel), as
-- the Rust edition (src/store/leases.rs): the fence of docs/semantics.md §3 in its order, the same
-- row changes and events.

-- Lock an execution's row (the per-execution mutex) and return it; WF010 when there is none.
CREATE FUNCTION ff_lock_execution(pk smallint, id uuid) RETURNS ff_exec_core
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    e ff_exec_core;
BEGIN
    e := (SELECT x FROM ff_exec_core x WHERE x.partition_key = pk AND x.execution_id = id FOR UPDATE);
    IF e.execution_id IS NULL THEN
        PERFORM ff_raise('WF010', 'not_found', 'execution not found', 'execution');
    END IF;
    RETURN e;
END
$$;
COMMENT ON FUNCTION ff_lock_execution(smallint, uuid) IS 'Lock an execution''s row, or WF010 (internal).';

-- The fence of docs/semantics.md §3 on a locked row: lease_conflict, lease_expired,
-- execution_not_active, in that order; the row.
CREATE FUNCTION ff_check_fence(e ff_exec_core, p_lease_id uuid, p_lease_epoch bigint, now_ms bigint) RETURNS ff_exec_core
LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
    IF e.lease_id IS DISTINCT FROM p_lease_id OR e.lease_epoch <> p_lease_epoch THEN
        PERFORM ff_raise('WF020', 'lease_conflict', 'the lease id or epoch does not match the current lease',
                         'current lease_epoch ' || e.lease_epoch);
    END IF;
    IF e.lease_expires_at_ms <= now_ms THEN
        PERFORM ff_raise('WF021', 'lease_expired', 'the lease has expired');
    END IF;
    IF e.lifecycle_phase <> 'active' OR e.ownership_state <> 'leased' THEN
        PERFORM ff_raise('WF022', 'execution_not_active', format('execution is %s / %s', e.lifecycle_phase, e.ownership_state));
    END IF;
    RETURN e;
END
$$;
COMMENT ON FUNCTION ff_check_fence(ff_exec_core, uuid, bigint, bigint) IS 'Check a lease fence on a locked row (internal).';

-- Whether the fence of docs/semantics.md §3 holds on a locked row: one expression, written into the
-- caller; when it does not (or cannot tell: NULLs), ff_check_fence says why in its order.
CREATE FUNCTION ff_fence_holds(e ff_exec_core, p_lease_id uuid, p_lease_epoch bigint, now_ms bigint) RETURNS boolean
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT coalesce(e.lease_id = p_lease_id AND e.lease_epoch = p_lease_epoch AND e.lease_expires_at_ms > now_ms
                    AND e.lifecycle_phase = 'active' AND e.ownership_state = 'leased', false)
$$;
COMMENT ON FUNCTION ff_fence_holds(ff_exec_core, uuid, bigint, bigint) IS 'Whether a lease fence holds on a locked row (internal).';

-- Lock the execution row (the per-execution mutex) and check the caller's fence: lease_conflict,
-- lease_expired, execution_not_active, in that order. Returns the row.
CREATE FUNCTION ff_lock_leased(pk smallint, id uuid, p_lease_id uuid, p_lease_epoch bigint, now_ms bigint) RETURNS ff_exec_core
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    e ff_exec_core;
BEGIN
    IF p_lease_id IS NULL OR p_lease_epoch IS NULL THEN
        p_lease_id := ff_required(p_lease_id, 'lease_id');
        p_lease_epoch := ff_required(p_lease_epoch, 'lease_epoch');
    END IF;
    e := ff_lock_execution(pk, id);
    IF NOT ff_fence_holds(e, p_lease_id, p_lease_epoch, now_ms) THEN
        e := ff_check_fence(e, p_lease_id, p_lease_epoch, now_ms);
    END IF;
    RETURN e;
END
$$;
COMMENT ON FUNCTION ff_lock_leased(smallint, uuid, uuid, bigint, bigint) IS 'Lock an execution and check a lease fence (internal).';

-- End the current lease when the fence holds on the row's latest version: the new states, epoch + 1,
-- the attempt closed, lease event `released`, a completion event when completion_outcome is given.
-- One table per statement (leases/end_lease_row.sql and the files it names), as the Rust edition:
-- cheaper than one statement with data-modifying CTEs, and Citus routes each whole.
-- `ref` is the execution's id as text, as the caller parsed it (a parsed id is canonical). Whether it
-- ended the lease.
CREATE FUNCTION ff_end_lease(pk smallint, id uuid, ref text, lifecycle_phase text, ownership_state text, eligibility_state text,
    attempt_state text, public_state text, p_result bytea, p_eligible_at_ms bigint, p_completed_at_ms bigint, p_error text,
    now_ms bigint, completion_outcome text, attempt_outcome text, p_lease_id uuid, p_lease_epoch bigint,
    p_failure_class text DEFAULT NULL, p_failure_detail bytea DEFAULT NULL) RETURNS boolean
LANGUAGE plpgsql VOLATILE AS $$
#variable_conflict use_column
DECLARE
    ns text;
    epoch bigint;
    ai integer;
BEGIN
    -- @statement leases/end_lease_row.sql: pk, id, ff_end_lease.lifecycle_phase, ff_end_lease.ownership_state, ff_end_lease.eligibility_state, ff_end_lease.attempt_state, ff_end_lease.public_state, p_result, p_eligible_at_ms, p_completed_at_ms, p_error, now_ms, p_lease_id, p_lease_epoch
    UPDATE ff_exec_core SET lifecycle_phase = ff_end_lease.lifecycle_phase, ownership_state = ff_end_lease.ownership_state, eligibility_state = ff_end_lease.eligibility_state,
        attempt_state = ff_end_lease.attempt_state, public_state = ff_end_lease.public_state, lease_epoch = lease_epoch + 1, lease_expires_at_ms = NULL,
        result = coalesce(p_result, result), eligible_at_ms = p_eligible_at_ms, completed_at_ms = p_completed_at_ms,
        last_error = coalesce(p_error, last_error), updated_at_ms = now_ms
    WHERE partition_key = pk AND execution_id = id AND lease_id = p_lease_id AND lease_epoch = p_lease_epoch
      AND (lease_expires_at_ms IS NULL OR lease_expires_at_ms > now_ms)
      AND lifecycle_phase = 'active' AND ownership_state || '' = 'leased'
    RETURNING namespace, lease_epoch, attempt_index
    -- @end statement
    INTO ns, epoch, ai;
    IF NOT FOUND THEN
        RETURN false;
    END IF;
    -- @statement leases/end_attempt.sql: pk, id, ai, now_ms, attempt_outcome, p_error, p_failure_class, p_failure_detail
    UPDATE ff_attempt SET ended_at_ms = now_ms, outcome = attempt_outcome, error_message = p_error, failure_class = p_failure_class, failure_detail = p_failure_detail
    WHERE partition_key = pk AND execution_id = id AND attempt_index = ai
    -- @end statement
    ;
    -- @statement events/lease_event.sql: pk, ref, ns, now_ms, p_lease_id, epoch, 'released'
    INSERT INTO ff_lease_event (partition_key, execution_id, namespace, occurred_at_ms, lease_id, lease_epoch, event_type)
    VALUES (pk, ref, ns, now_ms, p_lease_id, epoch, 'released')
    -- @end statement
    ;
    IF completion_outcome IS NOT NULL THEN
        -- @statement events/completion_event.sql: pk, ref, ns, now_ms, completion_outcome, p_failure_class
        INSERT INTO ff_completion_event (partition_key, execution_id, namespace, occurred_at_ms, outcome, failure_class)
        VALUES (pk, ref, ns, now_ms, completion_outcome, p_failure_class)
        -- @end statement
        ;
    END IF;
    RETURN true;
END
$$;
COMMENT ON FUNCTION ff_end_lease(smallint, uuid, text, text, text, text, text, text, bytea, bigint, bigint, text, bigint, text, text, uuid, bigint,
    text, bytea)
    IS 'End a lease under its fence (internal).';

-- Complete one lease when its fence does not hold on the row's latest version: lock and let the fence
-- say why (it raises), else end it under the lock (ff_complete_one). True.
CREATE FUNCTION ff_complete_fenced(pk smallint, id uuid, ref text, p_lease_id uuid, p_lease_epoch bigint, p_result bytea, now_ms bigint)
RETURNS boolean
LANGUAGE plpgsql VOLATILE AS $$
BEGIN
    PERFORM ff_lock_leased(pk, id, p_lease_id, p_lease_epoch, now_ms);
    IF NOT ff_complete_one(pk, id, ref, p_lease_id, p_lease_epoch, p_result, now_ms) THEN
        PERFORM ff_raise('WF099', 'corruption', 'the lease end wrote nothing under the row lock');
    END IF;
    RETURN true;
END
$$;
COMMENT ON FUNCTION ff_complete_fenced(smallint, uuid, text, uuid, bigint, bytea, bigint) IS 'Complete one lease under its row lock (internal).';

-- Complete one lease, its result checked by the caller (ff_payload_fits, else ff_check_payload_size):
-- its end when the fence holds: true; false when it does not, and the caller then runs
-- ff_complete_fenced in a statement of its own (an expression naming it would set it up in every
-- transaction). SQL, written into the caller's expression (no PL/pgSQL call of its own); `now_ms` must
-- be a variable there, not a call.
CREATE FUNCTION ff_complete_one(pk smallint, id uuid, ref text, p_lease_id uuid, p_lease_epoch bigint, p_result bytea, now_ms bigint) RETURNS boolean
LANGUAGE sql VOLATILE AS $$
    SELECT ff_end_lease(pk, id, ref, 'terminal', 'unowned', 'not_applicable', 'attempt_terminal', 'completed', p_result,
                        NULL, now_ms, NULL, now_ms, 'success', 'success', p_lease_id, p_lease_epoch)
$$;
COMMENT ON FUNCTION ff_complete_one(smallint, uuid, text, uuid, bigint, bytea, bigint) IS 'Complete one lease (internal).';

CREATE FUNCTION ff_complete(execution_id text, lease_id uuid, lease_epoch bigint, result bytea DEFAULT NULL)
RETURNS TABLE (outcome text)
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = @extschema@, pg_temp AS $$
DECLARE
    id record;
    now_ms bigint := ff_now_ms();
    completed boolean;
BEGIN
    -- ff_required in a statement of its own (its CASE names ff_reject), then the parse.
    IF execution_id IS NULL THEN PERFORM ff_required(execution_id, 'execution_id'); END IF;
    id := ff_parse_execution_id(execution_id);
    IF NOT ff_payload_fits(result) THEN
        result := ff_check_payload_size(result, 'result');
    END IF;
    IF NOT ff_complete_one(id.partition_key, id.execution_uuid, execution_id, lease_id, lease_epoch, result, now_ms) THEN
        completed := ff_complete_fenced(id.partition_key, id.execution_uuid, execution_id, lease_id, lease_epoch, result, now_ms);
    END IF;
    completed := ff_wake_default() AND ff_wake_lock('ff_completion', '', false) AND ff_wake_lock('ff_lease_event', '', false)
                    AND ff_wake_quiet()
                 OR ff_wake_rest('{ff_completion,ff_lease_event}', '{}');
    outcome := 'completed';
    RETURN NEXT;
END
$$;

CREATE FUNCTION ff_renew_lease_body(p_execution_id text, p_lease_id uuid, p_lease_epoch bigint, p_lease_ttl_ms bigint)
RETURNS TABLE (r_lease_expires_at_ms bigint, r_lease_epoch bigint)
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = @extschema@, pg_temp AS $$
DECLARE
    id record := ff_parse_execution_id(ff_required(p_execution_id, 'execution_id'));
    now_ms bigint;
    expires bigint;
    u record;
    woken boolean;
BEGIN
    p_lease_ttl_ms := ff_required(p_lease_ttl_ms, 'lease_ttl_ms');
    p_lease_ttl_ms := ff_check_ms(p_lease_ttl_ms, 'lease_ttl_ms', 1);
    now_ms := ff_now_ms();
    PERFORM ff_lock_leased(id.partition_key, id.execution_uuid, p_lease_id, p_lease_epoch, now_ms);
    expires := now_ms + p_lease_ttl_ms;
    -- @statement leases/renew_row.sql: id.partition_key, id.execution_uuid, expires, now_ms
    UPDATE ff_exec_core SET lease_expires_at_ms = expires, updated_at_ms = now_ms
    WHERE partition_key = id.partition_key AND execution_id = id.execution_uuid
    RETURNING namespace, lease_id, lease_epoch
    -- @end statement
    INTO u;
    -- @statement events/lease_event.sql: id.partition_key, p_execution_id, u.namespace, now_ms, u.lease_id, u.lease_epoch, 'renewed'
    INSERT INTO ff_lease_event (partition_key, execution_id, namespace, occurred_at_ms, lease_id, lease_epoch, event_type)
    VALUES (id.partition_key, p_execution_id, u.namespace, now_ms, u.lease_id, u.lease_epoch, 'renewed')
    -- @end statement
    ;
    woken := ff_wake_one('ff_lease_event', '');
    RETURN QUERY SELECT expires, u.lease_epoch;
END
$$;
COMMENT ON FUNCTION ff_renew_lease_body(text, uuid, bigint, bigint) IS 'ff_renew_lease''s body (internal).';

CREATE FUNCTION ff_renew_lease(execution_id text, lease_id uuid, lease_epoch bigint, lease_ttl_ms bigint DEFAULT 30000)
RETURNS TABLE (lease_expires_at_ms bigint, lease_epoch bigint)
LANGUAGE sql STABLE AS $$
    SELECT * FROM @extschema@.ff_renew_lease_body($1, $2, $3, $4)
$$;

CREATE FUNCTION ff_fail(execution_id text, lease_id uuid, lease_epoch bigint, message text, retryable boolean DEFAULT true,
    failure_class text DEFAULT NULL, detail bytea DEFAULT NULL)
RETURNS TABLE (outcome text, retry_at_ms bigint)
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = @extschema@, pg_temp AS $$
#variable_conflict use_variable
DECLARE
    id record := ff_parse_execution_id(ff_required(execution_id, 'execution_id'));
    now_ms bigint;
    e ff_exec_core;
    delay bigint;
    class text;
    woken boolean;
BEGIN
    IF octet_length(message) > 65536 THEN
        PERFORM ff_invalid('message_too_long', 'message must be at most 64 KiB');
    END IF;
    -- The class recorded (lifecycle::failure_class_of): the caller's, else transient, or permanent
    -- when the caller said the failure is not retryable.
    class := coalesce(failure_class, CASE WHEN coalesce(retryable, true) THEN 'transient' ELSE 'permanent' END);
    IF class NOT IN ('transient', 'permanent', 'timeout', 'infra_crash') THEN
        PERFORM ff_invalid('invalid_failure_class',
            'failure_class must be transient, permanent, timeout or infra_crash (cancelled is recorded by ff_cancel)');
    END IF;
    IF octet_length(detail) > 65536 THEN
        PERFORM ff_invalid('detail_too_long', 'detail must be at most 64 KiB');
    END IF;
    now_ms := ff_now_ms();
    e := ff_lock_leased(id.partition_key, id.execution_uuid, lease_id, lease_epoch, now_ms);
    IF NOT (class <> 'permanent' AND coalesce(retryable, true) AND e.attempt_index::bigint + 1 < e.max_attempts) THEN
        PERFORM ff_end_lease(id.partition_key, id.execution_uuid, execution_id, 'terminal', 'unowned', 'not_applicable', 'attempt_terminal',
            'failed', NULL, NULL, now_ms, message, now_ms, 'failed', 'failed', lease_id, lease_epoch, class, detail);
        woken := ff_wake_default() AND ff_wake_lock('ff_completion', '', false) AND ff_wake_lock('ff_lease_event', '', false)
                    AND ff_wake_quiet()
                 OR ff_wake_rest('{ff_completion,ff_lease_event}', '{}');
        RETURN QUERY SELECT 'terminal_failed'::text, NULL::bigint;
        RETURN;
    END IF;
    -- Exponential backoff: retry_backoff_ms × 2^attempt_index, at most 24 h.
    delay := CASE WHEN e.retry_backoff_ms <= 0 THEN 0
                  ELSE least(e.retry_backoff_ms::numeric * 2::numeric ^ least(greatest(e.attempt_index, 0), 62), 86400000)::bigint END;
    PERFORM ff_end_lease(id.partition_key, id.execution_uuid, execution_id, 'runnable', 'unowned',
        CASE WHEN delay > 0 THEN 'not_eligible_until_time' ELSE 'eligible_now' END, 'pending_retry_attempt',
        CASE WHEN delay > 0 THEN 'delayed' ELSE 'waiting' END, NULL, CASE WHEN delay > 0 THEN now_ms + delay END, NULL, message,
        now_ms, NULL, 'failed', lease_id, lease_epoch, class, detail);
    IF delay <= 0 THEN
        PERFORM ff_claim_start_lower(e.lane_id, e.priority, e.queue_seq);
    END IF;
    woken := ff_wake_default() AND (delay > 0 OR ff_wake_lock('ff_lane_ready', e.lane_id, false))
                AND ff_wake_lock('ff_lease_event', '', false) AND ff_wake_quiet()
             OR ff_wake_rest('{ff_lease_event}', CASE WHEN delay > 0 THEN '{}' ELSE ARRAY[e.lane_id] END);
    RETURN QUERY SELECT 'retry_scheduled'::text, now_ms + delay;
END
$$;

-- Terminate a locked execution from any non-terminal phase (cancel; the scanners' expiries): one
-- statement, the Rust edition's (leases/terminate.sql, inlined).
CREATE FUNCTION ff_terminate_locked(pk smallint, id uuid, p_public_state text, now_ms bigint, p_reason text, p_close_reason text,
    p_outcome text, was_leased boolean, p_failure_class text) RETURNS void
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    ref text := '{fp:' || pk || '}:' || id;
    woken boolean;
BEGIN
    -- @statement leases/terminate.sql: pk, id, 'terminal', 'unowned', 'not_applicable', 'attempt_terminal', p_public_state, now_ms, p_reason, p_close_reason, p_outcome, ref, was_leased, p_failure_class
    WITH upd AS (
        UPDATE ff_exec_core SET lifecycle_phase = 'terminal', ownership_state = 'unowned', eligibility_state = 'not_applicable',
            attempt_state = 'attempt_terminal', public_state = p_public_state, lease_epoch = lease_epoch + 1, lease_expires_at_ms = NULL,
            eligible_at_ms = NULL, reserved_until_ms = NULL, completed_at_ms = now_ms, updated_at_ms = now_ms,
            last_error = p_reason
        WHERE partition_key = pk AND execution_id = id
        RETURNING partition_key, execution_id, namespace, lease_id, lease_epoch, attempt_index),
    sus AS (
        UPDATE ff_suspension SET state = 'closed', closed_at_ms = now_ms, close_reason = p_close_reason
        WHERE partition_key = pk AND execution_id = id AND state = 'open'),
    wps AS (
        UPDATE ff_waitpoint SET state = 'closed', closed_at_ms = now_ms, close_reason = p_close_reason
        WHERE partition_key = pk AND execution_id = id AND state <> 'closed'),
    gr AS (
        DELETE FROM ff_claim_grant WHERE partition_key = pk AND execution_id = id),
    att AS (
        UPDATE ff_attempt a SET ended_at_ms = now_ms, outcome = p_outcome, failure_class = p_failure_class FROM upd
        WHERE a.partition_key = upd.partition_key AND a.execution_id = upd.execution_id
          AND a.attempt_index = upd.attempt_index AND a.ended_at_ms IS NULL),
    le AS (
        INSERT INTO ff_lease_event (partition_key, execution_id, namespace, occurred_at_ms, lease_id, lease_epoch, event_type)
        SELECT partition_key, ref, namespace, now_ms, lease_id, lease_epoch, 'released' FROM upd WHERE was_leased)
    INSERT INTO ff_completion_event (partition_key, execution_id, namespace, occurred_at_ms, outcome, failure_class)
    SELECT partition_key, ref, namespace, now_ms, p_outcome, p_failure_class FROM upd
    -- @end statement
    ;
    woken := ff_wake_one('ff_completion', '') AND (NOT was_leased OR ff_wake_one('ff_lease_event', ''));
END
$$;
COMMENT ON FUNCTION ff_terminate_locked(smallint, uuid, text, bigint, text, text, text, boolean, text) IS 'Terminate a locked execution (internal).';

CREATE FUNCTION ff_cancel(execution_id text, reason text DEFAULT 'cancelled_by_operator')
RETURNS TABLE (outcome text)
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = @extschema@, pg_temp AS $$
#variable_conflict use_variable
DECLARE
    id record := ff_parse_execution_id(ff_required(execution_id, 'execution_id'));
    e ff_exec_core;
BEGIN
    reason := ff_required(reason, 'reason');
    reason := ff_check_optional_text(reason, 'reason', 256);
    e := ff_lock_execution(id.partition_key, id.execution_uuid);
    IF e.lifecycle_phase = 'terminal' THEN
        RETURN QUERY SELECT 'already_terminal'::text;
        RETURN;
    END IF;
    PERFORM ff_terminate_locked(id.partition_key, id.execution_uuid, 'cancelled', ff_now_ms(), reason, 'cancelled', 'cancelled',
                                e.ownership_state = 'leased', 'cancelled');
    RETURN QUERY SELECT 'cancelled'::text;
END
$$;

-- ff_complete_many's elements: {execution_id, lease_id, lease_epoch, result_hex?}, each parsed as the
-- Rust edition does (core/src/batch.rs); a malformed element gets its own outcome.
CREATE FUNCTION ff_parse_lease_item(v jsonb, OUT pk smallint, OUT id uuid, OUT lease_id uuid, OUT lease_epoch bigint,
    OUT result bytea, OUT error text)
LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE
    t text;
BEGIN
    IF jsonb_typeof(v) <> 'object' THEN
        error := 'invalid_input'; RETURN;
    END IF;
    BEGIN
        SELECT p.partition_key, p.execution_uuid INTO pk, id
        FROM ff_parse_execution_id(CASE WHEN jsonb_typeof(v -> 'execution_id') = 'string' THEN v ->> 'execution_id' ELSE '' END) p;
    EXCEPTION WHEN SQLSTATE 'WF001' THEN
        error := 'invalid_input'; RETURN;
    END;
    lease_id := CASE WHEN jsonb_typeof(v -> 'lease_id') = 'string' THEN ff_parse_uuid_text(v ->> 'lease_id') END;
    IF lease_id IS NULL THEN
        error := 'invalid_input'; RETURN;
    END IF;
    t := CASE WHEN jsonb_typeof(v -> 'lease_epoch') = 'number' THEN (v -> 'lease_epoch')::text END;
    IF t IS NULL OR t !~ '^-?[0-9]+$' OR t::numeric NOT BETWEEN -9223372036854775808 AND 9223372036854775807 THEN
        error := 'invalid_input'; RETURN;
    END IF;
    lease_epoch := t::bigint;
    IF jsonb_typeof(v -> 'result_hex') = 'string' THEN
        t := v ->> 'result_hex';
        IF t !~ '^([0-9a-fA-F]{2})*$' THEN
            error := 'invalid_input'; RETURN;
        END IF;
        result := decode(t, 'hex');
    ELSIF v ? 'result_hex' AND jsonb_typeof(v -> 'result_hex') <> 'null' THEN
        error := 'invalid_input'; RETURN;
    END IF;
END
$$;
COMMENT ON FUNCTION ff_parse_lease_item(jsonb) IS 'Parse one ff_complete_many element (internal).';

CREATE FUNCTION ff_complete_many(leases jsonb)
RETURNS TABLE (execution_id text, outcome text)
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = @extschema@, pg_temp AS $$
#variable_conflict use_variable
DECLARE
    now_ms bigint;
    n integer;
    outcomes text[];
    ids text[];
    it record;
    completed boolean := false;
BEGIN
    leases := ff_check_jsonb(leases, 'leases');
    leases := ff_required(leases, 'leases');
    IF jsonb_typeof(leases) <> 'array' THEN
        PERFORM ff_invalid('invalid_leases', 'leases must be a JSON array');
    END IF;
    n := jsonb_array_length(leases);
    IF n > 10000 THEN
        PERFORM ff_invalid('invalid_leases', 'at most 10000 leases per call');
    END IF;
    now_ms := ff_now_ms();
    outcomes := array_fill(NULL::text, ARRAY[n]);
    ids := array_fill(''::text, ARRAY[n]);
    -- Lock order: malformed elements first, then by (partition, uuid), input order among equals.
    FOR it IN
        SELECT o - 1 AS i, v, p.*
        FROM jsonb_array_elements(leases) WITH ORDINALITY AS a(v, o), LATERAL ff_parse_lease_item(a.v) p
        ORDER BY p.error IS NULL, p.pk, p.id, o
    LOOP
        ids[it.i + 1] := CASE WHEN jsonb_typeof(it.v -> 'execution_id') = 'string' THEN it.v ->> 'execution_id' ELSE '' END;
        IF it.error IS NOT NULL THEN
            outcomes[it.i + 1] := it.error;
            CONTINUE;
        END IF;
        BEGIN
            IF NOT ff_payload_fits(it.result) THEN
                PERFORM ff_check_payload_size(it.result, 'result');
            END IF;
            IF NOT ff_complete_one(it.pk, it.id, ids[it.i + 1], it.lease_id, it.lease_epoch, it.result, now_ms) THEN
                PERFORM ff_complete_fenced(it.pk, it.id, ids[it.i + 1], it.lease_id, it.lease_epoch, it.result, now_ms);
            END IF;
            outcomes[it.i + 1] := 'completed';
            completed := true;
        EXCEPTION WHEN OTHERS THEN
            IF SQLSTATE NOT LIKE 'WF%' OR SQLSTATE = 'WF099' THEN
                RAISE;
            END IF;
            outcomes[it.i + 1] := split_part(SQLERRM, ':', 1);
        END;
    END LOOP;
    IF completed THEN
        PERFORM ff_wake('{ff_lease_event,ff_completion}', '{}');
    END IF;
    RETURN QUERY SELECT ids[i], outcomes[i] FROM generate_series(1, n) i;
END
$$;
