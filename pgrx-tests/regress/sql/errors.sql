-- Errors: every failure is a Postgres error with a WF… SQLSTATE, a message that starts with the
-- error's name, and the field or rule in DETAIL; never XX000. Expected output: ../expected/errors.out.
\set VERBOSITY default
-- the SQL edition's errors carry its PL/pgSQL call stack; the contract is SQLSTATE, message, DETAIL
\set SHOW_CONTEXT never
\pset null '(null)'
SET client_min_messages = warning;  -- quiet whether or not an earlier script left it installed
DROP EXTENSION IF EXISTS ff_engine CASCADE;
RESET client_min_messages;
CREATE EXTENSION ff_engine;
SELECT outcome FROM ff_seed_hmac('k1', repeat('ab', 32));

-- WF001 invalid_input: NULL where a value is required, malformed ids, out-of-range numbers.
SELECT * FROM ff_create_execution(NULL);
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT * FROM ff_renew_lease('not-an-id', gen_random_uuid(), 1);
SELECT * FROM ff_create_execution('lane', max_attempts => 0);
SELECT * FROM ff_claim('lane', 'w', 'w-1', max_items => 0);
SELECT * FROM ff_tick(0);
SELECT * FROM ff_suspend('{fp:0}:00000000-0000-4000-8000-000000000000', gen_random_uuid(), 1, '{"Nope": 1}');

-- WF010 not_found: a well-formed id that does not exist.
SELECT * FROM ff_cancel('{fp:0}:00000000-0000-4000-8000-000000000000');
\echo SQLSTATE :LAST_ERROR_SQLSTATE

-- WF002 invalid_token: a delivery never says whether the waitpoint exists.
SELECT * FROM ff_deliver_signal('{fp:0}:00000000-0000-4000-8000-000000000000', gen_random_uuid(), 'junk', 'x');
\echo SQLSTATE :LAST_ERROR_SQLSTATE

-- WF020 lease_conflict (a wrong or stale fence), WF033 execution_not_suspended.
SELECT execution_id AS ex FROM ff_create_execution('lane') \gset
SELECT lease_id, lease_epoch FROM ff_claim('lane', 'w', 'w-1') \gset
SELECT * FROM ff_complete(:'ex', :'lease_id', :lease_epoch + 1);
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT * FROM ff_resume_execution(:'ex');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT outcome FROM ff_cancel(:'ex');
SELECT * FROM ff_renew_lease(:'ex', :'lease_id', :lease_epoch);
\echo SQLSTATE :LAST_ERROR_SQLSTATE

-- Errors are catchable by SQLSTATE in PL/pgSQL, and a failed call leaves nothing behind.
DO $$
BEGIN
    PERFORM * FROM ff_create_execution('lane', tags => '[1]');
EXCEPTION WHEN SQLSTATE 'WF001' THEN
    RAISE NOTICE 'caught invalid_input: %', SQLERRM;
END $$;
SELECT count(*) AS executions FROM ff_executions;

DROP EXTENSION ff_engine CASCADE;
