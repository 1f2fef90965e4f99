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
    -- Without a superuser (pg_tle runs an extension's script as the role that creates it): handing an
    -- object to ff_engine_owner takes a member of that role, and ff_engine_owner needs CREATE on the
    -- schema. A superuser is not checked for either.
    IF NOT (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) THEN
        GRANT CREATE ON SCHEMA @extschema@ TO ff_engine_owner;
    END IF;
    FOR r IN
        SELECT c.oid::regclass AS rel, c.relkind
        FROM pg_depend d JOIN pg_class c ON c.oid = d.objid
        WHERE d.refclassid = 'pg_extension'::regclass AND d.refobjid = ext
          AND d.classid = 'pg_class'::regclass AND d.deptype = 'e' AND c.relkind IN ('r','v','S')
          -- A sequence a column owns (identity) follows its table. (Sequences only: on PostgreSQL 14 a
          -- table with a generated column has such rows too, for the column's expression.)
          AND NOT (c.relkind = 'S' AND EXISTS (SELECT 1 FROM pg_depend o WHERE o.classid = 'pg_class'::regclass
                                               AND o.objid = c.oid AND o.deptype IN ('a','i')))
    LOOP
        EXECUTE format('ALTER TABLE %s OWNER TO ff_engine_owner', r.rel);
        EXECUTE format('REVOKE ALL ON %s FROM PUBLIC', r.rel);
    END LOOP;
    FOR r IN
        SELECT t.oid::regtype AS typ
        FROM pg_depend d JOIN pg_type t ON t.oid = d.objid
        WHERE d.refclassid = 'pg_extension'::regclass AND d.refobjid = ext
          AND d.classid = 'pg_type'::regclass AND d.deptype = 'e' AND t.typtype = 'd'
    LOOP
        EXECUTE format('ALTER DOMAIN %s OWNER TO ff_engine_owner', r.typ);
    END LOOP;
    FOR r IN
        SELECT p.oid::regprocedure AS fn, p.proconfig IS NOT NULL AS has_config,
               coalesce(obj_description(p.oid, 'pg_proc'), '') LIKE '%(internal).'
                 AND NOT EXISTS (SELECT 1 FROM pg_proc s WHERE s.pronamespace = p.pronamespace
                                   AND p.proname::text = s.proname || '_body') AS internal
        FROM pg_depend d JOIN pg_proc p ON p.oid = d.objid
        WHERE d.refclassid = 'pg_extension'::regclass AND d.refobjid = ext
          AND d.classid = 'pg_proc'::regclass AND d.deptype = 'e'
    LOOP
        EXECUTE format('ALTER FUNCTION %s OWNER TO ff_engine_owner', r.fn);
        EXECUTE format('REVOKE ALL ON FUNCTION %s FROM PUBLIC', r.fn);
        -- ff_admin may call everything but the helpers (commented '… (internal).'), which only the
        -- SECURITY DEFINER functions that own them call. A function's body (`<name>_body`) is the
        -- function under another parameter naming and has its grants: the SQL edition's shells run as
        -- their caller, so that PostgreSQL writes them into the calling query, and their bodies as
        -- the owner.
        IF NOT r.internal THEN
            EXECUTE format('GRANT EXECUTE ON FUNCTION %s TO ff_admin', r.fn);
        END IF;
        -- Functions that run SQL (they pin search_path) plan each kept statement once, with index
        -- scans:
        -- * plan_cache_mode = force_generic_plan: left to choose, the plan cache compares the generic
        --   plan with its first five custom plans; for the claim's candidate scan (LIMIT $5, budget and
        --   quota sublinks) the custom plan always looks cheaper, so it re-planned on every call, which
        --   was 17 % of the server's CPU in workload 3 (claim + complete: 1 840 -> 3 070 cycles/s).
        -- * enable_seqscan = off: a plan made while a table was empty or just vacuumed empty
        --   (relpages = 0) is a sequential scan that stays one as the table grows (the benchmark found
        --   ff_waitpoint read 3 600 rows per look-up). Every statement here is an index look-up or an
        --   index-ordered scan; a table without a usable index is still scanned.
        -- * enable_bitmapscan = off: with many lanes the generic plan estimates a lane's claimable rows
        --   at a few, and read all of them through a bitmap and sorted them to hand out the first (16
        --   lanes of 625: 625 rows and 1.0 ms per claim, against 1 row and 0.1 ms in queue order).
        --   Lists of keys (= ANY) are index scans without it.
        -- * jit = off: a generic plan's cost is estimated for the whole queue (the candidate scan with
        --   its budget and quota sublinks: ~760 000 with 300 000 queued), above jit_above_cost, and JIT
        --   code is compiled for every execution and never reused: 386 ms per claim, measured.
        IF r.has_config THEN
            EXECUTE format('ALTER FUNCTION %s SET jit = off', r.fn);
            EXECUTE format('ALTER FUNCTION %s SET plan_cache_mode = force_generic_plan', r.fn);
            EXECUTE format('ALTER FUNCTION %s SET enable_seqscan = off', r.fn);
            EXECUTE format('ALTER FUNCTION %s SET enable_bitmapscan = off', r.fn);
        END IF;
    END LOOP;
END
$own$;

-- ff_engine_owner too: the SECURITY DEFINER functions run as it, and look their tables up in this schema
-- (an extension created in a schema of its own, CREATE EXTENSION ff_engine SCHEMA s, needs it).
GRANT USAGE ON SCHEMA @extschema@ TO ff_engine_owner, ff_admin, ff_worker, ff_signaler;

-- Event tables: readable by all three roles (listeners replay from their last event id).
GRANT SELECT ON ff_signal_event, ff_lease_event, ff_completion_event, ff_operator_event TO ff_admin, ff_worker, ff_signaler;

GRANT SELECT ON ff_executions, ff_suspensions, ff_lane_stats TO ff_admin;

-- Completions with what they produced: results for the roles that create and run executions, never
-- for a signaler.
GRANT SELECT ON ff_completions TO ff_admin, ff_worker;
GRANT SELECT (event_id, partition_key, execution_id, namespace, produced_at_ms, outcome, flow_id, result_bytes, failure_class)
    ON ff_completions TO ff_signaler;

-- Role grants by function name (every overload, and the function's body). ff_admin already has
-- EXECUTE on everything.
DO $grants$
DECLARE
    r record;
BEGIN
    FOR r IN
        SELECT p.oid::regprocedure AS fn, g.role
        FROM (VALUES
            ('ff_create_execution', 'ff_worker'), ('ff_claim_for_worker', 'ff_worker'),
            ('ff_claim_execution', 'ff_worker'), ('ff_claim_resumed_execution', 'ff_worker'),
            ('ff_claim', 'ff_worker'), ('ff_renew_lease', 'ff_worker'), ('ff_complete', 'ff_worker'),
            ('ff_complete_many', 'ff_worker'), ('ff_fail', 'ff_worker'), ('ff_report_usage', 'ff_worker'),
            ('ff_create_waitpoint', 'ff_worker'), ('ff_suspend', 'ff_worker'), ('ff_observe_signals', 'ff_worker'),
            ('ff_deliver_signal', 'ff_signaler'), ('ff_observe_signals', 'ff_signaler'),
            ('ff_list_suspended', 'ff_signaler'), ('ff_list_pending_waitpoints', 'ff_signaler'),
            -- Payloads and results: readable by the role that creates and runs executions, never by
            -- a signaler (who holds only tokens).
            ('ff_get_execution', 'ff_worker'), ('ff_list_attempts', 'ff_worker'), ('ff_list_executions', 'ff_worker'),
            ('ff_cond_check', 'ff_worker'), ('ff_cond_single', 'ff_worker'), ('ff_cond_all', 'ff_worker'),
            ('ff_cond_count', 'ff_worker'), ('ff_cond_any', 'ff_worker'), ('ff_cond_timeout_only', 'ff_worker'),
            ('ff_cond_operator_only', 'ff_worker'),
            -- Steps and frames: written under the worker's lease, read by whoever runs executions.
            ('ff_set_step', 'ff_worker'), ('ff_get_steps', 'ff_worker'), ('ff_append_frame', 'ff_worker'),
            ('ff_read_frames', 'ff_worker'),
            -- Flows: created and read by whoever creates executions; cancelled by an operator.
            ('ff_create_flow', 'ff_worker'), ('ff_get_flow', 'ff_worker'), ('ff_list_flow_members', 'ff_worker'),
            ('ff_await_completion', 'ff_worker'), ('ff_lane_holdback', 'ff_worker'),
            -- Wake-ups: a worker announces itself on its lane; anyone who reads the outbox may
            -- announce itself on its channels.
            ('ff_await_lane', 'ff_worker'), ('ff_await_events', 'ff_worker'), ('ff_await_events', 'ff_signaler'),
            -- The partition-first forms (sql/shared/citus.sql), as their plain functions.
            ('ff_create_execution_in', 'ff_worker'), ('ff_claim_in', 'ff_worker'), ('ff_renew_lease_in', 'ff_worker'),
            ('ff_complete_in', 'ff_worker'), ('ff_fail_in', 'ff_worker'), ('ff_suspend_in', 'ff_worker'),
            ('ff_deliver_signal_in', 'ff_signaler'), ('ff_lane_partitions', 'ff_worker')
        ) AS g(fn_name, role)
        JOIN pg_proc p ON p.proname IN (g.fn_name, g.fn_name || '_body') AND p.pronamespace = '@extschema@'::regnamespace
    LOOP
        EXECUTE format('GRANT EXECUTE ON FUNCTION %s TO %I', r.fn, r.role);
    END LOOP;
END
$grants$;

-- One-line purpose of every function, by name.
DO $comments$
DECLARE
    r record;
BEGIN
    FOR r IN
        SELECT p.oid::regprocedure AS fn, c.txt
        FROM (VALUES
            ('ff_seed_hmac', 'Install the first HMAC signing key (idempotent: already_seeded with same_secret). Secret generated when NULL.'),
            ('ff_rotate_hmac', 'Make new_kid the signing key; the old key verifies for grace_ms more; reaps keys past grace (gc_count).'),
            ('ff_hmac_kids', 'List HMAC key ids with their state and times; never the secrets.'),
            ('ff_create_execution', 'Create an execution in a lane (idempotent per lane with idempotency_key; delayed with delay_until_ms).'),
            ('ff_claim_for_worker', 'Pick the best eligible execution of a lane (priority, then oldest; capabilities, budgets, quotas) and reserve it with a signed grant.'),
            ('ff_claim_execution', 'Verify and consume a claim grant; open the next attempt or re-lease an interrupted one (resumed) under a new fenced lease.'),
            ('ff_claim_resumed_execution', 'As ff_claim_execution, but only for grants on interrupted attempts (not_a_resumed_execution otherwise).'),
            ('ff_claim', 'Pick and lease up to max_items executions of a lane in one call (grant and consume together).'),
            ('ff_claim_in', 'ff_claim in one partition (partition_key first): delegated to its node on a distributed install.'),
            ('ff_lane_partitions', 'The partitions other than the lane''s own holding claimable work of the lane (flow members live in their flow''s partition), at most 16: where a partition-first claim looks besides the lane''s partition.'),
            ('ff_renew_lease', 'Extend the current lease by lease_ttl_ms from now (fenced by lease id and epoch).'),
            ('ff_complete', 'Complete the leased attempt with an optional result (fenced; a repeated complete is lease_conflict).'),
            ('ff_complete_many', 'Complete many leases in one call; one row per element, a bad fence fails only its own element.'),
            ('ff_fail', 'Fail the leased attempt with a failure class (transient, permanent, timeout, infra_crash) and detail: retry after exponential backoff while attempts remain unless permanent, else terminal failed.'),
            ('ff_cancel', 'Cancel an execution in any non-terminal phase; closes its open suspension and every waitpoint.'),
            ('ff_create_flow', 'Create a flow (idempotent per flow_id): executions join it with ff_create_execution(flow_id, depends_on, parent_execution_id).'),
            ('ff_get_flow', 'A flow: its state (open, completed, failed, cancelled) derived from its members, and member counts per public state.'),
            ('ff_list_flow_members', 'Members of a flow in execution id order (keyset: after_execution_id), with parent and upstreams left.'),
            ('ff_await_completion', 'Announce a wait for one execution''s or one flow''s end (true: it has ended); the ending transaction notifies ff_wake_<pid>.'),
            ('ff_hold_execution', 'Hold a waiting, delayed or blocked execution out of the claimable set (blocked_by_operator) until ff_release_execution; an operator event.'),
            ('ff_release_execution', 'Release a held execution: blocked, delayed or claimable again as its state calls for; an operator event.'),
            ('ff_lane_holdback', 'Why a lane''s runnable work is not handed out: per reason (lane_paused, delayed, dependencies, reserved, budget, quota_rate, quota_concurrency) the executions held and the earliest time one could pass.'),
            ('ff_pause_lane', 'Pause a lane: it keeps accepting executions and hands out none (claims and grant consumption) until ff_resume_lane; an operator event.'),
            ('ff_resume_lane', 'Resume a paused lane and wake its sleeping workers; an operator event.'),
            ('ff_list_lanes', 'Every lane with unfinished work or a pause: state, depth (claimable now), oldest eligible age, not eligible, active, pause time and reason.'),
            ('ff_cancel_flow', 'Cancel a flow: flow_only, cancel_all (leases end) or cancel_pending (leased members drain); counts per outcome.'),
            ('ff_create_budget', 'Create a budget with hard and soft limits per dimension (created = false if it exists).'),
            ('ff_report_usage', 'Report usage against the execution''s budgets (fenced; idempotent per dedup_key): admitted, soft_breach, hard_breach, throttled (a budget that resets is full: retry_after_ms), duplicate.'),
            ('ff_budget_status', 'Usage, soft limit and hard limit of a budget, one row per dimension.'),
            ('ff_create_quota_policy', 'Create a quota policy: requests per sliding window and/or an active-concurrency cap.'),
            ('ff_tick', 'Run every scanner task once (max_rows each), over the executions of namespace and/or tag_key = tag_value when given; one row per task with the rows it processed.'),
            ('ff_tick_node', 'ff_tick for the node it runs on: on a Citus node, the tasks that touch executions once per shard placed there; on one node, ff_tick. Rows summed per task.'),
            ('ff_promote_delayed', 'Scanner: make delayed executions whose time has come eligible now.'),
            ('ff_expire_grants', 'Scanner: delete expired, unconsumed claim grants.'),
            ('ff_expire_leases', 'Scanner: reclaim executions whose lease expired (epoch + 1); fail them after ff_engine.max_reclaims expiries.'),
            ('ff_expire_pending_waitpoints', 'Scanner: close pending waitpoints past their expiry (never_committed).'),
            ('ff_gc_dedup', 'Scanner: delete signal and suspend dedup rows past their TTL.'),
            ('ff_gc_keys', 'Scanner: delete retired HMAC keys past their grace window.'),
            ('ff_verify_claim_starts', 'Scanner: lower every claim start to the true head of its lane''s priority.'),
            ('ff_prune_events', 'Bulk retention: delete events older than older_than_ms from the three event tables.'),
            ('ff_await_lane', 'Wake-ups: announce this session as a worker about to sleep on an empty lane; the next transaction that makes work claimable there wakes one announced worker, on channel ff_wake_<its backend pid> (payload: the lane). Own transaction only.'),
            ('ff_await_events', 'Wake-ups: announce this session as a subscriber that has read everything on these outbox channels; the next transaction that writes an event there notifies the channel. Own transaction only.'),
            ('ff_create_waitpoint', 'Create a pending waitpoint for the leased execution; signals to it are buffered until a suspend binds it.'),
            ('ff_suspend', 'Suspend the leased execution on a resume condition; one row per bound waitpoint (primary first) with its token.'),
            ('ff_deliver_signal', 'Authenticate a signal by waitpoint token, record it, evaluate the resume condition, resume when satisfied.'),
            ('ff_deliver_approval_signal', 'Operator approval signal: token read server-side, category approval, source operator; lane must match.'),
            ('ff_resume_execution', 'Operator resume of a suspended execution (execution_not_suspended otherwise).'),
            ('ff_observe_signals', 'The signals that satisfied the latest suspension, in acceptance order, with payloads.'),
            ('ff_list_suspended', 'Open suspensions, keyset-paginated by execution id.'),
            ('ff_list_pending_waitpoints', 'An execution''s open waitpoints (closed too on request), keyset-paginated; a fingerprint, never the token.'),
            ('ff_read_waitpoint_token', 'The token of a waitpoint, for operators; no row when it does not exist.'),
            ('ff_get_execution', 'One execution: lane, tags, the five states, attempts, lease holder and expiry, open suspension, next retry, last error, payload and result; never a grant or token.'),
            ('ff_list_attempts', 'The attempts of an execution, oldest first: worker, start, end, outcome, failure message, failure class and detail.'),
            ('ff_list_executions', 'A lane''s executions in creation order, optionally of one public state, keyset-paginated by execution id; result size, not bytes.'),
            ('ff_cond_check', 'Validate a resume condition as ff_suspend does (WF001 with the same DETAIL codes) and return it in canonical form.'),
            ('ff_change_priority', 'Operator: change an execution''s priority (its place in the claim order); writes an ff_operator_event.'),
            ('ff_replay_execution', 'Operator: give a failed, cancelled or expired execution a fresh attempt, claimable at once; writes an ff_operator_event.'),
            ('ff_revoke_lease', 'Operator: end the current lease at once (epoch + 1, lease_revoked); reclaimable, the old holder''s fence is dead; writes an ff_operator_event.'),
            ('ff_expire_deadlines', 'Scanner: expire executions past their deadline_at_ms (lease ended, suspension and waitpoints closed, completion event expired).'),
            ('ff_prune_executions', 'Retention: delete up to max_rows finished executions (public_states) that ended before older_than_ms, with their attempts, suspensions, waitpoints, signals and dedup rows.'),
            ('ff_prune_by_retention', 'Scanner: delete finished executions past their outcome''s retention setting (ff_engine.retention_<outcome>_s), at most max_rows.'),
            ('ff_set_step', 'Durable step: store a value under step_name for the leased execution (fenced); the first write per execution and step wins across attempts: stored, or exists.'),
            ('ff_get_steps', 'The steps of an execution in write order: name, value, the attempt that stored it, when.'),
            ('ff_append_frame', 'Append an output frame (stdout, stderr, event, blob) to the leased execution''s stream (fenced); returns its seq (assigned 1, 2, 3... or the caller''s, which must increase).'),
            ('ff_read_frames', 'An execution''s frames after after_seq, in seq order, at most max_rows; wait for more with ff_await_events(''{ff_frame}'').'),
            ('ff_expire_suspensions', 'Scanner: apply the timeout behaviour (fail, cancel, expire, auto_resume, escalate) of suspensions past their timeout.')
        ) AS c(fn_name, txt)
        JOIN pg_proc p ON p.proname = c.fn_name AND p.pronamespace = '@extschema@'::regnamespace
    LOOP
        EXECUTE format('COMMENT ON FUNCTION %s IS %L', r.fn, r.txt);
    END LOOP;
END
$comments$;
