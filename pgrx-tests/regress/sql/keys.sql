-- Keys: seeding, rotation, the grace window, and what nobody can read. A pg_regress script that
-- doubles as documentation (expected output: ../expected/keys.out).
\set VERBOSITY default
-- the SQL edition's errors carry its PL/pgSQL call stack; the contract is SQLSTATE, message, DETAIL
\set SHOW_CONTEXT never
\pset null '(null)'
SET client_min_messages = warning;  -- quiet whether or not an earlier script left it installed
DROP EXTENSION IF EXISTS ff_engine CASCADE;
RESET client_min_messages;
CREATE EXTENSION ff_engine;

-- Before any key, signing is impossible: WF004 keystore_empty.
SELECT created FROM ff_create_execution('keys-lane');
SELECT * FROM ff_claim_for_worker('keys-lane', 'w', 'w-1');

-- Seeding is idempotent per kid (a different secret is reported, not stored); a second kid is
-- refused while one is active: that is what rotation is for.
SELECT * FROM ff_seed_hmac('k1', repeat('ab', 32));
SELECT * FROM ff_seed_hmac('k1', repeat('ab', 32));
SELECT * FROM ff_seed_hmac('k1', repeat('cd', 32));
SELECT * FROM ff_seed_hmac('k9', repeat('cd', 32));

-- Rotation retires the active key for grace_ms (it still verifies) and activates the new one.
SELECT outcome, previous_kid, new_kid, gc_count FROM ff_rotate_hmac('k2', repeat('ef', 32), grace_ms => 60000);
SELECT outcome, previous_kid, new_kid FROM ff_rotate_hmac('k2', repeat('ef', 32));
SELECT kid, active, expires_at_ms - rotated_at_ms AS grace_ms FROM ff_hmac_kids() ORDER BY kid;

-- A waitpoint token names the kid it was signed with: kid:hex(HMAC-SHA256).
SELECT execution_id AS ex FROM ff_create_execution('keys-lane-2') \gset
SELECT lease_id, lease_epoch FROM ff_claim('keys-lane-2', 'w', 'w-1') \gset
SELECT split_part(token, ':', 1) AS kid, length(split_part(token, ':', 2)) AS hex_chars
FROM ff_create_waitpoint(:'ex', :'lease_id', :lease_epoch, 'approval');

-- A retired key with no grace left is reaped by ff_gc_keys (here: rotate with grace 1 ms).
SELECT outcome, previous_kid FROM ff_rotate_hmac('k3', repeat('01', 32), grace_ms => 1);
SELECT pg_sleep(0.01);
SELECT ff_gc_keys();
SELECT kid, active FROM ff_hmac_kids() ORDER BY kid;

-- Bad input: WF001 with the field in DETAIL; a secret must be 32-64 bytes of hex.
SELECT * FROM ff_seed_hmac(NULL);
SELECT * FROM ff_rotate_hmac('k4', 'zz');
SELECT * FROM ff_rotate_hmac('k4', repeat('ab', 8));

-- Nobody but the owning role reads ff_keystore, not even ff_admin; ff_hmac_kids never shows secrets.
SET ROLE ff_admin;
SELECT count(*) FROM ff_keystore;
RESET ROLE;
SELECT pg_get_function_result('ff_hmac_kids'::regproc);

DROP EXTENSION ff_engine CASCADE;
