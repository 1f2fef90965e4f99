-- ff_engine SQL edition: claims (ff_claim_for_worker, ff_claim_execution, ff_claim_resumed_execution,
-- ff_claim), as the Rust edition (src/store/claims.rs): the same candidate order and admission, the
-- same grant format and checks, the same lease, attempt and event rows.

-- A claim's worker identity (WF001 as the Rust edition); the worker id.
CREATE FUNCTION ff_check_worker(worker_id text, worker_instance_id text) RETURNS text
LANGUAGE sql VOLATILE PARALLEL SAFE AS $$
    SELECT CASE
        WHEN worker_id IS NULL THEN ff_reject(worker_id, 'worker_id_required', 'worker_id must not be NULL')
        WHEN octet_length(worker_id) NOT BETWEEN 1 AND 256 THEN ff_reject(worker_id, 'invalid_worker_id', 'worker_id must be 1-256 bytes')
        WHEN worker_instance_id IS NULL
            THEN ff_reject(worker_id, 'worker_instance_id_required', 'worker_instance_id must not be NULL')
        WHEN octet_length(worker_instance_id) NOT BETWEEN 1 AND 256
            THEN ff_reject(worker_id, 'invalid_worker_instance_id', 'worker_instance_id must be 1-256 bytes')
        ELSE worker_id END
$$;
COMMENT ON FUNCTION ff_check_worker(text, text) IS 'WF001 unless a valid worker identity (internal).';

-- Whether a claim without capabilities has a valid lane, worker identity and TTL: one expression,
-- written into the caller (PL/pgSQL prepares each expression again in every transaction, ~5 000
-- instructions a check); it holds only when every check of ff_check_claimer passes. Its ranges are
-- tested with `<@`, which sets up one function where BETWEEN sets up two and its operand twice (the
-- hot paths' other "all valid" expressions do the same).
CREATE FUNCTION ff_claimer_valid(p_lane_id text, p_worker_id text, p_worker_instance_id text, p_caps text[], p_ttl_ms bigint)
RETURNS boolean
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT coalesce(cardinality(p_caps), 0) = 0 AND octet_length(p_lane_id) <@ '[1,64]'::int4range AND p_lane_id !~ '[^\x20-\x7e]'
       AND octet_length(p_worker_id) <@ '[1,256]'::int4range AND octet_length(p_worker_instance_id) <@ '[1,256]'::int4range
       AND p_ttl_ms <@ '[1,9007199254740991]'::int8range
$$;
COMMENT ON FUNCTION ff_claimer_valid(text, text, text, text[], bigint) IS 'Whether a claim without capabilities passes its checks (internal).';

-- A claim's arguments, checked in the Rust edition's order (its argument conversion, then the
-- claim's own checks): the lane, the worker identity, the capabilities (NULL as none), the TTL named
-- `ttl_field`. The capabilities. A claim without capabilities whose arguments all pass is told by
-- one expression first (ff_claimer_valid).
CREATE FUNCTION ff_check_claimer(p_lane_id text, p_worker_id text, p_worker_instance_id text, p_caps text[], p_ttl_ms bigint,
    ttl_field text) RETURNS text[]
LANGUAGE plpgsql VOLATILE AS $$
BEGIN
    IF ff_claimer_valid(p_lane_id, p_worker_id, p_worker_instance_id, p_caps, p_ttl_ms) THEN
        RETURN coalesce(p_caps, '{}');
    END IF;
    p_caps := ff_check_text_array(p_caps, 'capabilities');
    p_lane_id := ff_required(p_lane_id, 'lane_id');
    p_lane_id := ff_check_lane_id(p_lane_id);
    p_worker_id := ff_check_worker(p_worker_id, p_worker_instance_id);
    p_caps := ff_check_capabilities(coalesce(p_caps, '{}'), 'capabilities');
    p_ttl_ms := ff_required(p_ttl_ms, ttl_field);
    p_ttl_ms := ff_check_ms(p_ttl_ms, ttl_field, 1);
    RETURN p_caps;
END
$$;
COMMENT ON FUNCTION ff_check_claimer(text, text, text, text[], bigint, text) IS 'Check a claim''s lane, worker, capabilities and TTL (internal).';

-- The paused lanes changed: nothing to tell, since this edition's claim statements read ff_lane_pause
-- (the Rust edition refreshes its per-backend copy).
CREATE FUNCTION ff_lanes_changed() RETURNS void LANGUAGE sql VOLATILE AS $$ SELECT $$;

-- A candidate picked for a claim.
CREATE TYPE ff_claim_candidate AS (
    partition_key smallint, execution_id uuid, quota_policy_id uuid, attempt_state text, attempt_index integer,
    current_attempt_id uuid, interrupt_reason text, reserved boolean, scan_priority integer, scan_start bigint,
    start_behind boolean, needs_admission boolean);
COMMENT ON TYPE ff_claim_candidate IS 'A locked, admitted claim candidate (internal).';

-- A claim's row, as ff_claim, ff_claim_execution and ff_claim_resumed_execution return it.
CREATE TYPE ff_lease_row AS (
    execution_id text, attempt_index integer, attempt_id uuid, lease_id uuid, lease_epoch bigint, lease_expires_at_ms bigint,
    resumed boolean, payload bytea, continuation text, step_count integer);
COMMENT ON TYPE ff_lease_row IS 'A claim''s row (internal).';

-- A quota-limited candidate re-checked under its policy's row lock (claims::quota_admits_locked):
-- requests in the sliding window and active (leased or reserved) executions under the caps.
CREATE FUNCTION ff_quota_admits_locked(p_quota_policy_id uuid, now_ms bigint) RETURNS boolean
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    pol record;
    requests bigint;
    active bigint;
BEGIN
    SELECT max_requests_per_window, active_concurrency_cap, window_ms INTO pol
    FROM ff_quota_policy WHERE quota_policy_id = p_quota_policy_id FOR UPDATE;
    SELECT (SELECT count(*) FROM ff_quota_admission a
            WHERE a.quota_policy_id = p_quota_policy_id AND a.admitted_at_ms > now_ms - pol.window_ms),
           (SELECT count(*) FROM ff_exec_core x WHERE x.quota_policy_id = p_quota_policy_id
              AND (x.ownership_state = 'leased' OR x.reserved_until_ms > now_ms))
    INTO requests, active;
    RETURN (pol.max_requests_per_window IS NULL OR requests < pol.max_requests_per_window)
       AND (pol.active_concurrency_cap IS NULL OR active < pol.active_concurrency_cap);
END
$$;
COMMENT ON FUNCTION ff_quota_admits_locked(uuid, bigint) IS 'Re-check a quota under its policy''s lock (internal).';

-- Admit a quota-limited candidate: re-checked under its policy's lock, its admission recorded when
-- it is admitted. Whether it was.
CREATE FUNCTION ff_quota_admit(c ff_claim_candidate, now_ms bigint) RETURNS boolean
LANGUAGE plpgsql VOLATILE AS $$
BEGIN
    IF NOT ff_quota_admits_locked(c.quota_policy_id, now_ms) THEN
        RETURN false;
    END IF;
    -- @statement claims/record_admission.sql: c.quota_policy_id, now_ms, c.partition_key, c.execution_id
    INSERT INTO ff_quota_admission (quota_policy_id, admitted_at_ms, partition_key, execution_id)
    VALUES (c.quota_policy_id, now_ms, c.partition_key, c.execution_id) ON CONFLICT DO NOTHING
    -- @end statement
    ;
    RETURN true;
END
$$;
COMMENT ON FUNCTION ff_quota_admit(ff_claim_candidate, bigint) IS 'Admit a quota-limited claim candidate (internal).';

-- Admitted candidates of one priority of the lane, scanned from its claim start, locked (FOR UPDATE
-- SKIP LOCKED), oldest first, appended to `admitted` up to `max_rows`. First the lean statement, as
-- the Rust edition's claims::candidate_batch: when it finds rows and none needs admission, they are
-- the answer (its plan opens one table and one index; the full statement's budget and quota
-- sub-plans are set up on every execution). For one row ff_pick runs the lean statement itself and
-- calls this only for a row that needs admission: straight to the full statement.
-- Otherwise the full statement: budget and quota admission are predicates of the scan, and a
-- quota-limited candidate is re-checked under its policy's lock (refused ones are skipped and the
-- scan goes on, past them; rows the lean statement locked stay locked until commit, which only makes
-- other claimers skip them meanwhile).
CREATE FUNCTION ff_pick_priority(p_lane_id text, caps text[], now_ms bigint, max_rows bigint, prio integer, start bigint,
    admitted ff_claim_candidate[], refused uuid[]) RETURNS ff_claim_candidate[]
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    c ff_claim_candidate;
    any_refused boolean;  -- NULL until a candidate is refused (no initial value: one expression less a call)
    lean ff_claim_candidate[];
    lean_needs_admission boolean;
BEGIN
    IF cardinality(refused) = 0 AND max_rows - cardinality(admitted) > 1 THEN
        SELECT array_agg(x::ff_claim_candidate), bool_or(x.needs_admission) INTO lean, lean_needs_admission FROM (
            -- @statement claims/candidate_columns.sql + claims/candidate_needs_admission.sql + claims/candidate_filter.sql + claims/candidate_order.sql: p_lane_id, caps, now_ms, refused, max_rows - cardinality(admitted), prio, start
            SELECT e.partition_key, e.execution_id, e.quota_policy_id, e.attempt_state, e.attempt_index,
                   e.current_attempt_id, e.interrupt_reason, e.reserved_until_ms IS NOT NULL AS reserved,
                   e.priority AS scan_priority, start::bigint AS scan_start, e.queue_seq - start >= 16 AS start_behind
                   , cardinality(e.budget_ids) > 0 OR e.quota_policy_id IS NOT NULL AS needs_admission
            FROM ff_exec_core e
            WHERE hashtext(e.lane_id) = hashtext(p_lane_id) AND e.lane_id = p_lane_id AND e.priority = prio AND e.queue_seq >= start
              AND e.lifecycle_phase = 'runnable' AND e.eligibility_state = 'eligible_now'
              AND e.required_capabilities <@ caps
              AND e.execution_id <> ALL (refused)
              AND (e.reserved_until_ms IS NULL OR e.reserved_until_ms <= now_ms)
            ORDER BY e.queue_seq
            LIMIT max_rows - cardinality(admitted)
            FOR UPDATE OF e SKIP LOCKED
            -- @end statement
        ) x;
        IF NOT lean_needs_admission THEN  -- NULL (no row) runs the full statement too
            RETURN admitted || lean;
        END IF;
    END IF;
    FOR c IN
        -- @statement claims/candidate_columns.sql + claims/candidate_needs_admission.sql + claims/candidate_filter.sql + claims/candidate_admission.sql + claims/candidate_order.sql: p_lane_id, caps, now_ms, refused, max_rows - cardinality(admitted), prio, start
        SELECT e.partition_key, e.execution_id, e.quota_policy_id, e.attempt_state, e.attempt_index,
               e.current_attempt_id, e.interrupt_reason, e.reserved_until_ms IS NOT NULL AS reserved,
               e.priority AS scan_priority, start::bigint AS scan_start, e.queue_seq - start >= 16 AS start_behind
               , cardinality(e.budget_ids) > 0 OR e.quota_policy_id IS NOT NULL AS needs_admission
        FROM ff_exec_core e
        WHERE hashtext(e.lane_id) = hashtext(p_lane_id) AND e.lane_id = p_lane_id AND e.priority = prio AND e.queue_seq >= start
          AND e.lifecycle_phase = 'runnable' AND e.eligibility_state = 'eligible_now'
          AND e.required_capabilities <@ caps
          AND e.execution_id <> ALL (refused)
          AND (e.reserved_until_ms IS NULL OR e.reserved_until_ms <= now_ms)
          AND (cardinality(e.budget_ids) = 0 OR NOT EXISTS (
                SELECT 1 FROM ff_budget b
                CROSS JOIN LATERAL jsonb_each_text(b.hard_limits) AS h(dimension, hard_limit)
                LEFT JOIN ff_budget_usage u ON u.budget_id = b.budget_id AND u.dimension = h.dimension
                WHERE b.budget_id = ANY (e.budget_ids)
                  AND CASE WHEN b.reset_interval_ms IS NOT NULL
                                AND coalesce(b.last_reset_at_ms, b.created_at_ms) + b.reset_interval_ms <= now_ms
                           THEN 0 ELSE coalesce(u.used, 0) END >= h.hard_limit::numeric))
          AND (e.quota_policy_id IS NULL OR EXISTS (
                SELECT 1 FROM ff_quota_policy p
                WHERE p.quota_policy_id = e.quota_policy_id
                  AND (p.max_requests_per_window IS NULL OR
                       (SELECT count(*) FROM ff_quota_admission a
                        WHERE a.quota_policy_id = p.quota_policy_id AND a.admitted_at_ms > now_ms - p.window_ms)
                       < p.max_requests_per_window)
                  AND (p.active_concurrency_cap IS NULL OR
                       (SELECT count(*) FROM ff_exec_core x
                        WHERE x.quota_policy_id = p.quota_policy_id
                          AND (x.ownership_state = 'leased' OR x.reserved_until_ms > now_ms))
                       < p.active_concurrency_cap)))
        ORDER BY e.queue_seq
        LIMIT max_rows - cardinality(admitted)
        FOR UPDATE OF e SKIP LOCKED
        -- @end statement
    LOOP
        IF c.quota_policy_id IS NULL OR ff_quota_admit(c, now_ms) THEN
            admitted := admitted || c;
        ELSE
            refused := refused || c.execution_id;
            any_refused := true;
        END IF;
    END LOOP;
    IF any_refused AND cardinality(admitted) < max_rows THEN
        RETURN ff_pick_priority(p_lane_id, caps, now_ms, max_rows, prio, start, admitted, refused);
    END IF;
    RETURN admitted;
END
$$;
COMMENT ON FUNCTION ff_pick_priority(text, text[], bigint, bigint, integer, bigint, ff_claim_candidate[], uuid[]) IS
    'Pick and lock admitted claim candidates of one priority (internal).';

-- Up to `max_rows` admitted candidates of the lane, locked, best first: priority desc (the priorities
-- the lane ever had claimable work at, each from its claim start), then creation order. None while
-- the lane is paused. Each priority's scan tells its claim start what it found: nothing admitted, or
-- a first row a stride past the start (claims/start_after_scan.sql).
CREATE FUNCTION ff_pick(p_lane_id text, caps text[], now_ms bigint, max_rows bigint) RETURNS ff_claim_candidate[]
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    admitted ff_claim_candidate[] := '{}';
    before integer;
    ps record;
    c ff_claim_candidate;
BEGIN
    FOR ps IN
        SELECT st.priority, st.start_seq FROM (
            -- @statement claims/starts.sql: p_lane_id
            SELECT DISTINCT ON (s.priority) s.priority, s.start_seq::oid::bigint AS start_seq_oid,
                   coalesce(pg_sequence_last_value(s.start_seq), 0) AS start_seq
            FROM ff_claim_start s
            WHERE s.lane_id = p_lane_id
            ORDER BY s.priority DESC, s.slot
            -- @end statement
        ) st WHERE NOT EXISTS (SELECT 1 FROM ff_lane_pause p WHERE p.lane_id = p_lane_id)
    LOOP
        before := cardinality(admitted);
        IF max_rows - before = 1 THEN
            -- One row wanted, a claim's common case: the lean statement here, without an aggregate to set
            -- up (~25 000 instructions) or a call. None found, the full statement would find none either;
            -- a row that needs admission is ff_pick_priority's, from its full statement.
            SELECT x.* INTO c FROM (
                -- @statement claims/candidate_columns.sql + claims/candidate_needs_admission.sql + claims/candidate_filter.sql + claims/candidate_order.sql: p_lane_id, caps, now_ms, '{}', 1, ps.priority, ps.start_seq
                SELECT e.partition_key, e.execution_id, e.quota_policy_id, e.attempt_state, e.attempt_index,
                       e.current_attempt_id, e.interrupt_reason, e.reserved_until_ms IS NOT NULL AS reserved,
                       e.priority AS scan_priority, ps.start_seq::bigint AS scan_start, e.queue_seq - ps.start_seq >= 16 AS start_behind
                       , cardinality(e.budget_ids) > 0 OR e.quota_policy_id IS NOT NULL AS needs_admission
                FROM ff_exec_core e
                WHERE hashtext(e.lane_id) = hashtext(p_lane_id) AND e.lane_id = p_lane_id AND e.priority = ps.priority AND e.queue_seq >= ps.start_seq
                  AND e.lifecycle_phase = 'runnable' AND e.eligibility_state = 'eligible_now'
                  AND e.required_capabilities <@ caps
                  AND e.execution_id <> ALL ('{}')
                  AND (e.reserved_until_ms IS NULL OR e.reserved_until_ms <= now_ms)
                ORDER BY e.queue_seq
                LIMIT 1
                FOR UPDATE OF e SKIP LOCKED
                -- @end statement
            ) x;
            IF FOUND AND NOT c.needs_admission THEN
                admitted := admitted || c;
            ELSIF FOUND THEN
                admitted := ff_pick_priority(p_lane_id, caps, now_ms, max_rows, ps.priority, ps.start_seq, admitted, '{}');
            END IF;
        ELSE
            admitted := ff_pick_priority(p_lane_id, caps, now_ms, max_rows, ps.priority, ps.start_seq, admitted, '{}');
        END IF;
        IF cardinality(admitted) = before OR admitted[before + 1].start_behind THEN
            PERFORM ff_claim_start_after_scan(p_lane_id, ps.priority, ps.start_seq, cardinality(admitted) > before, now_ms);
        END IF;
        EXIT WHEN cardinality(admitted) >= max_rows;
    END LOOP;
    RETURN admitted;
END
$$;
COMMENT ON FUNCTION ff_pick(text, text[], bigint, bigint) IS 'Pick and lock admitted claim candidates (internal).';


-- Up to `max_rows` candidates of the lane in one partition (ff_claim_in), locked, best first: each
-- priority the lane has registered here, highest first, scanned from the head (a partition's claim
-- leaves the claim starts alone: the query that moves one reads every partition of the lane). First,
-- on a distributed install, the partition must be on this node (WF035 not_delegated). The lean
-- statement only: a distributed install takes no budgets or quotas (docs/scale-out.md).
CREATE FUNCTION ff_pick_in_partition(p_partition smallint, p_lane_id text, caps text[], now_ms bigint, max_rows bigint)
RETURNS ff_claim_candidate[]
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    admitted ff_claim_candidate[] := '{}';
    c ff_claim_candidate;
    prio integer;
BEGIN
    PERFORM ff_check_partition_here(p_partition);
    IF EXISTS (SELECT 1 FROM ff_lane_pause p WHERE p.lane_id = p_lane_id) THEN
        RETURN admitted;
    END IF;
    FOR prio IN SELECT DISTINCT s.priority FROM ff_claim_start s WHERE s.lane_id = p_lane_id ORDER BY 1 DESC LOOP
        FOR c IN
            -- @statement claims/candidate_columns.sql + claims/candidate_needs_admission.sql + claims/candidate_filter.sql + claims/candidate_in_partition.sql + claims/candidate_order.sql: p_lane_id, caps, now_ms, '{}'::uuid[], max_rows - cardinality(admitted), prio, 0, p_partition
            SELECT e.partition_key, e.execution_id, e.quota_policy_id, e.attempt_state, e.attempt_index,
                   e.current_attempt_id, e.interrupt_reason, e.reserved_until_ms IS NOT NULL AS reserved,
                   e.priority AS scan_priority, 0::bigint AS scan_start, e.queue_seq - 0 >= 16 AS start_behind
                   , cardinality(e.budget_ids) > 0 OR e.quota_policy_id IS NOT NULL AS needs_admission
            FROM ff_exec_core e
            WHERE hashtext(e.lane_id) = hashtext(p_lane_id) AND e.lane_id = p_lane_id AND e.priority = prio AND e.queue_seq >= 0
              AND e.lifecycle_phase = 'runnable' AND e.eligibility_state = 'eligible_now'
              AND e.required_capabilities <@ caps
              AND e.execution_id <> ALL ('{}'::uuid[])
              AND (e.reserved_until_ms IS NULL OR e.reserved_until_ms <= now_ms)
              AND e.partition_key = p_partition
            ORDER BY e.queue_seq
            LIMIT max_rows - cardinality(admitted)
            FOR UPDATE OF e SKIP LOCKED
            -- @end statement
        LOOP
            IF c.needs_admission THEN
                RAISE EXCEPTION 'feature_unavailable: budgets and quotas are not distributed'
                    USING ERRCODE = 'WF035', DETAIL = 'distributed_admission';
            END IF;
            admitted := admitted || c;
        END LOOP;
        EXIT WHEN cardinality(admitted) >= max_rows;
    END LOOP;
    RETURN admitted;
END
$$;
COMMENT ON FUNCTION ff_pick_in_partition(smallint, text, text[], bigint, bigint) IS
    'Pick and lock claim candidates of a lane in one partition (internal).';

-- Lease a locked, claimable execution: open the next attempt or re-lease the interrupted one; consume
-- any grant; write the lease event; hand back the progress (the continuation the attempt resumes
-- from and the step count: the statement claims/claim_progress.sql, written in below; not run for a
-- first attempt, which has neither). One ff_claim row.
CREATE FUNCTION ff_lease(c ff_claim_candidate, p_worker_id text, p_worker_instance_id text, lease_ttl_ms bigint, now_ms bigint)
RETURNS ff_lease_row
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    -- The row's fields (ff_lease_row), returned as one row at the end.
    r_execution_id text; r_attempt_index integer; r_attempt_id uuid; r_lease_id uuid; r_lease_epoch bigint;
    r_lease_expires_at_ms bigint; r_payload bytea; r_continuation text; r_step_count integer;
    new_attempt boolean;
    ns text;
BEGIN
    -- One table per statement (claims/lease_row.sql and the files it names), not the Rust edition's
    -- one statement (claims/lease_*.sql): in PL/pgSQL the one statement with its data-modifying CTEs
    -- measured 36 000 instructions more per claim (FF_INSTR_EDITION=sql ./scripts/instructions.sh,
    -- workload 3).
    -- PL/pgSQL sets up a WHEN's test when it reaches it: the common states first. Only an interrupted
    -- attempt resumes: the row's `resumed` is NOT new_attempt.
    CASE c.attempt_state
        WHEN 'pending_first_attempt' THEN r_attempt_index := 0; new_attempt := true;
        WHEN 'attempt_interrupted' THEN r_attempt_index := c.attempt_index; new_attempt := false;
        WHEN 'pending_retry_attempt', 'pending_replay_attempt' THEN
            r_attempt_index := c.attempt_index + 1; new_attempt := true;
        ELSE PERFORM ff_raise('WF099', 'corruption', format('execution in attempt state %s cannot be claimed', c.attempt_state));
    END CASE;
    r_attempt_id := CASE WHEN NOT new_attempt AND c.current_attempt_id IS NOT NULL THEN c.current_attempt_id ELSE gen_random_uuid() END;
    r_lease_id := gen_random_uuid();
    r_lease_expires_at_ms := now_ms + lease_ttl_ms;
    r_execution_id := '{fp:' || c.partition_key || '}:' || c.execution_id;
    IF c.reserved THEN
        -- @statement claims/drop_grant.sql: c.partition_key, c.execution_id
        DELETE FROM ff_claim_grant WHERE partition_key = c.partition_key AND execution_id = c.execution_id
        -- @end statement
        ;
    END IF;
    -- @statement claims/lease_row.sql: c.partition_key, c.execution_id, r_attempt_index, r_attempt_id, r_lease_id, r_lease_expires_at_ms, p_worker_id, p_worker_instance_id, now_ms, 'active', 'leased', 'not_applicable', 'running_attempt', 'active'
    UPDATE ff_exec_core SET lifecycle_phase = 'active', ownership_state = 'leased', eligibility_state = 'not_applicable',
        attempt_state = 'running_attempt', public_state = 'active', attempt_index = r_attempt_index, current_attempt_id = r_attempt_id, lease_id = r_lease_id,
        lease_epoch = lease_epoch + 1, lease_expires_at_ms = r_lease_expires_at_ms, lease_worker_id = p_worker_id,
        lease_worker_instance_id = p_worker_instance_id, interrupt_reason = NULL, eligible_at_ms = NULL,
        reserved_until_ms = NULL, updated_at_ms = now_ms
    WHERE partition_key = c.partition_key AND execution_id = c.execution_id
    RETURNING namespace, lease_epoch, payload
    -- @end statement
    INTO ns, r_lease_epoch, r_payload;
    IF new_attempt THEN
        -- @statement claims/attempt_row.sql: c.partition_key, c.execution_id, r_attempt_index, r_attempt_id, p_worker_id, p_worker_instance_id, now_ms
        INSERT INTO ff_attempt (partition_key, execution_id, attempt_index, attempt_id, worker_id, worker_instance_id, started_at_ms)
        VALUES (c.partition_key, c.execution_id, r_attempt_index, r_attempt_id, p_worker_id, p_worker_instance_id, now_ms)
        -- @end statement
        ;
    END IF;
    -- An interrupted attempt is reclaimed after its lease expired or was revoked, acquired after a
    -- suspension (the domain ff_interrupt_reason has those three).
    -- @statement events/lease_event.sql: c.partition_key, r_execution_id, ns, now_ms, r_lease_id, r_lease_epoch, CASE WHEN c.interrupt_reason <> 'suspended' THEN 'reclaimed' ELSE 'acquired' END
    INSERT INTO ff_lease_event (partition_key, execution_id, namespace, occurred_at_ms, lease_id, lease_epoch, event_type)
    VALUES (c.partition_key, r_execution_id, ns, now_ms, r_lease_id, r_lease_epoch, CASE WHEN c.interrupt_reason <> 'suspended' THEN 'reclaimed' ELSE 'acquired' END)
    -- @end statement
    ;
    IF NOT (new_attempt AND r_attempt_index = 0) THEN
        -- @statement claims/claim_progress.sql: c.partition_key, c.execution_id, r_attempt_index
        SELECT (SELECT s.continuation FROM ff_suspension s
                WHERE s.partition_key = c.partition_key AND s.execution_id = c.execution_id
                  AND s.history_seq > (SELECT a.history_seq FROM ff_attempt a
                                       WHERE a.partition_key = c.partition_key AND a.execution_id = c.execution_id AND a.attempt_index = r_attempt_index)
                ORDER BY s.history_seq DESC LIMIT 1) AS continuation,
               (SELECT count(*)::integer FROM ff_step t WHERE t.partition_key = c.partition_key AND t.execution_id = c.execution_id) AS step_count
        -- @end statement
        INTO r_continuation, r_step_count;
        IF new_attempt THEN
            r_continuation := NULL;  -- a new attempt starts from the beginning
        END IF;
    END IF;
    RETURN ROW(r_execution_id, r_attempt_index, r_attempt_id, r_lease_id, r_lease_epoch, r_lease_expires_at_ms, NOT new_attempt,
               r_payload, r_continuation, coalesce(r_step_count, 0))::ff_lease_row;
END
$$;
COMMENT ON FUNCTION ff_lease(ff_claim_candidate, text, text, bigint, bigint) IS 'Lease a locked candidate (internal).';

CREATE FUNCTION ff_claim_for_worker_body(p_lane_id text, p_worker_id text, p_worker_instance_id text, p_caps text[], p_grant_ttl_ms bigint)
RETURNS TABLE (r_execution_id text, r_partition_key text, r_grant_key text, r_expires_at_ms bigint)
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = @extschema@, pg_temp AS $$
DECLARE
    now_ms bigint := ff_now_ms();
    caps text[];
    k record;
    picked ff_claim_candidate[];
    c ff_claim_candidate;
    expires bigint;
    gkey text;
    ghash bytea;
BEGIN
    caps := ff_check_claimer(p_lane_id, p_worker_id, p_worker_instance_id, p_caps, p_grant_ttl_ms, 'grant_ttl_ms');
    k := ff_active_key();
    picked := ff_pick(p_lane_id, caps, now_ms, 1);
    IF cardinality(picked) = 0 THEN
        RETURN;
    END IF;
    c := picked[1];
    expires := now_ms + p_grant_ttl_ms;
    gkey := ff_grant_key(k.kid, k.hmac_pads, c.partition_key, c.execution_id, p_worker_id, p_worker_instance_id, expires);
    ghash := sha256(convert_to(gkey, 'UTF8'));
    -- @statement claims/upsert_grant.sql: c.partition_key, c.execution_id, ghash, p_worker_id, p_worker_instance_id, now_ms, expires
    WITH r AS (UPDATE ff_exec_core SET reserved_until_ms = expires WHERE partition_key = c.partition_key AND execution_id = c.execution_id)
    INSERT INTO ff_claim_grant (partition_key, execution_id, grant_hash, worker_id, worker_instance_id,
        created_at_ms, expires_at_ms)
    VALUES (c.partition_key, c.execution_id, ghash, p_worker_id, p_worker_instance_id, now_ms, expires)
    ON CONFLICT (partition_key, execution_id) DO UPDATE SET grant_hash = EXCLUDED.grant_hash,
        worker_id = EXCLUDED.worker_id, worker_instance_id = EXCLUDED.worker_instance_id,
        created_at_ms = EXCLUDED.created_at_ms, expires_at_ms = EXCLUDED.expires_at_ms
    -- @end statement
    ;
    r_execution_id := '{fp:' || c.partition_key || '}:' || c.execution_id;
    r_partition_key := '{fp:' || c.partition_key || '}';
    r_grant_key := gkey;
    r_expires_at_ms := expires;
    RETURN NEXT;
END
$$;
COMMENT ON FUNCTION ff_claim_for_worker_body(text, text, text, text[], bigint) IS 'ff_claim_for_worker''s body (internal).';

CREATE FUNCTION ff_claim_for_worker(lane_id text, worker_id text, worker_instance_id text, capabilities text[] DEFAULT '{}',
    grant_ttl_ms bigint DEFAULT 5000)
RETURNS TABLE (execution_id text, partition_key text, grant_key text, expires_at_ms bigint)
LANGUAGE sql STABLE AS $$
    SELECT * FROM @extschema@.ff_claim_for_worker_body($1, $2, $3, $4, $5)
$$;

-- ff_claim_execution (resumed_only false) and ff_claim_resumed_execution (true).
CREATE FUNCTION ff_claim_execution_body(p_grant_key text, p_worker_id text, p_worker_instance_id text, p_lease_ttl_ms bigint,
    resumed_only boolean)
RETURNS SETOF ff_lease_row
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = @extschema@, pg_temp AS $$
DECLARE
    now_ms bigint := ff_now_ms();
    g record;
    k record;
    e record;
    woken boolean;
BEGIN
    p_grant_key := ff_required(p_grant_key, 'grant_key');
    p_worker_id := ff_check_worker(p_worker_id, p_worker_instance_id);
    p_lease_ttl_ms := ff_required(p_lease_ttl_ms, 'lease_ttl_ms');
    p_lease_ttl_ms := ff_check_ms(p_lease_ttl_ms, 'lease_ttl_ms', 1);
    SELECT * INTO g FROM ff_parse_grant_key(p_grant_key);
    IF NOT FOUND THEN
        PERFORM ff_raise('WF025', 'invalid_claim_grant', 'grant key is malformed');
    END IF;
    -- Signature (which binds the worker identity) first, then expiry, then single use. An unknown kid
    -- or a key past its grace window makes the grant invalid.
    SELECT kid, hmac_pads, active, expires_at_ms INTO k FROM ff_keystore WHERE kid = g.kid;
    IF NOT FOUND
       OR NOT ff_digest_matches(k.hmac_pads, ff_grant_digest(g.kid, k.hmac_pads, g.partition_key, g.execution_uuid, p_worker_id,
                                                             p_worker_instance_id, g.expires_at_ms), g.digest)
       OR NOT (k.active OR now_ms < k.expires_at_ms) THEN
        PERFORM ff_raise('WF025', 'invalid_claim_grant', 'the claim grant was not accepted');
    END IF;
    IF g.expires_at_ms <= now_ms THEN
        PERFORM ff_raise('WF026', 'claim_grant_expired', 'the claim grant has expired');
    END IF;
    SELECT x.lifecycle_phase, x.eligibility_state, x.attempt_state, x.attempt_index, x.current_attempt_id, x.interrupt_reason,
           cg.grant_hash, EXISTS (SELECT 1 FROM ff_lane_pause p WHERE p.lane_id = x.lane_id) AS lane_paused
    INTO e
    FROM ff_exec_core x LEFT JOIN ff_claim_grant cg ON cg.partition_key = x.partition_key AND cg.execution_id = x.execution_id
    WHERE x.partition_key = g.partition_key AND x.execution_id = g.execution_uuid FOR UPDATE OF x;
    IF NOT FOUND OR e.grant_hash IS NULL OR NOT ff_digest_eq(e.grant_hash, sha256(convert_to(p_grant_key, 'UTF8')))
       OR e.lifecycle_phase <> 'runnable' OR e.eligibility_state <> 'eligible_now' THEN
        PERFORM ff_raise('WF025', 'invalid_claim_grant', 'the claim grant was not accepted');
    END IF;
    IF e.lane_paused THEN
        PERFORM ff_raise('WF025', 'invalid_claim_grant', 'the claim grant was not accepted: its lane is paused');
    END IF;
    IF resumed_only AND e.attempt_state <> 'attempt_interrupted' THEN
        PERFORM ff_raise('WF024', 'not_a_resumed_execution', 'the grant is for a fresh attempt, not an interrupted one');
    END IF;
    RETURN NEXT ff_lease(ROW(g.partition_key, g.execution_uuid, NULL, e.attempt_state, e.attempt_index, e.current_attempt_id,
        e.interrupt_reason, true, 0, 0, false, false)::ff_claim_candidate, p_worker_id, p_worker_instance_id, p_lease_ttl_ms, now_ms);
    woken := ff_wake_one('ff_lease_event', '');
END
$$;
COMMENT ON FUNCTION ff_claim_execution_body(text, text, text, bigint, boolean) IS 'ff_claim_execution''s body (internal).';

CREATE FUNCTION ff_claim_execution(grant_key text, worker_id text, worker_instance_id text, lease_ttl_ms bigint DEFAULT 30000)
RETURNS TABLE (execution_id text, attempt_index integer, attempt_id uuid, lease_id uuid, lease_epoch bigint,
    lease_expires_at_ms bigint, resumed boolean, payload bytea, continuation text, step_count integer)
LANGUAGE sql STABLE AS $$
    SELECT * FROM @extschema@.ff_claim_execution_body($1, $2, $3, $4, false)
$$;

CREATE FUNCTION ff_claim_resumed_execution(grant_key text, worker_id text, worker_instance_id text, lease_ttl_ms bigint DEFAULT 30000)
RETURNS TABLE (execution_id text, attempt_index integer, attempt_id uuid, lease_id uuid, lease_epoch bigint,
    lease_expires_at_ms bigint, resumed boolean, payload bytea, continuation text, step_count integer)
LANGUAGE sql STABLE AS $$
    SELECT * FROM @extschema@.ff_claim_execution_body($1, $2, $3, $4, true)
$$;

CREATE FUNCTION ff_claim_body(p_lane_id text, p_worker_id text, p_worker_instance_id text, p_caps text[], p_lease_ttl_ms bigint,
    p_max_items integer, p_partition smallint)
RETURNS SETOF ff_lease_row
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = @extschema@, pg_temp AS $$
DECLARE
    now_ms bigint := ff_now_ms();
    caps text[];
    picked ff_claim_candidate[];
    c ff_claim_candidate;
    woken boolean;
BEGIN
    -- The common claim's arguments told by one expression; any other runs the checks in order.
    IF ff_claimer_valid(p_lane_id, p_worker_id, p_worker_instance_id, p_caps, p_lease_ttl_ms)
       AND p_max_items <@ '[1,1000]'::int4range AND (p_partition IS NULL OR p_partition BETWEEN 0 AND 255) THEN
        caps := '{}';
    ELSE
        caps := ff_check_claimer(p_lane_id, p_worker_id, p_worker_instance_id, p_caps, p_lease_ttl_ms, 'lease_ttl_ms');
        IF ff_required(p_max_items, 'max_items') NOT BETWEEN 1 AND 1000 THEN
            PERFORM ff_invalid('invalid_max_items', 'max_items must be between 1 and 1000');
        END IF;
        IF p_partition NOT BETWEEN 0 AND 255 THEN
            PERFORM ff_invalid('invalid_partition_key', 'partition_key must be between 0 and 255');
        END IF;
    END IF;
    -- Two statements, not a CASE: an expression sets up every function it names.
    IF p_partition IS NULL THEN
        picked := ff_pick(p_lane_id, caps, now_ms, p_max_items);
    ELSE
        picked := ff_pick_in_partition(p_partition, p_lane_id, caps, now_ms, p_max_items);
    END IF;
    FOREACH c IN ARRAY picked LOOP
        RETURN NEXT ff_lease(c, p_worker_id, p_worker_instance_id, p_lease_ttl_ms, now_ms);
    END LOOP;
    IF FOUND THEN  -- the loop leased at least one
        woken := ff_wake_one('ff_lease_event', '');
    END IF;
END
$$;
COMMENT ON FUNCTION ff_claim_body(text, text, text, text[], bigint, integer, smallint) IS 'ff_claim''s and ff_claim_in''s body (internal).';

CREATE FUNCTION ff_claim(lane_id text, worker_id text, worker_instance_id text, capabilities text[] DEFAULT '{}',
    lease_ttl_ms bigint DEFAULT 30000, max_items integer DEFAULT 1)
RETURNS TABLE (execution_id text, attempt_index integer, attempt_id uuid, lease_id uuid, lease_epoch bigint,
    lease_expires_at_ms bigint, resumed boolean, payload bytea, continuation text, step_count integer)
LANGUAGE sql STABLE AS $$
    SELECT * FROM @extschema@.ff_claim_body($1, $2, $3, $4, $5, $6, NULL)
$$;

-- ff_claim in one partition: on a distributed install, the call Citus delegates to the node holding
-- the partition's shard (docs/scale-out.md). VOLATILE: Citus delegates no other.
CREATE FUNCTION ff_claim_in(partition_key smallint, lane_id text, worker_id text, worker_instance_id text,
    capabilities text[] DEFAULT '{}', lease_ttl_ms bigint DEFAULT 30000, max_items integer DEFAULT 1)
RETURNS TABLE (execution_id text, attempt_index integer, attempt_id uuid, lease_id uuid, lease_epoch bigint,
    lease_expires_at_ms bigint, resumed boolean, payload bytea, continuation text, step_count integer)
LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = @extschema@, pg_temp AS $$
    SELECT * FROM ff_claim_body($2, $3, $4, $5, $6, $7, ff_required($1, 'partition_key'))
$$;
