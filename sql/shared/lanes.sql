-- ff_engine, both editions: why a lane's runnable work is not handed out (ff_lane_holdback). Written
-- once: both editions install this file.

CREATE FUNCTION ff_lane_holdback_body(p_lane_id text)
RETURNS TABLE (r_reason text, r_executions bigint, r_earliest_at_ms bigint)
LANGUAGE plpgsql STABLE AS $$
DECLARE
    now_ms bigint := ff_now_ms();
BEGIN
    PERFORM ff_check_lane_id(ff_required(p_lane_id, 'lane_id'));
    RETURN QUERY
    WITH runnable AS (
        SELECT e.eligibility_state, e.eligible_at_ms, e.reserved_until_ms, e.budget_ids, e.quota_policy_id
        FROM ff_exec_core e WHERE e.lane_id = p_lane_id AND e.lifecycle_phase = 'runnable'),
    eligible AS (
        SELECT r.* FROM runnable r WHERE r.eligibility_state = 'eligible_now'),
    -- The budgets each eligible execution draws on whose hard limit is reached, as the claim sees
    -- them, with when each resets (NULL: it does not).
    budget AS (
        SELECT x.ord, bool_and(b.reset_interval_ms IS NOT NULL) AS resets,
               max(coalesce(b.last_reset_at_ms, b.created_at_ms) + b.reset_interval_ms) AS reset_at_ms
        FROM (SELECT row_number() OVER () AS ord, g.budget_ids FROM eligible g WHERE cardinality(g.budget_ids) > 0) x
        JOIN ff_budget b ON b.budget_id = ANY (x.budget_ids)
        WHERE EXISTS (SELECT 1 FROM jsonb_each_text(b.hard_limits) AS h(dimension, hard_limit)
                      LEFT JOIN ff_budget_usage u ON u.budget_id = b.budget_id AND u.dimension = h.dimension
                      WHERE CASE WHEN b.reset_interval_ms IS NOT NULL
                                      AND coalesce(b.last_reset_at_ms, b.created_at_ms) + b.reset_interval_ms <= now_ms
                                 THEN 0 ELSE coalesce(u.used, 0) END >= h.hard_limit::numeric)
        GROUP BY x.ord),
    -- The quota policies of eligible executions that are full, as the claim sees them.
    quota AS (
        SELECT p.quota_policy_id,
               (SELECT count(*) FROM ff_quota_admission a
                WHERE a.quota_policy_id = p.quota_policy_id AND a.admitted_at_ms > now_ms - p.window_ms) AS requests,
               (SELECT min(a.admitted_at_ms) FROM ff_quota_admission a
                WHERE a.quota_policy_id = p.quota_policy_id AND a.admitted_at_ms > now_ms - p.window_ms) + p.window_ms AS slot_at_ms,
               (SELECT count(*) FROM ff_exec_core x
                WHERE x.quota_policy_id = p.quota_policy_id AND (x.ownership_state = 'leased' OR x.reserved_until_ms > now_ms)) AS active,
               p.max_requests_per_window, p.active_concurrency_cap
        FROM ff_quota_policy p WHERE p.quota_policy_id IN (SELECT g.quota_policy_id FROM eligible g)),
    held AS (
        SELECT 'delayed' AS reason, r.eligible_at_ms AS earliest FROM runnable r WHERE r.eligibility_state = 'not_eligible_until_time'
        UNION ALL
        SELECT 'dependencies', NULL FROM runnable r WHERE r.eligibility_state = 'blocked_by_dependencies'
        UNION ALL
        SELECT 'reserved', g.reserved_until_ms FROM eligible g WHERE g.reserved_until_ms > now_ms
        UNION ALL
        SELECT 'budget', CASE WHEN b.resets THEN b.reset_at_ms END FROM budget b
        UNION ALL
        SELECT 'quota_rate', q.slot_at_ms FROM eligible g JOIN quota q ON q.quota_policy_id = g.quota_policy_id
        WHERE q.requests >= q.max_requests_per_window
        UNION ALL
        SELECT 'quota_concurrency', NULL FROM eligible g JOIN quota q ON q.quota_policy_id = g.quota_policy_id
        WHERE q.active >= q.active_concurrency_cap)
    SELECT h.reason, count(*), min(h.earliest) FROM held h GROUP BY h.reason ORDER BY h.reason;
END
$$;
COMMENT ON FUNCTION ff_lane_holdback_body(text) IS 'ff_lane_holdback''s body (internal).';

CREATE FUNCTION ff_lane_holdback(lane_id text)
RETURNS TABLE (reason text, executions bigint, earliest_at_ms bigint)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = @extschema@, pg_temp AS $$
    SELECT * FROM ff_lane_holdback_body($1)
$$;
