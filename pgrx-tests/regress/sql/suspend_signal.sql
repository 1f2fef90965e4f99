-- Suspend and signal: a worker suspends on a composite condition, signalers deliver with the
-- waitpoint tokens, the condition resumes the execution exactly once, and the worker re-claims it.
-- Expected output: ../expected/suspend_signal.out.
\set VERBOSITY default
-- the SQL edition's errors carry its PL/pgSQL call stack; the contract is SQLSTATE, message, DETAIL
\set SHOW_CONTEXT never
\pset null '(null)'
SET client_min_messages = warning;  -- quiet whether or not an earlier script left it installed
DROP EXTENSION IF EXISTS ff_engine CASCADE;
RESET client_min_messages;
CREATE EXTENSION ff_engine;
SELECT outcome FROM ff_seed_hmac('k1', repeat('ab', 32));

SELECT execution_id AS ex FROM ff_create_execution('approvals', payload => 'deploy v2'::bytea) \gset
SELECT lease_id, lease_epoch FROM ff_claim('approvals', 'w', 'w-1') \gset

-- Two approvals of two different people are needed (Count 2, distinct sources, on two waitpoints).
SELECT outcome, waitpoint_key, token IS NOT NULL AS has_token
FROM ff_suspend(:'ex', :'lease_id', :lease_epoch,
     '{"Composite": {"kind": "Count", "n": 2, "count_kind": "DistinctSources",
                     "waitpoints": ["alice", "bob"], "matcher": {"ByName": "approved"}}}',
     timeout_at_ms => (extract(epoch FROM now()) * 1000)::bigint + 3600000, timeout_behavior => 'fail');
SELECT waitpoint_id AS wp_alice FROM ff_list_pending_waitpoints(:'ex') WHERE waitpoint_key = 'alice' \gset
SELECT waitpoint_id AS wp_bob FROM ff_list_pending_waitpoints(:'ex') WHERE waitpoint_key = 'bob' \gset
SELECT token AS tok_alice FROM ff_read_waitpoint_token(:'ex', :'wp_alice') \gset
SELECT token AS tok_bob FROM ff_read_waitpoint_token(:'ex', :'wp_bob') \gset
SELECT public_state FROM ff_executions WHERE execution_id = :'ex';
SELECT execution_id = :'ex' AS listed, reason_code, timeout_behavior FROM ff_list_suspended();

-- The suspend ended the lease: the old fence is dead (WF020).
SELECT * FROM ff_renew_lease(:'ex', :'lease_id', :lease_epoch);

-- A forged token, or the right token for another waitpoint, is WF002 and reveals nothing.
SELECT * FROM ff_deliver_signal(:'ex', :'wp_alice', 'k1:' || repeat('0', 64), 'approved', source_identity => 'alice');
SELECT * FROM ff_deliver_signal(:'ex', :'wp_alice', :'tok_bob', 'approved', source_identity => 'alice');

-- A signal whose name does not match is recorded but does not count.
SELECT outcome, effect FROM ff_deliver_signal(:'ex', :'wp_alice', :'tok_alice', 'rejected', source_identity => 'alice');
-- Alice approves; a retry with the same idempotency key is a duplicate, not a second signal.
SELECT outcome, effect FROM ff_deliver_signal(:'ex', :'wp_alice', :'tok_alice', 'approved',
       source_identity => 'alice', idempotency_key => 'alice-1');
SELECT outcome, effect FROM ff_deliver_signal(:'ex', :'wp_alice', :'tok_alice', 'approved',
       source_identity => 'alice', idempotency_key => 'alice-1');
-- Bob approves: the condition is satisfied and the execution resumes.
SELECT outcome, effect FROM ff_deliver_signal(:'ex', :'wp_bob', :'tok_bob', 'approved', source_identity => 'bob');
SELECT public_state, attempt_state FROM ff_executions WHERE execution_id = :'ex';
-- Closed waitpoints take no more signals: WF030 waitpoint_closed.
SELECT * FROM ff_deliver_signal(:'ex', :'wp_bob', :'tok_bob', 'approved', source_identity => 'carol');

-- The satisfiers, in acceptance order.
SELECT waitpoint_key, signal_name, source_identity FROM ff_observe_signals(:'ex');

-- The worker re-claims the interrupted attempt (resumed = true, same attempt) and completes it.
SELECT lease_id, lease_epoch, resumed, attempt_index FROM ff_claim('approvals', 'w', 'w-2') \gset
SELECT :'resumed' AS resumed, :attempt_index AS attempt_index;
SELECT * FROM ff_complete(:'ex', :'lease_id', :lease_epoch, 'deployed'::bytea);
SELECT public_state FROM ff_executions WHERE execution_id = :'ex';

DROP EXTENSION ff_engine CASCADE;
