-- Standalone install (psql -f, no extension): the objects of the install schema (ff_engine's, all
-- named ff_*: a schema it shares keeps the others' as they are) are handed to
-- ff_engine_owner when the installing role may do so (a superuser, or a member of ff_engine_owner),
-- else they stay the installer's; either way PUBLIC gets nothing and ff_admin may call everything but the helpers (commented
-- '… (internal).'; a function's body has the function's grants, see finalize.sql).
-- (The extension editions do this in finalize.sql's first block, over the extension's members.)
DO $own$
DECLARE
    r record;
    -- Handing an object over takes SET ROLE on the new owner: from PostgreSQL 16 a role that created
    -- ff_engine_owner (CREATEROLE) is its member with ADMIN OPTION but without SET, unless granted it.
    can_own boolean := CASE WHEN current_setting('server_version_num')::integer >= 160000
                            THEN pg_has_role('ff_engine_owner', 'SET')
                            ELSE pg_has_role('ff_engine_owner', 'MEMBER') END;
BEGIN
    -- A new owner needs CREATE on the schema (a superuser installer skips that check, nobody else does).
    IF can_own THEN
        GRANT CREATE ON SCHEMA @extschema@ TO ff_engine_owner;
    END IF;
    FOR r IN SELECT c.oid::regclass AS rel FROM pg_class c
             WHERE c.relnamespace = '@extschema@'::regnamespace AND c.relkind IN ('r', 'v', 'S') AND c.relname LIKE 'ff\_%'
               -- Not a sequence a column owns (identity: it follows its table). Sequences only: on
               -- PostgreSQL 14 a table with a generated column has such rows too.
               AND NOT (c.relkind = 'S' AND EXISTS (SELECT 1 FROM pg_depend o WHERE o.classid = 'pg_class'::regclass
                                                    AND o.objid = c.oid AND o.deptype IN ('a','i'))) LOOP
        IF can_own THEN
            EXECUTE format('ALTER TABLE %s OWNER TO ff_engine_owner', r.rel);
        END IF;
        EXECUTE format('REVOKE ALL ON %s FROM PUBLIC', r.rel);
    END LOOP;
    FOR r IN SELECT p.oid::regprocedure AS fn, p.proconfig IS NOT NULL AS has_config,
                    coalesce(obj_description(p.oid, 'pg_proc'), '') LIKE '%(internal).'
                      AND NOT EXISTS (SELECT 1 FROM pg_proc s WHERE s.pronamespace = p.pronamespace
                                        AND p.proname::text = s.proname || '_body') AS internal FROM pg_proc p
             WHERE p.pronamespace = '@extschema@'::regnamespace AND p.proname LIKE 'ff\_%' LOOP
        IF can_own THEN
            EXECUTE format('ALTER FUNCTION %s OWNER TO ff_engine_owner', r.fn);
        END IF;
        EXECUTE format('REVOKE ALL ON FUNCTION %s FROM PUBLIC', r.fn);
        IF NOT r.internal THEN
            EXECUTE format('GRANT EXECUTE ON FUNCTION %s TO ff_admin', r.fn);
        END IF;
        IF r.has_config THEN
            EXECUTE format('ALTER FUNCTION %s SET jit = off', r.fn);
            EXECUTE format('ALTER FUNCTION %s SET plan_cache_mode = force_generic_plan', r.fn);
            EXECUTE format('ALTER FUNCTION %s SET enable_seqscan = off', r.fn);
            EXECUTE format('ALTER FUNCTION %s SET enable_bitmapscan = off', r.fn);
        END IF;
    END LOOP;
END
$own$;
