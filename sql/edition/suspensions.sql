-- ff_engine SQL edition: waitpoints and suspend (ff_create_waitpoint, ff_suspend,
-- ff_list_pending_waitpoints, ff_list_suspended, ff_read_waitpoint_token), as the Rust edition
-- (src/store/suspensions.rs, core/src/suspend.rs, core/src/bindings.rs). Tokens are never stored:
-- recomputed from the waitpoint's token_kid whenever returned.

-- The token of a waitpoint under the key it was minted with (WF003 when that key was reaped).
CREATE FUNCTION ff_token_for(pk smallint, id uuid, waitpoint_id uuid, kid text) RETURNS text
LANGUAGE plpgsql STABLE AS $$
DECLARE
    k record;
BEGIN
    SELECT x.kid, x.hmac_pads INTO k FROM ff_keystore x WHERE x.kid = ff_token_for.kid;
    IF NOT FOUND THEN
        PERFORM ff_raise('WF003', 'token_expired', 'the waitpoint''s signing key was retired and reaped');
    END IF;
    RETURN ff_waitpoint_token(k.kid, k.hmac_pads, '{fp:' || pk || '}:' || id, waitpoint_id);
END
$$;
COMMENT ON FUNCTION ff_token_for(smallint, uuid, uuid, text) IS 'Recompute a waitpoint token (internal).';

CREATE FUNCTION ff_fingerprint(token text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT left(substr(token, length(token) - strpos(reverse(token), ':') + 2), 16)
$$;
COMMENT ON FUNCTION ff_fingerprint(text) IS 'First 16 hex digits of a token''s digest (internal).';

CREATE FUNCTION ff_create_waitpoint_body(p_execution_id text, p_lease_id uuid, p_lease_epoch bigint, p_key text, p_expires_in_ms bigint)
RETURNS TABLE (r_waitpoint_id uuid, r_waitpoint_key text, r_token text)
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = @extschema@, pg_temp AS $$
DECLARE
    id record := ff_parse_execution_id(ff_required(p_execution_id, 'execution_id'));
    now_ms bigint;
    k record;
    wp uuid := gen_random_uuid();
    token text;
    fingerprint text;
    expires bigint;
    created uuid;
BEGIN
    p_key := ff_required(p_key, 'waitpoint_key');
    p_key := ff_check_optional_text(p_key, 'waitpoint_key', 256);
    p_expires_in_ms := ff_required(p_expires_in_ms, 'expires_in_ms');
    p_expires_in_ms := ff_check_ms(p_expires_in_ms, 'expires_in_ms', 1);
    now_ms := ff_now_ms();
    PERFORM ff_lock_leased(id.partition_key, id.execution_uuid, p_lease_id, p_lease_epoch, now_ms);
    k := ff_active_key();
    token := ff_waitpoint_token(k.kid, k.hmac_pads, p_execution_id, wp);
    fingerprint := ff_fingerprint(token);
    expires := now_ms + p_expires_in_ms;
    -- @statement suspensions/insert_waitpoint.sql: id.partition_key, id.execution_uuid, wp, p_key, k.kid, fingerprint, now_ms, expires
    INSERT INTO ff_waitpoint (partition_key, execution_id, waitpoint_id, waitpoint_key, suspension_id, state,
        token_kid, token_fingerprint, required_signal_names, created_at_ms, activated_at_ms, expires_at_ms)
    VALUES (id.partition_key, id.execution_uuid, wp, p_key, NULL, 'pending', k.kid, fingerprint, '{}', now_ms, NULL, expires)
    ON CONFLICT DO NOTHING
    RETURNING waitpoint_id
    -- @end statement
    INTO created;
    RETURN QUERY SELECT wp, p_key, token;
END
$$;
COMMENT ON FUNCTION ff_create_waitpoint_body(text, uuid, bigint, text, bigint) IS 'ff_create_waitpoint''s body (internal).';

CREATE FUNCTION ff_create_waitpoint(execution_id text, lease_id uuid, lease_epoch bigint, waitpoint_key text,
    expires_in_ms bigint DEFAULT 3600000)
RETURNS TABLE (waitpoint_id uuid, waitpoint_key text, token text)
LANGUAGE sql STABLE AS $$
    SELECT * FROM @extschema@.ff_create_waitpoint_body($1, $2, $3, $4, $5)
$$;

-- The bindings of a suspend (core/src/bindings.rs parse_specs): [{waitpoint_key, waitpoint_id?} |
-- {use_pending: id}], as (kind, id, key) rows in order; WF001 as the Rust edition.
CREATE FUNCTION ff_parse_bindings(v jsonb) RETURNS TABLE (ord integer, use_pending boolean, waitpoint_id uuid, waitpoint_key text)
LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE
    e record;
    u uuid;
BEGIN
    IF jsonb_typeof(v) <> 'array' THEN
        PERFORM ff_invalid('invalid_waitpoints', 'invalid_waitpoints: waitpoints must be a JSON array');
    END IF;
    IF jsonb_array_length(v) = 0 THEN
        PERFORM ff_invalid('waitpoints_empty', 'waitpoints_empty: waitpoints must bind at least one waitpoint');
    END IF;
    IF jsonb_array_length(v) > 64 THEN
        PERFORM ff_invalid('invalid_waitpoints', 'invalid_waitpoints: at most 64 waitpoints');
    END IF;
    FOR e IN SELECT x, o FROM jsonb_array_elements(v) WITH ORDINALITY AS a(x, o) ORDER BY o LOOP
        IF jsonb_typeof(e.x) <> 'object' THEN
            PERFORM ff_invalid('invalid_waitpoints', 'invalid_waitpoints: each binding must be an object');
        END IF;
        IF e.x ? 'use_pending' THEN
            IF (SELECT count(*) FROM jsonb_object_keys(e.x)) <> 1 THEN
                PERFORM ff_invalid('invalid_waitpoints', 'invalid_waitpoints: use_pending stands alone');
            END IF;
            u := CASE WHEN jsonb_typeof(e.x -> 'use_pending') = 'string' THEN ff_parse_uuid_text(e.x ->> 'use_pending') END;
            IF u IS NULL THEN
                PERFORM ff_invalid('invalid_waitpoints', 'invalid_waitpoints: waitpoint ids must be uuids');
            END IF;
            RETURN QUERY SELECT e.o::integer, true, u, NULL::text;
            CONTINUE;
        END IF;
        IF EXISTS (SELECT 1 FROM jsonb_object_keys(e.x) k WHERE k NOT IN ('waitpoint_id', 'waitpoint_key')) THEN
            PERFORM ff_invalid('invalid_waitpoints', 'invalid_waitpoints: a binding has waitpoint_key and optionally waitpoint_id');
        END IF;
        IF jsonb_typeof(e.x -> 'waitpoint_key') IS DISTINCT FROM 'string' OR NOT octet_length(e.x ->> 'waitpoint_key') <@ '[1,256]'::int4range THEN
            PERFORM ff_invalid('invalid_waitpoint_key', 'invalid_waitpoint_key: waitpoint keys are 1-256 bytes');
        END IF;
        u := NULL;
        IF e.x ? 'waitpoint_id' AND e.x -> 'waitpoint_id' <> 'null' THEN
            u := CASE WHEN jsonb_typeof(e.x -> 'waitpoint_id') = 'string' THEN ff_parse_uuid_text(e.x ->> 'waitpoint_id') END;
            IF u IS NULL THEN
                PERFORM ff_invalid('invalid_waitpoints', 'invalid_waitpoints: waitpoint ids must be uuids');
            END IF;
        END IF;
        RETURN QUERY SELECT e.o::integer, false, u, e.x ->> 'waitpoint_key';
    END LOOP;
END
$$;
COMMENT ON FUNCTION ff_parse_bindings(jsonb) IS 'Parse ff_suspend''s waitpoints argument (internal).';

CREATE FUNCTION ff_not_one_of(value text, allowed text[], field text) RETURNS text
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
BEGIN
    value := ff_required(value, field);
    PERFORM ff_invalid('invalid_' || field, format('%s must be one of %s', field, array_to_string(allowed, ', ')));
    RETURN NULL;
END
$$;
COMMENT ON FUNCTION ff_not_one_of(text, text[], text) IS 'WF001 for a value not in its list (internal).';

-- A required value from a list, or WF001 (<field>_required, invalid_<field>). SQL, so PostgreSQL
-- writes it into the caller's expression: no call unless the value is refused.
CREATE FUNCTION ff_one_of(value text, allowed text[], field text) RETURNS text
LANGUAGE sql VOLATILE PARALLEL SAFE AS $$
    SELECT CASE WHEN value = ANY (allowed) THEN value ELSE ff_not_one_of(value, allowed, field) END
$$;
COMMENT ON FUNCTION ff_one_of(text, text[], text) IS 'A required value from a list, or WF001 invalid_<field> (internal).';

-- suspend::check (core/src/suspend.rs), after the argument conversion (which passed the condition
-- through ff_check_jsonb): the condition, the binding
-- specs, the timeout behaviour (auto_resume is auto_resume_with_timeout_signal), and the checks of
-- the other arguments, in the Rust edition's order.
CREATE TYPE ff_suspend_args AS (cond jsonb, specs jsonb, behavior text);
COMMENT ON TYPE ff_suspend_args IS 'A suspend''s checked condition, binding specs and timeout behaviour (internal).';

CREATE FUNCTION ff_suspend_check(p_condition jsonb, p_waitpoints jsonb, p_timeout_at_ms bigint, p_timeout_behavior text,
    p_reason_code text, p_requested_by text, p_idempotency_key text, p_continuation text, now_ms bigint)
RETURNS ff_suspend_args
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    cond jsonb;
    specs jsonb;
    behavior text;
BEGIN
    cond := ff_cond_parse(p_condition);
    IF p_waitpoints IS NOT NULL AND p_waitpoints <> 'null' THEN
        SELECT jsonb_agg(jsonb_build_object('use_pending', x.use_pending, 'id', x.waitpoint_id, 'key', x.waitpoint_key) ORDER BY x.ord)
        INTO specs FROM ff_parse_bindings(p_waitpoints) x;
    END IF;
    behavior := ff_one_of(p_timeout_behavior, '{fail,cancel,expire,auto_resume_with_timeout_signal,auto_resume,escalate}', 'timeout_behavior');
    IF behavior = 'auto_resume' THEN
        behavior := 'auto_resume_with_timeout_signal';
    END IF;
    p_reason_code := ff_one_of(p_reason_code, '{waiting_for_signal,waiting_for_approval,waiting_for_callback,waiting_for_tool_result,waiting_for_operator_review,paused_by_policy,paused_by_budget,step_boundary,manual_pause}', 'reason_code');
    p_requested_by := ff_one_of(p_requested_by, '{worker,operator,policy,system_timeout_policy}', 'requested_by');
    p_idempotency_key := ff_check_optional_text(p_idempotency_key, 'idempotency_key', 256);
    IF octet_length(p_continuation) > 65536 THEN
        PERFORM ff_invalid('invalid_continuation', 'continuation must be at most 64 KiB');
    END IF;
    IF p_timeout_at_ms IS NULL AND cond = '"TimeoutOnly"' THEN
        PERFORM ff_invalid('timeout_only_without_deadline', 'timeout_only_without_deadline: a TimeoutOnly condition needs timeout_at_ms');
    END IF;
    IF p_timeout_at_ms < now_ms - 600000 THEN
        PERFORM ff_invalid('timeout_at_in_past', 'timeout_at_in_past: timeout_at_ms is more than 10 minutes in the past');
    END IF;
    RETURN ROW(cond, specs, behavior)::ff_suspend_args;
END
$$;
COMMENT ON FUNCTION ff_suspend_check(jsonb, jsonb, bigint, text, text, text, text, text, bigint) IS 'Check a suspend''s arguments (internal).';

-- A suspend's row (ff_suspend's).
CREATE TYPE ff_suspend_row AS (outcome text, suspension_id uuid, waitpoint_id uuid, waitpoint_key text, token text);
COMMENT ON TYPE ff_suspend_row IS 'A suspend''s row (internal).';

-- A suspend repeated under its idempotency key: the rows the first one returned, tokens signed again.
CREATE FUNCTION ff_suspend_replayed(pk smallint, xid uuid, replay jsonb)
RETURNS SETOF ff_suspend_row
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    b jsonb;
BEGIN
    FOR b IN SELECT x FROM jsonb_array_elements(replay) WITH ORDINALITY AS a(x, o) ORDER BY o LOOP
        RETURN QUERY SELECT coalesce(b ->> 'outcome', ''), (b ->> 'suspension_id')::uuid, (b ->> 'waitpoint_id')::uuid, b ->> 'waitpoint_key',
            CASE WHEN b ? 'waitpoint_id' AND b ? 'token_kid'
                 THEN ff_token_for(pk, xid, (b ->> 'waitpoint_id')::uuid, b ->> 'token_kid') END;
    END LOOP;
END
$$;
COMMENT ON FUNCTION ff_suspend_replayed(smallint, uuid, jsonb) IS 'The rows of a suspend repeated under its idempotency key (internal).';

-- A suspend's bindings (core/src/bindings.rs resolve), primary first, one array per field: each
-- bound waitpoint's id and key, whether it was created pending, and a pending one's token kid (NULL
-- for a fresh one). Arrays, not a jsonb object per binding: building such an object and reading its
-- fields back cost ~30 000 instructions per waitpoint more (PostgreSQL looks up how to convert every
-- value into jsonb on each call), and `true = ANY (pending)` tells whether any is pending in one
-- operator.
CREATE TYPE ff_bindings AS (ids uuid[], keys text[], pending boolean[], kids text[]);
COMMENT ON TYPE ff_bindings IS 'A suspend''s bound waitpoints, primary first (internal).';

-- Whether the bindings `keys` and `ids` bind each waitpoint key and id once (core/src/bindings.rs
-- check), and only keys the condition references: WF001 in the Rust edition's order, binding by binding.
CREATE FUNCTION ff_bindings_check(cond_keys text[], keys text[], ids uuid[]) RETURNS boolean
LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE
    k text;
BEGIN
    FOREACH k IN ARRAY cond_keys LOOP
        IF array_position(keys, k) IS NULL THEN
            PERFORM ff_invalid('referenced_waitpoint_key_missing_binding', 'referenced_waitpoint_key_missing_binding: ' || k);
        END IF;
    END LOOP;
    FOR i IN 1 .. cardinality(keys) LOOP
        IF NOT keys[i] = ANY (cond_keys) THEN
            PERFORM ff_invalid('extra_binding_not_referenced_by_condition', 'extra_binding_not_referenced_by_condition: ' || keys[i]);
        END IF;
        IF array_position(keys[1:i - 1], keys[i]) IS NOT NULL OR array_position(ids[1:i - 1], ids[i]) IS NOT NULL THEN
            PERFORM ff_invalid('duplicate_binding', 'duplicate_binding: each waitpoint key and id may be bound once');
        END IF;
    END LOOP;
    RETURN true;
END
$$;
COMMENT ON FUNCTION ff_bindings_check(text[], text[], uuid[]) IS 'Check bindings given as specs against the condition''s keys (internal).';

-- Bindings given as specs (core/src/bindings.rs resolve): use_pending ones looked up, fresh ones
-- minted, then checked against the condition's keys.
CREATE FUNCTION ff_bindings_from_specs(pk smallint, xid uuid, cond jsonb, cond_keys text[], specs jsonb, now_ms bigint) RETURNS ff_bindings
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    ids uuid[] := '{}';
    keys text[] := '{}';
    pending boolean[] := '{}';
    kids text[] := '{}';
    b jsonb;
    pw record;
    checked boolean;
BEGIN
    FOR b IN SELECT x FROM jsonb_array_elements(specs) WITH ORDINALITY AS a(x, o) ORDER BY o LOOP
        IF NOT (b ->> 'use_pending')::boolean THEN
            ids := ids || coalesce((b ->> 'id')::uuid, gen_random_uuid());
            keys := keys || (b ->> 'key');
            pending := pending || false;
            kids := kids || NULL::text;
            CONTINUE;
        END IF;
        SELECT x.waitpoint_id, x.waitpoint_key, x.state, x.expires_at_ms, x.token_kid INTO pw FROM ff_waitpoint x
        WHERE x.partition_key = pk AND x.execution_id = xid AND x.state <> 'closed'
          AND x.waitpoint_id = (b ->> 'id')::uuid;
        IF NOT FOUND THEN
            PERFORM ff_invalid('invalid_waitpoint_for_execution', 'invalid_waitpoint_for_execution: use_pending names no open waitpoint of this execution');
        END IF;
        IF pw.state <> 'pending' THEN
            PERFORM ff_invalid('waitpoint_not_pending', 'waitpoint_not_pending: use_pending names a waitpoint that is already bound');
        END IF;
        IF pw.expires_at_ms <= now_ms THEN
            PERFORM ff_invalid('pending_waitpoint_expired', 'pending_waitpoint_expired: the pending waitpoint has expired');
        END IF;
        ids := ids || pw.waitpoint_id;
        keys := keys || pw.waitpoint_key;
        pending := pending || true;
        kids := kids || pw.token_kid;
    END LOOP;
    IF cond ? 'Single' AND keys[1] <> cond -> 'Single' ->> 'waitpoint_key' THEN
        PERFORM ff_invalid('waitpoint_key_mismatch', 'waitpoint_key_mismatch: the Single condition''s key differs from the primary binding');
    END IF;
    checked := ff_bindings_check(cond_keys, keys, ids);
    RETURN ROW(ids, keys, pending, kids)::ff_bindings;
END
$$;
COMMENT ON FUNCTION ff_bindings_from_specs(smallint, uuid, jsonb, text[], jsonb, bigint) IS 'Resolve and check bindings given as specs (internal).';

-- Bindings (core/src/bindings.rs resolve): without specs, per key of the condition its oldest open
-- pending waitpoint, else a fresh one; with specs, ff_bindings_from_specs.
CREATE FUNCTION ff_suspend_bindings(pk smallint, xid uuid, cond jsonb, specs jsonb, now_ms bigint) RETURNS ff_bindings
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    cond_keys text[];
    ids uuid[];  -- appended to from NULL (no initial value: one expression less in every call)
    pending boolean[];
    kids text[];
    pw record;
    k text;
BEGIN
    -- A Single's one key read here, without a call (ff_cond_keys reads every condition's).
    IF cond ? 'Single' THEN
        cond_keys := ARRAY[cond -> 'Single' ->> 'waitpoint_key'];
    ELSE
        cond_keys := ff_cond_keys(cond);
    END IF;
    IF specs IS NOT NULL THEN
        RETURN ff_bindings_from_specs(pk, xid, cond, cond_keys, specs, now_ms);
    END IF;
    FOREACH k IN ARRAY cond_keys LOOP
        SELECT x.waitpoint_id, x.token_kid INTO pw FROM ff_waitpoint x
        WHERE x.partition_key = pk AND x.execution_id = xid AND x.state = 'pending'
          AND x.waitpoint_key = k AND (x.expires_at_ms IS NULL OR x.expires_at_ms > now_ms)
        ORDER BY x.created_at_ms, x.waitpoint_id LIMIT 1;
        ids := ids || CASE WHEN FOUND THEN pw.waitpoint_id ELSE gen_random_uuid() END;
        pending := pending || FOUND;
        kids := kids || pw.token_kid;
    END LOOP;
    -- One binding per key, each key once: nothing to check.
    RETURN ROW(coalesce(ids, '{}'), cond_keys, coalesce(pending, '{}'), coalesce(kids, '{}'))::ff_bindings;
END
$$;
COMMENT ON FUNCTION ff_suspend_bindings(smallint, uuid, jsonb, jsonb, bigint) IS 'Resolve a suspend''s waitpoint bindings (internal).';

-- The signals buffered on the bound pending waitpoints, evaluated in order against the condition,
-- each one's effect recorded; the satisfiers when they already satisfy it, else NULL.
CREATE FUNCTION ff_suspend_buffered(pk smallint, xid uuid, sid uuid, cond jsonb, bound ff_bindings) RETURNS bigint[]
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    s record;
    counted jsonb := '[]';
    satisfied bigint[];
    sig_effect text;
    sats bigint[];
BEGIN
    FOR s IN
        SELECT g.signal_seq, g.signal_id, g.waitpoint_key, g.signal_name, g.source_type, g.source_identity, g.correlation_id FROM ff_signal g
        WHERE g.partition_key = pk AND g.execution_id = xid
          AND g.waitpoint_id IN (SELECT u.id FROM unnest(bound.ids, bound.pending) AS u(id, pending) WHERE u.pending)
        ORDER BY g.signal_seq
    LOOP
        IF satisfied IS NOT NULL THEN
            sig_effect := 'appended_to_waitpoint_duplicate';
        ELSE
            SELECT x.effect, x.satisfiers INTO sig_effect, sats
            FROM ff_cond_effect(cond, counted, jsonb_build_object('seq', s.signal_seq, 'signal_id', s.signal_id, 'waitpoint_key', s.waitpoint_key,
                'name', s.signal_name, 'source_type', s.source_type, 'source_identity', s.source_identity,
                'correlation_id', s.correlation_id)) x;
            IF sig_effect = 'resume_condition_satisfied' THEN
                satisfied := sats;
            END IF;
            IF sig_effect NOT IN ('signal_ignored_not_in_condition', 'no_op', 'signal_ignored_matcher_failed') THEN
                counted := counted || jsonb_build_array(jsonb_build_object('seq', s.signal_seq, 'signal_id', s.signal_id,
                    'waitpoint_key', s.waitpoint_key, 'name', s.signal_name, 'source_type', s.source_type, 'source_identity', s.source_identity,
                    'correlation_id', s.correlation_id));
            END IF;
        END IF;
        -- @statement suspensions/set_signal_effect.sql: pk, xid, sid, sig_effect, s.signal_seq
        UPDATE ff_signal SET suspension_id = sid, effect = sig_effect
        WHERE partition_key = pk AND execution_id = xid AND signal_seq = s.signal_seq
        -- @end statement
        ;
    END LOOP;
    RETURN satisfied;
END
$$;
COMMENT ON FUNCTION ff_suspend_buffered(smallint, uuid, uuid, jsonb, ff_bindings) IS 'Replay the signals buffered before a suspend (internal).';

-- A fresh waitpoint a suspend inserts.
CREATE TYPE ff_fresh_waitpoint AS (waitpoint_id uuid, waitpoint_key text, token_kid text, token_fingerprint text,
    required_signal_names text[]);
COMMENT ON TYPE ff_fresh_waitpoint IS 'A fresh waitpoint a suspend inserts (internal).';

-- What a suspend writes and returns: its fresh waitpoints and the rows it returns (which, under an
-- idempotency key, it also stores: ff_suspend_remember).
CREATE TYPE ff_suspend_layout AS (fresh ff_fresh_waitpoint[], out_rows ff_suspend_row[]);
COMMENT ON TYPE ff_suspend_layout IS 'A suspend''s fresh waitpoints and returned rows (internal).';

-- Sign and lay out: per bound waitpoint its token (a pending one keeps its key), a pending one bound
-- to the suspension (closed at once when already satisfied), a fresh one listed for the write; the
-- rows to return (one without a waitpoint when none is left to return).
CREATE FUNCTION ff_suspend_sign(pk smallint, xid uuid, ref text, sid uuid, cond jsonb, bound ff_bindings, signing_kid text,
    signing_pads bytea, already boolean, now_ms bigint) RETURNS ff_suspend_layout
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    -- Arrays appended to from NULL (no initial value: one expression less in every call).
    fresh ff_fresh_waitpoint[];
    out_rows ff_suspend_row[];
    kid text;
    token text;
    names text[];
    bind_state text;
    bind_close text;
BEGIN
    FOR i IN 1 .. cardinality(bound.ids) LOOP
        kid := CASE WHEN bound.pending[i] THEN bound.kids[i] ELSE signing_kid END;
        IF kid = signing_kid THEN  -- two statements, not a CASE: an expression sets up every function it names
            token := ff_waitpoint_token(signing_kid, signing_pads, ref, bound.ids[i]);
        ELSE
            token := ff_token_for(pk, xid, bound.ids[i], kid);
        END IF;
        -- A Single's required name read here, without a call (as ff_cond_required_names reads it).
        IF cond ? 'Single' THEN
            names := CASE WHEN cond -> 'Single' ->> 'waitpoint_key' = bound.keys[i] AND cond -> 'Single' -> 'matcher' ? 'ByName'
                          THEN ARRAY[cond -> 'Single' -> 'matcher' ->> 'ByName'] ELSE '{}' END;
        ELSE
            names := ff_cond_required_names(cond, bound.keys[i]);
        END IF;
        IF bound.pending[i] THEN
            bind_state := CASE WHEN already THEN 'closed' ELSE 'active' END;
            bind_close := CASE WHEN already THEN 'satisfied_before_suspend' END;
            -- @statement suspensions/bind_pending.sql: pk, xid, bound.ids[i], bind_state, sid, now_ms, names, bind_close
            UPDATE ff_waitpoint SET state = bind_state, suspension_id = sid, activated_at_ms = now_ms, required_signal_names = names,
                closed_at_ms = CASE WHEN bind_state = 'closed' THEN now_ms END, close_reason = bind_close
            WHERE partition_key = pk AND execution_id = xid AND waitpoint_id = bound.ids[i]
            -- @end statement
            ;
        ELSIF already THEN
            CONTINUE;
        ELSE
            fresh := fresh || ROW(bound.ids[i], bound.keys[i], kid, ff_fingerprint(token), names)::ff_fresh_waitpoint;
        END IF;
        out_rows := out_rows || ROW(CASE WHEN already THEN 'already_satisfied' ELSE 'suspended' END, sid, bound.ids[i], bound.keys[i], token)::ff_suspend_row;
    END LOOP;
    IF out_rows IS NULL THEN
        out_rows := ARRAY[ROW(CASE WHEN already THEN 'already_satisfied' ELSE 'suspended' END, sid, NULL, NULL, NULL)::ff_suspend_row];
    END IF;
    RETURN ROW(coalesce(fresh, '{}'), out_rows)::ff_suspend_layout;
END
$$;
COMMENT ON FUNCTION ff_suspend_sign(smallint, uuid, text, uuid, jsonb, ff_bindings, text, bytea, boolean, bigint) IS 'Sign and lay out a suspend''s waitpoints (internal).';

-- A suspend's lock and fence: the execution row locked; the rows of an earlier suspend under the same
-- idempotency key when there is one (returned, no more checks); else WF023 when a suspension is open,
-- and the lease fence. NULL when the suspend goes on.
CREATE FUNCTION ff_suspend_lock(pk smallint, xid uuid, p_idempotency_key text, p_lease_id uuid, p_lease_epoch bigint, now_ms bigint)
RETURNS jsonb
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    e ff_exec_core;
    replay jsonb;
BEGIN
    -- ff_lock_execution's read written here (a PL/pgSQL call less); it raises when there is no row.
    e := (SELECT x FROM ff_exec_core x WHERE x.partition_key = pk AND x.execution_id = xid FOR UPDATE);
    IF e.execution_id IS NULL THEN
        e := ff_lock_execution(pk, xid);
    END IF;
    IF p_idempotency_key IS NOT NULL THEN
        SELECT d.result_rows INTO replay FROM ff_suspend_dedup d
        WHERE d.partition_key = pk AND d.execution_id = xid AND d.idempotency_key = p_idempotency_key;
    END IF;
    IF replay IS NOT NULL THEN
        RETURN replay;
    END IF;
    IF EXISTS (SELECT 1 FROM ff_suspension x WHERE x.partition_key = pk AND x.execution_id = xid AND x.state = 'open') THEN
        PERFORM ff_raise('WF023', 'already_suspended', 'the execution already has an open suspension');
    END IF;
    IF NOT ff_fence_holds(e, p_lease_id, p_lease_epoch, now_ms) THEN
        p_lease_id := ff_required(p_lease_id, 'lease_id');
        p_lease_epoch := ff_required(p_lease_epoch, 'lease_epoch');
        e := ff_check_fence(e, p_lease_id, p_lease_epoch, now_ms);
    END IF;
    RETURN NULL;
END
$$;
COMMENT ON FUNCTION ff_suspend_lock(smallint, uuid, text, uuid, bigint, bigint) IS 'Lock a suspending execution and check its fence (internal).';

-- Write a suspend: the suspension (closed at once when the buffered signals already satisfy it),
-- the fresh waitpoints, the lease's end; then the wake-up. The Rust edition's one statement
-- (suspensions/suspend_write.sql) statement by statement, as the lease end (ff_end_lease): cheaper
-- in PL/pgSQL, and each statement one shard's on Citus.
CREATE FUNCTION ff_suspend_write(pk smallint, xid uuid, ref text, sid uuid, cond jsonb, p_reason_code text, p_requested_by text,
    p_timeout_at_ms bigint, behavior text, p_continuation text, satisfied bigint[], fresh ff_fresh_waitpoint[], now_ms bigint) RETURNS boolean
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    w ff_fresh_waitpoint;
    ns text;
    lid uuid;
    epoch bigint;
BEGIN
    -- Already satisfied (signals buffered on its pending waitpoints), the suspension is written closed.
    -- @statement suspensions/insert_suspension.sql: pk, xid, sid, CASE WHEN satisfied IS NOT NULL THEN 'closed' ELSE 'open' END, cond, p_reason_code, p_requested_by, p_timeout_at_ms, behavior, p_continuation, now_ms, CASE WHEN satisfied IS NOT NULL THEN now_ms END, CASE WHEN satisfied IS NOT NULL THEN 'already_satisfied' END, satisfied
    INSERT INTO ff_suspension (partition_key, execution_id, suspension_id, state, resume_condition, reason_code,
        requested_by, timeout_at_ms, timeout_behavior, continuation, suspended_at_ms, closed_at_ms, close_reason,
        satisfier_seqs)
    VALUES (pk, xid, sid, CASE WHEN satisfied IS NOT NULL THEN 'closed' ELSE 'open' END, cond, p_reason_code, p_requested_by, p_timeout_at_ms, behavior, p_continuation, now_ms, CASE WHEN satisfied IS NOT NULL THEN now_ms END, CASE WHEN satisfied IS NOT NULL THEN 'already_satisfied' END, satisfied)
    -- @end statement
    ;
    FOREACH w IN ARRAY fresh LOOP
        -- @statement suspensions/insert_fresh_waitpoint.sql: pk, xid, w.waitpoint_id, w.waitpoint_key, sid, w.token_kid, w.token_fingerprint, w.required_signal_names, now_ms, p_timeout_at_ms
        INSERT INTO ff_waitpoint (partition_key, execution_id, waitpoint_id, waitpoint_key, suspension_id, state,
            token_kid, token_fingerprint, required_signal_names, created_at_ms, activated_at_ms, expires_at_ms)
        VALUES (pk, xid, w.waitpoint_id, w.waitpoint_key, sid, 'active', w.token_kid, w.token_fingerprint, w.required_signal_names, now_ms, now_ms, p_timeout_at_ms)
        ON CONFLICT DO NOTHING
        -- @end statement
        ;
        IF NOT FOUND THEN
            PERFORM ff_invalid('waitpoint_id_exists', 'waitpoint_id_exists: that waitpoint id is already used');
        END IF;
    END LOOP;
    IF satisfied IS NOT NULL THEN
        RETURN true;
    END IF;
    -- @statement suspensions/suspend_lease_end.sql: pk, xid, 'suspended', 'unowned', 'not_applicable', 'attempt_interrupted', 'suspended', now_ms
    UPDATE ff_exec_core SET lifecycle_phase = 'suspended', ownership_state = 'unowned', eligibility_state = 'not_applicable',
        attempt_state = 'attempt_interrupted', public_state = 'suspended', lease_epoch = lease_epoch + 1, lease_expires_at_ms = NULL,
        interrupt_reason = 'suspended', updated_at_ms = now_ms
    WHERE partition_key = pk AND execution_id = xid
    RETURNING namespace, lease_id, lease_epoch
    -- @end statement
    INTO ns, lid, epoch;
    -- @statement events/lease_event.sql: pk, ref, ns, now_ms, lid, epoch, 'revoked'
    INSERT INTO ff_lease_event (partition_key, execution_id, namespace, occurred_at_ms, lease_id, lease_epoch, event_type)
    VALUES (pk, ref, ns, now_ms, lid, epoch, 'revoked')
    -- @end statement
    ;
    RETURN ff_wake_one('ff_lease_event', '');  -- the lease's end woken (true)
END
$$;
COMMENT ON FUNCTION ff_suspend_write(smallint, uuid, text, uuid, jsonb, text, text, bigint, text, text, bigint[], ff_fresh_waitpoint[], bigint)
    IS 'Write a suspend (internal).';

-- Remember a suspend's rows under its idempotency key, until a minute past its timeout (a week
-- without one): per row its outcome and suspension, and its waitpoint's id, key and token kid (the
-- token itself is signed again when the suspend is repeated: ff_suspend_replayed).
CREATE FUNCTION ff_suspend_remember(pk smallint, xid uuid, p_idempotency_key text, out_rows ff_suspend_row[], p_timeout_at_ms bigint,
    now_ms bigint) RETURNS boolean
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    dedup_expires bigint;
    stored jsonb;
BEGIN
    -- A row without a waitpoint (nothing left to return) stores its outcome and suspension only.
    stored := (SELECT jsonb_agg(jsonb_strip_nulls(jsonb_build_object('outcome', r.outcome, 'suspension_id', r.suspension_id,
                   'waitpoint_id', r.waitpoint_id, 'waitpoint_key', r.waitpoint_key, 'token_kid', split_part(r.token, ':', 1)))
                   ORDER BY r.o)
               FROM unnest(out_rows) WITH ORDINALITY AS r(outcome, suspension_id, waitpoint_id, waitpoint_key, token, o));
    dedup_expires := CASE WHEN p_timeout_at_ms IS NULL THEN now_ms + 7 * 86400000 ELSE greatest(p_timeout_at_ms, now_ms) + 60000 END;
    -- @statement suspensions/dedup_put.sql: pk, xid, p_idempotency_key, stored, dedup_expires
    INSERT INTO ff_suspend_dedup (partition_key, execution_id, idempotency_key, result_rows, expires_at_ms)
    VALUES (pk, xid, p_idempotency_key, stored, dedup_expires)
    ON CONFLICT (partition_key, execution_id, idempotency_key)
    DO UPDATE SET result_rows = EXCLUDED.result_rows, expires_at_ms = EXCLUDED.expires_at_ms
    -- @end statement
    ;
    RETURN true;
END
$$;
COMMENT ON FUNCTION ff_suspend_remember(smallint, uuid, text, ff_suspend_row[], bigint, bigint) IS 'Remember a suspend under its idempotency key (internal).';

CREATE FUNCTION ff_suspend_body(p_execution_id text, p_lease_id uuid, p_lease_epoch bigint, p_condition jsonb, p_waitpoints jsonb,
    p_timeout_at_ms bigint, p_timeout_behavior text, p_reason_code text, p_requested_by text, p_suspension_id uuid,
    p_idempotency_key text, p_continuation text)
RETURNS SETOF ff_suspend_row
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = @extschema@, pg_temp AS $$
DECLARE
    id record;
    now_ms bigint;
    replay jsonb;
    signing ff_keystore;
    bound ff_bindings;
    sid uuid;
    satisfied bigint[];
    checked ff_suspend_args;
    signed ff_suspend_layout;
    out_row ff_suspend_row;
    written boolean;
BEGIN
    -- Argument conversion, then suspend::check, in the Rust edition's order.
    -- Two short documents told by one expression (ff_check_jsonb names a function for long ones).
    IF NOT coalesce(octet_length(p_condition::text) < 256 AND coalesce(octet_length(p_waitpoints::text) < 256, true), true) THEN
        p_condition := ff_check_jsonb(p_condition, 'resume_condition');
        p_waitpoints := ff_check_jsonb(p_waitpoints, 'waitpoints');
    END IF;
    -- ff_required in a statement of its own (its CASE names ff_reject), then the parse.
    IF p_execution_id IS NULL THEN PERFORM ff_required(p_execution_id, 'execution_id'); END IF;
    id := ff_parse_execution_id(p_execution_id);
    now_ms := ff_now_ms();
    checked := ff_suspend_check(p_condition, p_waitpoints, p_timeout_at_ms, p_timeout_behavior, p_reason_code, p_requested_by,
                                p_idempotency_key, p_continuation, now_ms);
    -- Lock, then read what suspend decides on: a repeat under the idempotency key, else the fence.
    replay := ff_suspend_lock(id.partition_key, id.execution_uuid, p_idempotency_key, p_lease_id, p_lease_epoch, now_ms);
    IF replay IS NOT NULL THEN
        RETURN QUERY SELECT * FROM ff_suspend_replayed(id.partition_key, id.execution_uuid, replay);
        RETURN;
    END IF;
    -- ff_active_key's read written here (a PL/pgSQL call less); it raises when there is no active key.
    signing := (SELECT x FROM ff_keystore x WHERE x.active);
    IF signing.kid IS NULL THEN
        signing := ff_active_key();
    END IF;
    bound := ff_suspend_bindings(id.partition_key, id.execution_uuid, checked.cond, checked.specs, now_ms);
    sid := coalesce(p_suspension_id, gen_random_uuid());
    -- Signals are buffered on pending waitpoints only.
    IF true = ANY (bound.pending) THEN  -- a statement, not a CASE: an expression sets up every function it names
        satisfied := ff_suspend_buffered(id.partition_key, id.execution_uuid, sid, checked.cond, bound);
    END IF;
    -- p_execution_id, parsed, is canonical: '{fp:' || partition_key || '}:' || execution_uuid.
    signed := ff_suspend_sign(id.partition_key, id.execution_uuid, p_execution_id, sid, checked.cond, bound, signing.kid, signing.hmac_pads,
                              satisfied IS NOT NULL, now_ms);
    written := ff_suspend_write(id.partition_key, id.execution_uuid, p_execution_id, sid, checked.cond, p_reason_code, p_requested_by,
                                p_timeout_at_ms, checked.behavior, p_continuation, satisfied, signed.fresh, now_ms);
    IF p_idempotency_key IS NOT NULL THEN
        written := ff_suspend_remember(id.partition_key, id.execution_uuid, p_idempotency_key, signed.out_rows, p_timeout_at_ms, now_ms);
    END IF;
    FOREACH out_row IN ARRAY signed.out_rows LOOP
        RETURN NEXT out_row;
    END LOOP;
END
$$;
COMMENT ON FUNCTION ff_suspend_body(text, uuid, bigint, jsonb, jsonb, bigint, text, text, text, uuid, text, text) IS 'ff_suspend''s body (internal).';

CREATE FUNCTION ff_suspend(execution_id text, lease_id uuid, lease_epoch bigint, resume_condition jsonb, waitpoints jsonb DEFAULT NULL,
    timeout_at_ms bigint DEFAULT NULL, timeout_behavior text DEFAULT 'fail', reason_code text DEFAULT 'waiting_for_signal',
    requested_by text DEFAULT 'worker', suspension_id uuid DEFAULT NULL, idempotency_key text DEFAULT NULL, continuation text DEFAULT NULL)
RETURNS TABLE (outcome text, suspension_id uuid, waitpoint_id uuid, waitpoint_key text, token text)
LANGUAGE sql STABLE AS $$
    SELECT * FROM @extschema@.ff_suspend_body($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
$$;

CREATE FUNCTION ff_list_pending_waitpoints_body(p_execution_id text, p_after uuid, p_max_rows integer, p_include_closed boolean)
RETURNS TABLE (r_waitpoint_id uuid, r_waitpoint_key text, r_state text, r_created_at_ms bigint, r_activated_at_ms bigint,
    r_expires_at_ms bigint, r_required_signal_names text[], r_token_kid text, r_token_fingerprint text)
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = @extschema@, pg_temp AS $$
DECLARE
    id record := ff_parse_execution_id(ff_required(p_execution_id, 'execution_id'));
    n bigint := ff_page_size(p_max_rows);
BEGIN
    RETURN QUERY
    SELECT w.waitpoint_id, w.waitpoint_key, w.state::text, w.created_at_ms, w.activated_at_ms, w.expires_at_ms, w.required_signal_names,
           w.token_kid, w.token_fingerprint
    FROM ff_waitpoint w WHERE w.partition_key = id.partition_key AND w.execution_id = id.execution_uuid
      AND (p_after IS NULL OR w.waitpoint_id > p_after) AND (coalesce(p_include_closed, false) OR w.state <> 'closed')
    ORDER BY w.waitpoint_id LIMIT n;
END
$$;
COMMENT ON FUNCTION ff_list_pending_waitpoints_body(text, uuid, integer, boolean) IS 'ff_list_pending_waitpoints''s body (internal).';

CREATE FUNCTION ff_list_pending_waitpoints(execution_id text, after_waitpoint_id uuid DEFAULT NULL, max_rows integer DEFAULT 100,
    include_closed boolean DEFAULT false)
RETURNS TABLE (waitpoint_id uuid, waitpoint_key text, state text, created_at_ms bigint, activated_at_ms bigint, expires_at_ms bigint,
    required_signal_names text[], token_kid text, token_fingerprint text)
LANGUAGE sql STABLE AS $$
    SELECT * FROM @extschema@.ff_list_pending_waitpoints_body($1, $2, $3, $4)
$$;

CREATE FUNCTION ff_list_suspended_body(p_after text, p_max_rows integer)
RETURNS TABLE (r_execution_id text, r_lane_id text, r_suspension_id uuid, r_suspended_at_ms bigint, r_timeout_at_ms bigint,
    r_reason_code text, r_timeout_behavior text)
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = @extschema@, pg_temp AS $$
DECLARE
    after_pk smallint;
    after_id uuid;
    n bigint;
BEGIN
    IF p_after IS NOT NULL THEN
        SELECT a.partition_key, a.execution_uuid INTO after_pk, after_id FROM ff_parse_execution_id(p_after) a;
    END IF;
    n := ff_page_size(p_max_rows);
    RETURN QUERY
    SELECT '{fp:' || s.partition_key || '}:' || s.execution_id, e.lane_id, s.suspension_id, s.suspended_at_ms, s.timeout_at_ms,
           s.reason_code::text, s.timeout_behavior::text
    FROM ff_suspension s JOIN ff_exec_core e ON e.partition_key = s.partition_key AND e.execution_id = s.execution_id
    WHERE s.state = 'open' AND (p_after IS NULL OR (s.partition_key, s.execution_id) > (after_pk, after_id))
    ORDER BY s.partition_key, s.execution_id LIMIT n;
END
$$;
COMMENT ON FUNCTION ff_list_suspended_body(text, integer) IS 'ff_list_suspended''s body (internal).';

CREATE FUNCTION ff_list_suspended(after_execution_id text DEFAULT NULL, max_rows integer DEFAULT 100)
RETURNS TABLE (execution_id text, lane_id text, suspension_id uuid, suspended_at_ms bigint, timeout_at_ms bigint, reason_code text,
    timeout_behavior text)
LANGUAGE sql STABLE AS $$
    SELECT * FROM @extschema@.ff_list_suspended_body($1, $2)
$$;

CREATE FUNCTION ff_read_waitpoint_token(execution_id text, waitpoint_id uuid)
RETURNS TABLE (token text)
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = @extschema@, pg_temp AS $$
#variable_conflict use_variable
DECLARE
    id record := ff_parse_execution_id(ff_required(execution_id, 'execution_id'));
    kid text;
BEGIN
    waitpoint_id := ff_required(waitpoint_id, 'waitpoint_id');
    SELECT w.token_kid INTO kid FROM ff_waitpoint w
    WHERE w.partition_key = id.partition_key AND w.execution_id = id.execution_uuid AND w.waitpoint_id = ff_read_waitpoint_token.waitpoint_id;
    IF FOUND THEN
        RETURN QUERY SELECT ff_token_for(id.partition_key, id.execution_uuid, waitpoint_id, kid);
    END IF;
END
$$;
