-- Budgets: no hard limit of any budget the execution draws on is reached (a budget whose reset
  -- interval has passed counts as unused).
  AND (cardinality(e.budget_ids) = 0 OR NOT EXISTS (
        SELECT 1 FROM ff_budget b
        CROSS JOIN LATERAL jsonb_each_text(b.hard_limits) AS h(dimension, hard_limit)
        LEFT JOIN ff_budget_usage u ON u.budget_id = b.budget_id AND u.dimension = h.dimension
        WHERE b.budget_id = ANY (e.budget_ids)
          AND CASE WHEN b.reset_interval_ms IS NOT NULL
                        AND coalesce(b.last_reset_at_ms, b.created_at_ms) + b.reset_interval_ms <= $3
                   THEN 0 ELSE coalesce(u.used, 0) END >= h.hard_limit::numeric))
  -- Quota: requests in the sliding window and active (leased or reserved) executions under the caps.
  AND (e.quota_policy_id IS NULL OR EXISTS (
        SELECT 1 FROM ff_quota_policy p
        WHERE p.quota_policy_id = e.quota_policy_id
          AND (p.max_requests_per_window IS NULL OR
               (SELECT count(*) FROM ff_quota_admission a
                WHERE a.quota_policy_id = p.quota_policy_id AND a.admitted_at_ms > $3 - p.window_ms)
               < p.max_requests_per_window)
          AND (p.active_concurrency_cap IS NULL OR
               (SELECT count(*) FROM ff_exec_core x
                WHERE x.quota_policy_id = p.quota_policy_id
                  AND (x.ownership_state = 'leased' OR x.reserved_until_ms > $3))
               < p.active_concurrency_cap)))
