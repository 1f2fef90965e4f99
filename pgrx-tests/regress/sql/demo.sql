-- ff_engine demo (also a pg_regress test: pgrx-tests/regress/expected/demo.out).
-- Run by scripts/demo.sh against a throwaway cluster; every output here is deterministic.
\set VERBOSITY default
-- the SQL edition's errors carry its PL/pgSQL call stack; the contract is SQLSTATE, message, DETAIL
\set SHOW_CONTEXT never
\pset null '(null)'
CREATE EXTENSION IF NOT EXISTS ff_engine;

-- 1. Seed the first HMAC key (idempotent: a second seed reports already_seeded).
SELECT * FROM ff_seed_hmac('kid-1', repeat('11', 32));
SELECT * FROM ff_seed_hmac('kid-1', repeat('11', 32));
SELECT * FROM ff_seed_hmac('kid-1', repeat('22', 32));

-- 2. Rotate: kid-1 is retired but still verifies tokens for the grace window (1 hour here);
--    kid-2 gets a secret generated inside the database.
SELECT outcome, previous_kid, new_kid, gc_count FROM ff_rotate_hmac('kid-2', grace_ms => 3600000);
SELECT kid, active, rotated_at_ms IS NOT NULL AS retired, expires_at_ms - rotated_at_ms AS grace_ms
FROM ff_hmac_kids() ORDER BY kid;

-- 3. Rotating to an existing kid with a different secret is refused with SQLSTATE WF005.
SELECT * FROM ff_rotate_hmac('kid-2', repeat('33', 32));
\echo SQLSTATE :LAST_ERROR_SQLSTATE

-- 4. Bad input gets a clear WF001 error naming the problem in DETAIL.
SELECT * FROM ff_rotate_hmac('bad:kid');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT * FROM ff_rotate_hmac('kid-3', 'abc');
SELECT * FROM ff_rotate_hmac('kid-3', grace_ms => -1);

-- 5. PL/pgSQL can catch ff_engine errors by SQLSTATE.
DO $$
BEGIN
    PERFORM * FROM ff_rotate_hmac('kid-2', repeat('44', 32));
EXCEPTION WHEN SQLSTATE 'WF005' THEN
    RAISE NOTICE 'caught rotation_conflict by its SQLSTATE';
END $$;

-- 6. Secrets never leave the database: only the extension's owner role can read the keystore.
DO $$ BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'demo_signaler') THEN
        CREATE ROLE demo_signaler NOLOGIN IN ROLE ff_signaler;
    END IF;
END $$;
SET ROLE demo_signaler;
SELECT * FROM ff_keystore;
SELECT * FROM ff_hmac_kids();
RESET ROLE;
SELECT p.proname, pg_get_userbyid(p.proowner) AS owner, p.prosecdef AS security_definer, p.proconfig
FROM pg_proc p WHERE p.proname IN ('ff_seed_hmac', 'ff_rotate_hmac', 'ff_hmac_kids') ORDER BY 1;



-- 7. Executions: three in the lane 'emails' (explicit ids keep this demo's output stable).
SELECT * FROM ff_create_execution('emails', payload => convert_to('welcome mail', 'UTF8'), priority => 5,
                                  max_attempts => 2, retry_backoff_ms => 0,
                                  execution_id => '{fp:1}:00000000-0000-4000-8000-000000000001');
SELECT * FROM ff_create_execution('emails', execution_id => '{fp:2}:00000000-0000-4000-8000-000000000002');
SELECT * FROM ff_create_execution('emails', idempotency_key => 'order-42',
                                  execution_id => '{fp:3}:00000000-0000-4000-8000-000000000003');
-- The same idempotency key in the same lane returns the first execution, created = false.
SELECT * FROM ff_create_execution('emails', idempotency_key => 'order-42');

-- 8. worker-1 asks for work: the best candidate (priority 5) is reserved by a signed, single-use grant.
SELECT execution_id AS granted, grant_key, grant_key LIKE 'pg:' || execution_id || ':%:kid-2:%' AS signed_with_kid_2
FROM ff_claim_for_worker('emails', 'worker-1', 'pod-a') \gset
\echo granted :granted signed_with_kid_2 = :signed_with_kid_2
-- Consuming the grant opens attempt 0 under a fenced lease (id + epoch) and hands over the payload.
SELECT execution_id, attempt_index, lease_id AS lease_1, lease_epoch AS epoch_1, resumed,
       convert_from(payload, 'UTF8') AS payload
FROM ff_claim_execution(:'grant_key', 'worker-1', 'pod-a') \gset
\echo worker-1 leased :execution_id attempt :attempt_index epoch :epoch_1 resumed :resumed payload :payload
-- A grant is single-use; another worker cannot use it either.
SELECT * FROM ff_claim_execution(:'grant_key', 'worker-1', 'pod-a');

-- 9. The batch form picks and leases in one call; worker-2 completes what it got (oldest first).
SELECT execution_id AS leased_2, lease_id AS lease_2, lease_epoch AS epoch_2
FROM ff_claim('emails', 'worker-2', 'pod-b', max_items => 1) \gset
\echo worker-2 leased :leased_2
SELECT * FROM ff_complete(:'leased_2', :'lease_2', :'epoch_2', convert_to('sent', 'UTF8'));
-- Completing twice (or with any stale fence) is refused: the epoch moved on.
SELECT * FROM ff_complete(:'leased_2', :'lease_2', :'epoch_2');

-- 10. worker-1 fails; an attempt remains, so the execution is retried as attempt 1.
SELECT outcome, retry_at_ms IS NOT NULL AS has_retry_time FROM ff_fail(:'granted', :'lease_1', :'epoch_1', 'smtp timeout');
SELECT execution_id, attempt_index, lease_epoch, resumed FROM ff_claim('emails', 'worker-1', 'pod-a');

-- 11. What happened, as operators see it: states, per-lane counts, and the outbox events.
SELECT execution_id, public_state, attempt_index, lease_epoch FROM ff_executions ORDER BY execution_id;
SELECT * FROM ff_lane_stats;
SELECT execution_id, lease_epoch, event_type FROM ff_lease_event ORDER BY event_id;
SELECT execution_id, outcome FROM ff_completion_event ORDER BY event_id;
SELECT task, processed FROM ff_tick();

-- 12. Human approval: a worker suspends on "approved AND 2 of 3 reviewers from distinct sources".
--     The condition builders return the JSON ff_suspend takes (no hand-written JSON needed):
SELECT jsonb_pretty(ff_cond_all(ff_cond_single('approval', 'approved'),
                                ff_cond_count(2, 'sources', ARRAY['review-1', 'review-2', 'review-3']))) AS condition;
SELECT * FROM ff_create_execution('contracts', payload => convert_to('contract #7', 'UTF8'),
                                  execution_id => '{fp:9}:00000000-0000-4000-8000-000000000009');
SELECT execution_id AS c_id, lease_id AS c_lease, lease_epoch AS c_epoch
FROM ff_claim('contracts', 'worker-3', 'pod-c') \gset
SELECT outcome, waitpoint_key, length(token) AS token_length
FROM ff_suspend(:'c_id', :'c_lease', :'c_epoch',
  ff_cond_all(ff_cond_single('approval', 'approved'),
              ff_cond_count(2, 'sources', ARRAY['review-1', 'review-2', 'review-3'])),
  timeout_at_ms => (extract(epoch from clock_timestamp()) * 1000)::bigint + 86400000,
  timeout_behavior => 'escalate', reason_code => 'waiting_for_approval');
SELECT execution_id, reason_code, timeout_behavior FROM ff_list_suspended();
-- Each waitpoint has its own HMAC token (handed to whoever may signal it; read here as an operator).
SELECT waitpoint_id AS wp_approval FROM ff_list_pending_waitpoints(:'c_id') WHERE waitpoint_key = 'approval' \gset
SELECT waitpoint_id AS wp_r1 FROM ff_list_pending_waitpoints(:'c_id') WHERE waitpoint_key = 'review-1' \gset
SELECT waitpoint_id AS wp_r2 FROM ff_list_pending_waitpoints(:'c_id') WHERE waitpoint_key = 'review-2' \gset
SELECT token AS tok_approval FROM ff_read_waitpoint_token(:'c_id', :'wp_approval') \gset
SELECT token AS tok_r1 FROM ff_read_waitpoint_token(:'c_id', :'wp_r1') \gset
SELECT token AS tok_r2 FROM ff_read_waitpoint_token(:'c_id', :'wp_r2') \gset
SELECT waitpoint_key, state, required_signal_names, length(token_fingerprint) AS fingerprint_length
FROM ff_list_pending_waitpoints(:'c_id') ORDER BY waitpoint_key;

-- Signals arrive from any SQL client: one call each.
SELECT outcome, effect FROM ff_deliver_signal(:'c_id', :'wp_approval', :'tok_approval', 'approved',
                                              source_type => 'user', source_identity => 'manager');
SELECT outcome, effect FROM ff_deliver_signal(:'c_id', :'wp_r1', :'tok_r1', 'lgtm',
                                              source_type => 'user', source_identity => 'alice', idempotency_key => 'alice-1');
-- A retry of the same delivery is recognised (same signal id, nothing recorded twice) ...
SELECT outcome, effect FROM ff_deliver_signal(:'c_id', :'wp_r1', :'tok_r1', 'lgtm',
                                              source_type => 'user', source_identity => 'alice', idempotency_key => 'alice-1');
-- ... a token for another waitpoint is refused without saying why ...
SELECT * FROM ff_deliver_signal(:'c_id', :'wp_r2', :'tok_r1', 'lgtm', source_type => 'user', source_identity => 'mallory');
-- ... and the second distinct reviewer satisfies the condition: the execution resumes.
SELECT outcome, effect FROM ff_deliver_signal(:'c_id', :'wp_r2', :'tok_r2', 'lgtm',
                                              source_type => 'user', source_identity => 'bob', payload => '\x6f6b');
SELECT public_state, attempt_state FROM ff_executions WHERE execution_id = :'c_id';

-- 13. The worker claims it again (resumed = true, same attempt), reads what satisfied it, completes.
SELECT execution_id, attempt_index, resumed, lease_id AS c_lease2, lease_epoch AS c_epoch2
FROM ff_claim('contracts', 'worker-3', 'pod-c') \gset
\echo resumed :resumed attempt :attempt_index
SELECT waitpoint_key, signal_name, source_identity, payload FROM ff_observe_signals(:'c_id');
SELECT * FROM ff_complete(:'c_id', :'c_lease2', :'c_epoch2');
SELECT execution_id, outcome FROM ff_completion_event WHERE execution_id = :'c_id' ORDER BY event_id;
SELECT signal_name, source_identity, effect FROM ff_signal_event WHERE execution_id = :'c_id' ORDER BY event_id;

-- 14. Read the outcome back: the result of the mail worker-2 sent, byte for byte, and the retried
--     mail's history, attempt by attempt.
SELECT public_state, convert_from(result, 'UTF8') AS result, attempt_count, terminal_at_ms IS NOT NULL AS finished
FROM ff_get_execution(:'leased_2');
SELECT attempt_index, worker_id, outcome, error_message FROM ff_list_attempts(:'granted');
SELECT execution_id, public_state, result_bytes FROM ff_list_executions('emails') ORDER BY execution_id;
