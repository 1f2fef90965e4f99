-- Add a usage report to every budget of the execution (saturating at the bigint maximum).
-- $1 budget_ids text[]
-- $2 usage jsonb
INSERT INTO ff_budget_usage (budget_id, dimension, used)
SELECT b, d.key, d.value::bigint FROM unnest($1::text[]) AS b, jsonb_each_text($2) AS d
ON CONFLICT (budget_id, dimension) DO UPDATE
SET used = LEAST(ff_budget_usage.used::numeric + EXCLUDED.used, 9223372036854775807)::bigint
