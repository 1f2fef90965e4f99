-- ff_engine finalize: ownership, privileges and comments. Runs last in the extension script.
--
-- A trusted extension's script runs as the bootstrap superuser, so everything it creates would be
-- owned by a superuser and every SECURITY DEFINER function would run as superuser. Hand every object
-- to the dedicated NOLOGIN role ff_engine_owner instead. The names come from the catalog, never from
-- arguments.
DO $own$
DECLARE
    ext oid := (SELECT oid FROM pg_extension WHERE extname = 'ff_engine');
    r record;
BEGIN
    FOR r IN
        SELECT c.oid::regclass AS rel, c.relkind
        FROM pg_depend d JOIN pg_class c ON c.oid = d.objid
        WHERE d.refclassid = 'pg_extension'::regclass AND d.refobjid = ext
          AND d.classid = 'pg_class'::regclass AND d.deptype = 'e' AND c.relkind IN ('r','v')
    LOOP
        EXECUTE format('ALTER TABLE %s OWNER TO ff_engine_owner', r.rel);
        EXECUTE format('REVOKE ALL ON %s FROM PUBLIC', r.rel);
    END LOOP;
    FOR r IN
        SELECT p.oid::regprocedure AS fn
        FROM pg_depend d JOIN pg_proc p ON p.oid = d.objid
        WHERE d.refclassid = 'pg_extension'::regclass AND d.refobjid = ext
          AND d.classid = 'pg_proc'::regclass AND d.deptype = 'e'
    LOOP
        EXECUTE format('ALTER FUNCTION %s OWNER TO ff_engine_owner', r.fn);
        EXECUTE format('REVOKE ALL ON FUNCTION %s FROM PUBLIC', r.fn);
        -- ff_admin may call everything.
        EXECUTE format('GRANT EXECUTE ON FUNCTION %s TO ff_admin', r.fn);
    END LOOP;
END
$own$;

GRANT USAGE ON SCHEMA @extschema@ TO ff_admin, ff_worker, ff_signaler;

-- Event tables: readable by all three roles (listeners replay from their last event id).
GRANT SELECT ON ff_signal_event, ff_lease_event, ff_completion_event TO ff_admin, ff_worker, ff_signaler;

COMMENT ON FUNCTION ff_seed_hmac(text, text) IS
    'Install the first HMAC signing key (idempotent: already_seeded with same_secret). Secret generated when NULL.';
COMMENT ON FUNCTION ff_rotate_hmac(text, text, bigint) IS
    'Make new_kid the signing key; the old key verifies for grace_ms more; reaps keys past grace (gc_count).';
COMMENT ON FUNCTION ff_hmac_kids() IS 'List HMAC key ids with their state and times; never the secrets.';
