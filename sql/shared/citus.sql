----------------------------------------------------------------------------------------------------
-- ff_engine, both editions: scale-out on Citus (docs/scale-out.md). ff_distribute turns an installed
-- ff_engine on a Citus coordinator into a distributed one: every per-execution table distributed by
-- partition_key and co-located with ff_exec_core, the rarely written tables replicated to every node,
-- and the partition-first forms of the hot calls (`<call>_in(partition_key, …)`) registered so that
-- Citus runs each on the node that holds its partition, in one round trip. Those forms work on one node
-- too: they check the partition and call the plain function. Event tables, claim starts and waiter
-- announcements stay on each node. The function names Citus's functions in PL/pgSQL, which resolves
-- them only when it runs: without Citus it raises WF035, and nothing is built from its arguments.

-- Whether this database's ff_exec_core is distributed by Citus.
CREATE FUNCTION ff_distributed() RETURNS boolean
LANGUAGE plpgsql STABLE SET search_path = @extschema@, pg_temp AS $$
BEGIN
    IF to_regclass('pg_catalog.pg_dist_partition') IS NULL THEN
        RETURN false;
    END IF;
    RETURN EXISTS (SELECT 1 FROM pg_catalog.pg_dist_partition WHERE logicalrelid = 'ff_exec_core'::regclass);
END
$$;
COMMENT ON FUNCTION ff_distributed() IS 'Whether ff_exec_core is distributed by Citus (internal).';

-- WF035 not_delegated when the partition's shard is on another node: a partition-first call that
-- Citus did not delegate (an argument that is an expression rather than a constant or a parameter,
-- or a call inside a transaction block or another function) would otherwise run here, reaching the
-- shard statement by statement over connections and writing its events and wake-ups on this node
-- instead of the partition's. Nothing on one node.
CREATE FUNCTION ff_check_partition_here(p_partition_key smallint) RETURNS void
LANGUAGE plpgsql STABLE SET search_path = @extschema@, pg_temp AS $$
BEGIN
    IF ff_distributed() THEN
        IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_dist_placement p JOIN pg_catalog.pg_dist_local_group g USING (groupid)
                       WHERE p.shardid = get_shard_id_for_distribution_column('@extschema@.ff_exec_core', p_partition_key)) THEN
            RAISE EXCEPTION 'feature_unavailable: partition % is on another node, and Citus ran this call here', p_partition_key
                USING ERRCODE = 'WF035', DETAIL = 'not_delegated',
                      HINT = 'Call a partition-first function at the top level of its own statement with constant or parameter arguments (docs/scale-out.md).';
        END IF;
    END IF;
END
$$;
COMMENT ON FUNCTION ff_check_partition_here(smallint) IS
    'WF035 not_delegated when the partition''s shard is not on this node of a distributed install (internal).';

-- The partitions of each shard of ff_exec_core placed on this node, one array per shard, for
-- ff_tick_node; one NULL (every partition) when this database is not distributed.
CREATE FUNCTION ff_node_partitions() RETURNS SETOF smallint[]
LANGUAGE plpgsql STABLE SET search_path = @extschema@, pg_temp AS $$
BEGIN
    IF NOT ff_distributed() THEN
        RETURN NEXT NULL::smallint[];
        RETURN;
    END IF;
    RETURN QUERY
        SELECT array_agg(s.partition ORDER BY s.partition)
        FROM (SELECT p::smallint AS partition,
                     get_shard_id_for_distribution_column('@extschema@.ff_exec_core', p::smallint) AS shardid
              FROM generate_series(0, 255) p) s
        WHERE EXISTS (SELECT 1 FROM pg_catalog.pg_dist_placement pl JOIN pg_catalog.pg_dist_local_group g USING (groupid)
                      WHERE pl.shardid = s.shardid)
        GROUP BY s.shardid
        ORDER BY s.shardid;
END
$$;
COMMENT ON FUNCTION ff_node_partitions() IS
    'The partitions of each ff_exec_core shard on this node, or one NULL when not distributed (internal).';

-- The execution id, when its {fp:N} is the given partition; WF001 partition_mismatch otherwise.
CREATE FUNCTION ff_in_partition(p_partition_key smallint, p_execution_id text) RETURNS text
LANGUAGE plpgsql STABLE SET search_path = @extschema@, pg_temp AS $$
BEGIN
    IF (ff_parse_execution_id(ff_required(p_execution_id, 'execution_id'))).partition_key
       IS DISTINCT FROM ff_required(p_partition_key, 'partition_key') THEN
        PERFORM ff_invalid('partition_mismatch', 'partition_key must be the partition of execution_id');
    END IF;
    PERFORM ff_check_partition_here(p_partition_key);
    RETURN p_execution_id;
END
$$;
COMMENT ON FUNCTION ff_in_partition(smallint, text) IS
    'The execution id if it is in the given partition, else WF001 partition_mismatch (internal).';

-- The tables ff_distribute distributes by partition_key, co-located with ff_exec_core.
CREATE FUNCTION ff_distributed_tables() RETURNS text[]
LANGUAGE sql IMMUTABLE AS $$
    SELECT ARRAY['ff_attempt', 'ff_claim_grant', 'ff_deadline', 'ff_suspension', 'ff_waitpoint', 'ff_signal',
                 'ff_signal_dedup', 'ff_suspend_dedup', 'ff_usage_dedup', 'ff_step', 'ff_stream', 'ff_frame', 'ff_flow',
                 'ff_flow_member', 'ff_flow_dependency', 'ff_quota_admission']
$$;
COMMENT ON FUNCTION ff_distributed_tables() IS
    'The per-execution tables distributed with ff_exec_core (internal).';

-- The tables ff_distribute replicates to every node.
CREATE FUNCTION ff_reference_tables() RETURNS text[]
LANGUAGE sql IMMUTABLE AS $$
    SELECT ARRAY['ff_keystore', 'ff_lane_pause', 'ff_budget', 'ff_budget_usage', 'ff_quota_policy']
$$;
COMMENT ON FUNCTION ff_reference_tables() IS 'The tables ff_distribute replicates to every node (internal).';

-- Whether ff_engine was installed by the SQL edition's standalone script (psql -f) rather than by
-- CREATE EXTENSION: its tables are then no extension's members, which Citus treats differently.
CREATE FUNCTION ff_installed_by_script() RETURNS boolean
LANGUAGE sql STABLE SET search_path = @extschema@, pg_temp AS $$
    SELECT NOT EXISTS (SELECT 1 FROM pg_depend d
                       WHERE d.classid = 'pg_class'::regclass AND d.objid = 'ff_exec_core'::regclass
                         AND d.refclassid = 'pg_extension'::regclass AND d.deptype = 'e')
$$;
COMMENT ON FUNCTION ff_installed_by_script() IS
    'Whether ff_engine''s tables belong to no extension: the standalone script installed it (internal).';

-- The partition-first forms Citus delegates by their first argument.
CREATE FUNCTION ff_delegated_functions() RETURNS text[]
LANGUAGE sql IMMUTABLE AS $$
    SELECT ARRAY['ff_create_execution_in', 'ff_claim_in', 'ff_renew_lease_in', 'ff_complete_in', 'ff_fail_in',
                 'ff_suspend_in', 'ff_deliver_signal_in']
$$;
COMMENT ON FUNCTION ff_delegated_functions() IS 'The partition-first functions ff_distribute delegates (internal).';

-- Distribute ff_engine over the Citus cluster this database is the coordinator of (run once, as a
-- superuser, after CREATE EXTENSION ff_engine and citus_add_node). Idempotent: a second call changes
-- nothing. Returns every table and function it placed and how.
CREATE FUNCTION ff_distribute(shard_count integer DEFAULT 32)
RETURNS TABLE (object text, placement text)
LANGUAGE plpgsql SET search_path = @extschema@, pg_temp AS $$
DECLARE
    t text;
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'citus') THEN
        RAISE EXCEPTION 'feature_unavailable: Citus is not installed in this database'
            USING ERRCODE = 'WF035', DETAIL = 'citus',
                  HINT = 'Add citus to shared_preload_libraries on every node, CREATE EXTENSION citus, add the workers (docs/scale-out.md).';
    END IF;
    IF shard_count IS NULL OR shard_count NOT BETWEEN 1 AND 256 THEN
        PERFORM ff_invalid('invalid_shard_count', 'shard_count must be between 1 and 256');
    END IF;
    PERFORM ff_distribute_nodes();
    PERFORM ff_distribute_script_objects();
    IF ff_installed_by_script() THEN
        -- Citus creates the functions it delegates on the workers (an extension's are there) over the
        -- connections of this transaction, which it may do only when it used one connection per node.
        PERFORM set_config('citus.multi_shard_modify_mode', 'sequential', true);
    END IF;
    IF NOT ff_distributed() THEN
        PERFORM ff_distribute_script_workers();
        PERFORM ff_distribute_tables(shard_count);
    END IF;
    FOREACH t IN ARRAY ff_delegated_functions() LOOP
        PERFORM create_distributed_function(p.oid::regprocedure, 'partition_key', colocate_with => 'ff_exec_core')
        FROM pg_proc p WHERE p.proname = t AND p.pronamespace = '@extschema@'::regnamespace;
    END LOOP;
    RETURN QUERY
        SELECT d.logicalrelid::text, CASE d.partmethod WHEN 'h' THEN 'distributed by partition_key' ELSE 'reference' END
        FROM pg_catalog.pg_dist_partition d JOIN pg_class c ON c.oid = d.logicalrelid
        WHERE c.relnamespace = '@extschema@'::regnamespace
        UNION ALL
        SELECT o.objid::regprocedure::text, 'delegated by partition_key'
        FROM pg_catalog.pg_dist_object o JOIN pg_proc p ON o.classid = 'pg_proc'::regclass AND p.oid = o.objid
        WHERE o.distribution_argument_index IS NOT NULL AND p.pronamespace = '@extschema@'::regnamespace
        ORDER BY 2, 1;
END
$$;
COMMENT ON FUNCTION ff_distribute(integer) IS
    'On a Citus coordinator: distribute ff_engine''s tables by partition and delegate the partition-first calls. WF035 without Citus.';

-- What ff_distribute sets on every node (the commands are constants):
-- * plan_cache_mode = auto on the functions that pin force_generic_plan on one node
--   (sql/finalize.sql says why): Citus plans a statement whose CTEs insert or write a node-local
--   table (the event tables) only once its parameters are bound, and prices the generic plan of
--   such a statement out so that the plan cache keeps custom plans; under force_generic_plan the
--   plan cache never asks.
-- * LOGIN for ff_engine_owner, with no password: Citus connects between nodes, and from a node to
--   itself, as the role running a statement, and the SECURITY DEFINER functions run as the owner.
--   A step of a statement planned in steps (an update reading another step's rows) travels through
--   such a connection. pg_hba.conf decides who may use it (docs/scale-out.md).
CREATE FUNCTION ff_distribute_nodes() RETURNS void
LANGUAGE plpgsql SET search_path = @extschema@, pg_temp AS $$
DECLARE
    failed text;
BEGIN
    SELECT string_agg(r.result, '; ') INTO failed
    FROM run_command_on_all_nodes($cmd$
        SET citus.enable_ddl_propagation = off;
        ALTER ROLE ff_engine_owner LOGIN;
        DO $do$
        DECLARE
            f regprocedure;
        BEGIN
            FOR f IN
                SELECT p.oid::regprocedure FROM pg_catalog.pg_proc p
                WHERE p.pronamespace = '@extschema@'::regnamespace AND p.proname LIKE 'ff\_%'
                  AND 'plan_cache_mode=force_generic_plan' = ANY (p.proconfig)
            LOOP
                EXECUTE format('ALTER FUNCTION %s SET plan_cache_mode = auto', f);
            END LOOP;
        END
        $do$
    $cmd$) r
    WHERE NOT r.success;
    IF failed IS NOT NULL THEN
        RAISE EXCEPTION 'feature_unavailable: ff_distribute could not prepare every node: %', failed
            USING ERRCODE = 'WF035', DETAIL = 'citus';
    END IF;
END
$$;
COMMENT ON FUNCTION ff_distribute_nodes() IS 'ff_distribute''s settings on every node (internal).';

-- A script install on a cluster: the standalone script has created ff_engine's objects on every node
-- (Citus creates an extension on every node, a script's objects only where they are created). Citus
-- creates a distributed or reference table on the workers itself, so their copies of those tables go
-- first, with what depends on them there (the views, and the functions whose signatures name a
-- table's rows: ff_distribute_script_objects creates them again). WF035 when a worker has no
-- ff_engine. The commands are constants and the tables' names.
CREATE FUNCTION ff_distribute_script_workers() RETURNS void
LANGUAGE plpgsql SET search_path = @extschema@, pg_temp AS $$
DECLARE
    missing text;
    failed text;
BEGIN
    IF NOT ff_installed_by_script() THEN
        RETURN;
    END IF;
    SELECT string_agg(format('%s:%s', r.nodename, r.nodeport), ', ') INTO missing
    FROM run_command_on_workers($cmd$SELECT to_regclass('@extschema@.ff_claim_start') IS NOT NULL$cmd$) r
    WHERE r.result IS DISTINCT FROM 't';
    IF missing IS NOT NULL THEN
        RAISE EXCEPTION 'feature_unavailable: ff_engine is not installed on the worker %', missing
            USING ERRCODE = 'WF035', DETAIL = 'citus',
                  HINT = 'Run the standalone script on the coordinator once the workers are added: it installs on them too (docs/scale-out.md).';
    END IF;
    SELECT string_agg(r.result, '; ') INTO failed
    FROM run_command_on_workers(
        'SET citus.enable_ddl_propagation = off; SET client_min_messages = warning; DROP TABLE IF EXISTS '
        || (SELECT string_agg(format('@extschema@.%I', t), ', ')
            FROM unnest(ARRAY['ff_exec_core'] || ff_distributed_tables() || ff_reference_tables()) t)
        || ' CASCADE') r
    WHERE NOT r.success;
    IF failed IS NOT NULL THEN
        RAISE EXCEPTION 'feature_unavailable: ff_distribute could not prepare every worker: %', failed
            USING ERRCODE = 'WF035', DETAIL = 'citus';
    END IF;
END
$$;
COMMENT ON FUNCTION ff_distribute_script_workers() IS
    'On a cluster installed by the standalone script: the workers'' copies of the tables Citus creates go (internal).';

-- A script install on a cluster: what ff_distribute_script_workers dropped on the workers with their
-- copies of the tables, created there again as it is here, with its owner, grants and comment: the
-- functions whose signatures name a distributed or reference table's rows, and every view (Citus
-- creates a view that reads distributed tables only on the workers, without grants, and none that
-- reads a node-local table, as ff_completions does). The commands run outside this transaction, so
-- they see the workers' tables only once the distribution has committed: ff_distribute calls this
-- first (a repeated call completes an earlier one), and the standalone script after it. Each
-- definition is the catalog's, written out under pg_catalog's search path; nothing comes from an
-- argument.
CREATE FUNCTION ff_distribute_script_objects() RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    failed text;
BEGIN
    IF NOT @extschema@.ff_installed_by_script() OR NOT @extschema@.ff_distributed() THEN
        RETURN;
    END IF;
    SELECT string_agg(r.result, '; ') INTO failed
    FROM run_command_on_workers(
        'SET citus.enable_ddl_propagation = off; SET search_path = @extschema@, pg_temp; '
        || @extschema@.ff_script_functions_ddl() || @extschema@.ff_script_views_ddl()) r
    WHERE NOT r.success;
    IF failed IS NOT NULL THEN
        RAISE EXCEPTION 'feature_unavailable: ff_distribute could not complete ff_engine on every worker: %', failed
            USING ERRCODE = 'WF035', DETAIL = 'citus';
    END IF;
END
$$;
COMMENT ON FUNCTION ff_distribute_script_objects() IS
    'On a cluster installed by the standalone script: the functions over table rows and the views on every worker, as here (internal).';

-- The grants of an ACL as commands on `target` (a function's or a relation's), PUBLIC's first revoked.
CREATE FUNCTION ff_script_grants_ddl(acl aclitem[], owner oid, kind "char", target text) RETURNS text
LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $$
    SELECT format('REVOKE ALL ON %s FROM PUBLIC; ', target)
           || coalesce(string_agg(format('GRANT %s ON %s TO %s; ', a.privilege_type, target,
                                         CASE a.grantee WHEN 0 THEN 'PUBLIC' ELSE quote_ident(a.grantee::regrole::text) END), ''), '')
    FROM aclexplode(coalesce(acl, acldefault(kind, owner))) a WHERE a.grantee <> owner
$$;
COMMENT ON FUNCTION ff_script_grants_ddl(aclitem[], oid, "char", text) IS 'An ACL as GRANT commands, for ff_distribute_script_objects (internal).';

-- The functions whose signatures name a distributed or reference table's rows, as commands. PL/pgSQL,
-- which reads Citus's catalog only when it runs (a SQL function's body is checked when created).
CREATE FUNCTION ff_script_functions_ddl() RETURNS text
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    RETURN (
        SELECT coalesce(string_agg(pg_get_functiondef(p.oid) || '; '
                                   || format('ALTER FUNCTION %s OWNER TO %I; ', p.oid::regprocedure, p.proowner::regrole::text)
                                   || @extschema@.ff_script_grants_ddl(p.proacl, p.proowner, 'f', 'FUNCTION ' || p.oid::regprocedure::text)
                                   || format('COMMENT ON FUNCTION %s IS %L; ', p.oid::regprocedure, obj_description(p.oid, 'pg_proc')),
                                   '' ORDER BY p.oid), '')
        FROM pg_proc p
        WHERE p.pronamespace = '@extschema@'::regnamespace AND p.proname LIKE 'ff\_%'
          AND EXISTS (SELECT 1 FROM pg_depend d JOIN pg_type ty ON d.refobjid = ty.oid
                      JOIN pg_catalog.pg_dist_partition dp ON dp.logicalrelid = ty.typrelid
                      WHERE d.classid = 'pg_proc'::regclass AND d.objid = p.oid AND d.refclassid = 'pg_type'::regclass));
END
$$;
COMMENT ON FUNCTION ff_script_functions_ddl() IS
    'The functions over a distributed table''s rows as commands, for ff_distribute_script_objects (internal).';

-- Every view of ff_engine (named ff_*, as all its objects), as commands (column grants too).
CREATE FUNCTION ff_script_views_ddl() RETURNS text
LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $$
    SELECT coalesce(string_agg(format('CREATE OR REPLACE VIEW %s AS %s ', c.oid::regclass, pg_get_viewdef(c.oid))
                               || format('ALTER VIEW %s OWNER TO %I; ', c.oid::regclass, c.relowner::regrole::text)
                               || @extschema@.ff_script_grants_ddl(c.relacl, c.relowner, 'r', c.oid::regclass::text)
                               || coalesce((SELECT string_agg(format('GRANT %s (%I) ON %s TO %s; ', a.privilege_type, att.attname,
                                                                     c.oid::regclass, quote_ident(a.grantee::regrole::text)), '')
                                            FROM pg_attribute att, aclexplode(att.attacl) a
                                            WHERE att.attrelid = c.oid AND a.grantee <> 0), '')
                               || format('COMMENT ON VIEW %s IS %L; ', c.oid::regclass, obj_description(c.oid, 'pg_class')),
                               '' ORDER BY c.relname), '')
    FROM pg_class c WHERE c.relnamespace = '@extschema@'::regnamespace AND c.relkind = 'v' AND c.relname LIKE 'ff\_%'
$$;
COMMENT ON FUNCTION ff_script_views_ddl() IS 'Every view of ff_engine as commands, for ff_distribute_script_objects (internal).';

-- ff_distribute's table conversion: unique keys that include the partition, then the tables.
CREATE FUNCTION ff_distribute_tables(p_shard_count integer) RETURNS void
LANGUAGE plpgsql SET search_path = @extschema@, pg_temp AS $$
DECLARE
    t text;
BEGIN
    -- Row triggers on a distributed table (the claim-start trigger) are Citus's "unsafe" triggers:
    -- they touch only node-local objects here.
    PERFORM set_config('citus.enable_unsafe_triggers', 'on', true);
    PERFORM set_config('citus.shard_count', p_shard_count::text, true);
    -- A unique index of a distributed table includes its distribution column: for an execution
    -- without a flow the partition is a function of the lane, so this is the same constraint.
    DROP INDEX ff_exec_core_idempotency;
    CREATE UNIQUE INDEX ff_exec_core_idempotency ON ff_exec_core (partition_key, lane_id, idempotency_key)
        WHERE idempotency_key IS NOT NULL;
    COMMENT ON INDEX ff_exec_core_idempotency IS 'Idempotent create: one execution per (partition, lane, idempotency_key).';
    -- Citus converts a table with a foreign key only together with the tables it references, which
    -- fails on the workers' copies of the extension's tables: the two foreign keys to the replicated
    -- tables go. They only cascade the deletion of a budget or a quota policy, which the API never
    -- deletes, and budgets and quotas are not distributed (ff_create_execution_in refuses them).
    ALTER TABLE ff_budget_usage DROP CONSTRAINT ff_budget_usage_budget_id_fkey;
    ALTER TABLE ff_quota_admission DROP CONSTRAINT ff_quota_admission_quota_policy_id_fkey;
    PERFORM create_distributed_table('ff_exec_core', 'partition_key');
    FOREACH t IN ARRAY ff_distributed_tables() LOOP
        PERFORM create_distributed_table(t::regclass, 'partition_key', colocate_with => 'ff_exec_core');
    END LOOP;
    FOREACH t IN ARRAY ff_reference_tables() LOOP
        PERFORM create_reference_table(t::regclass);
    END LOOP;
END
$$;
COMMENT ON FUNCTION ff_distribute_tables(integer) IS 'ff_distribute''s conversion of the tables (internal).';

----------------------------------------------------------------------------------------------------
-- The partition-first forms of the hot calls. Each checks that its arguments are in the partition
-- and calls the plain function; distributed, Citus runs the call on the node of that partition. They
-- run as the owner, as the plain functions' bodies do, and are granted as the plain functions are.

-- ff_create_execution_in's checks: the partition is the new execution's, and a distributed install
-- takes no budgets or quotas.
CREATE FUNCTION ff_check_create_in(p_partition_key smallint, p_lane_id text, p_budget_ids text[], p_quota_policy_id uuid,
    p_execution_id text, p_flow_id uuid) RETURNS void
LANGUAGE plpgsql STABLE SET search_path = @extschema@, pg_temp AS $$
DECLARE
    partition_of_new smallint;
BEGIN
    IF (cardinality(p_budget_ids) > 0 OR p_quota_policy_id IS NOT NULL) AND ff_distributed() THEN
        RAISE EXCEPTION 'feature_unavailable: budgets and quotas are not distributed'
            USING ERRCODE = 'WF035', DETAIL = 'distributed_admission';
    END IF;
    IF p_execution_id IS NOT NULL THEN
        partition_of_new := (ff_parse_execution_id(p_execution_id)).partition_key;
    ELSE
        partition_of_new := ff_partition_for(ff_check_lane_id(ff_required(p_lane_id, 'lane_id')), p_flow_id);
    END IF;
    IF ff_required(p_partition_key, 'partition_key') IS DISTINCT FROM partition_of_new THEN
        PERFORM ff_invalid('partition_mismatch', 'partition_key must be the partition of the new execution');
    END IF;
    PERFORM ff_check_partition_here(p_partition_key);
END
$$;
COMMENT ON FUNCTION ff_check_create_in(smallint, text, text[], uuid, text, uuid) IS
    'Check ff_create_execution_in''s partition and admission arguments (internal).';

CREATE FUNCTION ff_create_execution_in(partition_key smallint,
    lane_id text, payload bytea DEFAULT NULL, priority integer DEFAULT 0, required_capabilities text[] DEFAULT '{}',
    namespace text DEFAULT NULL, tags jsonb DEFAULT '{}', budget_ids text[] DEFAULT '{}', quota_policy_id uuid DEFAULT NULL,
    delay_until_ms bigint DEFAULT NULL, max_attempts integer DEFAULT 1, retry_backoff_ms bigint DEFAULT 1000,
    idempotency_key text DEFAULT NULL, execution_id text DEFAULT NULL, flow_id uuid DEFAULT NULL, deadline_at_ms bigint DEFAULT NULL,
    depends_on text[] DEFAULT NULL, parent_execution_id text DEFAULT NULL, parent_waitpoint_key text DEFAULT NULL)
RETURNS TABLE (execution_id text, created boolean)
LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = @extschema@, pg_temp AS $$
    SELECT ff_check_create_in($1, $2, $8, $9, $14, $15);
    SELECT * FROM ff_create_execution($2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19);
$$;
COMMENT ON FUNCTION ff_create_execution_in(smallint, text, bytea, integer, text[], text, jsonb, text[], uuid, bigint, integer,
    bigint, text, text, uuid, bigint, text[], text, text) IS
    'ff_create_execution with its partition first (ff_partition_for(lane_id, flow_id), or the given execution_id''s): delegated on a distributed install.';

CREATE FUNCTION ff_renew_lease_in(partition_key smallint, execution_id text, lease_id uuid, lease_epoch bigint,
    lease_ttl_ms bigint DEFAULT 30000)
RETURNS TABLE (lease_expires_at_ms bigint, lease_epoch bigint)
LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = @extschema@, pg_temp AS $$
    SELECT * FROM ff_renew_lease(ff_in_partition($1, $2), $3, $4, $5)
$$;
COMMENT ON FUNCTION ff_renew_lease_in(smallint, text, uuid, bigint, bigint) IS
    'ff_renew_lease with the execution''s partition first: delegated on a distributed install.';

CREATE FUNCTION ff_complete_in(partition_key smallint, execution_id text, lease_id uuid, lease_epoch bigint,
    result bytea DEFAULT NULL)
RETURNS TABLE (outcome text)
LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = @extschema@, pg_temp AS $$
    SELECT * FROM ff_complete(ff_in_partition($1, $2), $3, $4, $5)
$$;
COMMENT ON FUNCTION ff_complete_in(smallint, text, uuid, bigint, bytea) IS
    'ff_complete with the execution''s partition first: delegated on a distributed install.';

CREATE FUNCTION ff_fail_in(partition_key smallint, execution_id text, lease_id uuid, lease_epoch bigint, message text,
    retryable boolean DEFAULT true, failure_class text DEFAULT NULL, detail bytea DEFAULT NULL)
RETURNS TABLE (outcome text, retry_at_ms bigint)
LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = @extschema@, pg_temp AS $$
    SELECT * FROM ff_fail(ff_in_partition($1, $2), $3, $4, $5, $6, $7, $8)
$$;
COMMENT ON FUNCTION ff_fail_in(smallint, text, uuid, bigint, text, boolean, text, bytea) IS
    'ff_fail with the execution''s partition first: delegated on a distributed install.';

CREATE FUNCTION ff_suspend_in(partition_key smallint, execution_id text, lease_id uuid, lease_epoch bigint,
    resume_condition jsonb, waitpoints jsonb DEFAULT NULL, timeout_at_ms bigint DEFAULT NULL, timeout_behavior text DEFAULT 'fail',
    reason_code text DEFAULT 'waiting_for_signal', requested_by text DEFAULT 'worker', suspension_id uuid DEFAULT NULL,
    idempotency_key text DEFAULT NULL, continuation text DEFAULT NULL)
RETURNS TABLE (outcome text, suspension_id uuid, waitpoint_id uuid, waitpoint_key text, token text)
LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = @extschema@, pg_temp AS $$
    SELECT * FROM ff_suspend(ff_in_partition($1, $2), $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
$$;
COMMENT ON FUNCTION ff_suspend_in(smallint, text, uuid, bigint, jsonb, jsonb, bigint, text, text, text, uuid, text, text) IS
    'ff_suspend with the execution''s partition first: delegated on a distributed install.';

CREATE FUNCTION ff_deliver_signal_in(partition_key smallint, execution_id text, waitpoint_id uuid, token text, signal_name text,
    signal_id uuid DEFAULT NULL, signal_category text DEFAULT '', source_type text DEFAULT '', source_identity text DEFAULT '',
    payload bytea DEFAULT NULL, correlation_id text DEFAULT NULL, idempotency_key text DEFAULT NULL,
    dedup_ttl_ms bigint DEFAULT 86400000, resume_delay_ms bigint DEFAULT 0, max_signals_per_execution integer DEFAULT 10000)
RETURNS TABLE (outcome text, signal_id uuid, effect text)
LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = @extschema@, pg_temp AS $$
    SELECT * FROM ff_deliver_signal(ff_in_partition($1, $2), $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)
$$;
COMMENT ON FUNCTION ff_deliver_signal_in(smallint, text, uuid, text, text, uuid, text, text, text, bytea, text, text, bigint,
    bigint, integer) IS
    'ff_deliver_signal with the execution''s partition first: delegated on a distributed install.';

-- The partitions other than the lane's own (ff_partition_for(lane, NULL)) that hold claimable work of
-- the lane, at most 16, lowest first: where a partition-first client claims besides the lane's own
-- partition, since a flow's members live in the flow's partition, whatever their lanes. Read-only,
-- the lane's runnable executions on each partition read once (the index on lane and phase); on a
-- distributed install one statement through the coordinator, which every shard answers.
CREATE FUNCTION ff_lane_partitions_body(p_lane_id text) RETURNS TABLE (r_partition_key smallint)
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = @extschema@, pg_temp AS $$
DECLARE
    home smallint;
BEGIN
    p_lane_id := ff_required(p_lane_id, 'lane_id');
    p_lane_id := ff_check_lane_id(p_lane_id);
    home := ff_partition_for(p_lane_id, NULL);
    RETURN QUERY
    SELECT DISTINCT e.partition_key FROM ff_exec_core e
    WHERE e.lane_id = p_lane_id AND e.lifecycle_phase = 'runnable' AND e.eligibility_state = 'eligible_now'
      AND e.partition_key <> home
    ORDER BY 1 LIMIT 16;
END
$$;
COMMENT ON FUNCTION ff_lane_partitions_body(text) IS 'ff_lane_partitions''s body (internal).';

CREATE FUNCTION ff_lane_partitions(lane_id text) RETURNS TABLE (partition_key smallint)
LANGUAGE sql STABLE AS $$
    SELECT * FROM @extschema@.ff_lane_partitions_body($1)
$$;
