-- ff_engine demo (also a pg_regress test: pgrx-tests/regress/expected/demo.out).
-- Run by scripts/demo.sh against a throwaway cluster; every output here is deterministic.
\set VERBOSITY default
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
