-- Claims: the two ways to start work (a grant then a claim, or ff_claim in one call), priority and
-- capabilities, fences, completion and retry. Expected output: ../expected/claims.out.
\set VERBOSITY default
-- the SQL edition's errors carry its PL/pgSQL call stack; the contract is SQLSTATE, message, DETAIL
\set SHOW_CONTEXT never
\pset null '(null)'
SET client_min_messages = warning;  -- quiet whether or not an earlier script left it installed
DROP EXTENSION IF EXISTS ff_engine CASCADE;
RESET client_min_messages;
CREATE EXTENSION ff_engine;
SELECT outcome FROM ff_seed_hmac('k1', repeat('ab', 32));

-- Three executions: the highest priority is claimed first; a capability filters.
SELECT execution_id AS low FROM ff_create_execution('claims', priority => 1) \gset
SELECT execution_id AS high FROM ff_create_execution('claims', priority => 9) \gset
SELECT execution_id AS gpu FROM ff_create_execution('claims', priority => 99, required_capabilities => '{gpu}') \gset
SELECT lane_id, runnable, delayed, active FROM ff_lane_stats WHERE lane_id = 'claims';

-- Two-step claim: a signed single-use grant (reserving the execution), then the lease.
SELECT execution_id = :'high' AS picked_high, grant_key LIKE 'k1:%' AS signed
FROM ff_claim_for_worker('claims', 'w', 'w-1') \gset
SELECT :'picked_high' AS picked_high, :'signed' AS signed;
SELECT grant_key FROM ff_claim_for_worker('claims', 'w', 'w-1') \gset
SELECT execution_id = :'low' AS second_pick_is_low, lease_id, lease_epoch
FROM ff_claim_execution(:'grant_key', 'w', 'w-1') \gset
SELECT :'second_pick_is_low' AS second_pick_is_low, :lease_epoch AS lease_epoch;
-- The grant is single use: WF025 invalid_claim_grant.
SELECT * FROM ff_claim_execution(:'grant_key', 'w', 'w-1');

-- One-call claim: the worker with the gpu capability gets the gpu execution.
SELECT execution_id = :'gpu' AS gpu_picked, attempt_index, lease_epoch, resumed
FROM ff_claim('claims', 'w', 'w-2', capabilities => '{gpu}');

-- The high execution stays reserved by its unconsumed grant until the grant expires (then it is
-- claimable again at once), so nothing is left to claim now.
SELECT count(*) AS claimable_now FROM ff_claim('claims', 'w', 'w-3', max_items => 10);

-- Complete under the fence; a second complete, or a stale epoch, is WF020 lease_conflict.
SELECT * FROM ff_complete(:'low', :'lease_id', :lease_epoch, result => 'done'::bytea);
SELECT * FROM ff_complete(:'low', :'lease_id', :lease_epoch);
SELECT public_state FROM ff_executions WHERE execution_id = :'low';

-- Fail with retries left schedules a retry with back-off; without, it is terminal.
SELECT execution_id AS r FROM ff_create_execution('claims-retry', max_attempts => 2, retry_backoff_ms => 0) \gset
SELECT lease_id, lease_epoch FROM ff_claim('claims-retry', 'w', 'w-1') \gset
SELECT outcome, retry_at_ms IS NOT NULL AS has_retry_at FROM ff_fail(:'r', :'lease_id', :lease_epoch, 'boom');
SELECT lease_id, lease_epoch, attempt_index FROM ff_claim('claims-retry', 'w', 'w-1') \gset
SELECT :attempt_index AS second_attempt_index;
SELECT outcome FROM ff_fail(:'r', :'lease_id', :lease_epoch, 'boom again');
SELECT public_state, attempt_index FROM ff_executions WHERE execution_id = :'r';

DROP EXTENSION ff_engine CASCADE;
