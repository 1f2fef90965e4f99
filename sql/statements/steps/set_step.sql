-- Store a step's value unless the execution already has one under that name (the first write wins,
-- across attempts), and only while it has fewer than max_steps steps. The caller holds the
-- execution's row lock and checked the fence. Returns whether the name existed, how many steps the
-- execution had, and how many rows this call stored (0 or 1).
-- $1 partition_key smallint
-- $2 execution_id uuid
-- $3 step_name text
-- $4 value bytea
-- $5 attempt_index integer
-- $6 now_ms bigint
-- $7 max_steps bigint
-- returns existed boolean, step_count bigint, stored bigint
WITH prior AS (
    SELECT count(*) AS n, coalesce(bool_or(s.step_name = $3), false) AS present
    FROM ff_step s WHERE s.partition_key = $1 AND s.execution_id = $2),
ins AS (
    INSERT INTO ff_step (partition_key, execution_id, step_name, value, attempt_index, stored_at_ms)
    SELECT $1, $2, $3, $4, $5, $6 FROM prior WHERE NOT prior.present AND prior.n < $7
    ON CONFLICT DO NOTHING
    RETURNING 1)
SELECT prior.present AS existed, prior.n AS step_count, (SELECT count(*) FROM ins) AS stored FROM prior
