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
