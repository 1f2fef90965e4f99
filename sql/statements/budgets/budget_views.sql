-- Limits and usage of budgets, usage as one JSON object per budget.
-- $1 budget_ids
SELECT b.budget_id, b.hard_limits, b.soft_limits,
       coalesce((SELECT jsonb_object_agg(u.dimension, u.used) FROM ff_budget_usage u WHERE u.budget_id = b.budget_id),
                '{}') AS used
FROM ff_budget b WHERE b.budget_id = ANY ($1) ORDER BY b.budget_id
