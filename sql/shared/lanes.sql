-- ff_engine, both editions: why a lane's runnable work is not handed out (ff_lane_holdback), holding
-- one execution out of it (ff_hold_execution, ff_release_execution), and pausing the whole lane
-- (ff_pause_lane, ff_resume_lane, ff_list_lanes). Written once: both editions install this file.

-- A lane's runnable executions held for the lane's or their own state: the lane paused (every
-- eligible one), delayed, blocked by dependencies, reserved by a grant (reason, executions, earliest).
CREATE FUNCTION ff_lane_held_by_state(p_lane_id text, now_ms bigint)
RETURNS TABLE (r_reason text, r_executions bigint, r_earliest_at_ms bigint)
LANGUAGE plpgsql STABLE AS $$
BEGIN
    RETURN QUERY
    WITH runnable AS (
        SELECT e.eligibility_state, e.eligible_at_ms, e.reserved_until_ms
        FROM ff_exec_core e WHERE e.lane_id = p_lane_id AND e.lifecycle_phase = 'runnable'),
    held AS (
        SELECT 'lane_paused' AS reason, NULL::bigint AS earliest FROM runnable r
        WHERE r.eligibility_state = 'eligible_now' AND EXISTS (SELECT 1 FROM ff_lane_pause p WHERE p.lane_id = p_lane_id)
        UNION ALL
        SELECT 'delayed', r.eligible_at_ms FROM runnable r WHERE r.eligibility_state = 'not_eligible_until_time'
        UNION ALL
        SELECT 'dependencies', NULL FROM runnable r WHERE r.eligibility_state = 'blocked_by_dependencies'
        UNION ALL
        SELECT 'reserved', r.reserved_until_ms FROM runnable r
        WHERE r.eligibility_state = 'eligible_now' AND r.reserved_until_ms > now_ms)
    SELECT h.reason, count(*), min(h.earliest) FROM held h GROUP BY h.reason;
END
$$;
COMMENT ON FUNCTION ff_lane_held_by_state(text, bigint) IS 'A lane''s executions held by pause, delay, dependencies or reservation (internal).';

-- A lane's eligible executions held by a budget whose hard limit is reached, as the claim sees it;
-- the earliest time one of them could pass is when the last of its full budgets resets (NULL when
-- one of them does not).
CREATE FUNCTION ff_lane_held_by_budget(p_lane_id text, now_ms bigint)
RETURNS TABLE (r_reason text, r_executions bigint, r_earliest_at_ms bigint)
LANGUAGE plpgsql STABLE AS $$
BEGIN
    RETURN QUERY
    WITH budget AS (
        SELECT x.ord, bool_and(b.reset_interval_ms IS NOT NULL) AS resets,
               max(coalesce(b.last_reset_at_ms, b.created_at_ms) + b.reset_interval_ms) AS reset_at_ms
        FROM (SELECT row_number() OVER () AS ord, e.budget_ids FROM ff_exec_core e
              WHERE e.lane_id = p_lane_id AND e.lifecycle_phase = 'runnable' AND e.eligibility_state = 'eligible_now'
                AND cardinality(e.budget_ids) > 0) x
        JOIN ff_budget b ON b.budget_id = ANY (x.budget_ids)
        WHERE EXISTS (SELECT 1 FROM jsonb_each_text(b.hard_limits) AS h(dimension, hard_limit)
                      WHERE CASE WHEN b.reset_interval_ms IS NOT NULL
                                      AND coalesce(b.last_reset_at_ms, b.created_at_ms) + b.reset_interval_ms <= now_ms
                                 THEN 0
                                 ELSE coalesce((SELECT u.used FROM ff_budget_usage u
                                                WHERE u.budget_id = b.budget_id AND u.dimension = h.dimension), 0)
                            END >= h.hard_limit::numeric)
        GROUP BY x.ord)
    SELECT 'budget'::text, count(*), min(CASE WHEN b.resets THEN b.reset_at_ms END) FROM budget b HAVING count(*) > 0;
END
$$;
COMMENT ON FUNCTION ff_lane_held_by_budget(text, bigint) IS 'A lane''s executions held by a full budget (internal).';

-- A lane's eligible executions held by a full quota policy, as the claim sees it: its admissions in
-- the window (quota_rate, until the oldest leaves it) and its active executions (quota_concurrency),
-- counted by aggregates (not subqueries correlated to the policy, a join Citus refuses over its
-- distributed tables).
CREATE FUNCTION ff_lane_held_by_quota(p_lane_id text, now_ms bigint)
RETURNS TABLE (r_reason text, r_executions bigint, r_earliest_at_ms bigint)
LANGUAGE plpgsql STABLE AS $$
BEGIN
    RETURN QUERY
    WITH eligible AS (
        SELECT e.quota_policy_id FROM ff_exec_core e
        WHERE e.lane_id = p_lane_id AND e.lifecycle_phase = 'runnable' AND e.eligibility_state = 'eligible_now'
          AND e.quota_policy_id IS NOT NULL),
    admitted AS (
        SELECT a.quota_policy_id, count(*) AS requests, min(a.admitted_at_ms) AS first_at_ms
        FROM ff_quota_admission a JOIN ff_quota_policy p ON p.quota_policy_id = a.quota_policy_id
        WHERE a.quota_policy_id IN (SELECT g.quota_policy_id FROM eligible g) AND a.admitted_at_ms > now_ms - p.window_ms
        GROUP BY a.quota_policy_id),
    active AS (
        SELECT x.quota_policy_id, count(*) AS active FROM ff_exec_core x
        WHERE x.quota_policy_id IN (SELECT g.quota_policy_id FROM eligible g)
          AND (x.ownership_state = 'leased' OR x.reserved_until_ms > now_ms)
        GROUP BY x.quota_policy_id),
    quota AS (
        SELECT p.quota_policy_id, coalesce(ad.requests, 0) AS requests, ad.first_at_ms + p.window_ms AS slot_at_ms,
               coalesce(ac.active, 0) AS active, p.max_requests_per_window, p.active_concurrency_cap
        FROM ff_quota_policy p
        LEFT JOIN admitted ad ON ad.quota_policy_id = p.quota_policy_id
        LEFT JOIN active ac ON ac.quota_policy_id = p.quota_policy_id
        WHERE p.quota_policy_id IN (SELECT g.quota_policy_id FROM eligible g)),
    held AS (
        SELECT 'quota_rate' AS reason, q.slot_at_ms AS earliest FROM eligible g JOIN quota q ON q.quota_policy_id = g.quota_policy_id
        WHERE q.requests >= q.max_requests_per_window
        UNION ALL
        SELECT 'quota_concurrency', NULL FROM eligible g JOIN quota q ON q.quota_policy_id = g.quota_policy_id
        WHERE q.active >= q.active_concurrency_cap)
    SELECT h.reason, count(*), min(h.earliest) FROM held h GROUP BY h.reason;
END
$$;
COMMENT ON FUNCTION ff_lane_held_by_quota(text, bigint) IS 'A lane''s executions held by a full quota policy (internal).';

CREATE FUNCTION ff_lane_holdback_body(p_lane_id text)
RETURNS TABLE (r_reason text, r_executions bigint, r_earliest_at_ms bigint)
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = @extschema@, pg_temp AS $$
DECLARE
    now_ms bigint := ff_now_ms();
BEGIN
    p_lane_id := ff_required(p_lane_id, 'lane_id');
    p_lane_id := ff_check_lane_id(p_lane_id);
    RETURN QUERY
    SELECT h.* FROM (
        SELECT * FROM ff_lane_held_by_state(p_lane_id, now_ms)
        UNION ALL SELECT * FROM ff_lane_held_by_budget(p_lane_id, now_ms)
        UNION ALL SELECT * FROM ff_lane_held_by_quota(p_lane_id, now_ms)) h
    ORDER BY h.r_reason;
END
$$;
COMMENT ON FUNCTION ff_lane_holdback_body(text) IS 'ff_lane_holdback''s body (internal).';

CREATE FUNCTION ff_lane_holdback(lane_id text)
RETURNS TABLE (reason text, executions bigint, earliest_at_ms bigint)
LANGUAGE sql STABLE AS $$
    SELECT * FROM @extschema@.ff_lane_holdback_body($1)
$$;

-- Holding one execution (semantics §7a): a runnable execution — waiting, delayed, or blocked by its
-- upstreams — is taken out of the claimable set (eligibility blocked_by_operator, its public state
-- kept) until ff_release_execution. Nothing else moves a held execution: delay promotion, dependency
-- release and replays touch only the eligibility states they own. A hold racing a claim: the claim
-- locks its candidate first and the hold finds it active (execution_not_runnable), or the hold
-- commits first and no claim or grant consume takes it. Each writes an operator event.
CREATE FUNCTION ff_hold_execution_body(p_execution_id text, p_reason text) RETURNS text
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = @extschema@, pg_temp AS $$
DECLARE
    id record := ff_parse_execution_id(ff_required(p_execution_id, 'execution_id'));
    now_ms bigint := ff_now_ms();
    e record;
BEGIN
    p_reason := ff_check_optional_text(p_reason, 'reason', 256);
    SELECT x.lifecycle_phase, x.eligibility_state, x.namespace INTO e FROM ff_exec_core x
    WHERE x.partition_key = id.partition_key AND x.execution_id = id.execution_uuid FOR UPDATE;
    IF NOT FOUND THEN
        PERFORM ff_raise('WF010', 'not_found', 'execution not found', 'execution');
    END IF;
    IF e.eligibility_state = 'blocked_by_operator' THEN
        RETURN 'already_held';
    END IF;
    IF e.lifecycle_phase <> 'runnable' THEN
        PERFORM ff_invalid('execution_not_runnable',
            format('the execution is %s; only a waiting, delayed or blocked execution can be held', e.lifecycle_phase));
    END IF;
    UPDATE ff_exec_core SET eligibility_state = 'blocked_by_operator', reserved_until_ms = NULL, updated_at_ms = now_ms
    WHERE partition_key = id.partition_key AND execution_id = id.execution_uuid;
    DELETE FROM ff_claim_grant WHERE partition_key = id.partition_key AND execution_id = id.execution_uuid;
    INSERT INTO ff_operator_event (partition_key, execution_id, namespace, occurred_at_ms, action, actor, reason, detail)
    VALUES (id.partition_key, '{fp:' || id.partition_key || '}:' || id.execution_uuid, e.namespace, now_ms, 'execution_held',
            session_user, p_reason, jsonb_build_object('eligibility_state', e.eligibility_state));
    PERFORM ff_wake('{ff_operator_event}', '{}');
    RETURN 'held';
END
$$;
COMMENT ON FUNCTION ff_hold_execution_body(text, text) IS 'ff_hold_execution''s body (internal).';

CREATE FUNCTION ff_hold_execution(execution_id text, reason text DEFAULT NULL)
RETURNS TABLE (outcome text)
LANGUAGE sql STABLE AS $$
    SELECT * FROM @extschema@.ff_hold_execution_body($1, $2)
$$;

-- Releasing a hold: the execution goes back to what its state calls for now — blocked while upstreams
-- of its flow have not completed, delayed until a delay still ahead, else claimable (its lane's
-- sleeping worker is woken).
CREATE FUNCTION ff_release_execution_body(p_execution_id text) RETURNS text
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = @extschema@, pg_temp AS $$
DECLARE
    id record := ff_parse_execution_id(ff_required(p_execution_id, 'execution_id'));
    now_ms bigint := ff_now_ms();
    e record;
    upstreams integer;
BEGIN
    SELECT x.eligibility_state, x.eligible_at_ms, x.namespace, x.lane_id, x.priority, x.queue_seq INTO e FROM ff_exec_core x
    WHERE x.partition_key = id.partition_key AND x.execution_id = id.execution_uuid FOR UPDATE;
    IF NOT FOUND THEN
        PERFORM ff_raise('WF010', 'not_found', 'execution not found', 'execution');
    END IF;
    IF e.eligibility_state <> 'blocked_by_operator' THEN
        RETURN 'not_held';
    END IF;
    SELECT m.upstreams_left INTO upstreams FROM ff_flow_member m
    WHERE m.partition_key = id.partition_key AND m.execution_id = id.execution_uuid;
    UPDATE ff_exec_core SET
        eligibility_state = CASE WHEN coalesce(upstreams, 0) > 0 THEN 'blocked_by_dependencies'
                                 WHEN eligible_at_ms > now_ms THEN 'not_eligible_until_time' ELSE 'eligible_now' END,
        public_state = CASE WHEN coalesce(upstreams, 0) > 0 THEN 'waiting_children'
                            WHEN eligible_at_ms > now_ms THEN 'delayed' ELSE 'waiting' END,
        eligible_at_ms = CASE WHEN coalesce(upstreams, 0) > 0 OR eligible_at_ms > now_ms THEN eligible_at_ms END,
        updated_at_ms = now_ms
    WHERE partition_key = id.partition_key AND execution_id = id.execution_uuid
    RETURNING eligibility_state INTO e.eligibility_state;
    IF e.eligibility_state = 'eligible_now' THEN
        PERFORM ff_claim_start_lower(e.lane_id, e.priority, e.queue_seq);
    END IF;
    INSERT INTO ff_operator_event (partition_key, execution_id, namespace, occurred_at_ms, action, actor, detail)
    VALUES (id.partition_key, '{fp:' || id.partition_key || '}:' || id.execution_uuid, e.namespace, now_ms, 'execution_released',
            session_user, jsonb_build_object('eligibility_state', e.eligibility_state));
    PERFORM ff_wake('{ff_operator_event}', CASE WHEN e.eligibility_state = 'eligible_now' THEN ARRAY[e.lane_id] ELSE '{}'::text[] END);
    RETURN 'released';
END
$$;
COMMENT ON FUNCTION ff_release_execution_body(text) IS 'ff_release_execution''s body (internal).';

CREATE FUNCTION ff_release_execution(execution_id text)
RETURNS TABLE (outcome text)
LANGUAGE sql STABLE AS $$
    SELECT * FROM @extschema@.ff_release_execution_body($1)
$$;

-- Pausing a lane (semantics §7a): the lane keeps accepting executions and hands out none. Every claim
-- checks its lane, and consuming a claim grant checks it under the execution's row lock: a claim that
-- starts after the pause's commit has returned hands out nothing; a claim already running may finish.
-- Grants issued before the pause stay valid for their TTL but cannot be consumed while it holds.
-- ff_lanes_changed, supplied by each edition, tells the claims: the Rust edition keeps a copy of
-- ff_lane_pause per backend and refreshes it on the invalidation this sends at commit; the SQL
-- edition's claim statements read ff_lane_pause themselves, and its ff_lanes_changed does nothing.
COMMENT ON FUNCTION ff_lanes_changed() IS 'Tell the claims that the paused lanes changed, at commit (internal).';

CREATE FUNCTION ff_pause_lane_body(p_lane_id text, p_reason text) RETURNS text
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = @extschema@, pg_temp AS $$
DECLARE
    now_ms bigint := ff_now_ms();
BEGIN
    p_lane_id := ff_required(p_lane_id, 'lane_id');
    p_lane_id := ff_check_lane_id(p_lane_id);
    p_reason := ff_check_optional_text(p_reason, 'reason', 256);
    INSERT INTO ff_lane_pause (lane_id, paused_at_ms, paused_by, reason) VALUES (p_lane_id, now_ms, session_user, p_reason)
    ON CONFLICT (lane_id) DO NOTHING;
    IF NOT FOUND THEN
        RETURN 'already_paused';
    END IF;
    INSERT INTO ff_operator_event (lane_id, occurred_at_ms, action, actor, reason) VALUES (p_lane_id, now_ms, 'lane_paused', session_user, p_reason);
    PERFORM ff_lanes_changed();
    PERFORM ff_wake('{ff_operator_event}', '{}');
    RETURN 'paused';
END
$$;
COMMENT ON FUNCTION ff_pause_lane_body(text, text) IS 'ff_pause_lane''s body (internal).';

CREATE FUNCTION ff_pause_lane(lane_id text, reason text DEFAULT NULL)
RETURNS TABLE (outcome text)
LANGUAGE sql STABLE AS $$
    SELECT * FROM @extschema@.ff_pause_lane_body($1, $2)
$$;

-- Resuming a lane wakes its sleeping workers (ff_await_lane) in the resuming transaction.
CREATE FUNCTION ff_resume_lane_body(p_lane_id text) RETURNS text
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = @extschema@, pg_temp AS $$
DECLARE
    now_ms bigint := ff_now_ms();
BEGIN
    p_lane_id := ff_required(p_lane_id, 'lane_id');
    p_lane_id := ff_check_lane_id(p_lane_id);
    DELETE FROM ff_lane_pause WHERE lane_id = p_lane_id;
    IF NOT FOUND THEN
        RETURN 'not_paused';
    END IF;
    INSERT INTO ff_operator_event (lane_id, occurred_at_ms, action, actor) VALUES (p_lane_id, now_ms, 'lane_resumed', session_user);
    PERFORM ff_lanes_changed();
    PERFORM ff_wake('{ff_operator_event}', ARRAY[p_lane_id]);
    RETURN 'resumed';
END
$$;
COMMENT ON FUNCTION ff_resume_lane_body(text) IS 'ff_resume_lane''s body (internal).';

CREATE FUNCTION ff_resume_lane(lane_id text)
RETURNS TABLE (outcome text)
LANGUAGE sql STABLE AS $$
    SELECT * FROM @extschema@.ff_resume_lane_body($1)
$$;

-- Every lane with unfinished work or a pause: whether it is paused, how many executions it could hand
-- out now (depth), how long the oldest of them has waited since it became claimable (its last state
-- change), how many are delayed or blocked, and how many are leased. One pass over the unfinished
-- executions (lifecycle runnable and active), grouped by lane: an operator's view, not a hot path.
CREATE FUNCTION ff_list_lanes()
RETURNS TABLE (lane_id text, state text, depth bigint, oldest_eligible_age_ms bigint, not_eligible bigint, active bigint,
    paused_at_ms bigint, pause_reason text)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = @extschema@, pg_temp AS $$
    WITH counts AS (
        SELECT e.lane_id,
               count(*) FILTER (WHERE e.lifecycle_phase = 'runnable' AND e.eligibility_state = 'eligible_now') AS depth,
               min(e.updated_at_ms) FILTER (WHERE e.lifecycle_phase = 'runnable' AND e.eligibility_state = 'eligible_now') AS oldest,
               count(*) FILTER (WHERE e.lifecycle_phase = 'runnable' AND e.eligibility_state <> 'eligible_now') AS not_eligible,
               count(*) FILTER (WHERE e.lifecycle_phase = 'active') AS active
        FROM ff_exec_core e WHERE e.lifecycle_phase IN ('runnable', 'active') GROUP BY e.lane_id)
    SELECT coalesce(c.lane_id, p.lane_id), CASE WHEN p.lane_id IS NULL THEN 'open' ELSE 'paused' END,
           coalesce(c.depth, 0), ff_now_ms() - c.oldest, coalesce(c.not_eligible, 0), coalesce(c.active, 0),
           p.paused_at_ms, p.reason
    FROM counts c FULL JOIN ff_lane_pause p ON p.lane_id = c.lane_id
    ORDER BY 1
$$;
