-- Lower every claim start to the true head of its (lane, priority) (sql/shared/claim_start.sql): what
-- a raise passed while a producer's transaction was open is handed out again. How many it lowered.
-- $1 now_ms
-- $2 max_rows (unused: one look per slot)
-- $3..$5 filter (claim starts belong to lanes, not executions: a filtered tick does not run this task; unused)
SELECT ff_claim_start_verify(NULL, NULL, $1, 0) AS processed
