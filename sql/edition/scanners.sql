-- ff_engine SQL edition: the scanners (docs/semantics.md §7) and ff_tick, as the Rust edition
-- (src/store/scanners.rs): each task processes at most max_rows due rows, oldest first, skipping rows
-- another session holds.

CREATE FUNCTION ff_batch_size(max_rows integer) RETURNS bigint
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$ SELECT ff_bounded_count(max_rows, 'max_rows', 1000000) $$;
COMMENT ON FUNCTION ff_batch_size(integer) IS 'A scanner''s batch size, or WF001 (internal).';

-- One task over at most max_rows due rows at now_ms; how many it processed.
CREATE FUNCTION ff_run_task(task text, now_ms bigint, max_rows bigint) RETURNS integer
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    n bigint := 0;
    lanes text[];
    r record;
    t record;
    wp record;
    ret_state text;
    seconds bigint;
BEGIN
    CASE task
    WHEN 'promote_delayed' THEN
        WITH due AS (
            SELECT partition_key, execution_id FROM ff_exec_core
            WHERE eligibility_state = 'not_eligible_until_time' AND eligible_at_ms <= now_ms
            ORDER BY eligible_at_ms LIMIT max_rows FOR UPDATE SKIP LOCKED),
        upd AS (
            UPDATE ff_exec_core e SET eligibility_state = 'eligible_now', public_state = 'waiting', eligible_at_ms = NULL, updated_at_ms = now_ms
            FROM due WHERE e.partition_key = due.partition_key AND e.execution_id = due.execution_id
              AND e.lifecycle_phase = 'runnable' AND e.eligibility_state = 'not_eligible_until_time' AND e.eligible_at_ms <= now_ms
            RETURNING e.lane_id)
        SELECT count(*), coalesce(array_agg(DISTINCT lane_id), '{}') INTO n, lanes FROM upd;
        PERFORM ff_wake('{}', lanes);
    WHEN 'expire_grants' THEN
        WITH d AS (
            DELETE FROM ff_claim_grant WHERE ctid IN (SELECT ctid FROM ff_claim_grant WHERE expires_at_ms <= now_ms
                ORDER BY expires_at_ms LIMIT max_rows FOR UPDATE SKIP LOCKED) AND expires_at_ms <= now_ms
            RETURNING partition_key, execution_id),
        x AS (
            UPDATE ff_exec_core e SET reserved_until_ms = NULL FROM d
            WHERE e.partition_key = d.partition_key AND e.execution_id = d.execution_id AND e.reserved_until_ms <= now_ms)
        SELECT count(*) INTO n FROM d;
    WHEN 'expire_leases' THEN
        SELECT * INTO r FROM ff_expire_leases_now(now_ms, max_rows);
        n := r.expired;
        IF r.expired > 0 THEN
            PERFORM ff_wake(CASE WHEN r.failed > 0 THEN '{ff_lease_event,ff_completion}'::text[] ELSE '{ff_lease_event}'::text[] END,
                            coalesce(r.lanes, '{}'));
        END IF;
    WHEN 'expire_suspensions' THEN
        FOR r IN SELECT partition_key, execution_id FROM ff_suspension WHERE state = 'open' AND timeout_at_ms <= now_ms
                 ORDER BY timeout_at_ms LIMIT max_rows LOOP
            SELECT x.lane_id INTO t FROM ff_exec_core x WHERE x.partition_key = r.partition_key AND x.execution_id = r.execution_id
            FOR UPDATE SKIP LOCKED;
            CONTINUE WHEN NOT FOUND;
            -- Under the lock: still open and due (a signal may have won the race), with the primary waitpoint.
            SELECT s.suspension_id, s.timeout_behavior, w.waitpoint_id, w.waitpoint_key INTO wp
            FROM ff_suspension s
            LEFT JOIN LATERAL (
                SELECT x.waitpoint_id, x.waitpoint_key FROM ff_waitpoint x
                WHERE x.partition_key = s.partition_key AND x.execution_id = s.execution_id AND x.suspension_id = s.suspension_id
                ORDER BY x.activated_at_ms, x.waitpoint_id LIMIT 1) w ON true
            WHERE s.partition_key = r.partition_key AND s.execution_id = r.execution_id AND s.state = 'open' AND s.timeout_at_ms <= now_ms;
            CONTINUE WHEN NOT FOUND;
            CASE wp.timeout_behavior
            WHEN 'fail' THEN
                PERFORM ff_terminate_locked(r.partition_key, r.execution_id, 'failed', now_ms, 'suspension_timeout', 'timed_out_fail', 'failed', false, 'timeout');
            WHEN 'cancel' THEN
                PERFORM ff_terminate_locked(r.partition_key, r.execution_id, 'cancelled', now_ms, 'suspension_timeout', 'timed_out_cancel', 'cancelled', false, 'timeout');
            WHEN 'expire' THEN
                PERFORM ff_terminate_locked(r.partition_key, r.execution_id, 'expired', now_ms, 'suspension_timeout', 'timed_out_expire', 'expired', false, 'timeout');
            WHEN 'escalate' THEN
                UPDATE ff_suspension SET reason_code = 'waiting_for_operator_review', timeout_at_ms = NULL
                WHERE partition_key = r.partition_key AND execution_id = r.execution_id AND suspension_id = wp.suspension_id;
                UPDATE ff_exec_core SET eligibility_state = 'blocked_by_operator', updated_at_ms = now_ms
                WHERE partition_key = r.partition_key AND execution_id = r.execution_id;
            ELSE
                -- auto_resume_with_timeout_signal: a synthetic `timeout` signal is the satisfier.
                PERFORM ff_record_signal(r.partition_key, r.execution_id, t.lane_id,
                    coalesce(wp.waitpoint_id, '00000000-0000-0000-0000-000000000000'), coalesce(wp.waitpoint_key, ''), wp.suspension_id,
                    gen_random_uuid(), 'timeout', '', 'system', '', NULL, NULL, NULL, 'resume_condition_satisfied', true,
                    ARRAY[9223372036854775807]::bigint[], 0, 'timed_out_auto_resume', now_ms);
            END CASE;
            n := n + 1;
        END LOOP;
    WHEN 'expire_deadlines' THEN
        FOR r IN
            WITH due AS (
                SELECT d.partition_key, d.execution_id, e.lifecycle_phase, e.ownership_state
                FROM ff_deadline d JOIN ff_exec_core e ON e.partition_key = d.partition_key AND e.execution_id = d.execution_id
                WHERE d.deadline_at_ms <= now_ms ORDER BY d.deadline_at_ms LIMIT max_rows FOR UPDATE OF e SKIP LOCKED),
            gone AS (
                DELETE FROM ff_deadline x USING due WHERE x.partition_key = due.partition_key AND x.execution_id = due.execution_id)
            SELECT * FROM due
        LOOP
            IF r.lifecycle_phase <> 'terminal' THEN
                PERFORM ff_terminate_locked(r.partition_key, r.execution_id, 'expired', now_ms, 'deadline_exceeded', 'deadline', 'expired',
                                            r.ownership_state = 'leased', 'timeout');
                n := n + 1;
            END IF;
        END LOOP;
    WHEN 'expire_pending_waitpoints' THEN
        WITH due AS (
            SELECT partition_key, execution_id, waitpoint_id FROM ff_waitpoint
            WHERE state = 'pending' AND expires_at_ms <= now_ms ORDER BY expires_at_ms LIMIT max_rows FOR UPDATE SKIP LOCKED),
        upd AS (
            UPDATE ff_waitpoint w SET state = 'closed', closed_at_ms = now_ms, close_reason = 'never_committed'
            FROM due WHERE w.partition_key = due.partition_key AND w.execution_id = due.execution_id
              AND w.waitpoint_id = due.waitpoint_id AND w.state = 'pending'
            RETURNING 1)
        SELECT count(*) INTO n FROM upd;
    WHEN 'gc_dedup' THEN
        WITH a AS (DELETE FROM ff_signal_dedup WHERE ctid IN (SELECT ctid FROM ff_signal_dedup WHERE expires_at_ms <= now_ms
                   ORDER BY expires_at_ms LIMIT max_rows FOR UPDATE SKIP LOCKED) RETURNING 1),
             b AS (DELETE FROM ff_suspend_dedup WHERE ctid IN (SELECT ctid FROM ff_suspend_dedup WHERE expires_at_ms <= now_ms
                   ORDER BY expires_at_ms LIMIT max_rows FOR UPDATE SKIP LOCKED) RETURNING 1)
        SELECT (SELECT count(*) FROM a) + (SELECT count(*) FROM b) INTO n;
    WHEN 'gc_keys' THEN
        WITH d AS (DELETE FROM ff_keystore WHERE kid IN (SELECT kid FROM ff_keystore WHERE NOT active AND expires_at_ms <= now_ms
                   ORDER BY expires_at_ms LIMIT max_rows FOR UPDATE SKIP LOCKED) RETURNING 1)
        SELECT count(*) INTO n FROM d;
    WHEN 'prune_executions' THEN
        FOR ret_state, seconds IN VALUES ('completed', ff_setting_int('ff_engine.retention_completed_s', 86400, 0, true)),
                                     ('failed', ff_setting_int('ff_engine.retention_failed_s', 604800, 0, true)),
                                     ('cancelled', ff_setting_int('ff_engine.retention_cancelled_s', 604800, 0, true)),
                                     ('expired', ff_setting_int('ff_engine.retention_expired_s', 604800, 0, true)) LOOP
            CONTINUE WHEN seconds = 0 OR n >= max_rows;
            n := n + ff_prune(now_ms - seconds * 1000, ARRAY[ret_state], max_rows - n);
        END LOOP;
    END CASE;
    RETURN n;
END
$$;
COMMENT ON FUNCTION ff_run_task(text, bigint, bigint) IS 'Run one scanner task (internal).';

-- Lease expiry: one statement, the Rust edition's (scanners/expire_leases.sql, inlined).
CREATE FUNCTION ff_expire_leases_now(now_ms bigint, max_rows bigint, OUT failed bigint, OUT expired bigint, OUT lanes text[])
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    max_reclaims integer := ff_setting_int('ff_engine.max_reclaims', 1000, 0, false);
BEGIN
    -- @statement scanners/expire_leases.sql: now_ms, max_rows, max_reclaims
    WITH due AS (
        SELECT partition_key, execution_id FROM ff_exec_core
        WHERE ownership_state = 'leased' AND lease_expires_at_ms <= now_ms
        ORDER BY lease_expires_at_ms LIMIT max_rows FOR UPDATE SKIP LOCKED),
    upd AS (
        UPDATE ff_exec_core e SET
          lifecycle_phase   = CASE WHEN e.reclaim_count + 1 > max_reclaims THEN 'terminal' ELSE 'runnable' END,
          ownership_state   = 'unowned',
          eligibility_state = CASE WHEN e.reclaim_count + 1 > max_reclaims THEN 'not_applicable' ELSE 'eligible_now' END,
          attempt_state     = CASE WHEN e.reclaim_count + 1 > max_reclaims THEN 'attempt_terminal' ELSE 'attempt_interrupted' END,
          public_state      = CASE WHEN e.reclaim_count + 1 > max_reclaims THEN 'failed' ELSE 'waiting' END,
          completed_at_ms   = CASE WHEN e.reclaim_count + 1 > max_reclaims THEN now_ms END,
          interrupt_reason  = CASE WHEN e.reclaim_count + 1 > max_reclaims THEN NULL ELSE 'lease_expired' END,
          last_error        = CASE WHEN e.reclaim_count + 1 > max_reclaims THEN 'max_reclaims_exceeded' ELSE e.last_error END,
          lease_epoch = e.lease_epoch + 1, lease_expires_at_ms = NULL, reclaim_count = e.reclaim_count + 1,
          updated_at_ms = now_ms
        FROM due WHERE e.partition_key = due.partition_key AND e.execution_id = due.execution_id
          AND e.ownership_state = 'leased' AND e.lease_expires_at_ms <= now_ms
        RETURNING e.partition_key, e.execution_id, e.namespace, e.lease_id, e.lease_epoch, e.lifecycle_phase, e.lane_id,
                  e.attempt_index),
    att AS (
        UPDATE ff_attempt a SET failure_class = 'infra_crash',
            ended_at_ms = CASE WHEN upd.lifecycle_phase = 'terminal' THEN now_ms ELSE a.ended_at_ms END,
            outcome = CASE WHEN upd.lifecycle_phase = 'terminal' THEN 'failed' ELSE a.outcome END,
            error_message = CASE WHEN upd.lifecycle_phase = 'terminal' THEN 'max_reclaims_exceeded' ELSE a.error_message END
        FROM upd WHERE a.partition_key = upd.partition_key AND a.execution_id = upd.execution_id
          AND a.attempt_index = upd.attempt_index AND a.ended_at_ms IS NULL),
    le AS (
        INSERT INTO ff_lease_event (partition_key, execution_id, namespace, occurred_at_ms, lease_id, lease_epoch, event_type)
        SELECT partition_key, '{fp:' || partition_key || '}:' || execution_id, namespace, now_ms, lease_id, lease_epoch, 'expired'
        FROM upd),
    ce AS (
        INSERT INTO ff_completion_event (partition_key, execution_id, namespace, occurred_at_ms, outcome, failure_class)
        SELECT partition_key, '{fp:' || partition_key || '}:' || execution_id, namespace, now_ms, 'failed', 'infra_crash'
        FROM upd WHERE lifecycle_phase = 'terminal')
    SELECT count(*) FILTER (WHERE lifecycle_phase = 'terminal') AS failed, count(*) AS expired,
           array_agg(DISTINCT lane_id) FILTER (WHERE lifecycle_phase = 'runnable') AS lanes
    FROM upd
    -- @end statement
    INTO failed, expired, lanes;
END
$$;
COMMENT ON FUNCTION ff_expire_leases_now(bigint, bigint) IS 'Lease expiry (internal).';

-- Delete up to max_rows terminal executions in public_states that finished before cutoff_ms, with
-- every row that belongs to them.
CREATE FUNCTION ff_prune(cutoff_ms bigint, public_states text[], max_rows bigint) RETURNS bigint
LANGUAGE sql VOLATILE AS $$
    WITH doomed AS (
        SELECT partition_key, execution_id FROM ff_exec_core
        WHERE completed_at_ms < cutoff_ms AND lifecycle_phase = 'terminal' AND public_state = ANY (public_states)
        LIMIT max_rows FOR UPDATE SKIP LOCKED),
    a AS (DELETE FROM ff_attempt x USING doomed d WHERE x.partition_key = d.partition_key AND x.execution_id = d.execution_id),
    g AS (DELETE FROM ff_claim_grant x USING doomed d WHERE x.partition_key = d.partition_key AND x.execution_id = d.execution_id),
    s AS (DELETE FROM ff_suspension x USING doomed d WHERE x.partition_key = d.partition_key AND x.execution_id = d.execution_id),
    w AS (DELETE FROM ff_waitpoint x USING doomed d WHERE x.partition_key = d.partition_key AND x.execution_id = d.execution_id),
    sg AS (DELETE FROM ff_signal x USING doomed d WHERE x.partition_key = d.partition_key AND x.execution_id = d.execution_id),
    sd AS (DELETE FROM ff_signal_dedup x USING doomed d WHERE x.partition_key = d.partition_key AND x.execution_id = d.execution_id),
    ud AS (DELETE FROM ff_suspend_dedup x USING doomed d WHERE x.partition_key = d.partition_key AND x.execution_id = d.execution_id),
    us AS (DELETE FROM ff_usage_dedup x USING doomed d WHERE x.partition_key = d.partition_key AND x.execution_id = d.execution_id),
    dl AS (DELETE FROM ff_deadline x USING doomed d WHERE x.partition_key = d.partition_key AND x.execution_id = d.execution_id),
    qa AS (DELETE FROM ff_quota_admission x USING doomed d WHERE x.partition_key = d.partition_key AND x.execution_id = d.execution_id),
    st AS (DELETE FROM ff_step x USING doomed d WHERE x.partition_key = d.partition_key AND x.execution_id = d.execution_id),
    fr AS (DELETE FROM ff_frame x USING doomed d WHERE x.partition_key = d.partition_key AND x.execution_id = d.execution_id),
    sm AS (DELETE FROM ff_stream x USING doomed d WHERE x.partition_key = d.partition_key AND x.execution_id = d.execution_id),
    ex AS (DELETE FROM ff_exec_core x USING doomed d WHERE x.partition_key = d.partition_key AND x.execution_id = d.execution_id RETURNING 1)
    SELECT count(*) FROM ex
$$;
COMMENT ON FUNCTION ff_prune(bigint, text[], bigint) IS 'Delete finished executions with everything of theirs (internal).';

CREATE FUNCTION ff_tick(max_rows integer DEFAULT 1000) RETURNS TABLE (task text, processed integer)
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = @extschema@, pg_temp AS $$
#variable_conflict use_variable
DECLARE
    n bigint := ff_batch_size(max_rows);
    t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['promote_delayed', 'expire_grants', 'expire_leases', 'expire_suspensions', 'expire_deadlines',
                             'expire_pending_waitpoints', 'gc_dedup', 'gc_keys', 'prune_executions'] LOOP
        RETURN QUERY SELECT t, ff_run_task(t, ff_now_ms(), n);
    END LOOP;
END
$$;

CREATE FUNCTION ff_promote_delayed(max_rows integer DEFAULT 1000) RETURNS integer
LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = @extschema@, pg_temp AS $$
    SELECT ff_run_task('promote_delayed', ff_now_ms(), ff_batch_size(max_rows))
$$;

CREATE FUNCTION ff_expire_grants(max_rows integer DEFAULT 1000) RETURNS integer
LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = @extschema@, pg_temp AS $$
    SELECT ff_run_task('expire_grants', ff_now_ms(), ff_batch_size(max_rows))
$$;

CREATE FUNCTION ff_expire_leases(max_rows integer DEFAULT 1000) RETURNS integer
LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = @extschema@, pg_temp AS $$
    SELECT ff_run_task('expire_leases', ff_now_ms(), ff_batch_size(max_rows))
$$;

CREATE FUNCTION ff_expire_suspensions(max_rows integer DEFAULT 1000) RETURNS integer
LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = @extschema@, pg_temp AS $$
    SELECT ff_run_task('expire_suspensions', ff_now_ms(), ff_batch_size(max_rows))
$$;

CREATE FUNCTION ff_expire_deadlines(max_rows integer DEFAULT 1000) RETURNS integer
LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = @extschema@, pg_temp AS $$
    SELECT ff_run_task('expire_deadlines', ff_now_ms(), ff_batch_size(max_rows))
$$;

CREATE FUNCTION ff_expire_pending_waitpoints(max_rows integer DEFAULT 1000) RETURNS integer
LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = @extschema@, pg_temp AS $$
    SELECT ff_run_task('expire_pending_waitpoints', ff_now_ms(), ff_batch_size(max_rows))
$$;

CREATE FUNCTION ff_gc_dedup(max_rows integer DEFAULT 1000) RETURNS integer
LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = @extschema@, pg_temp AS $$
    SELECT ff_run_task('gc_dedup', ff_now_ms(), ff_batch_size(max_rows))
$$;

CREATE FUNCTION ff_gc_keys(max_rows integer DEFAULT 1000) RETURNS integer
LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = @extschema@, pg_temp AS $$
    SELECT ff_run_task('gc_keys', ff_now_ms(), ff_batch_size(max_rows))
$$;

CREATE FUNCTION ff_prune_by_retention(max_rows integer DEFAULT 1000) RETURNS integer
LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = @extschema@, pg_temp AS $$
    SELECT ff_run_task('prune_executions', ff_now_ms(), ff_batch_size(max_rows))
$$;

CREATE FUNCTION ff_prune_executions(older_than_ms bigint, public_states text[] DEFAULT '{completed,failed,cancelled,expired}',
    max_rows integer DEFAULT 1000) RETURNS bigint
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = @extschema@, pg_temp AS $$
BEGIN
    PERFORM ff_check_text_array(public_states, 'public_states');
    PERFORM ff_required(older_than_ms, 'older_than_ms');
    PERFORM ff_required(public_states, 'public_states');
    IF cardinality(public_states) = 0 OR EXISTS (SELECT 1 FROM unnest(public_states) s WHERE s NOT IN ('completed', 'failed', 'cancelled', 'expired')) THEN
        PERFORM ff_invalid('invalid_public_states', 'public_states must name one or more of completed, failed, cancelled, expired');
    END IF;
    RETURN ff_prune(older_than_ms, public_states, ff_batch_size(max_rows));
END
$$;

CREATE FUNCTION ff_prune_events(older_than_ms bigint) RETURNS TABLE (table_name text, deleted bigint)
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = @extschema@, pg_temp AS $$
#variable_conflict use_variable
DECLARE
    n bigint;
BEGIN
    PERFORM ff_required(older_than_ms, 'older_than_ms');
    DELETE FROM ff_signal_event WHERE occurred_at_ms < older_than_ms; GET DIAGNOSTICS n = ROW_COUNT;
    RETURN QUERY SELECT 'ff_signal_event'::text, n;
    DELETE FROM ff_lease_event WHERE occurred_at_ms < older_than_ms; GET DIAGNOSTICS n = ROW_COUNT;
    RETURN QUERY SELECT 'ff_lease_event'::text, n;
    DELETE FROM ff_completion_event WHERE occurred_at_ms < older_than_ms; GET DIAGNOSTICS n = ROW_COUNT;
    RETURN QUERY SELECT 'ff_completion_event'::text, n;
    DELETE FROM ff_operator_event WHERE occurred_at_ms < older_than_ms; GET DIAGNOSTICS n = ROW_COUNT;
    RETURN QUERY SELECT 'ff_operator_event'::text, n;
END
$$;
