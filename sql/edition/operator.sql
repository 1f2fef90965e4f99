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
    priority := ff_required(priority, 'priority');
    e := ff_lock_execution(id.partition_key, id.execution_uuid);
    IF e.priority = priority THEN
        RETURN QUERY SELECT 'unchanged'::text, e.priority;
        RETURN;
    END IF;
    now_ms := ff_now_ms();
    PERFORM ff_stmt_operator_change_priority(id.partition_key, id.execution_uuid, priority, now_ms, ff_change_priority.execution_id,
        jsonb_build_object('from', e.priority, 'to', priority));
    IF e.eligibility_state = 'eligible_now' THEN
        PERFORM ff_claim_start_lower(e.lane_id, priority, e.queue_seq);
    END IF;
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
    reason := ff_check_optional_text(reason, 'reason', 256);
    e := ff_lock_execution(id.partition_key, id.execution_uuid);
    IF e.public_state NOT IN ('failed', 'cancelled', 'expired') THEN
        PERFORM ff_raise('WF034', 'execution_not_replayable',
            format('the execution is %s; only failed, cancelled or expired executions are replayed', e.public_state));
    END IF;
    PERFORM ff_stmt_operator_replay(id.partition_key, id.execution_uuid, 'runnable', 'unowned', 'eligible_now',
        'pending_replay_attempt', 'waiting', ff_now_ms(), ff_replay_execution.execution_id, reason, coalesce(keep_steps, true));
    PERFORM ff_claim_start_lower(e.lane_id, e.priority, e.queue_seq);
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
    now_ms bigint;
BEGIN
    reason := ff_required(reason, 'reason');
    reason := ff_check_optional_text(reason, 'reason', 256);
    e := ff_lock_execution(id.partition_key, id.execution_uuid);
    IF lease_epoch IS NOT NULL AND lease_epoch <> e.lease_epoch THEN
        PERFORM ff_raise('WF020', 'lease_conflict', 'the lease epoch does not match the current lease',
                         'current lease_epoch ' || e.lease_epoch);
    END IF;
    IF e.lifecycle_phase <> 'active' OR e.ownership_state <> 'leased' THEN
        PERFORM ff_raise('WF022', 'execution_not_active', format('execution is %s / %s', e.lifecycle_phase, e.ownership_state));
    END IF;
    now_ms := ff_now_ms();
    PERFORM ff_stmt_operator_revoke_lease(id.partition_key, id.execution_uuid, 'runnable', 'lease_revoked', 'eligible_now',
        'attempt_interrupted', 'waiting', now_ms, ff_revoke_lease.execution_id, reason);
    PERFORM ff_claim_start_lower(e.lane_id, e.priority, e.queue_seq);
    PERFORM ff_wake('{ff_lease_event,ff_operator_event}', ARRAY[e.lane_id]);
    RETURN QUERY SELECT 'revoked'::text, e.lease_epoch;
END
$$;
