-- Create a budget; nothing when it exists.
-- $1 budget_id
-- $2 hard_limits
-- $3 soft_limits
-- $4 reset_interval_ms
-- $5 now_ms
INSERT INTO ff_budget (budget_id, hard_limits, soft_limits, reset_interval_ms, created_at_ms, last_reset_at_ms)
VALUES ($1, $2, $3, $4, $5, $5) ON CONFLICT (budget_id) DO NOTHING RETURNING budget_id
