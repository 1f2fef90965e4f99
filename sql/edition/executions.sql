-- ff_engine SQL edition: ff_create_execution, as the Rust edition (src/api/executions.rs,
-- core/src/creation.rs, src/store/executions.rs): the same checks in the same order, the same row.

-- A text[] argument may not hold NULL (WF001 invalid_<field>); the array. Like every check here it
-- returns what it checked, for an assignment (errors.sql, ff_required).
CREATE FUNCTION ff_check_text_array(value text[], field text) RETURNS text[]
LANGUAGE sql VOLATILE PARALLEL SAFE AS $$
    SELECT CASE WHEN array_position(value, NULL) IS NOT NULL
                THEN ff_reject(value, 'invalid_' || field, field || ' must not contain NULL') ELSE value END
$$;
COMMENT ON FUNCTION ff_check_text_array(text[], text) IS 'WF001 invalid_<field> for a NULL element (internal).';

-- A duration in ms from min to 2^53-1 (WF001 invalid_<field>); the duration.
CREATE FUNCTION ff_check_ms(value bigint, field text, min bigint) RETURNS bigint
LANGUAGE sql VOLATILE PARALLEL SAFE AS $$
    SELECT CASE WHEN value NOT BETWEEN min AND 9007199254740991
                THEN ff_reject(value, 'invalid_' || field, format('%s must be between %s and 2^53-1', field, min)) ELSE value END
$$;
COMMENT ON FUNCTION ff_check_ms(bigint, text, bigint) IS 'WF001 invalid_<field> for a duration out of range (internal).';

-- A jsonb argument the Rust edition can read: nested at most 127 levels, numbers within a 64-bit float.
CREATE FUNCTION ff_jsonb_depth(value jsonb) RETURNS integer
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
    WITH RECURSIVE walk(v, depth) AS (
        SELECT value, 0
        UNION ALL
        SELECT child, depth + 1 FROM walk,
            LATERAL (SELECT e FROM jsonb_array_elements(CASE WHEN jsonb_typeof(v) = 'array' THEN v END) AS a(e)
                     UNION ALL
                     SELECT x FROM jsonb_each(CASE WHEN jsonb_typeof(v) = 'object' THEN v END) AS o(k, x)) AS c(child))
    SELECT max(depth + CASE WHEN jsonb_typeof(v) IN ('array', 'object') THEN 1 ELSE 0 END) FROM walk
$$;
COMMENT ON FUNCTION ff_jsonb_depth(jsonb) IS 'Nesting depth of a JSON value (internal).';

CREATE FUNCTION ff_check_long_jsonb(value jsonb, field text) RETURNS jsonb
LANGUAGE plpgsql VOLATILE PARALLEL SAFE AS $$
BEGIN
    IF ff_jsonb_depth(value) > 127 THEN
        PERFORM ff_invalid(field || '_too_deep', field || ' nests too deep (at most 127 levels of JSON)');
    END IF;
    IF EXISTS (SELECT 1 FROM jsonb_path_query(value, 'strict $.**') AS n(x)
               WHERE jsonb_typeof(x) = 'number' AND abs(x::text::numeric) > 1.7976931348623157e308) THEN
        PERFORM ff_invalid('number_out_of_range', field || ' holds a number beyond the range of a 64-bit float');
    END IF;
    RETURN value;
END
$$;
COMMENT ON FUNCTION ff_check_long_jsonb(jsonb, text) IS 'ff_check_jsonb''s walk of a long value (internal).';

-- Only a long value can be too deep or hold too large a number: nesting 128 deep takes at least 256
-- bytes of text, a number beyond a 64-bit float at least 309. A shorter value passes without the walk.
CREATE FUNCTION ff_check_jsonb(value jsonb, field text) RETURNS jsonb
LANGUAGE sql VOLATILE PARALLEL SAFE AS $$
    SELECT CASE WHEN value IS NULL OR octet_length(value::text) < 256 THEN value ELSE ff_check_long_jsonb(value, field) END
$$;
COMMENT ON FUNCTION ff_check_jsonb(jsonb, text) IS 'WF001 for JSON the Rust edition cannot read; the value (internal).';

-- ff_engine.max_payload_bytes's default, 1 MiB (a constant PostgreSQL folds into its callers).
CREATE FUNCTION ff_default_max_payload_bytes() RETURNS integer
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$ SELECT 1048576 $$;
COMMENT ON FUNCTION ff_default_max_payload_bytes() IS 'The default of ff_engine.max_payload_bytes (internal).';

-- ff_engine.max_payload_bytes.
CREATE FUNCTION ff_max_payload_bytes() RETURNS integer
LANGUAGE sql STABLE AS $$ SELECT ff_setting_int('ff_engine.max_payload_bytes', ff_default_max_payload_bytes(), 0, true)::integer $$;
COMMENT ON FUNCTION ff_max_payload_bytes() IS 'ff_engine.max_payload_bytes (internal).';

-- A payload over ff_engine.max_payload_bytes: WF001 <field>_too_large; the payload otherwise.
CREATE FUNCTION ff_check_payload_size(value bytea, field text) RETURNS bytea
LANGUAGE plpgsql VOLATILE PARALLEL SAFE AS $$
BEGIN
    IF octet_length(value) > ff_max_payload_bytes() THEN
        PERFORM ff_reject(value, field || '_too_large', format('%s is %s bytes; at most %s are accepted', field,
                                                                octet_length(value), ff_max_payload_bytes()));
    END IF;
    RETURN value;
END
$$;
COMMENT ON FUNCTION ff_check_payload_size(bytea, text) IS 'WF001 <field>_too_large for a payload over the setting (internal).';

-- Whether a payload passes without reading the setting: the setting unset, and no payload or one
-- within the default, told by three function calls. Anything else is ff_check_payload_size's, which
-- reads the setting (a malformed one is an error with no payload too, as in the Rust edition).
-- Written into the caller's expression. The hot calls test it in an IF and call
-- ff_check_payload_size in a statement of their own: PostgreSQL prepares every function an
-- expression names, the branches not taken too, in each transaction.
CREATE FUNCTION ff_payload_fits(value bytea) RETURNS boolean
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT coalesce(current_setting('ff_engine.max_payload_bytes', true), '') = ''
           AND (value IS NULL OR octet_length(value) <= ff_default_max_payload_bytes())
$$;
COMMENT ON FUNCTION ff_payload_fits(bytea) IS 'Whether a payload passes under the default setting (internal).';

-- A payload within ff_engine.max_payload_bytes (WF001 <field>_too_large); the payload. Written into
-- the caller's expression.
CREATE FUNCTION ff_check_payload(value bytea, field text) RETURNS bytea
LANGUAGE sql VOLATILE PARALLEL SAFE AS $$
    SELECT CASE WHEN ff_payload_fits(value) THEN value ELSE ff_check_payload_size(value, field) END
$$;
COMMENT ON FUNCTION ff_check_payload(bytea, text) IS 'WF001 <field>_too_large (internal).';

CREATE FUNCTION ff_check_capability_tokens(caps text[], field text) RETURNS text[]
LANGUAGE plpgsql VOLATILE PARALLEL SAFE AS $$
BEGIN
    IF cardinality(caps) > 256 THEN
        PERFORM ff_invalid('invalid_' || field, field || ': at most 256 capability tokens');
    END IF;
    IF EXISTS (SELECT 1 FROM unnest(caps) c WHERE octet_length(c) NOT BETWEEN 1 AND 256) THEN
        PERFORM ff_invalid('invalid_' || field, field || ': each token must be 1-256 bytes');
    END IF;
    RETURN caps;
END
$$;
COMMENT ON FUNCTION ff_check_capability_tokens(text[], text) IS 'ff_check_capabilities''s look at the tokens (internal).';

-- Capability tokens: at most 256, each 1-256 bytes (WF001 invalid_<field>); the tokens. No tokens, the
-- common case, need no look at them.
CREATE FUNCTION ff_check_capabilities(caps text[], field text) RETURNS text[]
LANGUAGE sql VOLATILE PARALLEL SAFE AS $$
    SELECT CASE WHEN coalesce(cardinality(caps), 0) = 0 THEN caps ELSE ff_check_capability_tokens(caps, field) END
$$;
COMMENT ON FUNCTION ff_check_capabilities(text[], text) IS 'WF001 invalid_<field> for bad capability tokens (internal).';

-- An execution's arguments, checked in the Rust edition's order (its argument conversion, then
-- creation::validate); the capabilities with NULL as none. An execution without capabilities or
-- budgets whose arguments all pass is told by one expression first (as ff_claimer_valid): it holds
-- only when every check below passes.
CREATE FUNCTION ff_check_new_execution(p_lane_id text, p_required_capabilities text[], p_namespace text, p_tags jsonb,
    p_budget_ids text[], p_idempotency_key text, budgets text[], max_attempts integer, backoff bigint) RETURNS text[]
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    caps text[];
BEGIN
    IF coalesce(cardinality(p_required_capabilities), 0) = 0 AND coalesce(cardinality(p_budget_ids), 0) = 0
       AND octet_length(p_lane_id) <@ '[1,64]'::int4range AND p_lane_id !~ '[^\x20-\x7e]'
       AND coalesce(octet_length(p_namespace) <@ '[1,256]'::int4range, true)
       AND coalesce(octet_length(p_idempotency_key) <@ '[1,256]'::int4range, true)
       AND coalesce(jsonb_typeof(p_tags) = 'object' AND octet_length(p_tags::text) < 256, true)
       AND coalesce(max_attempts <@ '[1,100000]'::int4range, true) AND coalesce(backoff <@ '[0,9007199254740991]'::int8range, true) THEN
        RETURN coalesce(p_required_capabilities, '{}');
    END IF;
    -- Argument conversion (the Rust edition's, before its body).
    p_required_capabilities := ff_check_text_array(p_required_capabilities, 'required_capabilities');
    p_tags := ff_check_jsonb(p_tags, 'tags');
    p_budget_ids := ff_check_text_array(p_budget_ids, 'budget_ids');
    -- creation::validate.
    p_lane_id := ff_required(p_lane_id, 'lane_id');
    p_lane_id := ff_check_lane_id(p_lane_id);
    caps := coalesce(p_required_capabilities, '{}');
    caps := ff_check_capabilities(caps, 'required_capabilities');
    p_namespace := ff_check_optional_text(p_namespace, 'namespace', 256);
    p_idempotency_key := ff_check_optional_text(p_idempotency_key, 'idempotency_key', 256);
    IF cardinality(budgets) > 0 THEN
        IF cardinality(budgets) > 64 OR EXISTS (SELECT 1 FROM unnest(budgets) b WHERE octet_length(b) NOT BETWEEN 1 AND 256) THEN
            PERFORM ff_invalid('invalid_budget_ids', 'budget_ids: at most 64 ids of 1-256 bytes');
        END IF;
    END IF;
    IF jsonb_typeof(coalesce(p_tags, '{}')) <> 'object' THEN
        PERFORM ff_invalid('invalid_tags', 'tags must be a JSON object');
    END IF;
    IF max_attempts NOT BETWEEN 1 AND 100000 THEN
        PERFORM ff_invalid('invalid_max_attempts', 'max_attempts must be between 1 and 100000');
    END IF;
    backoff := ff_check_ms(backoff, 'retry_backoff_ms', 0);
    RETURN caps;
END
$$;
COMMENT ON FUNCTION ff_check_new_execution(text, text[], text, jsonb, text[], text, text[], integer, bigint) IS 'Check a new execution''s arguments (internal).';

-- A new execution's key: the id given, else a child's in its parent's partition (its flow's), else
-- one minted in the partition of its lane (or of its flow).
CREATE FUNCTION ff_new_execution_key(p_execution_id text, p_flow_id uuid, p_parent_execution_id text, p_lane_id text)
RETURNS ff_execution_ref
LANGUAGE plpgsql VOLATILE AS $$
BEGIN
    IF p_execution_id IS NOT NULL THEN
        RETURN ff_parse_execution_id(p_execution_id);
    ELSIF p_flow_id IS NULL AND p_parent_execution_id IS NOT NULL THEN
        -- A child is minted in its parent's partition, which is its flow's.
        RETURN ROW((ff_parse_execution_id(p_parent_execution_id)).partition_key, gen_random_uuid())::ff_execution_ref;
    END IF;
    RETURN ROW(ff_partition_for(p_lane_id, p_flow_id), gen_random_uuid())::ff_execution_ref;
END
$$;
COMMENT ON FUNCTION ff_new_execution_key(text, uuid, text, text) IS 'The partition and id of a new execution (internal).';

-- The checks of a new execution after its key (creation::validate's last ones): the deadline in the
-- future, the payload within its limit, the budgets and quota policy named existing. The payload.
CREATE FUNCTION ff_check_created(p_deadline_at_ms bigint, now_ms bigint, p_payload bytea, budgets text[], p_quota_policy_id uuid)
RETURNS bytea
LANGUAGE plpgsql STABLE AS $$
DECLARE
    referenced boolean;
BEGIN
    IF p_deadline_at_ms <= now_ms THEN
        PERFORM ff_invalid('deadline_in_past', 'deadline_at_ms must be in the future');
    END IF;
    IF NOT ff_payload_fits(p_payload) THEN
        p_payload := ff_check_payload_size(p_payload, 'payload');
    END IF;
    IF cardinality(budgets) > 0 OR p_quota_policy_id IS NOT NULL THEN
        referenced := ff_check_references(budgets, p_quota_policy_id);
    END IF;
    RETURN p_payload;
END
$$;
COMMENT ON FUNCTION ff_check_created(bigint, bigint, bytea, text[], uuid) IS 'A new execution''s last checks (internal).';

-- A new execution's deadline row.
CREATE FUNCTION ff_insert_deadline(pk smallint, id uuid, p_deadline_at_ms bigint) RETURNS uuid
LANGUAGE plpgsql VOLATILE AS $$
BEGIN
    -- @statement executions/insert_deadline.sql: pk, id, p_deadline_at_ms
    INSERT INTO ff_deadline (partition_key, execution_id, deadline_at_ms) VALUES (pk, id, p_deadline_at_ms)
    -- @end statement
    ;
    RETURN id;
END
$$;
COMMENT ON FUNCTION ff_insert_deadline(smallint, uuid, bigint) IS 'Insert a new execution''s deadline (internal).';

-- The budgets and quota policy a new execution names exist (WF010 not_found).
CREATE FUNCTION ff_check_references(budgets text[], p_quota_policy_id uuid) RETURNS boolean
LANGUAGE plpgsql STABLE AS $$
BEGIN
    IF (SELECT count(*) FROM ff_budget WHERE budget_id = ANY (budgets)) <> (SELECT count(DISTINCT b) FROM unnest(budgets) b) THEN
        PERFORM ff_raise('WF010', 'not_found', 'budget not found', 'budget');
    END IF;
    IF p_quota_policy_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM ff_quota_policy WHERE quota_policy_id = p_quota_policy_id) THEN
        PERFORM ff_raise('WF010', 'not_found', 'quota_policy not found', 'quota_policy');
    END IF;
    RETURN true;
END
$$;
COMMENT ON FUNCTION ff_check_references(text[], uuid) IS 'WF010 unless a new execution''s budgets and quota policy exist (internal).';

-- A create that inserted nothing: the execution its idempotency key names in its lane, else
-- WF001 execution_id_exists (an explicit id already taken).
CREATE FUNCTION ff_create_replayed(p_lane_id text, p_idempotency_key text) RETURNS text
LANGUAGE plpgsql STABLE AS $$
DECLARE
    found_key record;
BEGIN
    IF p_idempotency_key IS NOT NULL THEN
        SELECT e.partition_key, e.execution_id INTO found_key FROM ff_exec_core e
        WHERE e.lane_id = p_lane_id AND e.idempotency_key = p_idempotency_key;
        IF FOUND THEN
            RETURN '{fp:' || found_key.partition_key || '}:' || found_key.execution_id;
        END IF;
    END IF;
    PERFORM ff_invalid('execution_id_exists', 'an execution with this execution_id already exists');
    RETURN NULL;
END
$$;
COMMENT ON FUNCTION ff_create_replayed(text, text) IS 'The execution an idempotent create repeats, or WF001 (internal).';

-- A create's row (ff_create_execution's).
CREATE TYPE ff_create_row AS (execution_id text, created boolean);
COMMENT ON TYPE ff_create_row IS 'A create''s row (internal).';

CREATE FUNCTION ff_create_execution_body(
    p_lane_id text, p_payload bytea, p_priority integer, p_required_capabilities text[], p_namespace text, p_tags jsonb,
    p_budget_ids text[], p_quota_policy_id uuid, p_delay_until_ms bigint, p_max_attempts integer,
    p_retry_backoff_ms bigint, p_idempotency_key text, p_execution_id text, p_flow_id uuid, p_deadline_at_ms bigint,
    p_depends_on text[], p_parent_execution_id text, p_parent_waitpoint_key text)
RETURNS SETOF ff_create_row
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = @extschema@, pg_temp AS $$
DECLARE
    now_ms bigint := ff_now_ms();
    caps text[];
    budgets text[] := coalesce(p_budget_ids, '{}');
    max_attempts integer := coalesce(p_max_attempts, 1);
    backoff bigint := coalesce(p_retry_backoff_ms, 1000);
    delayed boolean;
    inserted uuid;
    new_key ff_execution_ref;
    own_xid xid8;
    woken boolean;
BEGIN
    caps := ff_check_new_execution(p_lane_id, p_required_capabilities, p_namespace, p_tags, p_budget_ids, p_idempotency_key,
        budgets, max_attempts, backoff);
    -- A new id without a call; an explicit id or a child's is ff_new_execution_key's.
    IF p_execution_id IS NULL AND p_parent_execution_id IS NULL THEN
        new_key := ROW(ff_partition_for(p_lane_id, p_flow_id), gen_random_uuid())::ff_execution_ref;
    ELSE
        new_key := ff_new_execution_key(p_execution_id, p_flow_id, p_parent_execution_id, p_lane_id);
    END IF;
    p_payload := ff_check_created(p_deadline_at_ms, now_ms, p_payload, budgets, p_quota_policy_id);
    delayed := coalesce(p_delay_until_ms > now_ms, false);
    p_tags := coalesce(p_tags, '{}');
    p_priority := coalesce(p_priority, 0);
    -- Sorted, no repeats (as the Rust edition), not in the insert (Citus cannot plan it there).
    IF cardinality(caps) > 1 THEN
        caps := ARRAY(SELECT DISTINCT c COLLATE "C" FROM unnest(caps) c ORDER BY 1);
    END IF;
    -- The transaction id before the row's queue_seq (the claim-start verifier's floor relies on it); an
    -- assignment, which PL/pgSQL evaluates without starting an executor as PERFORM does.
    own_xid := pg_current_xact_id();
    -- @statement executions/insert_execution.sql: new_key.partition_key, new_key.execution_uuid, p_lane_id, p_namespace, p_flow_id, p_priority, caps, p_tags, budgets, p_quota_policy_id, p_payload, 'runnable', 'unowned', CASE WHEN delayed THEN 'not_eligible_until_time' ELSE 'eligible_now' END, 'pending_first_attempt', CASE WHEN delayed THEN 'delayed' ELSE 'waiting' END, CASE WHEN delayed THEN p_delay_until_ms END, max_attempts, backoff, p_idempotency_key, now_ms
    INSERT INTO ff_exec_core (partition_key, execution_id, lane_id, namespace, flow_id, priority,
        required_capabilities, tags, budget_ids, quota_policy_id, payload, lifecycle_phase, ownership_state,
        eligibility_state, attempt_state, public_state, eligible_at_ms, max_attempts, retry_backoff_ms,
        idempotency_key, created_at_ms, updated_at_ms)
    VALUES (new_key.partition_key, new_key.execution_uuid, p_lane_id, p_namespace, p_flow_id, p_priority, caps, p_tags, budgets, p_quota_policy_id, p_payload, 'runnable', 'unowned', CASE WHEN delayed THEN 'not_eligible_until_time' ELSE 'eligible_now' END, 'pending_first_attempt', CASE WHEN delayed THEN 'delayed' ELSE 'waiting' END, CASE WHEN delayed THEN p_delay_until_ms END, max_attempts, backoff, p_idempotency_key, now_ms, now_ms)
    ON CONFLICT DO NOTHING
    RETURNING execution_id
    -- @end statement
    INTO inserted;
    IF inserted IS NOT NULL THEN
        IF NOT delayed AND NOT EXISTS (SELECT FROM ff_claim_start s WHERE s.lane_id = p_lane_id AND s.priority = p_priority) THEN
            PERFORM ff_claim_start_register(p_lane_id, p_priority);
        END IF;
        IF p_deadline_at_ms IS NOT NULL THEN
            inserted := ff_insert_deadline(new_key.partition_key, new_key.execution_uuid, p_deadline_at_ms);
        END IF;
        IF p_flow_id IS NOT NULL OR p_depends_on IS NOT NULL OR p_parent_execution_id IS NOT NULL OR p_parent_waitpoint_key IS NOT NULL THEN
            -- Its state from its upstreams, its lane woken when it is claimable.
            PERFORM ff_flow_join(new_key.partition_key, new_key.execution_uuid, p_flow_id, p_parent_execution_id, p_parent_waitpoint_key, p_depends_on);
        ELSIF NOT delayed THEN
            woken := ff_wake_one('ff_lane_ready', p_lane_id);
        END IF;
        RETURN NEXT ROW('{fp:' || new_key.partition_key || '}:' || new_key.execution_uuid, true)::ff_create_row;
        RETURN;
    END IF;
    -- Nothing inserted: an idempotent replay, or an explicit id that already exists.
    RETURN NEXT ROW(ff_create_replayed(p_lane_id, p_idempotency_key), false)::ff_create_row;
END
$$;
COMMENT ON FUNCTION ff_create_execution_body(text, bytea, integer, text[], text, jsonb, text[], uuid, bigint, integer, bigint, text, text, uuid, bigint,
    text[], text, text)
    IS 'ff_create_execution''s body (internal).';

CREATE FUNCTION ff_create_execution(
    lane_id text, payload bytea DEFAULT NULL, priority integer DEFAULT 0, required_capabilities text[] DEFAULT '{}',
    namespace text DEFAULT NULL, tags jsonb DEFAULT '{}', budget_ids text[] DEFAULT '{}', quota_policy_id uuid DEFAULT NULL,
    delay_until_ms bigint DEFAULT NULL, max_attempts integer DEFAULT 1, retry_backoff_ms bigint DEFAULT 1000,
    idempotency_key text DEFAULT NULL, execution_id text DEFAULT NULL, flow_id uuid DEFAULT NULL, deadline_at_ms bigint DEFAULT NULL,
    depends_on text[] DEFAULT NULL, parent_execution_id text DEFAULT NULL, parent_waitpoint_key text DEFAULT NULL)
RETURNS TABLE (execution_id text, created boolean)
LANGUAGE sql STABLE AS $$
    SELECT * FROM @extschema@.ff_create_execution_body($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18)
$$;
