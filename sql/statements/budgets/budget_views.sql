-- Limits and usage of budgets, usage as one JSON object per budget, and when a budget that resets
-- next starts again from zero.
-- $1 budget_ids
SELECT b.budget_id, b.hard_limits, b.soft_limits,
       coalesce((SELECT jsonb_object_agg(u.dimension, u.used) FROM ff_budget_usage u WHERE u.budget_id = b.budget_id),
                '{}') AS used,
       coalesce(b.last_reset_at_ms, b.created_at_ms) + b.reset_interval_ms AS next_reset_at_ms
FROM ff_budget b WHERE b.budget_id = ANY ($1) ORDER BY b.budget_id
