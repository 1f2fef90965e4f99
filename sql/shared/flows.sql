-- ff_engine, both editions: flows (docs/semantics.md §11). Written once: both editions install this
-- file. What it needs from the edition it is installed with, by the same name and signature in both:
-- ff_wake(text[], text[]) (wake-ups), ff_deliver_engine_signal(...) (a signal the engine delivers
-- without a token) and ff_cancel(text, text).
--
-- Members share their flow's partition. Joining a flow happens in the creating transaction
-- (ff_flow_join, called by ff_create_execution); what follows a member's end happens in the
-- transaction that ends it, whatever ends it (complete, fail, cancel, expiry, a skipped upstream), by
-- the trigger on ff_exec_core below, which also wakes the sessions waiting for one execution's or one
-- flow's end (ff_await_completion).

-- The edition's functions this file calls, internal in both.
COMMENT ON FUNCTION ff_wake(text[], text[]) IS 'Notify the announced waiters on what the caller wrote (internal).';
COMMENT ON FUNCTION ff_deliver_engine_signal(smallint, uuid, uuid, text, text, bytea) IS 'Deliver a signal from the engine itself (internal).';

-- The flow a member joins, checked, with its row share-locked (so ff_cancel_flow cannot slip between
-- the check and the member's row).
CREATE FUNCTION ff_flow_lock(pk smallint, p_flow_id uuid) RETURNS ff_flow
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    f ff_flow;
BEGIN
    SELECT * INTO f FROM ff_flow WHERE partition_key = ff_partition_for('', p_flow_id) AND flow_id = p_flow_id FOR SHARE;
    IF NOT FOUND THEN
        PERFORM ff_raise('WF010', 'not_found', 'flow not found', 'flow');
    END IF;
    IF f.cancelled_at_ms IS NOT NULL THEN
        PERFORM ff_invalid('flow_cancelled', 'the flow was cancelled: it takes no new members');
    END IF;
    IF pk <> f.partition_key THEN
        PERFORM ff_invalid('partition_mismatch', format('a member of this flow must be in its partition {fp:%s}', f.partition_key));
    END IF;
    RETURN f;
END
$$;
COMMENT ON FUNCTION ff_flow_lock(smallint, uuid) IS 'The flow a new member joins, share-locked and checked (internal).';

-- The parent a new member will signal: an execution of the same flow, not terminal, with a waitpoint
-- of that key that is not closed. Returns (parent uuid, its flow).
CREATE FUNCTION ff_flow_parent(pk smallint, p_parent text, p_key text, OUT parent_id uuid, OUT parent_flow uuid)
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    ppk smallint;
    phase text;
BEGIN
    IF p_key IS NULL THEN
        PERFORM ff_invalid('parent_waitpoint_key_required', 'parent_waitpoint_key must be given with parent_execution_id');
    END IF;
    p_key := ff_check_optional_text(p_key, 'parent_waitpoint_key', 256);
    SELECT x.partition_key, x.execution_uuid INTO ppk, parent_id FROM ff_parse_execution_id(p_parent) x;
    SELECT e.lifecycle_phase, m.flow_id INTO phase, parent_flow
    FROM ff_exec_core e LEFT JOIN ff_flow_member m ON m.partition_key = e.partition_key AND m.execution_id = e.execution_id
    WHERE e.partition_key = ppk AND e.execution_id = parent_id;
    IF NOT FOUND THEN
        PERFORM ff_raise('WF010', 'not_found', 'parent execution not found', 'parent_execution');
    END IF;
    IF parent_flow IS NULL THEN
        PERFORM ff_invalid('parent_not_in_flow', 'the parent is not a member of a flow (create it with flow_id)');
    END IF;
    IF phase = 'terminal' THEN
        PERFORM ff_raise('WF031', 'target_not_signalable', 'the parent execution is terminal');
    END IF;
    IF NOT EXISTS (SELECT 1 FROM ff_waitpoint w WHERE w.partition_key = ppk AND w.execution_id = parent_id
                   AND w.waitpoint_key = p_key AND w.state <> 'closed') THEN
        PERFORM ff_raise('WF010', 'not_found', 'the parent has no open waitpoint with this key', 'parent_waitpoint');
    END IF;
END
$$;
COMMENT ON FUNCTION ff_flow_parent(smallint, text, text) IS 'The parent a new member signals, checked (internal).';

-- The upstreams of a new member, checked: existing members of its flow. ff_flow_recount then locks
-- them and counts those not completed.
CREATE FUNCTION ff_flow_upstreams(pk smallint, p_flow_id uuid, p_depends_on text[]) RETURNS uuid[]
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    ids uuid[];
    same_partition boolean;
BEGIN
    IF cardinality(p_depends_on) > 1000 THEN
        PERFORM ff_invalid('too_many_upstreams', 'depends_on: at most 1000 executions');
    END IF;
    IF array_position(p_depends_on, NULL) IS NOT NULL THEN
        PERFORM ff_invalid('invalid_depends_on', 'depends_on must not contain NULL');
    END IF;
    SELECT coalesce(array_agg(DISTINCT x.execution_uuid ORDER BY x.execution_uuid), '{}'), coalesce(bool_and(x.partition_key = pk), true)
    INTO ids, same_partition
    FROM unnest(p_depends_on) d, ff_parse_execution_id(d) x;
    IF NOT same_partition THEN
        PERFORM ff_invalid('upstream_not_in_flow', 'every upstream must be a member of the same flow');
    END IF;
    IF (SELECT count(*) FROM ff_flow_member m WHERE m.partition_key = pk AND m.execution_id = ANY (ids) AND m.flow_id = p_flow_id)
       <> cardinality(ids) THEN
        IF (SELECT count(*) FROM ff_exec_core e WHERE e.partition_key = pk AND e.execution_id = ANY (ids)) <> cardinality(ids) THEN
            PERFORM ff_raise('WF010', 'not_found', 'upstream execution not found', 'upstream_execution');
        END IF;
        PERFORM ff_invalid('upstream_not_in_flow', 'every upstream must be a member of the same flow');
    END IF;
    RETURN ids;
END
$$;
COMMENT ON FUNCTION ff_flow_upstreams(smallint, uuid, text[]) IS 'The upstreams of a new member, checked (internal).';

-- End the given members as skipped (an upstream of theirs did not complete), with everything that
-- waits on them, transitively, in one statement; their completion events, and their listeners woken.
-- The trigger below then runs for each (their parents are signalled; their own dependents are already
-- skipped).
CREATE FUNCTION ff_flow_skip(pk smallint, roots uuid[], now_ms bigint) RETURNS void
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    n bigint;
BEGIN
    WITH RECURSIVE down(id) AS (
        SELECT unnest(roots)
        UNION
        SELECT e.downstream_id FROM down JOIN ff_flow_dependency e ON e.partition_key = pk AND e.upstream_id = down.id),
    skipped AS (
        UPDATE ff_exec_core x SET lifecycle_phase = 'terminal', ownership_state = 'unowned', eligibility_state = 'not_applicable',
            attempt_state = 'attempt_terminal', public_state = 'skipped', eligible_at_ms = NULL, reserved_until_ms = NULL,
            lease_epoch = x.lease_epoch + 1, completed_at_ms = now_ms, updated_at_ms = now_ms, last_error = 'dependency_failed'
        FROM down
        WHERE x.partition_key = pk AND x.execution_id = down.id AND x.eligibility_state = 'blocked_by_dependencies'
        RETURNING x.partition_key, x.execution_id, x.namespace),
    ce AS (
        INSERT INTO ff_completion_event (partition_key, execution_id, namespace, occurred_at_ms, outcome)
        SELECT partition_key, '{fp:' || partition_key || '}:' || execution_id, namespace, now_ms, 'skipped' FROM skipped)
    SELECT count(*) INTO n FROM skipped;
    IF n > 0 THEN
    PERFORM ff_wake('{ff_completion}', '{}');
    END IF;
END
$$;
COMMENT ON FUNCTION ff_flow_skip(smallint, uuid[], bigint) IS 'Skip blocked members and their dependents (internal).';

-- Join a just-inserted execution to a flow: its flow (given, or its parent's), its parent, its
-- upstreams; then its state from them (ff_flow_recount: waiting_children while upstreams are left,
-- skipped when one already ended without completing, else as created, its lane woken).
CREATE FUNCTION ff_flow_join(pk smallint, id uuid, p_flow_id uuid, p_parent text, p_parent_key text, p_depends_on text[])
RETURNS void
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    now_ms bigint := ff_now_ms();
    parent_id uuid;
    parent_flow uuid;
    flow uuid := p_flow_id;
BEGIN
    IF p_parent IS NULL AND p_parent_key IS NOT NULL THEN
        PERFORM ff_invalid('parent_execution_id_required', 'parent_waitpoint_key needs parent_execution_id');
    END IF;
    IF p_parent IS NOT NULL THEN
        SELECT x.parent_id, x.parent_flow INTO parent_id, parent_flow FROM ff_flow_parent(pk, p_parent, p_parent_key) x;
        IF flow IS NOT NULL AND flow <> parent_flow THEN
            PERFORM ff_invalid('flow_mismatch', 'a child joins its parent''s flow');
        END IF;
        flow := parent_flow;
    END IF;
    IF flow IS NULL THEN
        PERFORM ff_invalid('flow_id_required', 'depends_on needs flow_id (or a parent in a flow)');
    END IF;
    PERFORM ff_flow_lock(pk, flow);
    INSERT INTO ff_flow_dependency (partition_key, upstream_id, downstream_id)
    SELECT pk, u, id FROM unnest(ff_flow_upstreams(pk, flow, coalesce(p_depends_on, '{}'))) u;
    INSERT INTO ff_flow_member (partition_key, execution_id, flow_id, parent_execution_id, parent_waitpoint_key, joined_at_ms)
    VALUES (pk, id, flow, parent_id, p_parent_key, now_ms);
    -- A child created without flow_id takes its parent's.
    UPDATE ff_exec_core SET flow_id = flow WHERE partition_key = pk AND execution_id = id AND flow_id IS DISTINCT FROM flow;
    PERFORM ff_flow_recount(pk, ARRAY[id], now_ms);
END
$$;
COMMENT ON FUNCTION ff_flow_join(smallint, uuid, uuid, text, text, text[]) IS 'Join a new execution to its flow (internal).';

-- A member completed: one upstream fewer for each of its dependents; those with none left become
-- claimable (or delayed, until their delay), and their lanes' sleeping workers are woken.
CREATE FUNCTION ff_flow_release(pk smallint, id uuid, now_ms bigint) RETURNS void
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    ready_lanes text[];
    ready_priorities integer[];
    ready_seqs bigint[];
BEGIN
    WITH released AS (
        UPDATE ff_flow_member d SET upstreams_left = d.upstreams_left - 1
        FROM ff_flow_dependency e
        WHERE e.partition_key = pk AND e.upstream_id = id
          AND d.partition_key = pk AND d.execution_id = e.downstream_id AND d.upstreams_left > 0
        RETURNING d.execution_id, d.upstreams_left),
    ready AS (
        UPDATE ff_exec_core x SET
            eligibility_state = CASE WHEN x.eligible_at_ms > now_ms THEN 'not_eligible_until_time' ELSE 'eligible_now' END,
            public_state = CASE WHEN x.eligible_at_ms > now_ms THEN 'delayed' ELSE 'waiting' END,
            eligible_at_ms = CASE WHEN x.eligible_at_ms > now_ms THEN x.eligible_at_ms END,
            updated_at_ms = now_ms
        FROM released r
        WHERE r.upstreams_left = 0 AND x.partition_key = pk AND x.execution_id = r.execution_id
          AND x.eligibility_state = 'blocked_by_dependencies'
        RETURNING x.lane_id, x.priority, x.queue_seq, x.eligibility_state)
    SELECT array_agg(lane_id) FILTER (WHERE eligibility_state = 'eligible_now'),
           array_agg(priority) FILTER (WHERE eligibility_state = 'eligible_now'),
           array_agg(queue_seq) FILTER (WHERE eligibility_state = 'eligible_now')
    INTO ready_lanes, ready_priorities, ready_seqs FROM ready;
    IF ready_lanes IS NOT NULL THEN
        PERFORM ff_claim_start_lower_rows(ready_lanes, ready_priorities, ready_seqs);
        PERFORM ff_wake('{}', ARRAY(SELECT DISTINCT l FROM unnest(ready_lanes) l ORDER BY 1));
    END IF;
END
$$;
COMMENT ON FUNCTION ff_flow_release(smallint, uuid, bigint) IS 'Release the dependents of a completed member (internal).';

-- A member ended: signal `child_<state>` to its parent's waitpoint of the member's key, with the
-- member's id as source_identity and its result as payload. Nothing is recorded when the parent is
-- terminal or has no open waitpoint of that key any more (it stopped listening, e.g. resumed by
-- "3 of 5" before the 4th child ended).
CREATE FUNCTION ff_flow_signal_parent(pk smallint, parent_id uuid, p_key text, child_id uuid, child_state text, child_result bytea,
    now_ms bigint) RETURNS void
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    wp uuid;
BEGIN
    -- The parent's row lock first: its waitpoints change only under it.
    PERFORM 1 FROM ff_exec_core WHERE partition_key = pk AND execution_id = parent_id AND lifecycle_phase <> 'terminal' FOR UPDATE;
    IF NOT FOUND THEN
        RETURN;
    END IF;
    SELECT w.waitpoint_id INTO wp FROM ff_waitpoint w
    WHERE w.partition_key = pk AND w.execution_id = parent_id AND w.waitpoint_key = p_key
      AND (w.state = 'active' OR (w.state = 'pending' AND (w.expires_at_ms IS NULL OR w.expires_at_ms > now_ms)))
    ORDER BY w.state = 'active' DESC, w.created_at_ms DESC LIMIT 1;
    IF FOUND THEN
        PERFORM ff_deliver_engine_signal(pk, parent_id, wp, 'child_' || child_state, '{fp:' || pk || '}:' || child_id, child_result);
    END IF;
END
$$;
COMMENT ON FUNCTION ff_flow_signal_parent(smallint, uuid, text, uuid, text, bytea, bigint) IS 'Signal a parent that a child ended (internal).';

-- Notify the sessions announced (ff_await_completion) on `key`: an execution id or flow:<flow id>.
-- Each is told once, on its own channel ff_wake_<backend pid> (payload the key), and its announcement
-- consumed.
CREATE FUNCTION ff_notify_completion_waiters(key text) RETURNS void
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    pid integer;
BEGIN
    FOR pid IN DELETE FROM ff_waiter WHERE channel = 'ff_completion_of' AND lane_id = key RETURNING backend_pid LOOP
        PERFORM pg_notify('ff_wake_' || pid, key);
    END LOOP;
END
$$;
COMMENT ON FUNCTION ff_notify_completion_waiters(text) IS 'Notify the waiters on an execution''s or flow''s end (internal).';

-- The trigger: an execution that is a flow member, or that someone waits for, ended.
CREATE FUNCTION ff_execution_ended() RETURNS trigger
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    m ff_flow_member;
    now_ms bigint := ff_now_ms();
BEGIN
    IF NEW.lifecycle_phase <> 'terminal' OR OLD.lifecycle_phase = 'terminal' THEN
        RETURN NULL;
    END IF;
    IF NEW.completion_waited THEN
        PERFORM ff_notify_completion_waiters('{fp:' || NEW.partition_key || '}:' || NEW.execution_id);
    END IF;
    SELECT * INTO m FROM ff_flow_member WHERE partition_key = NEW.partition_key AND execution_id = NEW.execution_id;
    IF NOT FOUND THEN
        RETURN NULL;
    END IF;
    IF NEW.public_state = 'completed' THEN
        PERFORM ff_flow_release(NEW.partition_key, NEW.execution_id, now_ms);
    ELSIF EXISTS (SELECT 1 FROM ff_flow_dependency e WHERE e.partition_key = NEW.partition_key AND e.upstream_id = NEW.execution_id) THEN
        PERFORM ff_flow_skip(NEW.partition_key, ARRAY(SELECT e.downstream_id FROM ff_flow_dependency e
                             WHERE e.partition_key = NEW.partition_key AND e.upstream_id = NEW.execution_id), now_ms);
    END IF;
    IF m.parent_execution_id IS NOT NULL THEN
        PERFORM ff_flow_signal_parent(NEW.partition_key, m.parent_execution_id, m.parent_waitpoint_key, NEW.execution_id,
            NEW.public_state, NEW.result, now_ms);
    END IF;
    -- The flow's waiters: every member's end may be the flow's, so each wakes them (they read the
    -- flow again). The shared lock orders this with an announcement (ff_await_completion takes it
    -- exclusively): one that committed first is seen here, one that comes later sees this end.
    PERFORM pg_advisory_xact_lock_shared(1717985655, hashtext('ff_completion_of:flow:' || m.flow_id));
    PERFORM ff_notify_completion_waiters('flow:' || m.flow_id);
    RETURN NULL;
END
$$;
COMMENT ON FUNCTION ff_execution_ended() IS 'An execution that is a flow member or waited for ended: release or skip its dependents, signal its parent, notify its waiters (internal).';

-- Fires for flow members and executions someone waits for, when completed_at_ms is written: every
-- statement that ends an execution writes it (leases/end_lease_row.sql, leases/terminate.sql,
-- scanners/expire_leases.sql, ff_flow_skip), and no claim, suspension or resume does, so only those
-- statements prepare the WHEN clause (PostgreSQL reads and prepares it again for every statement
-- whose UPDATE names the column: ~14 000 instructions). The function returns at once unless the
-- execution just became terminal.
CREATE TRIGGER ff_execution_ended AFTER UPDATE OF completed_at_ms ON ff_exec_core FOR EACH ROW
    WHEN (NEW.flow_id IS NOT NULL OR NEW.completion_waited)
    EXECUTE FUNCTION ff_execution_ended();
COMMENT ON TRIGGER ff_execution_ended ON ff_exec_core IS
    'What follows the end of a flow member or of an execution someone waits for, in the transaction that ends it.';

-- Retention deletes an execution with everything that belongs to it: its membership and edges too.
CREATE FUNCTION ff_flow_member_deleted() RETURNS trigger
LANGUAGE plpgsql VOLATILE AS $$
BEGIN
    DELETE FROM ff_flow_member WHERE partition_key = OLD.partition_key AND execution_id = OLD.execution_id;
    DELETE FROM ff_flow_dependency WHERE partition_key = OLD.partition_key
        AND (upstream_id = OLD.execution_id OR downstream_id = OLD.execution_id);
    RETURN NULL;
END
$$;
COMMENT ON FUNCTION ff_flow_member_deleted() IS 'Delete a pruned member''s flow rows (internal).';
CREATE TRIGGER ff_flow_member_deleted AFTER DELETE ON ff_exec_core FOR EACH ROW
    WHEN (OLD.flow_id IS NOT NULL)
    EXECUTE FUNCTION ff_flow_member_deleted();
COMMENT ON TRIGGER ff_flow_member_deleted ON ff_exec_core IS 'A pruned flow member''s membership and edges go with it.';

----------------------------------------------------------------------------------------------------
-- The API
----------------------------------------------------------------------------------------------------

CREATE FUNCTION ff_create_flow_body(p_flow_id uuid, p_namespace text, p_tags jsonb, OUT r_flow_id uuid, OUT r_created boolean)
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = @extschema@, pg_temp AS $$
DECLARE
    inserted uuid;
BEGIN
    r_flow_id := coalesce(p_flow_id, gen_random_uuid());
    p_namespace := ff_check_optional_text(p_namespace, 'namespace', 256);
    IF jsonb_typeof(coalesce(p_tags, '{}')) <> 'object' THEN
        PERFORM ff_invalid('invalid_tags', 'tags must be a JSON object');
    END IF;
    INSERT INTO ff_flow (partition_key, flow_id, namespace, tags, created_at_ms)
    VALUES (ff_partition_for('', r_flow_id), r_flow_id, p_namespace, coalesce(p_tags, '{}'), ff_now_ms())
    ON CONFLICT DO NOTHING
    RETURNING flow_id INTO inserted;
    r_created := inserted IS NOT NULL;
END
$$;
COMMENT ON FUNCTION ff_create_flow_body(uuid, text, jsonb) IS 'ff_create_flow''s body (internal).';

CREATE FUNCTION ff_create_flow(flow_id uuid DEFAULT NULL, namespace text DEFAULT NULL, tags jsonb DEFAULT '{}')
RETURNS TABLE (flow_id uuid, created boolean)
LANGUAGE sql STABLE AS $$
    SELECT * FROM @extschema@.ff_create_flow_body($1, $2, $3)
$$;

-- A flow's state, derived from its members: cancelled when ff_cancel_flow ran; else open while a
-- member is not terminal (or there is none); else completed when every member completed, failed
-- otherwise.
CREATE FUNCTION ff_get_flow_body(p_flow_id uuid)
RETURNS TABLE (r_flow_id uuid, r_partition_key text, r_namespace text, r_tags jsonb, r_state text, r_member_count bigint,
    r_counts jsonb, r_created_at_ms bigint, r_cancelled_at_ms bigint, r_cancel_policy text, r_cancel_reason text)
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = @extschema@, pg_temp AS $$
DECLARE
    f ff_flow;
    n bigint;
    open_n bigint;
    completed_n bigint;
    by_state jsonb;
BEGIN
    p_flow_id := ff_required(p_flow_id, 'flow_id');
    SELECT * INTO f FROM ff_flow x WHERE x.partition_key = ff_partition_for('', p_flow_id) AND x.flow_id = p_flow_id;
    IF NOT FOUND THEN
        PERFORM ff_raise('WF010', 'not_found', 'flow not found', 'flow');
    END IF;
    SELECT coalesce(sum(c), 0), coalesce(sum(c) FILTER (WHERE NOT terminal), 0), coalesce(sum(c) FILTER (WHERE s = 'completed'), 0),
           coalesce(jsonb_object_agg(s, c), '{}')
    INTO n, open_n, completed_n, by_state
    FROM (SELECT e.public_state::text AS s, e.lifecycle_phase = 'terminal' AS terminal, count(*) AS c
          FROM ff_flow_member m JOIN ff_exec_core e ON e.partition_key = m.partition_key AND e.execution_id = m.execution_id
          WHERE m.partition_key = f.partition_key AND m.flow_id = f.flow_id
          GROUP BY 1, 2) t;
    RETURN QUERY SELECT f.flow_id, '{fp:' || f.partition_key || '}', f.namespace, f.tags,
        CASE WHEN f.cancelled_at_ms IS NOT NULL THEN 'cancelled' WHEN n = 0 OR open_n > 0 THEN 'open'
             WHEN completed_n = n THEN 'completed' ELSE 'failed' END,
        n, by_state, f.created_at_ms, f.cancelled_at_ms, f.cancel_policy, f.cancel_reason;
END
$$;
COMMENT ON FUNCTION ff_get_flow_body(uuid) IS 'ff_get_flow''s body (internal).';

CREATE FUNCTION ff_get_flow(flow_id uuid)
RETURNS TABLE (flow_id uuid, partition_key text, namespace text, tags jsonb, state text, member_count bigint, counts jsonb,
    created_at_ms bigint, cancelled_at_ms bigint, cancel_policy text, cancel_reason text)
LANGUAGE sql STABLE AS $$
    SELECT * FROM @extschema@.ff_get_flow_body($1)
$$;

CREATE FUNCTION ff_list_flow_members(flow_id uuid, after_execution_id text DEFAULT NULL, max_rows integer DEFAULT 100)
RETURNS TABLE (execution_id text, lane_id text, public_state text, parent_execution_id text, parent_waitpoint_key text,
    upstreams_left integer, created_at_ms bigint, terminal_at_ms bigint)
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = @extschema@, pg_temp AS $$
#variable_conflict use_column
DECLARE
    pk smallint := ff_partition_for('', ff_required($1, 'flow_id'));
    after_pk smallint;
    after_id uuid;
BEGIN
    IF NOT EXISTS (SELECT 1 FROM ff_flow x WHERE x.partition_key = pk AND x.flow_id = $1) THEN
        PERFORM ff_raise('WF010', 'not_found', 'flow not found', 'flow');
    END IF;
    PERFORM ff_bounded_count($3, 'max_rows', 10000);
    IF $2 IS NOT NULL THEN
        SELECT x.partition_key, x.execution_uuid INTO after_pk, after_id FROM ff_parse_execution_id($2) x;
    END IF;
    RETURN QUERY
    SELECT '{fp:' || m.partition_key || '}:' || m.execution_id, e.lane_id, e.public_state::text,
           CASE WHEN m.parent_execution_id IS NOT NULL THEN '{fp:' || m.partition_key || '}:' || m.parent_execution_id END,
           m.parent_waitpoint_key, m.upstreams_left, e.created_at_ms, e.completed_at_ms
    FROM ff_flow_member m JOIN ff_exec_core e ON e.partition_key = m.partition_key AND e.execution_id = m.execution_id
    WHERE m.partition_key = pk AND m.flow_id = $1 AND (after_id IS NULL OR m.execution_id > after_id)
    ORDER BY m.execution_id
    LIMIT $3;
END
$$;

-- Cancel a flow. flow_only: the flow takes no new members, its members carry on; cancel_all: every
-- member not terminal is cancelled (a leased one's lease ends: its worker's next renew or complete
-- is lease_conflict); cancel_pending: the members not leased are cancelled, the leased ones drain.
-- One row per outcome: cancelled, left_running (leased, under cancel_pending, or every member under
-- flow_only), already_terminal.
CREATE FUNCTION ff_cancel_flow(flow_id uuid, policy text DEFAULT 'cancel_all', reason text DEFAULT 'flow_cancelled')
RETURNS TABLE (outcome text, members bigint)
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = @extschema@, pg_temp AS $$
#variable_conflict use_column
DECLARE
    pk smallint;
    f ff_flow;
    m record;
    cancelled bigint := 0;
    running bigint := 0;
    ended bigint := 0;
BEGIN
    IF $2 IS NULL OR $2 NOT IN ('flow_only', 'cancel_all', 'cancel_pending') THEN
        PERFORM ff_invalid('invalid_policy', 'policy must be flow_only, cancel_all or cancel_pending');
    END IF;
    IF $3 IS NULL OR octet_length($3) NOT BETWEEN 1 AND 256 THEN
        PERFORM ff_invalid('invalid_reason', 'reason must be 1-256 bytes');
    END IF;
    pk := ff_partition_for('', ff_required($1, 'flow_id'));
    UPDATE ff_flow x SET cancelled_at_ms = coalesce(x.cancelled_at_ms, ff_now_ms()), cancel_policy = coalesce(x.cancel_policy, $2),
        cancel_reason = coalesce(x.cancel_reason, $3)
    WHERE x.partition_key = pk AND x.flow_id = $1
    RETURNING * INTO f;
    IF NOT FOUND THEN
        PERFORM ff_raise('WF010', 'not_found', 'flow not found', 'flow');
    END IF;
    -- Newest first, so dependents and children are cancelled before what they wait on (not skipped
    -- by it), each under its own row lock (ff_cancel takes it); one that ended meanwhile is
    -- already_terminal.
    FOR m IN
        SELECT mm.execution_id, e.lifecycle_phase, e.ownership_state
        FROM ff_flow_member mm JOIN ff_exec_core e ON e.partition_key = mm.partition_key AND e.execution_id = mm.execution_id
        WHERE mm.partition_key = f.partition_key AND mm.flow_id = f.flow_id
        ORDER BY e.queue_seq DESC
    LOOP
        IF m.lifecycle_phase = 'terminal' THEN
            ended := ended + 1;
        ELSIF $2 = 'flow_only' OR ($2 = 'cancel_pending' AND m.ownership_state = 'leased') THEN
            running := running + 1;
        ELSIF (SELECT c.outcome FROM ff_cancel('{fp:' || f.partition_key || '}:' || m.execution_id, $3) c) = 'cancelled' THEN
            cancelled := cancelled + 1;
        ELSE
            ended := ended + 1;
        END IF;
    END LOOP;
    RETURN QUERY VALUES ('cancelled', cancelled), ('left_running', running), ('already_terminal', ended);
END
$$;

-- Announce this session as waiting for one execution's end or one flow's (every member ended, and
-- the flow cancelled or not open), unless it has ended already: then true and no announcement. The
-- transaction that ends it notifies ff_wake_<this backend's pid> with the execution id or
-- flow:<flow id> as payload; nothing else wakes the session, so a thousand waiters on a thousand
-- executions are told one each. LISTEN first, call, commit, sleep; after a notification call again.
CREATE FUNCTION ff_await_completion_body(p_execution_id text, p_flow_id uuid) RETURNS boolean
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = @extschema@, pg_temp AS $$
DECLARE
    pk smallint;
    id uuid;
    key text;
BEGIN
    IF (p_execution_id IS NULL) = (p_flow_id IS NULL) THEN
        PERFORM ff_invalid('execution_or_flow_required', 'give execution_id or flow_id, one of them');
    END IF;
    IF p_execution_id IS NOT NULL THEN
        SELECT x.partition_key, x.execution_uuid INTO pk, id FROM ff_parse_execution_id(p_execution_id) x;
        key := '{fp:' || pk || '}:' || id;
        -- Under the row lock: either the transaction that ends it sees the flag (and, committed with it,
        -- this announcement), or this one sees it ended.
        UPDATE ff_exec_core SET completion_waited = true
        WHERE partition_key = pk AND execution_id = id AND lifecycle_phase <> 'terminal';
        IF NOT FOUND THEN
            IF NOT EXISTS (SELECT 1 FROM ff_exec_core WHERE partition_key = pk AND execution_id = id) THEN
                PERFORM ff_raise('WF010', 'not_found', 'execution not found', 'execution');
            END IF;
            RETURN true;
        END IF;
    ELSE
        pk := ff_partition_for('', p_flow_id);
        IF NOT EXISTS (SELECT 1 FROM ff_flow WHERE partition_key = pk AND flow_id = p_flow_id) THEN
            PERFORM ff_raise('WF010', 'not_found', 'flow not found', 'flow');
        END IF;
        key := 'flow:' || p_flow_id;
        PERFORM pg_advisory_xact_lock(1717985655, hashtext('ff_completion_of:' || key));
        IF NOT EXISTS (SELECT 1 FROM ff_flow_member m JOIN ff_exec_core e ON e.partition_key = m.partition_key AND e.execution_id = m.execution_id
                       WHERE m.partition_key = pk AND m.flow_id = p_flow_id AND e.lifecycle_phase <> 'terminal')
           AND (EXISTS (SELECT 1 FROM ff_flow_member m WHERE m.partition_key = pk AND m.flow_id = p_flow_id)
                OR EXISTS (SELECT 1 FROM ff_flow f WHERE f.partition_key = pk AND f.flow_id = p_flow_id AND f.cancelled_at_ms IS NOT NULL)) THEN
            RETURN true;
        END IF;
    END IF;
    INSERT INTO ff_waiter (channel, lane_id, backend_pid, announced_at_ms)
    VALUES ('ff_completion_of', key, pg_backend_pid(), ff_now_ms())
    ON CONFLICT (channel, lane_id, backend_pid) DO UPDATE SET announced_at_ms = EXCLUDED.announced_at_ms;
    RETURN false;
END
$$;
COMMENT ON FUNCTION ff_await_completion_body(text, uuid) IS 'ff_await_completion''s body (internal).';

CREATE FUNCTION ff_await_completion(execution_id text DEFAULT NULL, flow_id uuid DEFAULT NULL) RETURNS boolean
LANGUAGE sql VOLATILE AS $$
    SELECT @extschema@.ff_await_completion_body($1, $2)
$$;

-- After a replay (ff_replay_execution, both editions): a member whose upstreams have not all
-- completed waits for them again (blocked_by_dependencies), one with an upstream that ended without
-- completing is skipped again; with_dependents also brings back every member skipped because of it,
-- transitively, as long as none of its own upstreams ended without completing.
CREATE FUNCTION ff_flow_replayed(pk smallint, id uuid, with_dependents boolean) RETURNS void
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    now_ms bigint := ff_now_ms();
    frontier uuid[] := ARRAY[id];
    revived uuid[];
BEGIN
    IF NOT EXISTS (SELECT 1 FROM ff_flow_member WHERE partition_key = pk AND execution_id = id) THEN
        RETURN;
    END IF;
    PERFORM ff_flow_recount(pk, frontier, now_ms);
    WHILE with_dependents LOOP
        WITH back AS (
            UPDATE ff_exec_core x SET lifecycle_phase = 'runnable', ownership_state = 'unowned',
                eligibility_state = 'blocked_by_dependencies',
                attempt_state = CASE WHEN x.attempt_index = 0 THEN 'pending_first_attempt' ELSE 'pending_replay_attempt' END,
                public_state = 'waiting_children', completed_at_ms = NULL, last_error = NULL, updated_at_ms = now_ms
            WHERE x.partition_key = pk AND x.public_state = 'skipped'
              AND x.execution_id IN (SELECT d.downstream_id FROM ff_flow_dependency d WHERE d.partition_key = pk AND d.upstream_id = ANY (frontier))
              AND NOT EXISTS (SELECT 1 FROM ff_flow_dependency u JOIN ff_exec_core ux ON ux.partition_key = u.partition_key AND ux.execution_id = u.upstream_id
                              WHERE u.partition_key = pk AND u.downstream_id = x.execution_id
                                AND ux.lifecycle_phase = 'terminal' AND ux.public_state <> 'completed')
            RETURNING x.execution_id)
        SELECT array_agg(execution_id) INTO revived FROM back;
        EXIT WHEN revived IS NULL;
        PERFORM ff_flow_recount(pk, revived, now_ms);
        frontier := revived;
    END LOOP;
END
$$;
COMMENT ON FUNCTION ff_flow_replayed(smallint, uuid, boolean) IS 'A replayed member waits for its upstreams again; with_dependents revives what it skipped (internal).';

-- Count again, for runnable members, the upstreams that have not completed (share-locked first, as at
-- create, so none ends between the count and the write): some left, it waits for them; none, it is
-- claimable (or delayed); one ended without completing, it is skipped.
CREATE FUNCTION ff_flow_recount(pk smallint, ids uuid[], now_ms bigint) RETURNS void
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    doomed_ids uuid[];
    ready_lanes text[];
    ready_priorities integer[];
    ready_seqs bigint[];
BEGIN
    PERFORM 1 FROM ff_exec_core u
    WHERE u.partition_key = pk
      AND u.execution_id IN (SELECT d.upstream_id FROM ff_flow_dependency d WHERE d.partition_key = pk AND d.downstream_id = ANY (ids))
    ORDER BY u.execution_id FOR SHARE;
    WITH counted AS (
        SELECT m.execution_id,
               count(u.execution_id) FILTER (WHERE u.public_state <> 'completed') AS left_count,
               coalesce(bool_or(u.lifecycle_phase = 'terminal' AND u.public_state <> 'completed'), false) AS doomed
        FROM ff_flow_member m
        LEFT JOIN ff_flow_dependency d ON d.partition_key = m.partition_key AND d.downstream_id = m.execution_id
        LEFT JOIN ff_exec_core u ON u.partition_key = d.partition_key AND u.execution_id = d.upstream_id
        WHERE m.partition_key = pk AND m.execution_id = ANY (ids)
        GROUP BY m.execution_id),
    members AS (
        UPDATE ff_flow_member m SET upstreams_left = c.left_count FROM counted c
        WHERE m.partition_key = pk AND m.execution_id = c.execution_id
        RETURNING m.execution_id, c.left_count, c.doomed),
    states AS (
        UPDATE ff_exec_core x SET
            eligibility_state = CASE WHEN c.left_count > 0 OR c.doomed THEN 'blocked_by_dependencies'
                                     WHEN x.eligible_at_ms > now_ms THEN 'not_eligible_until_time' ELSE 'eligible_now' END,
            public_state = CASE WHEN c.left_count > 0 OR c.doomed THEN 'waiting_children'
                                WHEN x.eligible_at_ms > now_ms THEN 'delayed' ELSE 'waiting' END,
            updated_at_ms = now_ms
        FROM members c
        WHERE x.partition_key = pk AND x.execution_id = c.execution_id AND x.lifecycle_phase = 'runnable'
          AND x.eligibility_state IN ('eligible_now', 'not_eligible_until_time', 'blocked_by_dependencies')
        RETURNING x.execution_id, x.lane_id, x.priority, x.queue_seq, x.eligibility_state, c.doomed)
    SELECT array_agg(execution_id) FILTER (WHERE doomed), array_agg(lane_id) FILTER (WHERE eligibility_state = 'eligible_now'),
           array_agg(priority) FILTER (WHERE eligibility_state = 'eligible_now'),
           array_agg(queue_seq) FILTER (WHERE eligibility_state = 'eligible_now')
    INTO doomed_ids, ready_lanes, ready_priorities, ready_seqs FROM states;
    IF doomed_ids IS NOT NULL THEN
        PERFORM ff_flow_skip(pk, doomed_ids, now_ms);
    END IF;
    IF ready_lanes IS NOT NULL THEN
        PERFORM ff_claim_start_lower_rows(ready_lanes, ready_priorities, ready_seqs);
        PERFORM ff_wake('{}', ARRAY(SELECT DISTINCT l FROM unnest(ready_lanes) l ORDER BY 1));
    END IF;
END
$$;
COMMENT ON FUNCTION ff_flow_recount(smallint, uuid[], bigint) IS 'Count a member''s upstreams again and set its state from them (internal).';
