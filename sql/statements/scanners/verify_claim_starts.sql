-- Lower every claim start to the true head of its (lane, priority) (sql/shared/claim_start.sql): what
-- a raise passed while a producer's transaction was open is handed out again. One row per start it
-- lowered (the tasks of ff_tick count rows).
-- $1 now_ms
-- $2 max_rows (unused: one look per slot)
-- $3..$6 filter (claim starts belong to lanes, not executions: a filtered tick does not run this task; unused)
SELECT 1 AS processed FROM generate_series(1, ff_claim_start_verify(NULL, NULL, $1, 0))
