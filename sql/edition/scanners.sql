-- ff_engine SQL edition: the scanners (docs/semantics.md §7) and ff_tick, as the Rust edition
-- (src/store/scanners.rs): each task processes at most max_rows due rows, oldest first, skipping rows
-- another session holds.

CREATE FUNCTION ff_batch_size(max_rows integer) RETURNS bigint
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$ SELECT ff_bounded_count(max_rows, 'max_rows', 1000000) $$;
COMMENT ON FUNCTION ff_batch_size(integer) IS 'A scanner''s batch size, or WF001 (internal).';

-- Which executions a scanner may touch (store::scanners::ScanFilter): a namespace of 1-256 bytes
-- and/or one tag (tag_key and tag_value both or neither), or every execution.
CREATE FUNCTION ff_check_scan_filter(p_namespace text, p_tag_key text, p_tag_value text) RETURNS boolean
LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
    p_namespace := ff_check_optional_text(p_namespace, 'namespace', 256);
    p_tag_key := ff_check_optional_text(p_tag_key, 'tag_key', 256);
    IF (p_tag_key IS NULL) <> (p_tag_value IS NULL) THEN
        PERFORM ff_invalid('invalid_tag_filter', 'tag_key and tag_value must be given together');
    END IF;
    RETURN p_namespace IS NOT NULL OR p_tag_key IS NOT NULL;
END
$$;
COMMENT ON FUNCTION ff_check_scan_filter(text, text, text) IS 'WF001 unless a valid scanner filter; whether it filters (internal).';

-- One function per task, each over at most max_rows due rows at now_ms of the executions the filter
-- admits, each running the Rust edition's statement (inlined); how many rows it processed.
CREATE FUNCTION ff_task_promote_delayed(now_ms bigint, max_rows bigint, p_namespace text, p_tag_key text, p_tag_value text, p_partitions smallint[]) RETURNS integer
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    n integer := 0;
    lanes text[] := '{}';
    priorities integer[] := '{}';
    seqs bigint[] := '{}';
    r record;
    scan_from bigint := ff_scan_from('promote_delayed', now_ms, p_namespace IS NULL AND p_tag_key IS NULL AND p_partitions IS NULL);
BEGIN
    FOR r IN
        -- @statement scanners/promote_delayed.sql: now_ms, max_rows, p_namespace, p_tag_key, p_tag_value, p_partitions, scan_from
        WITH due AS (
            SELECT partition_key, execution_id FROM ff_exec_core
            WHERE eligibility_state = 'not_eligible_until_time' AND eligible_at_ms <= now_ms AND eligible_at_ms >= scan_from
              AND (p_namespace::text IS NULL OR namespace = p_namespace) AND (p_tag_key::text IS NULL OR tags ->> p_tag_key = p_tag_value)
              AND (p_partitions::smallint[] IS NULL OR partition_key = ANY(p_partitions))
            ORDER BY eligible_at_ms LIMIT max_rows FOR UPDATE SKIP LOCKED)
        UPDATE ff_exec_core e SET eligibility_state = 'eligible_now', public_state = 'waiting',
               eligible_at_ms = NULL, updated_at_ms = now_ms
        FROM due WHERE e.partition_key = due.partition_key AND e.execution_id = due.execution_id AND (p_partitions::smallint[] IS NULL OR e.partition_key = ANY(p_partitions))
          AND e.lifecycle_phase = 'runnable' AND e.eligibility_state || '' = 'not_eligible_until_time' AND e.eligible_at_ms <= now_ms
        RETURNING e.lane_id, e.priority, e.queue_seq
        -- @end statement
    LOOP
        n := n + 1;
        lanes := lanes || r.lane_id;
        priorities := priorities || r.priority;
        seqs := seqs || r.queue_seq;
    END LOOP;
    IF n > 0 THEN
        PERFORM ff_claim_start_lower_rows(lanes, priorities, seqs);
    END IF;
    IF p_namespace IS NULL AND p_tag_key IS NULL AND p_partitions IS NULL AND n < max_rows THEN
        PERFORM ff_scan_done('promote_delayed', now_ms);
    END IF;
    PERFORM ff_wake('{}', ARRAY(SELECT DISTINCT unnest(lanes)));
    RETURN n;
END
$$;
COMMENT ON FUNCTION ff_task_promote_delayed(bigint, bigint, text, text, text, smallint[]) IS 'Scanner task promote_delayed (internal).';

CREATE FUNCTION ff_task_expire_grants(now_ms bigint, max_rows bigint, p_namespace text, p_tag_key text, p_tag_value text, p_partitions smallint[]) RETURNS integer
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    n integer := 0;
    r record;
BEGIN
    FOR r IN
        -- @statement scanners/expire_grants.sql: now_ms, max_rows, p_namespace, p_tag_key, p_tag_value, p_partitions
        WITH d AS (
            DELETE FROM ff_claim_grant WHERE ctid IN (SELECT ctid FROM ff_claim_grant g WHERE g.expires_at_ms <= now_ms AND (p_partitions::smallint[] IS NULL OR g.partition_key = ANY(p_partitions))
                AND (p_namespace::text IS NULL AND p_tag_key::text IS NULL OR EXISTS (
                      SELECT 1 FROM ff_exec_core x WHERE x.partition_key = g.partition_key AND x.execution_id = g.execution_id
                        AND (p_namespace::text IS NULL OR x.namespace = p_namespace) AND (p_tag_key::text IS NULL OR x.tags ->> p_tag_key = p_tag_value)))
                ORDER BY expires_at_ms LIMIT max_rows FOR UPDATE SKIP LOCKED) AND expires_at_ms <= now_ms AND (p_partitions::smallint[] IS NULL OR partition_key = ANY(p_partitions))
            RETURNING partition_key, execution_id),
        r AS (
            UPDATE ff_exec_core e SET reserved_until_ms = NULL FROM d
            WHERE e.partition_key = d.partition_key AND e.execution_id = d.execution_id AND e.reserved_until_ms <= now_ms
              AND (p_partitions::smallint[] IS NULL OR e.partition_key = ANY(p_partitions)))
        SELECT 1 AS processed FROM d
        -- @end statement
    LOOP
        n := n + 1;
    END LOOP;
    RETURN n;
END
$$;
COMMENT ON FUNCTION ff_task_expire_grants(bigint, bigint, text, text, text, smallint[]) IS 'Scanner task expire_grants (internal).';

CREATE FUNCTION ff_task_expire_leases(now_ms bigint, max_rows bigint, p_namespace text, p_tag_key text, p_tag_value text, p_partitions smallint[]) RETURNS integer
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    r record;
BEGIN
    SELECT * INTO r FROM ff_expire_leases_now(now_ms, max_rows, p_namespace, p_tag_key, p_tag_value, p_partitions);
    IF r.expired > 0 THEN
        PERFORM ff_wake(CASE WHEN r.failed > 0 THEN '{ff_lease_event,ff_completion}'::text[] ELSE '{ff_lease_event}'::text[] END,
                        coalesce(r.lanes, '{}'));
    END IF;
    RETURN r.expired;
END
$$;
COMMENT ON FUNCTION ff_task_expire_leases(bigint, bigint, text, text, text, smallint[]) IS 'Scanner task expire_leases (internal).';

-- A due suspension's timeout behaviour, under its execution's lock (skipped when another session
-- holds it), re-checked: still open and due (a signal may have won the race).
CREATE FUNCTION ff_apply_suspension_timeout(pk smallint, id uuid, now_ms bigint) RETURNS boolean
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    t record;
    wp record;
BEGIN
    SELECT x.lane_id, x.priority, x.queue_seq INTO t FROM ff_exec_core x WHERE x.partition_key = pk AND x.execution_id = id FOR UPDATE SKIP LOCKED;
    IF NOT FOUND THEN
        RETURN false;
    END IF;
    SELECT s.suspension_id, s.timeout_behavior, w.waitpoint_id, w.waitpoint_key INTO wp
    FROM ff_suspension s
    LEFT JOIN LATERAL (
        SELECT x.waitpoint_id, x.waitpoint_key FROM ff_waitpoint x
        WHERE x.partition_key = s.partition_key AND x.execution_id = s.execution_id AND x.suspension_id = s.suspension_id
        ORDER BY x.activated_at_ms, x.waitpoint_id LIMIT 1) w ON true
    WHERE s.partition_key = pk AND s.execution_id = id AND s.state = 'open' AND s.timeout_at_ms <= now_ms;
    IF NOT FOUND THEN
        RETURN false;
    END IF;
    CASE wp.timeout_behavior
    WHEN 'fail' THEN
        PERFORM ff_terminate_locked(pk, id, 'failed', now_ms, 'suspension_timeout', 'timed_out_fail', 'failed', false, 'timeout');
    WHEN 'cancel' THEN
        PERFORM ff_terminate_locked(pk, id, 'cancelled', now_ms, 'suspension_timeout', 'timed_out_cancel', 'cancelled', false, 'timeout');
    WHEN 'expire' THEN
        PERFORM ff_terminate_locked(pk, id, 'expired', now_ms, 'suspension_timeout', 'timed_out_expire', 'expired', false, 'timeout');
    WHEN 'escalate' THEN
        -- @statement signals/escalate.sql: pk, id, wp.suspension_id, now_ms
        WITH s AS (
            UPDATE ff_suspension SET reason_code = 'waiting_for_operator_review', timeout_at_ms = NULL
            WHERE partition_key = pk AND execution_id = id AND suspension_id = wp.suspension_id)
        UPDATE ff_exec_core SET eligibility_state = 'blocked_by_operator', updated_at_ms = now_ms
        WHERE partition_key = pk AND execution_id = id
        -- @end statement
        ;
    ELSE
        -- auto_resume_with_timeout_signal: a synthetic `timeout` signal is the satisfier.
        PERFORM ff_record_signal(pk, id, '{fp:' || pk || '}:' || id, t.lane_id,
            coalesce(wp.waitpoint_id, '00000000-0000-0000-0000-000000000000'), coalesce(wp.waitpoint_key, ''), wp.suspension_id,
            gen_random_uuid(), 'timeout', '', 'system', '', NULL, NULL, NULL, 'resume_condition_satisfied', true,
            ARRAY[9223372036854775807]::bigint[], 0, 'timed_out_auto_resume', now_ms);
        PERFORM ff_claim_start_lower(t.lane_id, t.priority, t.queue_seq);
    END CASE;
    RETURN true;
END
$$;
COMMENT ON FUNCTION ff_apply_suspension_timeout(smallint, uuid, bigint) IS 'Apply one due suspension''s timeout behaviour (internal).';

CREATE FUNCTION ff_task_expire_suspensions(now_ms bigint, max_rows bigint, p_namespace text, p_tag_key text, p_tag_value text, p_partitions smallint[]) RETURNS integer
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    n integer := 0;
    found_rows integer := 0;
    r record;
    scan_from bigint := ff_scan_from('expire_suspensions', now_ms, p_namespace IS NULL AND p_tag_key IS NULL AND p_partitions IS NULL);
BEGIN
    FOR r IN
        -- @statement signals/due_suspensions.sql: now_ms, max_rows, p_namespace, p_tag_key, p_tag_value, p_partitions, scan_from
        SELECT s.partition_key, s.execution_id FROM ff_suspension s WHERE s.state = 'open' AND s.timeout_at_ms <= now_ms
          AND s.timeout_at_ms >= scan_from AND (p_partitions::smallint[] IS NULL OR s.partition_key = ANY(p_partitions))
          AND (p_namespace::text IS NULL AND p_tag_key::text IS NULL OR EXISTS (
                SELECT 1 FROM ff_exec_core x WHERE x.partition_key = s.partition_key AND x.execution_id = s.execution_id
                  AND (p_namespace::text IS NULL OR x.namespace = p_namespace) AND (p_tag_key::text IS NULL OR x.tags ->> p_tag_key = p_tag_value)))
        ORDER BY timeout_at_ms LIMIT max_rows
        -- @end statement
    LOOP
        found_rows := found_rows + 1;
        IF ff_apply_suspension_timeout(r.partition_key, r.execution_id, now_ms) THEN
            n := n + 1;
        END IF;
    END LOOP;
    IF p_namespace IS NULL AND p_tag_key IS NULL AND p_partitions IS NULL AND found_rows < max_rows THEN
        PERFORM ff_scan_done('expire_suspensions', now_ms);
    END IF;
    RETURN n;
END
$$;
COMMENT ON FUNCTION ff_task_expire_suspensions(bigint, bigint, text, text, text, smallint[]) IS 'Scanner task expire_suspensions (internal).';

CREATE FUNCTION ff_task_expire_deadlines(now_ms bigint, max_rows bigint, p_namespace text, p_tag_key text, p_tag_value text, p_partitions smallint[]) RETURNS integer
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    n integer := 0;
    found_rows integer := 0;
    r record;
    scan_from bigint := ff_scan_from('expire_deadlines', now_ms, p_namespace IS NULL AND p_tag_key IS NULL AND p_partitions IS NULL);
BEGIN
    FOR r IN
        -- @statement scanners/due_deadlines.sql: now_ms, max_rows, p_namespace, p_tag_key, p_tag_value, p_partitions, scan_from
        WITH due AS (
            SELECT d.partition_key, d.execution_id, e.lifecycle_phase, e.ownership_state
            FROM ff_deadline d
            JOIN ff_exec_core e ON e.partition_key = d.partition_key AND e.execution_id = d.execution_id
            WHERE d.deadline_at_ms <= now_ms AND d.deadline_at_ms >= scan_from
              AND (p_namespace::text IS NULL OR e.namespace = p_namespace) AND (p_tag_key::text IS NULL OR e.tags ->> p_tag_key = p_tag_value)
              AND (p_partitions::smallint[] IS NULL OR d.partition_key = ANY(p_partitions) AND e.partition_key = ANY(p_partitions))
            ORDER BY d.deadline_at_ms
            LIMIT max_rows
            FOR UPDATE OF e SKIP LOCKED),
        gone AS (
            DELETE FROM ff_deadline x USING due WHERE x.partition_key = due.partition_key AND x.execution_id = due.execution_id
              AND (p_partitions::smallint[] IS NULL OR x.partition_key = ANY(p_partitions)))
        SELECT partition_key, execution_id, lifecycle_phase, ownership_state FROM due
        -- @end statement
    LOOP
        found_rows := found_rows + 1;
        IF r.lifecycle_phase <> 'terminal' THEN
            PERFORM ff_terminate_locked(r.partition_key, r.execution_id, 'expired', now_ms, 'deadline_exceeded', 'deadline', 'expired',
                                        r.ownership_state = 'leased', 'timeout');
            n := n + 1;
        END IF;
    END LOOP;
    IF p_namespace IS NULL AND p_tag_key IS NULL AND p_partitions IS NULL AND found_rows < max_rows THEN
        PERFORM ff_scan_done('expire_deadlines', now_ms);
    END IF;
    RETURN n;
END
$$;
COMMENT ON FUNCTION ff_task_expire_deadlines(bigint, bigint, text, text, text, smallint[]) IS 'Scanner task expire_deadlines (internal).';

CREATE FUNCTION ff_task_expire_pending_waitpoints(now_ms bigint, max_rows bigint, p_namespace text, p_tag_key text, p_tag_value text, p_partitions smallint[]) RETURNS integer
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    n integer := 0;
    r record;
BEGIN
    FOR r IN
        -- @statement scanners/expire_pending_waitpoints.sql: now_ms, max_rows, p_namespace, p_tag_key, p_tag_value, p_partitions
        WITH due AS (
            SELECT p.partition_key, p.execution_id, p.waitpoint_id FROM ff_waitpoint p
            WHERE p.state = 'pending' AND p.expires_at_ms <= now_ms AND (p_partitions::smallint[] IS NULL OR p.partition_key = ANY(p_partitions))
              AND (p_namespace::text IS NULL AND p_tag_key::text IS NULL OR EXISTS (
                    SELECT 1 FROM ff_exec_core x WHERE x.partition_key = p.partition_key AND x.execution_id = p.execution_id
                      AND (p_namespace::text IS NULL OR x.namespace = p_namespace) AND (p_tag_key::text IS NULL OR x.tags ->> p_tag_key = p_tag_value)))
            ORDER BY expires_at_ms LIMIT max_rows FOR UPDATE SKIP LOCKED)
        UPDATE ff_waitpoint w SET state = 'closed', closed_at_ms = now_ms, close_reason = 'never_committed'
        FROM due WHERE w.partition_key = due.partition_key AND w.execution_id = due.execution_id
          AND w.waitpoint_id = due.waitpoint_id AND w.state = 'pending' AND (p_partitions::smallint[] IS NULL OR w.partition_key = ANY(p_partitions))
        RETURNING 1 AS processed
        -- @end statement
    LOOP
        n := n + 1;
    END LOOP;
    RETURN n;
END
$$;
COMMENT ON FUNCTION ff_task_expire_pending_waitpoints(bigint, bigint, text, text, text, smallint[]) IS 'Scanner task expire_pending_waitpoints (internal).';

CREATE FUNCTION ff_task_gc_dedup(now_ms bigint, max_rows bigint, p_namespace text, p_tag_key text, p_tag_value text, p_partitions smallint[]) RETURNS integer
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    n integer := 0;
    r record;
BEGIN
    FOR r IN
        -- @statement scanners/gc_signal_dedup.sql: now_ms, max_rows, p_namespace, p_tag_key, p_tag_value, p_partitions
        DELETE FROM ff_signal_dedup WHERE ctid IN (SELECT ctid FROM ff_signal_dedup k WHERE k.expires_at_ms <= now_ms AND (p_partitions::smallint[] IS NULL OR k.partition_key = ANY(p_partitions))
            AND (p_namespace::text IS NULL AND p_tag_key::text IS NULL OR EXISTS (
                  SELECT 1 FROM ff_exec_core x WHERE x.partition_key = k.partition_key AND x.execution_id = k.execution_id
                    AND (p_namespace::text IS NULL OR x.namespace = p_namespace) AND (p_tag_key::text IS NULL OR x.tags ->> p_tag_key = p_tag_value)))
            ORDER BY expires_at_ms LIMIT max_rows FOR UPDATE SKIP LOCKED)
            AND (p_partitions::smallint[] IS NULL OR partition_key = ANY(p_partitions))
        RETURNING 1 AS processed
        -- @end statement
    LOOP
        n := n + 1;
    END LOOP;
    FOR r IN
        -- @statement scanners/gc_suspend_dedup.sql: now_ms, max_rows, p_namespace, p_tag_key, p_tag_value, p_partitions
        DELETE FROM ff_suspend_dedup WHERE ctid IN (SELECT ctid FROM ff_suspend_dedup k WHERE k.expires_at_ms <= now_ms AND (p_partitions::smallint[] IS NULL OR k.partition_key = ANY(p_partitions))
            AND (p_namespace::text IS NULL AND p_tag_key::text IS NULL OR EXISTS (
                  SELECT 1 FROM ff_exec_core x WHERE x.partition_key = k.partition_key AND x.execution_id = k.execution_id
                    AND (p_namespace::text IS NULL OR x.namespace = p_namespace) AND (p_tag_key::text IS NULL OR x.tags ->> p_tag_key = p_tag_value)))
            ORDER BY expires_at_ms LIMIT max_rows FOR UPDATE SKIP LOCKED)
            AND (p_partitions::smallint[] IS NULL OR partition_key = ANY(p_partitions))
        RETURNING 1 AS processed
        -- @end statement
    LOOP
        n := n + 1;
    END LOOP;
    RETURN n;
END
$$;
COMMENT ON FUNCTION ff_task_gc_dedup(bigint, bigint, text, text, text, smallint[]) IS 'Scanner task gc_dedup (internal).';

CREATE FUNCTION ff_task_gc_keys(now_ms bigint, max_rows bigint) RETURNS integer
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    n integer := 0;
    r record;
BEGIN
    FOR r IN
        -- @statement scanners/gc_keys.sql: now_ms, max_rows, NULL, NULL, NULL, NULL
        DELETE FROM ff_keystore WHERE kid IN (SELECT kid FROM ff_keystore WHERE NOT active AND expires_at_ms <= now_ms
            ORDER BY expires_at_ms LIMIT max_rows FOR UPDATE SKIP LOCKED)
        RETURNING 1 AS processed
        -- @end statement
    LOOP
        n := n + 1;
    END LOOP;
    RETURN n;
END
$$;
COMMENT ON FUNCTION ff_task_gc_keys(bigint, bigint) IS 'Scanner task gc_keys (internal).';

-- Retention: each outcome's setting, at most max_rows executions in all.
CREATE FUNCTION ff_task_prune_executions(now_ms bigint, max_rows bigint, p_namespace text, p_tag_key text, p_tag_value text, p_partitions smallint[]) RETURNS integer
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    n bigint := 0;
    ret_state text;
    seconds bigint;
BEGIN
    FOR ret_state, seconds IN VALUES ('completed', ff_setting_int('ff_engine.retention_completed_s', 86400, 0, true)),
                                 ('failed', ff_setting_int('ff_engine.retention_failed_s', 604800, 0, true)),
                                 ('cancelled', ff_setting_int('ff_engine.retention_cancelled_s', 604800, 0, true)),
                                 ('expired', ff_setting_int('ff_engine.retention_expired_s', 604800, 0, true)) LOOP
        CONTINUE WHEN seconds = 0 OR n >= max_rows;
        n := n + ff_prune(now_ms - seconds * 1000, ARRAY[ret_state], max_rows - n, p_namespace, p_tag_key, p_tag_value, p_partitions);
    END LOOP;
    RETURN n;
END
$$;
COMMENT ON FUNCTION ff_task_prune_executions(bigint, bigint, text, text, text, smallint[]) IS 'Scanner task prune_executions (internal).';

CREATE FUNCTION ff_task_verify_claim_starts(now_ms bigint) RETURNS integer
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    n integer;
BEGIN
    SELECT count(*) FROM (
    -- @statement scanners/verify_claim_starts.sql: now_ms, NULL, NULL, NULL, NULL, NULL
    SELECT 1 AS processed FROM generate_series(1, ff_claim_start_verify(NULL, NULL, now_ms, 0))
    -- @end statement
    ) x INTO n;
    RETURN n;
END
$$;
COMMENT ON FUNCTION ff_task_verify_claim_starts(bigint) IS 'Scanner task verify_claim_starts (internal).';

-- One task by name (ff_tick's order: store::scanners::Task::ALL).
CREATE FUNCTION ff_run_task(task text, now_ms bigint, max_rows bigint, p_namespace text, p_tag_key text, p_tag_value text, p_partitions smallint[]) RETURNS integer
LANGUAGE plpgsql VOLATILE AS $$
BEGIN
    RETURN CASE task
        WHEN 'promote_delayed' THEN ff_task_promote_delayed(now_ms, max_rows, p_namespace, p_tag_key, p_tag_value, p_partitions)
        WHEN 'expire_grants' THEN ff_task_expire_grants(now_ms, max_rows, p_namespace, p_tag_key, p_tag_value, p_partitions)
        WHEN 'expire_leases' THEN ff_task_expire_leases(now_ms, max_rows, p_namespace, p_tag_key, p_tag_value, p_partitions)
        WHEN 'expire_suspensions' THEN ff_task_expire_suspensions(now_ms, max_rows, p_namespace, p_tag_key, p_tag_value, p_partitions)
        WHEN 'expire_deadlines' THEN ff_task_expire_deadlines(now_ms, max_rows, p_namespace, p_tag_key, p_tag_value, p_partitions)
        WHEN 'expire_pending_waitpoints' THEN ff_task_expire_pending_waitpoints(now_ms, max_rows, p_namespace, p_tag_key, p_tag_value, p_partitions)
        WHEN 'gc_dedup' THEN ff_task_gc_dedup(now_ms, max_rows, p_namespace, p_tag_key, p_tag_value, p_partitions)
        WHEN 'gc_keys' THEN ff_task_gc_keys(now_ms, max_rows)
        WHEN 'prune_executions' THEN ff_task_prune_executions(now_ms, max_rows, p_namespace, p_tag_key, p_tag_value, p_partitions)
        WHEN 'verify_claim_starts' THEN ff_task_verify_claim_starts(now_ms)
    END;
END
$$;
COMMENT ON FUNCTION ff_run_task(text, bigint, bigint, text, text, text, smallint[]) IS 'Run one scanner task (internal).';

-- Lease expiry: one statement, the Rust edition's (scanners/expire_leases.sql, inlined).
CREATE FUNCTION ff_expire_leases_now(now_ms bigint, max_rows bigint, p_namespace text, p_tag_key text, p_tag_value text, p_partitions smallint[], OUT failed bigint, OUT expired bigint,
    OUT lanes text[])
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    max_reclaims integer := ff_setting_int('ff_engine.max_reclaims', 1000, 0, false);
    ready_lanes text[];
    ready_priorities integer[];
    ready_seqs bigint[];
    scan_from bigint := ff_scan_from('expire_leases', now_ms, p_namespace IS NULL AND p_tag_key IS NULL AND p_partitions IS NULL);
BEGIN
    -- @statement scanners/expire_leases.sql: now_ms, max_rows, max_reclaims, p_namespace, p_tag_key, p_tag_value, p_partitions, scan_from
    WITH due AS (
        SELECT partition_key, execution_id FROM ff_exec_core
        WHERE ownership_state = 'leased' AND lease_expires_at_ms <= now_ms AND lease_expires_at_ms >= scan_from
          AND (p_namespace::text IS NULL OR namespace = p_namespace) AND (p_tag_key::text IS NULL OR tags ->> p_tag_key = p_tag_value)
          AND (p_partitions::smallint[] IS NULL OR partition_key = ANY(p_partitions))
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
        FROM due WHERE e.partition_key = due.partition_key AND e.execution_id = due.execution_id AND (p_partitions::smallint[] IS NULL OR e.partition_key = ANY(p_partitions))
          AND e.ownership_state || '' = 'leased' AND e.lease_expires_at_ms <= now_ms
        RETURNING e.partition_key, e.execution_id, e.namespace, e.lease_id, e.lease_epoch, e.lifecycle_phase, e.lane_id,
                  e.priority, e.queue_seq, e.attempt_index),
    att AS (
        UPDATE ff_attempt a SET failure_class = 'infra_crash',
            ended_at_ms = CASE WHEN upd.lifecycle_phase = 'terminal' THEN now_ms ELSE a.ended_at_ms END,
            outcome = CASE WHEN upd.lifecycle_phase = 'terminal' THEN 'failed' ELSE a.outcome END,
            error_message = CASE WHEN upd.lifecycle_phase = 'terminal' THEN 'max_reclaims_exceeded' ELSE a.error_message END
        FROM upd WHERE a.partition_key = upd.partition_key AND a.execution_id = upd.execution_id AND (p_partitions::smallint[] IS NULL OR a.partition_key = ANY(p_partitions))
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
           array_agg(lane_id) FILTER (WHERE lifecycle_phase = 'runnable') AS claimable_lane_ids,
           array_agg(priority) FILTER (WHERE lifecycle_phase = 'runnable') AS claimable_priorities,
           array_agg(queue_seq) FILTER (WHERE lifecycle_phase = 'runnable') AS claimable_queue_seqs
    FROM upd
    -- @end statement
    INTO failed, expired, ready_lanes, ready_priorities, ready_seqs;
    IF ready_lanes IS NOT NULL THEN
        PERFORM ff_claim_start_lower_rows(ready_lanes, ready_priorities, ready_seqs);
        lanes := ARRAY(SELECT DISTINCT l FROM unnest(ready_lanes) l ORDER BY 1);
    END IF;
    IF p_namespace IS NULL AND p_tag_key IS NULL AND p_partitions IS NULL AND expired < max_rows THEN
        PERFORM ff_scan_done('expire_leases', now_ms);
    END IF;
END
$$;
COMMENT ON FUNCTION ff_expire_leases_now(bigint, bigint, text, text, text, smallint[]) IS 'Lease expiry (internal).';

-- Delete up to max_rows terminal executions in public_states that finished before cutoff_ms, with
-- every row that belongs to them.
CREATE FUNCTION ff_prune(cutoff_ms bigint, public_states text[], max_rows bigint, p_namespace text, p_tag_key text, p_tag_value text, p_partitions smallint[]) RETURNS bigint
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    n bigint;
BEGIN
    -- @statement retention/prune_executions.sql: cutoff_ms, public_states, max_rows, p_namespace, p_tag_key, p_tag_value, p_partitions
    WITH doomed AS (
        SELECT partition_key, execution_id FROM ff_exec_core
        WHERE completed_at_ms < cutoff_ms AND lifecycle_phase = 'terminal' AND public_state = ANY (public_states::text[])
          AND (p_namespace::text IS NULL OR namespace = p_namespace) AND (p_tag_key::text IS NULL OR tags ->> p_tag_key = p_tag_value)
          AND (p_partitions::smallint[] IS NULL OR partition_key = ANY(p_partitions))
        LIMIT max_rows
        FOR UPDATE SKIP LOCKED),
    attempts AS (
        DELETE FROM ff_attempt x USING doomed d WHERE x.partition_key = d.partition_key AND x.execution_id = d.execution_id
            AND (p_partitions::smallint[] IS NULL OR x.partition_key = ANY(p_partitions))),
    grants AS (
        DELETE FROM ff_claim_grant x USING doomed d WHERE x.partition_key = d.partition_key AND x.execution_id = d.execution_id
            AND (p_partitions::smallint[] IS NULL OR x.partition_key = ANY(p_partitions))),
    suspensions AS (
        DELETE FROM ff_suspension x USING doomed d WHERE x.partition_key = d.partition_key AND x.execution_id = d.execution_id
            AND (p_partitions::smallint[] IS NULL OR x.partition_key = ANY(p_partitions))),
    waitpoints AS (
        DELETE FROM ff_waitpoint x USING doomed d WHERE x.partition_key = d.partition_key AND x.execution_id = d.execution_id
            AND (p_partitions::smallint[] IS NULL OR x.partition_key = ANY(p_partitions))),
    signals AS (
        DELETE FROM ff_signal x USING doomed d WHERE x.partition_key = d.partition_key AND x.execution_id = d.execution_id
            AND (p_partitions::smallint[] IS NULL OR x.partition_key = ANY(p_partitions))),
    signal_dedup AS (
        DELETE FROM ff_signal_dedup x USING doomed d WHERE x.partition_key = d.partition_key AND x.execution_id = d.execution_id
            AND (p_partitions::smallint[] IS NULL OR x.partition_key = ANY(p_partitions))),
    suspend_dedup AS (
        DELETE FROM ff_suspend_dedup x USING doomed d WHERE x.partition_key = d.partition_key AND x.execution_id = d.execution_id
            AND (p_partitions::smallint[] IS NULL OR x.partition_key = ANY(p_partitions))),
    usage_dedup AS (
        DELETE FROM ff_usage_dedup x USING doomed d WHERE x.partition_key = d.partition_key AND x.execution_id = d.execution_id
            AND (p_partitions::smallint[] IS NULL OR x.partition_key = ANY(p_partitions))),
    deadlines AS (
        DELETE FROM ff_deadline x USING doomed d WHERE x.partition_key = d.partition_key AND x.execution_id = d.execution_id
            AND (p_partitions::smallint[] IS NULL OR x.partition_key = ANY(p_partitions))),
    admissions AS (
        DELETE FROM ff_quota_admission x USING doomed d WHERE x.partition_key = d.partition_key AND x.execution_id = d.execution_id
            AND (p_partitions::smallint[] IS NULL OR x.partition_key = ANY(p_partitions))),
    steps AS (
        DELETE FROM ff_step x USING doomed d WHERE x.partition_key = d.partition_key AND x.execution_id = d.execution_id
            AND (p_partitions::smallint[] IS NULL OR x.partition_key = ANY(p_partitions))),
    frames AS (
        DELETE FROM ff_frame x USING doomed d WHERE x.partition_key = d.partition_key AND x.execution_id = d.execution_id
            AND (p_partitions::smallint[] IS NULL OR x.partition_key = ANY(p_partitions))),
    streams AS (
        DELETE FROM ff_stream x USING doomed d WHERE x.partition_key = d.partition_key AND x.execution_id = d.execution_id
            AND (p_partitions::smallint[] IS NULL OR x.partition_key = ANY(p_partitions))),
    executions AS (
        DELETE FROM ff_exec_core x USING doomed d WHERE x.partition_key = d.partition_key AND x.execution_id = d.execution_id
            AND (p_partitions::smallint[] IS NULL OR x.partition_key = ANY(p_partitions))
        RETURNING 1)
    SELECT count(*) AS deleted FROM executions
    -- @end statement
    INTO n;
    RETURN n;
END
$$;
COMMENT ON FUNCTION ff_prune(bigint, text[], bigint, text, text, text, smallint[]) IS 'Delete finished executions with everything of theirs (internal).';

-- ff_tick's tasks, in the order it runs them (store::scanners::Task::ALL).
CREATE FUNCTION ff_tick_tasks() RETURNS text[]
LANGUAGE sql IMMUTABLE AS $$
    SELECT ARRAY['promote_delayed', 'expire_grants', 'expire_leases', 'expire_suspensions', 'expire_deadlines',
                 'expire_pending_waitpoints', 'gc_dedup', 'gc_keys', 'prune_executions', 'verify_claim_starts']
$$;
COMMENT ON FUNCTION ff_tick_tasks() IS 'ff_tick''s tasks in order (internal).';

CREATE FUNCTION ff_tick(max_rows integer DEFAULT 1000, namespace text DEFAULT NULL, tag_key text DEFAULT NULL,
    tag_value text DEFAULT NULL) RETURNS TABLE (task text, processed integer)
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = @extschema@, pg_temp AS $$
#variable_conflict use_variable
DECLARE
    n bigint := ff_batch_size(max_rows);
    filtered boolean := ff_check_scan_filter(namespace, tag_key, tag_value);
    t text;
BEGIN
    FOREACH t IN ARRAY ff_tick_tasks() LOOP
        -- A filtered tick runs the tasks that touch executions only.
        CONTINUE WHEN filtered AND t IN ('gc_keys', 'verify_claim_starts');
        RETURN QUERY SELECT t, ff_run_task(t, ff_now_ms(), n, namespace, tag_key, tag_value, NULL);
    END LOOP;
END
$$;

-- ff_tick for the node it runs on: on a Citus node, every task that touches executions once per shard
-- placed there, restricted to its partitions; on one node, ff_tick. Summed over the shards.
CREATE FUNCTION ff_tick_node(max_rows integer DEFAULT 1000) RETURNS TABLE (task text, processed integer)
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = @extschema@, pg_temp AS $$
DECLARE
    n bigint := ff_batch_size(max_rows);
    tasks text[] := ff_tick_tasks();
    counts integer[] := array_fill(NULL::integer, ARRAY[cardinality(tasks)]);
    parts smallint[];
    i integer;
BEGIN
    FOR parts IN SELECT * FROM ff_node_partitions() LOOP
        FOR i IN 1 .. cardinality(tasks) LOOP
            -- Restricted to a shard's partitions, as a filtered tick: the tasks that touch executions only.
            CONTINUE WHEN parts IS NOT NULL AND tasks[i] IN ('gc_keys', 'verify_claim_starts');
            counts[i] := coalesce(counts[i], 0) + ff_run_task(tasks[i], ff_now_ms(), n, NULL, NULL, NULL, parts);
        END LOOP;
    END LOOP;
    RETURN QUERY SELECT tasks[k], counts[k] FROM generate_subscripts(tasks, 1) k WHERE counts[k] IS NOT NULL ORDER BY k;
END
$$;

CREATE FUNCTION ff_promote_delayed(max_rows integer DEFAULT 1000, namespace text DEFAULT NULL, tag_key text DEFAULT NULL,
    tag_value text DEFAULT NULL) RETURNS integer
LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = @extschema@, pg_temp AS $$
    SELECT ff_run_task('promote_delayed', ff_now_ms(), ff_batch_size($1), $2, $3, $4, NULL) WHERE ff_check_scan_filter($2, $3, $4) IS NOT NULL
$$;

CREATE FUNCTION ff_expire_grants(max_rows integer DEFAULT 1000, namespace text DEFAULT NULL, tag_key text DEFAULT NULL,
    tag_value text DEFAULT NULL) RETURNS integer
LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = @extschema@, pg_temp AS $$
    SELECT ff_run_task('expire_grants', ff_now_ms(), ff_batch_size($1), $2, $3, $4, NULL) WHERE ff_check_scan_filter($2, $3, $4) IS NOT NULL
$$;

CREATE FUNCTION ff_expire_leases(max_rows integer DEFAULT 1000, namespace text DEFAULT NULL, tag_key text DEFAULT NULL,
    tag_value text DEFAULT NULL) RETURNS integer
LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = @extschema@, pg_temp AS $$
    SELECT ff_run_task('expire_leases', ff_now_ms(), ff_batch_size($1), $2, $3, $4, NULL) WHERE ff_check_scan_filter($2, $3, $4) IS NOT NULL
$$;

CREATE FUNCTION ff_expire_suspensions(max_rows integer DEFAULT 1000, namespace text DEFAULT NULL, tag_key text DEFAULT NULL,
    tag_value text DEFAULT NULL) RETURNS integer
LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = @extschema@, pg_temp AS $$
    SELECT ff_run_task('expire_suspensions', ff_now_ms(), ff_batch_size($1), $2, $3, $4, NULL) WHERE ff_check_scan_filter($2, $3, $4) IS NOT NULL
$$;

CREATE FUNCTION ff_expire_deadlines(max_rows integer DEFAULT 1000, namespace text DEFAULT NULL, tag_key text DEFAULT NULL,
    tag_value text DEFAULT NULL) RETURNS integer
LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = @extschema@, pg_temp AS $$
    SELECT ff_run_task('expire_deadlines', ff_now_ms(), ff_batch_size($1), $2, $3, $4, NULL) WHERE ff_check_scan_filter($2, $3, $4) IS NOT NULL
$$;

CREATE FUNCTION ff_expire_pending_waitpoints(max_rows integer DEFAULT 1000, namespace text DEFAULT NULL, tag_key text DEFAULT NULL,
    tag_value text DEFAULT NULL) RETURNS integer
LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = @extschema@, pg_temp AS $$
    SELECT ff_run_task('expire_pending_waitpoints', ff_now_ms(), ff_batch_size($1), $2, $3, $4, NULL) WHERE ff_check_scan_filter($2, $3, $4) IS NOT NULL
$$;

CREATE FUNCTION ff_gc_dedup(max_rows integer DEFAULT 1000, namespace text DEFAULT NULL, tag_key text DEFAULT NULL,
    tag_value text DEFAULT NULL) RETURNS integer
LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = @extschema@, pg_temp AS $$
    SELECT ff_run_task('gc_dedup', ff_now_ms(), ff_batch_size($1), $2, $3, $4, NULL) WHERE ff_check_scan_filter($2, $3, $4) IS NOT NULL
$$;

CREATE FUNCTION ff_gc_keys(max_rows integer DEFAULT 1000) RETURNS integer
LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = @extschema@, pg_temp AS $$
    SELECT ff_task_gc_keys(ff_now_ms(), ff_batch_size(max_rows))
$$;

CREATE FUNCTION ff_verify_claim_starts(max_rows integer DEFAULT 1000) RETURNS integer
LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = @extschema@, pg_temp AS $$
    SELECT ff_task_verify_claim_starts(ff_now_ms()) WHERE ff_batch_size(max_rows) IS NOT NULL
$$;

CREATE FUNCTION ff_prune_by_retention(max_rows integer DEFAULT 1000, namespace text DEFAULT NULL, tag_key text DEFAULT NULL,
    tag_value text DEFAULT NULL) RETURNS integer
LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = @extschema@, pg_temp AS $$
    SELECT ff_run_task('prune_executions', ff_now_ms(), ff_batch_size($1), $2, $3, $4, NULL) WHERE ff_check_scan_filter($2, $3, $4) IS NOT NULL
$$;

CREATE FUNCTION ff_prune_executions(older_than_ms bigint, public_states text[] DEFAULT '{completed,failed,cancelled,expired}',
    max_rows integer DEFAULT 1000) RETURNS bigint
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = @extschema@, pg_temp AS $$
BEGIN
    public_states := ff_check_text_array(public_states, 'public_states');
    older_than_ms := ff_required(older_than_ms, 'older_than_ms');
    public_states := ff_required(public_states, 'public_states');
    IF cardinality(public_states) = 0 OR EXISTS (SELECT 1 FROM unnest(public_states) s WHERE s NOT IN ('completed', 'failed', 'cancelled', 'expired')) THEN
        PERFORM ff_invalid('invalid_public_states', 'public_states must name one or more of completed, failed, cancelled, expired');
    END IF;
    RETURN ff_prune(older_than_ms, public_states, ff_batch_size(max_rows), NULL, NULL, NULL, NULL);
END
$$;

-- The four outbox tables' retention, each the Rust edition's statement (inlined).
CREATE FUNCTION ff_prune_event_tables(cutoff_ms bigint) RETURNS TABLE (r_table_name text, r_deleted bigint)
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    n bigint;
BEGIN
    -- @statement scanners/prune_signal_events.sql: cutoff_ms
    DELETE FROM ff_signal_event WHERE occurred_at_ms < cutoff_ms
    -- @end statement
    ;
    GET DIAGNOSTICS n = ROW_COUNT;
    RETURN QUERY SELECT 'ff_signal_event'::text, n;
    -- @statement scanners/prune_lease_events.sql: cutoff_ms
    DELETE FROM ff_lease_event WHERE occurred_at_ms < cutoff_ms
    -- @end statement
    ;
    GET DIAGNOSTICS n = ROW_COUNT;
    RETURN QUERY SELECT 'ff_lease_event'::text, n;
    -- @statement scanners/prune_completion_events.sql: cutoff_ms
    DELETE FROM ff_completion_event WHERE occurred_at_ms < cutoff_ms
    -- @end statement
    ;
    GET DIAGNOSTICS n = ROW_COUNT;
    RETURN QUERY SELECT 'ff_completion_event'::text, n;
    -- @statement scanners/prune_operator_events.sql: cutoff_ms
    DELETE FROM ff_operator_event WHERE occurred_at_ms < cutoff_ms
    -- @end statement
    ;
    GET DIAGNOSTICS n = ROW_COUNT;
    RETURN QUERY SELECT 'ff_operator_event'::text, n;
END
$$;
COMMENT ON FUNCTION ff_prune_event_tables(bigint) IS 'Delete events older than the cutoff from each outbox table (internal).';

CREATE FUNCTION ff_prune_events(older_than_ms bigint) RETURNS TABLE (table_name text, deleted bigint)
LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = @extschema@, pg_temp AS $$
    SELECT * FROM ff_prune_event_tables(ff_required($1, 'older_than_ms'))
$$;
