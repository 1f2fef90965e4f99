-- ff_engine SQL edition: budgets and quotas (ff_create_budget, ff_report_usage, ff_budget_status,
-- ff_create_quota_policy), as the Rust edition (src/store/budgets.rs, core/src/admission.rs).

-- {dimension: integer 0..2^63-1}, at most 64 dimensions of 1-256 bytes (WF001 invalid_<field>);
-- entries are checked in byte order of their names, as the Rust edition's map iterates them.
CREATE FUNCTION ff_check_amounts(value jsonb, field text) RETURNS void
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
DECLARE
    e record;
BEGIN
    IF jsonb_typeof(value) <> 'object' THEN
        PERFORM ff_invalid('invalid_' || field, field || ' must be a JSON object {dimension: integer}');
    END IF;
    IF (SELECT count(*) FROM jsonb_object_keys(value)) > 64 THEN
        PERFORM ff_invalid('invalid_' || field, field || ' has more than 64 dimensions');
    END IF;
    FOR e IN SELECT k, v FROM jsonb_each(value) AS x(k, v) ORDER BY k COLLATE "C" LOOP
        IF octet_length(e.k) NOT BETWEEN 1 AND 256 THEN
            PERFORM ff_invalid('invalid_' || field, field || ' has a dimension name that is empty or longer than 256 bytes');
        END IF;
        IF jsonb_typeof(e.v) <> 'number' OR e.v::text !~ '^[0-9]+$' OR e.v::text::numeric > 9223372036854775807 THEN
            PERFORM ff_invalid('invalid_' || field, field || ' values must be integers from 0 to 2^63-1');
        END IF;
    END LOOP;
END
$$;
COMMENT ON FUNCTION ff_check_amounts(jsonb, text) IS 'WF001 unless {dimension: amount} (internal).';

CREATE FUNCTION ff_create_budget_body(p_budget_id text, p_hard jsonb, p_soft jsonb, p_reset bigint)
RETURNS TABLE (r_budget_id text, r_created boolean)
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = @extschema@, pg_temp AS $$
DECLARE
    soft jsonb := coalesce(p_soft, '{}');
    now_ms bigint;
    created text;
BEGIN
    p_hard := ff_check_jsonb(p_hard, 'hard_limits');
    p_soft := ff_check_jsonb(p_soft, 'soft_limits');
    p_budget_id := ff_required(p_budget_id, 'budget_id');
    p_budget_id := ff_check_optional_text(p_budget_id, 'budget_id', 256);
    PERFORM ff_check_amounts(ff_required(p_hard, 'hard_limits'), 'hard_limits');
    PERFORM ff_check_amounts(soft, 'soft_limits');
    IF p_reset IS NOT NULL THEN
        p_reset := ff_check_ms(p_reset, 'reset_interval_ms', 1);
    END IF;
    now_ms := ff_now_ms();
    -- @statement budgets/insert_budget.sql: p_budget_id, p_hard, soft, p_reset, now_ms
    INSERT INTO ff_budget (budget_id, hard_limits, soft_limits, reset_interval_ms, created_at_ms, last_reset_at_ms)
    VALUES (p_budget_id, p_hard, soft, p_reset, now_ms, now_ms) ON CONFLICT (budget_id) DO NOTHING RETURNING budget_id
    -- @end statement
    INTO created;
    RETURN QUERY SELECT p_budget_id, created IS NOT NULL;
END
$$;
COMMENT ON FUNCTION ff_create_budget_body(text, jsonb, jsonb, bigint) IS 'ff_create_budget''s body (internal).';

CREATE FUNCTION ff_create_budget(budget_id text, hard_limits jsonb, soft_limits jsonb DEFAULT '{}', reset_interval_ms bigint DEFAULT NULL)
RETURNS TABLE (budget_id text, created boolean)
LANGUAGE sql STABLE AS $$
    SELECT * FROM @extschema@.ff_create_budget_body($1, $2, $3, $4)
$$;

CREATE FUNCTION ff_report_usage(execution_id text, lease_id uuid, lease_epoch bigint, usage jsonb, dedup_key text DEFAULT NULL)
RETURNS TABLE (decision text, dimension text, retry_after_ms bigint)
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = @extschema@, pg_temp AS $$
#variable_conflict use_variable
DECLARE
    id record;
    e ff_exec_core;
    now_ms bigint;
    hit record;
BEGIN
    usage := ff_check_jsonb(usage, 'usage');
    id := ff_parse_execution_id(ff_required(execution_id, 'execution_id'));
    PERFORM ff_check_amounts(ff_required(usage, 'usage'), 'usage');
    dedup_key := ff_check_optional_text(dedup_key, 'dedup_key', 256);
    now_ms := ff_now_ms();
    e := ff_lock_leased(id.partition_key, id.execution_uuid, lease_id, lease_epoch, now_ms);
    IF dedup_key IS NOT NULL THEN
        IF NOT EXISTS (SELECT FROM ff_stmt_budgets_usage_dedup(id.partition_key, id.execution_uuid, dedup_key, now_ms)) THEN
            RETURN QUERY SELECT 'duplicate'::text, NULL::text, NULL::bigint;
            RETURN;
        END IF;
    END IF;
    IF cardinality(e.budget_ids) = 0 THEN
        RETURN QUERY SELECT 'admitted'::text, NULL::text, NULL::bigint;
        RETURN;
    END IF;
    -- Lazy periodic reset, then the usage added (saturating), then the decision
    -- (admission::usage_decision): a hard limit reached on a budget that never resets (the first, budgets
    -- by id, dimensions by name); else one reached on budgets that reset, throttled until the last of
    -- them resets; else the first soft limit reached.
    PERFORM ff_stmt_budgets_reset_due(e.budget_ids, now_ms);
    PERFORM ff_stmt_budgets_add_usage(e.budget_ids, usage);
    FOR hit IN
        WITH breach AS (
            SELECT k.o, k.kind, b.budget_id, l.dim,
                   coalesce(b.last_reset_at_ms, b.created_at_ms) + b.reset_interval_ms AS next_reset_at_ms
            FROM (VALUES (1, 'hard'), (2, 'soft')) AS k(o, kind)
            CROSS JOIN ff_budget b
            CROSS JOIN LATERAL jsonb_each_text(CASE WHEN kind = 'hard' THEN b.hard_limits ELSE b.soft_limits END) AS l(dim, lim)
            LEFT JOIN ff_budget_usage u ON u.budget_id = b.budget_id AND u.dimension = l.dim
            WHERE b.budget_id = ANY (e.budget_ids) AND coalesce(u.used, 0) >= l.lim::numeric)
        SELECT CASE WHEN x.kind = 'soft' THEN 'soft_breach' WHEN x.next_reset_at_ms IS NULL THEN 'hard_breach' ELSE 'throttled' END AS d,
               x.dim,
               CASE WHEN x.kind = 'hard' AND x.next_reset_at_ms IS NOT NULL THEN
                   (SELECT greatest(max(y.next_reset_at_ms) - now_ms, 0) FROM breach y WHERE y.kind = 'hard') END AS retry
        FROM breach x
        ORDER BY x.o, x.next_reset_at_ms IS NOT NULL, x.budget_id COLLATE "C", x.dim COLLATE "C" LIMIT 1
    LOOP
        RETURN QUERY SELECT hit.d, hit.dim, hit.retry;
        RETURN;
    END LOOP;
    RETURN QUERY SELECT 'admitted'::text, NULL::text, NULL::bigint;
END
$$;

CREATE FUNCTION ff_budget_status(budget_id text)
RETURNS TABLE (dimension text, used bigint, soft_limit bigint, hard_limit bigint)
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = @extschema@, pg_temp AS $$
#variable_conflict use_variable
DECLARE
    b ff_budget;
BEGIN
    budget_id := ff_required(budget_id, 'budget_id');
    budget_id := ff_check_optional_text(budget_id, 'budget_id', 256);
    SELECT * INTO b FROM ff_budget x WHERE x.budget_id = ff_budget_status.budget_id;
    IF NOT FOUND THEN
        PERFORM ff_raise('WF010', 'not_found', 'budget not found', 'budget');
    END IF;
    RETURN QUERY
    SELECT d.dim, coalesce((SELECT u.used FROM ff_budget_usage u WHERE u.budget_id = b.budget_id AND u.dimension = d.dim), 0),
           (b.soft_limits ->> d.dim)::bigint, (b.hard_limits ->> d.dim)::bigint
    FROM (SELECT k AS dim FROM jsonb_object_keys(b.hard_limits) k
          UNION SELECT k FROM jsonb_object_keys(b.soft_limits) k
          UNION SELECT u.dimension FROM ff_budget_usage u WHERE u.budget_id = b.budget_id) d
    ORDER BY d.dim COLLATE "C";
END
$$;

CREATE FUNCTION ff_create_quota_policy_body(p_max_requests integer, p_window_ms bigint, p_cap integer, p_id uuid)
RETURNS TABLE (r_quota_policy_id uuid)
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = @extschema@, pg_temp AS $$
DECLARE
    id uuid := coalesce(p_id, gen_random_uuid());
BEGIN
    IF p_max_requests < 0 THEN
        PERFORM ff_invalid('invalid_max_requests_per_window', 'max_requests_per_window must be >= 0');
    END IF;
    IF p_cap < 0 THEN
        PERFORM ff_invalid('invalid_active_concurrency_cap', 'active_concurrency_cap must be >= 0');
    END IF;
    p_window_ms := ff_required(p_window_ms, 'window_ms');
    p_window_ms := ff_check_ms(p_window_ms, 'window_ms', 1);
    -- @statement budgets/insert_quota.sql: id, p_max_requests, p_window_ms, p_cap, ff_now_ms()
    INSERT INTO ff_quota_policy (quota_policy_id, max_requests_per_window, window_ms, active_concurrency_cap, created_at_ms)
    VALUES (id, p_max_requests, p_window_ms, p_cap, ff_now_ms()) ON CONFLICT (quota_policy_id) DO NOTHING
    -- @end statement
    ;
    RETURN QUERY SELECT id;
END
$$;
COMMENT ON FUNCTION ff_create_quota_policy_body(integer, bigint, integer, uuid) IS 'ff_create_quota_policy''s body (internal).';

CREATE FUNCTION ff_create_quota_policy(max_requests_per_window integer DEFAULT NULL, window_ms bigint DEFAULT 60000,
    active_concurrency_cap integer DEFAULT NULL, quota_policy_id uuid DEFAULT NULL)
RETURNS TABLE (quota_policy_id uuid)
LANGUAGE sql STABLE AS $$
    SELECT * FROM @extschema@.ff_create_quota_policy_body($1, $2, $3, $4)
$$;
