\set aid random(1, 1000000)
WITH u AS (UPDATE pgbench_accounts SET abalance = abalance + 1 WHERE aid = :aid RETURNING aid) SELECT pg_notify('ff_bench_limit', '') FROM u;
