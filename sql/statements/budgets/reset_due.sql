-- Lazy periodic reset: a budget whose interval has passed starts again from zero usage.
-- $1 budget_ids text[]
-- $2 now_ms bigint
WITH due AS (
    UPDATE ff_budget SET last_reset_at_ms = $2
    WHERE budget_id = ANY ($1) AND reset_interval_ms IS NOT NULL
      AND coalesce(last_reset_at_ms, created_at_ms) + reset_interval_ms <= $2
    RETURNING budget_id)
UPDATE ff_budget_usage u SET used = 0 FROM due WHERE u.budget_id = due.budget_id
