-- ff_engine SQL edition: operator actions (ff_change_priority, ff_replay_execution, ff_revoke_lease),
-- as the Rust edition (src/store/operator.rs): each under the row lock, each writing an
-- ff_operator_event with the session user.

CREATE FUNCTION ff_change_priority(execution_id text, priority integer)
RETURNS TABLE (outcome text, previous_priority integer)
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = @extschema@, pg_temp AS $$
#variable_conflict use_variable
DECLARE
    id record := ff_parse_execution_id(ff_required(execution_id, 'execution_id'));
    e ff_exec_core;
    now_ms bigint;
BEGIN
    PERFORM ff_required(priority, 'priority');
    e := ff_lock_execution(id.partition_key, id.execution_uuid);
    IF e.priority = priority THEN
        RETURN QUERY SELECT 'unchanged'::text, e.priority;
        RETURN;
    END IF;
    now_ms := ff_now_ms();
    UPDATE ff_exec_core x SET priority = ff_change_priority.priority, updated_at_ms = now_ms
    WHERE x.partition_key = id.partition_key AND x.execution_id = id.execution_uuid;
    INSERT INTO ff_operator_event (partition_key, execution_id, namespace, occurred_at_ms, action, actor, detail)
    VALUES (id.partition_key, ff_change_priority.execution_id, e.namespace, now_ms, 'priority_changed', session_user,
            jsonb_build_object('from', e.priority, 'to', priority));
    PERFORM ff_wake('{ff_operator_event}', '{}');
    RETURN QUERY SELECT 'changed'::text, e.priority;
END
$$;

CREATE FUNCTION ff_replay_execution(execution_id text, reason text DEFAULT NULL, keep_steps boolean DEFAULT true,
    with_dependents boolean DEFAULT false)
RETURNS TABLE (outcome text, previous_public_state text)
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = @extschema@, pg_temp AS $$
#variable_conflict use_variable
DECLARE
    id record := ff_parse_execution_id(ff_required(execution_id, 'execution_id'));
    e ff_exec_core;
BEGIN
    PERFORM ff_check_optional_text(reason, 'reason', 256);
    e := ff_lock_execution(id.partition_key, id.execution_uuid);
    IF e.public_state NOT IN ('failed', 'cancelled', 'expired') THEN
        PERFORM ff_raise('WF034', 'execution_not_replayable',
            format('the execution is %s; only failed, cancelled or expired executions are replayed', e.public_state));
    END IF;
    PERFORM ff_stmt_operator_replay(id.partition_key, id.execution_uuid, 'runnable', 'unowned', 'eligible_now',
        'pending_replay_attempt', 'waiting', ff_now_ms(), ff_replay_execution.execution_id, reason, coalesce(keep_steps, true));
    PERFORM ff_flow_replayed(id.partition_key, id.execution_uuid, coalesce(with_dependents, false));
    PERFORM ff_wake('{ff_operator_event}', ARRAY[e.lane_id]);
    RETURN QUERY SELECT 'replayed'::text, e.public_state::text;
END
$$;

CREATE FUNCTION ff_revoke_lease(execution_id text, reason text DEFAULT 'revoked_by_operator', lease_epoch bigint DEFAULT NULL)
RETURNS TABLE (outcome text, revoked_lease_epoch bigint)
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = @extschema@, pg_temp AS $$
#variable_conflict use_variable
DECLARE
    id record := ff_parse_execution_id(ff_required(execution_id, 'execution_id'));
    e ff_exec_core;
    u record;
    now_ms bigint;
BEGIN
    PERFORM ff_required(reason, 'reason');
    PERFORM ff_check_optional_text(reason, 'reason', 256);
    e := ff_lock_execution(id.partition_key, id.execution_uuid);
    IF lease_epoch IS NOT NULL AND lease_epoch <> e.lease_epoch THEN
        PERFORM ff_raise('WF020', 'lease_conflict', 'the lease epoch does not match the current lease',
                         'current lease_epoch ' || e.lease_epoch);
    END IF;
    IF e.lifecycle_phase <> 'active' OR e.ownership_state <> 'leased' THEN
        PERFORM ff_raise('WF022', 'execution_not_active', format('execution is %s / %s', e.lifecycle_phase, e.ownership_state));
    END IF;
    now_ms := ff_now_ms();
    UPDATE ff_exec_core x SET lifecycle_phase = 'runnable', ownership_state = 'lease_revoked', eligibility_state = 'eligible_now',
        attempt_state = 'attempt_interrupted', public_state = 'waiting', lease_epoch = x.lease_epoch + 1, lease_expires_at_ms = NULL,
        interrupt_reason = 'lease_revoked', eligible_at_ms = NULL, updated_at_ms = now_ms
    WHERE x.partition_key = id.partition_key AND x.execution_id = id.execution_uuid
    RETURNING x.namespace, x.lease_id, x.lease_epoch INTO u;
    INSERT INTO ff_lease_event (partition_key, execution_id, namespace, occurred_at_ms, lease_id, lease_epoch, event_type)
    VALUES (id.partition_key, ff_revoke_lease.execution_id, u.namespace, now_ms, u.lease_id, u.lease_epoch, 'revoked');
    INSERT INTO ff_operator_event (partition_key, execution_id, namespace, occurred_at_ms, action, actor, reason, detail)
    VALUES (id.partition_key, ff_revoke_lease.execution_id, u.namespace, now_ms, 'lease_revoked', session_user, reason,
            jsonb_build_object('lease_epoch', u.lease_epoch));
    PERFORM ff_wake('{ff_lease_event,ff_operator_event}', ARRAY[e.lane_id]);
    RETURN QUERY SELECT 'revoked'::text, e.lease_epoch;
END
$$;
