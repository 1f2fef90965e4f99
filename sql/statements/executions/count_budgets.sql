-- How many of the given budgets exist.
-- $1 budget_ids
SELECT count(*) AS found FROM ff_budget WHERE budget_id = ANY ($1)
