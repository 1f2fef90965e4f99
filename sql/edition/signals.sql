-- ff_engine SQL edition: signals (ff_deliver_signal, ff_deliver_approval_signal, ff_resume_execution,
-- ff_observe_signals), as the Rust edition (src/store/signals.rs, core/src/delivery.rs): the checks of
-- docs/semantics.md §6 in their order, nothing about existence revealed before a token verifies.

-- The superuser ceilings a delivery's own arguments can only lower (ff_engine.max_dedup_ttl_s,
-- ff_engine.max_signals_per_execution).
CREATE FUNCTION ff_dedup_ttl_ms(requested bigint) RETURNS bigint
LANGUAGE sql STABLE AS $$ SELECT least(requested, ff_setting_int('ff_engine.max_dedup_ttl_s', 604800, 0, true) * 1000) $$;
COMMENT ON FUNCTION ff_dedup_ttl_ms(bigint) IS 'A dedup TTL under its ceiling (internal).';
CREATE FUNCTION ff_max_signals(requested bigint) RETURNS bigint
LANGUAGE sql STABLE AS $$ SELECT least(requested, ff_setting_int('ff_engine.max_signals_per_execution', 10000, 1, true)) $$;
COMMENT ON FUNCTION ff_max_signals(bigint) IS 'A signal cap under its ceiling (internal).';

-- Record an accepted signal that does not resume: the signal row, the execution's signal count and
-- the signal event (the Rust edition's signals/insert_signal.sql + signals/record.sql, statement by
-- statement, as ff_record_signal); then the wake-up. The new signal's seq.
CREATE FUNCTION ff_record_appended(pk smallint, id uuid, ref text, p_waitpoint_id uuid, p_waitpoint_key text, sid uuid, p_signal_id uuid,
    p_signal_name text, p_category text, p_source_type text, p_source_identity text, p_payload bytea, p_correlation_id text,
    p_idempotency_key text, eff text, now_ms bigint) RETURNS bigint
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    seq bigint;
    ns text;
    woken boolean;
BEGIN
    -- @statement signals/signal_row.sql: pk, id, p_signal_id, p_waitpoint_id, p_waitpoint_key, sid, p_signal_name, p_category, p_source_type, p_source_identity, p_correlation_id, p_idempotency_key, p_payload, eff, now_ms
    INSERT INTO ff_signal (partition_key, execution_id, signal_id, waitpoint_id, waitpoint_key, suspension_id,
        signal_name, signal_category, source_type, source_identity, correlation_id, idempotency_key, payload,
        effect, accepted_at_ms)
    VALUES (pk, id, p_signal_id, p_waitpoint_id, p_waitpoint_key, sid, p_signal_name, p_category, p_source_type, p_source_identity, p_correlation_id, p_idempotency_key, p_payload, eff, now_ms)
    RETURNING signal_seq
    -- @end statement
    INTO seq;
    -- @statement signals/count_signal.sql: pk, id
    UPDATE ff_exec_core SET signal_count = signal_count + 1 WHERE partition_key = pk AND execution_id = id
    RETURNING namespace
    -- @end statement
    INTO ns;
    -- @statement events/signal_event.sql: pk, ref, ns, now_ms, p_signal_id, p_waitpoint_id, p_signal_name, p_source_type, p_source_identity, eff
    INSERT INTO ff_signal_event (partition_key, execution_id, namespace, occurred_at_ms, signal_id, waitpoint_id,
        signal_name, source_type, source_identity, effect)
    VALUES (pk, ref, ns, now_ms, p_signal_id, p_waitpoint_id, p_signal_name, p_source_type, p_source_identity, eff)
    -- @end statement
    ;
    woken := ff_wake_one('ff_signal_event', '');
    RETURN seq;
END
$$;
COMMENT ON FUNCTION ff_record_appended(smallint, uuid, text, uuid, text, uuid, uuid, text, text, text, text, bytea, text, text, text, bigint)
    IS 'Record an accepted signal that does not resume (internal).';

-- Record an accepted signal with its effect: the signal row, the execution's signal count and the
-- signal event; when it resumes, also the suspension and its waitpoints closed (the placeholder seq
-- 2^63-1 among the satisfiers becomes the new signal's), the resumed states and the completion event:
-- the Rust edition's one statement (signals/record*.sql) statement by statement, as the lease end
-- (ff_end_lease). Then the wake-ups. Shared by delivery and the suspension timeout's auto-resume.
-- `ref` is the execution's id as text ('{fp:' || pk || '}:' || id; a caller holding a parsed id
-- passes that). A resume's caller lowers the claim start (sql/edition/claim_starts.sql). The new
-- signal's seq.
CREATE FUNCTION ff_record_signal(pk smallint, id uuid, ref text, lane_id text, p_waitpoint_id uuid, p_waitpoint_key text, sid uuid, p_signal_id uuid,
    p_signal_name text, p_category text, p_source_type text, p_source_identity text, p_payload bytea, p_correlation_id text,
    p_idempotency_key text, eff text, resuming boolean, sats bigint[], p_resume_delay_ms bigint, close_reason text, now_ms bigint)
RETURNS bigint
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    delayed boolean := p_resume_delay_ms > 0;
    seq bigint;
    ns text;
    woken boolean;
BEGIN
    IF NOT resuming THEN
        RETURN ff_record_appended(pk, id, ref, p_waitpoint_id, p_waitpoint_key, sid, p_signal_id, p_signal_name, p_category, p_source_type,
            p_source_identity, p_payload, p_correlation_id, p_idempotency_key, eff, now_ms);
    END IF;
    -- @statement signals/signal_row.sql: pk, id, p_signal_id, p_waitpoint_id, p_waitpoint_key, sid, p_signal_name, p_category, p_source_type, p_source_identity, p_correlation_id, p_idempotency_key, p_payload, eff, now_ms
    INSERT INTO ff_signal (partition_key, execution_id, signal_id, waitpoint_id, waitpoint_key, suspension_id,
        signal_name, signal_category, source_type, source_identity, correlation_id, idempotency_key, payload,
        effect, accepted_at_ms)
    VALUES (pk, id, p_signal_id, p_waitpoint_id, p_waitpoint_key, sid, p_signal_name, p_category, p_source_type, p_source_identity, p_correlation_id, p_idempotency_key, p_payload, eff, now_ms)
    RETURNING signal_seq
    -- @end statement
    INTO seq;
    -- @statement signals/close_suspension.sql: pk, id, sid, p_signal_id, seq, sats, now_ms, ff_record_signal.close_reason
    UPDATE ff_suspension SET state = 'closed', closed_at_ms = now_ms, close_reason = ff_record_signal.close_reason,
        closer_signal_id = p_signal_id, satisfier_seqs = array_replace(sats, 9223372036854775807, seq)
    WHERE partition_key = pk AND execution_id = id AND suspension_id = sid AND state = 'open'
    -- @end statement
    ;
    -- @statement signals/close_waitpoints.sql: pk, id, sid, now_ms, ff_record_signal.close_reason
    UPDATE ff_waitpoint SET state = 'closed', closed_at_ms = now_ms, close_reason = ff_record_signal.close_reason
    WHERE partition_key = pk AND execution_id = id AND suspension_id = sid AND state <> 'closed'
    -- @end statement
    ;
    -- A resume delay makes it eligible at now + the delay.
    -- @statement signals/resume_row.sql: pk, id, 'runnable', 'unowned', CASE WHEN delayed THEN 'not_eligible_until_time' ELSE 'eligible_now' END, 'attempt_interrupted', CASE WHEN delayed THEN 'delayed' ELSE 'waiting' END, CASE WHEN delayed THEN now_ms + p_resume_delay_ms END, now_ms
    UPDATE ff_exec_core SET signal_count = signal_count + 1, lifecycle_phase = 'runnable', ownership_state = 'unowned',
        eligibility_state = CASE WHEN delayed THEN 'not_eligible_until_time' ELSE 'eligible_now' END, attempt_state = 'attempt_interrupted', public_state = CASE WHEN delayed THEN 'delayed' ELSE 'waiting' END, eligible_at_ms = CASE WHEN delayed THEN now_ms + p_resume_delay_ms END, updated_at_ms = now_ms
    WHERE partition_key = pk AND execution_id = id
    RETURNING namespace
    -- @end statement
    INTO ns;
    -- @statement events/signal_event.sql: pk, ref, ns, now_ms, p_signal_id, p_waitpoint_id, p_signal_name, p_source_type, p_source_identity, eff
    INSERT INTO ff_signal_event (partition_key, execution_id, namespace, occurred_at_ms, signal_id, waitpoint_id,
        signal_name, source_type, source_identity, effect)
    VALUES (pk, ref, ns, now_ms, p_signal_id, p_waitpoint_id, p_signal_name, p_source_type, p_source_identity, eff)
    -- @end statement
    ;
    -- @statement events/completion_event.sql: pk, ref, ns, now_ms, 'resumed', NULL
    INSERT INTO ff_completion_event (partition_key, execution_id, namespace, occurred_at_ms, outcome, failure_class)
    VALUES (pk, ref, ns, now_ms, 'resumed', NULL)
    -- @end statement
    ;
    -- In lock order (ff_wake_one).
    woken := ff_wake_default() AND ff_wake_lock('ff_completion', '', false) AND (delayed OR ff_wake_lock('ff_lane_ready', lane_id, false))
                AND ff_wake_lock('ff_signal_event', '', false) AND ff_wake_quiet()
             OR ff_wake_rest('{ff_completion,ff_signal_event}', CASE WHEN delayed THEN '{}' ELSE ARRAY[lane_id] END);
    RETURN seq;
END
$$;
COMMENT ON FUNCTION ff_record_signal(smallint, uuid, text, text, uuid, text, uuid, uuid, text, text, text, text, bytea, text, text, text, boolean, bigint[], bigint, text, bigint)
    IS 'Record an accepted signal, resuming when it satisfies (internal).';

-- Deliver a signal (the token path when token is given, else the operator path naming its lane).
-- Step 2 of a delivery (docs/semantics.md §6): the waitpoint exists and the token verifies under a
-- usable key; nothing about existence is revealed before the token verifies (the operator path, with
-- no token, is told not_found).
CREATE FUNCTION ff_verify_delivery_token(pk smallint, id uuid, ref text, p_waitpoint_id uuid, p_token text, now_ms bigint)
RETURNS boolean
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    k record;
BEGIN
    -- A token is `<kid>:<64 lowercase hex>` (ff_parse_token, read here without a query): its kid
    -- names the key, the rest is the digest.
    IF p_token IS NOT NULL AND NOT ff_token_well_formed(p_token) THEN
        PERFORM ff_raise('WF002', 'invalid_token', 'the waitpoint token was not accepted');
    END IF;
    SELECT EXISTS (SELECT 1 FROM ff_waitpoint w WHERE w.partition_key = pk AND w.execution_id = id AND w.waitpoint_id = p_waitpoint_id)
               AS waitpoint_exists,
           x.kid, x.hmac_pads, x.active, x.expires_at_ms
    INTO k FROM (SELECT 1) one LEFT JOIN ff_keystore x ON x.kid = split_part(p_token, ':', 1);
    IF NOT k.waitpoint_exists THEN
        IF p_token IS NULL THEN
            PERFORM ff_raise('WF010', 'not_found', 'waitpoint not found', 'waitpoint');
        END IF;
        PERFORM ff_raise('WF002', 'invalid_token', 'the waitpoint token was not accepted');
    END IF;
    IF p_token IS NOT NULL THEN
        IF k.kid IS NULL OR NOT ff_digest_matches(k.hmac_pads, ff_waitpoint_digest(k.kid, k.hmac_pads, ref, p_waitpoint_id),
                                                   decode(substr(p_token, strpos(p_token, ':') + 1), 'hex')) THEN
            PERFORM ff_raise('WF002', 'invalid_token', 'the waitpoint token was not accepted');
        END IF;
        IF NOT (k.active OR now_ms < k.expires_at_ms) THEN
            PERFORM ff_raise('WF003', 'token_expired', 'the token''s signing key was retired and its grace window has passed');
        END IF;
    END IF;
    RETURN true;
END
$$;
COMMENT ON FUNCTION ff_verify_delivery_token(smallint, uuid, text, uuid, text, bigint) IS 'Verify a delivery''s waitpoint token (internal).';

-- Step 7 of a delivery: the waitpoint's suspension open, the signal evaluated against its condition
-- with the signals that count so far (core/src/delivery.rs); its effect and, when it satisfies, the
-- satisfiers.
CREATE FUNCTION ff_delivery_effect(pk smallint, id uuid, sid uuid, p_waitpoint_suspension_id uuid, cond jsonb, p_waitpoint_key text, p_signal_id uuid,
    p_signal_name text, p_source_type text, p_source_identity text, p_correlation_id text) RETURNS ff_signal_effect
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    counted jsonb;
BEGIN
    IF sid IS NULL THEN
        PERFORM ff_raise('WF030', 'waitpoint_closed', 'the waitpoint''s suspension is closed');
    END IF;
    IF p_waitpoint_suspension_id IS DISTINCT FROM sid THEN
        PERFORM ff_raise('WF030', 'waitpoint_closed', 'the waitpoint belongs to a closed suspension');
    END IF;
    -- An open suspension on a Single condition has counted no signal: the first one it accepts
    -- satisfies it and closes it in the same statement (ff_cond_single_effect over nothing counted,
    -- without the new signal as jsonb: ~75 000 instructions a delivery). Any other reads the signals
    -- counted so far.
    IF cond ? 'Single' THEN
        RETURN ff_cond_single_effect(cond -> 'Single', p_waitpoint_key, p_signal_name, p_correlation_id, 9223372036854775807,
                                     false, '{}');
    END IF;
    SELECT coalesce(jsonb_agg(jsonb_build_object('seq', g.signal_seq, 'signal_id', g.signal_id, 'waitpoint_key', g.waitpoint_key,
               'name', g.signal_name, 'source_type', g.source_type, 'source_identity', g.source_identity,
               'correlation_id', g.correlation_id) ORDER BY g.signal_seq), '[]')
    INTO counted FROM ff_signal g
    WHERE g.partition_key = pk AND g.execution_id = id AND g.suspension_id = sid
      AND g.effect IN ('appended_to_waitpoint', 'appended_to_waitpoint_duplicate', 'resume_condition_satisfied');
    RETURN ff_cond_effect(cond, counted, jsonb_build_object('seq', 9223372036854775807, 'signal_id', p_signal_id,
        'waitpoint_key', p_waitpoint_key, 'name', p_signal_name, 'source_type', p_source_type,
        'source_identity', p_source_identity, 'correlation_id', p_correlation_id));
END
$$;
COMMENT ON FUNCTION ff_delivery_effect(smallint, uuid, uuid, uuid, jsonb, text, uuid, text, text, text, text) IS 'Evaluate a delivered signal against its suspension''s condition (internal).';

-- What a delivery decides on, read under the execution's lock: the waitpoint's key, state and
-- suspension, the first signal under the idempotency key, the open suspension and its condition, and
-- the lowest claim-start slot of the execution's (lane, priority), which a resume lowers
-- (sql/edition/claim_starts.sql; NULL: none).
CREATE TYPE ff_delivery_target AS (waitpoint_key text, waitpoint_state text, waitpoint_suspension_id uuid,
    first_signal_id uuid, open_suspension_id uuid, resume_condition jsonb, claim_slot integer);
COMMENT ON TYPE ff_delivery_target IS 'What a delivery decides on (internal).';

-- Steps 3 to 5 of a delivery, on the locked execution row `e`: the operator path must name its lane,
-- terminal executions take no signals; the waitpoint again, under the lock, with what the decision
-- needs (its key and state, its suspension's condition, a first signal under the idempotency key),
-- open; the per-execution signal limit.
CREATE FUNCTION ff_delivery_target(pk smallint, id uuid, e ff_exec_core, p_waitpoint_id uuid, p_idempotency_key text,
    p_max_signals bigint, p_operator_lane text, now_ms bigint) RETURNS ff_delivery_target
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    waitpoint_key text;
    waitpoint_state text;
    waitpoint_suspension_id uuid;
    first_signal_id uuid;
    open_suspension_id uuid;
    resume_condition jsonb;
    expires_at_ms bigint;
    claim_slot integer;
BEGIN
    -- 3. The operator path must name its lane; terminal executions take no signals.
    IF p_operator_lane IS NOT NULL AND e.lane_id <> p_operator_lane THEN
        PERFORM ff_invalid('lane_mismatch', 'lane_mismatch: the execution is in another lane');
    END IF;
    IF e.lifecycle_phase = 'terminal' THEN
        PERFORM ff_raise('WF031', 'target_not_signalable', 'the execution is terminal');
    END IF;
    -- 4. The waitpoint again, under the lock, with what the decision needs.
    SELECT w.waitpoint_key, w.state, w.expires_at_ms, w.suspension_id,
           (SELECT d.signal_id FROM ff_signal_dedup d WHERE d.partition_key = pk AND d.execution_id = id
              AND d.waitpoint_id = p_waitpoint_id AND d.idempotency_key = p_idempotency_key AND d.expires_at_ms > now_ms),
           s.suspension_id, s.resume_condition,
           (SELECT x.slot FROM ff_claim_start x WHERE x.lane_id = e.lane_id AND x.priority = e.priority ORDER BY x.slot LIMIT 1)
    INTO waitpoint_key, waitpoint_state, expires_at_ms, waitpoint_suspension_id, first_signal_id, open_suspension_id, resume_condition,
         claim_slot
    FROM ff_waitpoint w
    LEFT JOIN ff_suspension s ON s.partition_key = pk AND s.execution_id = id AND s.state = 'open'
    WHERE w.partition_key = pk AND w.execution_id = id AND w.waitpoint_id = p_waitpoint_id;
    IF NOT FOUND THEN
        PERFORM ff_raise('WF030', 'waitpoint_closed', 'the waitpoint is gone');
    END IF;
    IF waitpoint_state = 'closed' OR (waitpoint_state = 'pending' AND expires_at_ms <= now_ms) THEN
        PERFORM ff_raise('WF030', 'waitpoint_closed', 'the waitpoint is closed or expired');
    END IF;
    -- 5. The per-execution signal limit.
    IF e.signal_count >= p_max_signals THEN
        PERFORM ff_raise('WF032', 'signal_limit_exceeded', format('the execution already has %s signals', e.signal_count));
    END IF;
    RETURN ROW(waitpoint_key, waitpoint_state, waitpoint_suspension_id, first_signal_id, open_suspension_id, resume_condition,
               claim_slot)::ff_delivery_target;
END
$$;
COMMENT ON FUNCTION ff_delivery_target(smallint, uuid, ff_exec_core, uuid, text, bigint, text, bigint)
    IS 'Read and check a delivery''s waitpoint under the execution''s lock (internal).';

-- A delivery's row (ff_deliver_signal's).
CREATE TYPE ff_delivery_row AS (outcome text, signal_id uuid, effect text);
COMMENT ON TYPE ff_delivery_row IS 'A delivery''s row (internal).';

-- The steps of docs/semantics.md §6 after the argument checks, on execution (pk, id) whose id as
-- text is `ref`; one ff_deliver_signal row.
CREATE FUNCTION ff_deliver(pk smallint, id uuid, ref text, p_waitpoint_id uuid, p_signal_name text, p_signal_id uuid, p_category text,
    p_source_type text, p_source_identity text, p_payload bytea, p_correlation_id text, p_idempotency_key text,
    p_dedup_ttl_ms bigint, p_resume_delay_ms bigint, p_max_signals bigint, p_token text, p_operator_lane text, now_ms bigint)
RETURNS ff_delivery_row
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    e ff_exec_core;
    wp ff_delivery_target;
    sid uuid;
    eff text;
    sats bigint[];
    resuming boolean;
    dedup_expires bigint;
    verified boolean;
    effect record;
    seq bigint;
BEGIN
    -- 2. The waitpoint exists and the token verifies under a usable key.
    verified := ff_verify_delivery_token(pk, id, ref, p_waitpoint_id, p_token, now_ms);
    -- 3.-5. The execution locked, the waitpoint read under the lock, the checks on both.
    e := (SELECT x FROM ff_exec_core x WHERE x.partition_key = pk AND x.execution_id = id FOR UPDATE);
    IF e.execution_id IS NULL THEN
        e := ff_lock_execution(pk, id);  -- raises WF010 not_found
    END IF;
    wp := ff_delivery_target(pk, id, e, p_waitpoint_id, p_idempotency_key, p_max_signals, p_operator_lane, now_ms);
    -- 6. Idempotency: the first signal's id, no second record, no event.
    IF p_idempotency_key IS NOT NULL AND wp.first_signal_id IS NOT NULL THEN
        RETURN ROW('duplicate', wp.first_signal_id, NULL)::ff_delivery_row;
    END IF;
    -- 7. Evaluate, then record (and resume).
    resuming := false;
    IF wp.waitpoint_state = 'pending' THEN
        eff := 'buffered_for_pending_waitpoint';
    ELSE
        sid := wp.open_suspension_id;
        effect := ff_delivery_effect(pk, id, sid, wp.waitpoint_suspension_id, wp.resume_condition, wp.waitpoint_key, p_signal_id,
                                     p_signal_name, p_source_type, p_source_identity, p_correlation_id);
        eff := effect.effect;
        sats := effect.satisfiers;
        resuming := eff = 'resume_condition_satisfied';
    END IF;
    seq := ff_record_signal(pk, id, ref, e.lane_id, p_waitpoint_id, wp.waitpoint_key, sid, p_signal_id, p_signal_name, p_category,
        p_source_type, p_source_identity, p_payload, p_correlation_id, p_idempotency_key, eff, resuming, sats, p_resume_delay_ms,
        'condition_satisfied', now_ms);
    -- Resumed claimable: its claim start comes down to it (the registration read under the lock).
    IF resuming AND NOT coalesce(p_resume_delay_ms > 0, false)
       AND ff_claim_start_above(wp.claim_slot, e.queue_seq) THEN
        PERFORM ff_claim_start_lower(e.lane_id, e.priority, e.queue_seq);
    END IF;
    IF p_idempotency_key IS NOT NULL THEN
        dedup_expires := least(now_ms::numeric + p_dedup_ttl_ms, 9223372036854775807)::bigint;
        -- @statement signals/dedup_put.sql: pk, id, p_waitpoint_id, p_idempotency_key, p_signal_id, dedup_expires
        INSERT INTO ff_signal_dedup (partition_key, execution_id, waitpoint_id, idempotency_key, signal_id, expires_at_ms)
        VALUES (pk, id, p_waitpoint_id, p_idempotency_key, p_signal_id, dedup_expires)
        ON CONFLICT (partition_key, execution_id, waitpoint_id, idempotency_key)
        DO UPDATE SET signal_id = EXCLUDED.signal_id, expires_at_ms = EXCLUDED.expires_at_ms
        -- @end statement
        ;
    END IF;
    RETURN ROW('accepted', p_signal_id, eff)::ff_delivery_row;
END
$$;
COMMENT ON FUNCTION ff_deliver(smallint, uuid, text, uuid, text, uuid, text, text, text, bytea, text, text, bigint, bigint, bigint, text, text, bigint)
    IS 'Deliver a signal (internal).';

-- A delivery's argument checks in the Rust edition's order (core/src/delivery.rs check_fields, then the
-- durations and the cap; the settings they are capped by read where the Rust edition reads them).
CREATE FUNCTION ff_check_delivery(p_waitpoint_id uuid, p_signal_name text, p_category text, p_source_type text,
    p_source_identity text, p_payload bytea, p_correlation_id text, p_idempotency_key text, p_dedup_ttl_ms bigint,
    p_resume_delay_ms bigint, p_max_signals integer) RETURNS boolean
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    capped bigint;
BEGIN
    p_waitpoint_id := ff_required(p_waitpoint_id, 'waitpoint_id');
    p_signal_name := ff_required(p_signal_name, 'signal_name');
    p_signal_name := ff_check_optional_text(p_signal_name, 'signal_name', 256);
    IF octet_length(p_category) > 256 THEN
        PERFORM ff_invalid('invalid_signal_category', 'signal_category must be 0-256 bytes');
    ELSIF octet_length(p_source_type) > 256 THEN
        PERFORM ff_invalid('invalid_source_type', 'source_type must be 0-256 bytes');
    ELSIF octet_length(p_source_identity) > 256 THEN
        PERFORM ff_invalid('invalid_source_identity', 'source_identity must be 0-256 bytes');
    ELSIF octet_length(p_correlation_id) > 256 THEN
        PERFORM ff_invalid('invalid_correlation_id', 'correlation_id must be 0-256 bytes');
    END IF;
    p_idempotency_key := ff_check_optional_text(p_idempotency_key, 'idempotency_key', 256);
    p_payload := ff_check_payload(p_payload, 'payload');
    p_dedup_ttl_ms := ff_required(p_dedup_ttl_ms, 'dedup_ttl_ms');
    p_dedup_ttl_ms := ff_check_ms(p_dedup_ttl_ms, 'dedup_ttl_ms', 0);
    capped := ff_dedup_ttl_ms(p_dedup_ttl_ms);
    p_resume_delay_ms := ff_required(p_resume_delay_ms, 'resume_delay_ms');
    p_resume_delay_ms := ff_check_ms(p_resume_delay_ms, 'resume_delay_ms', 0);
    capped := ff_max_signals(ff_required(p_max_signals, 'max_signals_per_execution'));
    RETURN true;
END
$$;
COMMENT ON FUNCTION ff_check_delivery(uuid, text, text, text, text, bytea, text, text, bigint, bigint, integer)
    IS 'Check a delivery''s arguments in order (internal).';

CREATE FUNCTION ff_deliver_signal_body(p_execution_id text, p_waitpoint_id uuid, p_token text, p_signal_name text, p_signal_id uuid,
    p_category text, p_source_type text, p_source_identity text, p_payload bytea, p_correlation_id text, p_idempotency_key text,
    p_dedup_ttl_ms bigint, p_resume_delay_ms bigint, p_max_signals integer)
RETURNS SETOF ff_delivery_row
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = @extschema@, pg_temp AS $$
DECLARE
    id record;
BEGIN
    -- ff_required in a statement of its own (its CASE names ff_reject), then the parse.
    IF p_execution_id IS NULL THEN PERFORM ff_required(p_execution_id, 'execution_id'); END IF;
    id := ff_parse_execution_id(p_execution_id);
    -- 1. Argument shapes (core/src/delivery.rs check_fields), then the durations and the cap: a
    -- delivery whose arguments all pass is told by one expression (as ff_claimer_valid); any other
    -- runs every check in order.
    IF NOT coalesce(p_waitpoint_id IS NOT NULL AND octet_length(p_signal_name) <@ '[1,256]'::int4range
                    AND coalesce(greatest(octet_length(p_category), octet_length(p_source_type), octet_length(p_source_identity),
                                          octet_length(p_correlation_id)), 0) <= 256
                    AND coalesce(octet_length(p_idempotency_key) <@ '[1,256]'::int4range, true)
                    AND p_dedup_ttl_ms <@ '[0,9007199254740991]'::int8range
                    AND p_resume_delay_ms <@ '[0,9007199254740991]'::int8range
                    AND p_max_signals IS NOT NULL, false) THEN
        PERFORM ff_check_delivery(p_waitpoint_id, p_signal_name, p_category, p_source_type, p_source_identity, p_payload,
            p_correlation_id, p_idempotency_key, p_dedup_ttl_ms, p_resume_delay_ms, p_max_signals);
    END IF;
    IF NOT ff_payload_fits(p_payload) THEN
        p_payload := ff_check_payload_size(p_payload, 'payload');
    END IF;
    RETURN NEXT ff_deliver(id.partition_key, id.execution_uuid, p_execution_id, p_waitpoint_id, p_signal_name, coalesce(p_signal_id, gen_random_uuid()),
        coalesce(p_category, ''), coalesce(p_source_type, ''), coalesce(p_source_identity, ''), p_payload,
        p_correlation_id, p_idempotency_key, ff_dedup_ttl_ms(p_dedup_ttl_ms), p_resume_delay_ms, ff_max_signals(p_max_signals),
        coalesce(p_token, ''), NULL, ff_now_ms());
END
$$;
COMMENT ON FUNCTION ff_deliver_signal_body(text, uuid, text, text, uuid, text, text, text, bytea, text, text, bigint, bigint, integer)
    IS 'ff_deliver_signal''s body (internal).';

CREATE FUNCTION ff_deliver_signal(execution_id text, waitpoint_id uuid, token text, signal_name text, signal_id uuid DEFAULT NULL,
    signal_category text DEFAULT '', source_type text DEFAULT '', source_identity text DEFAULT '', payload bytea DEFAULT NULL,
    correlation_id text DEFAULT NULL, idempotency_key text DEFAULT NULL, dedup_ttl_ms bigint DEFAULT 86400000,
    resume_delay_ms bigint DEFAULT 0, max_signals_per_execution integer DEFAULT 10000)
RETURNS TABLE (outcome text, signal_id uuid, effect text)
LANGUAGE sql STABLE AS $$
    SELECT * FROM @extschema@.ff_deliver_signal_body($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)
$$;

CREATE FUNCTION ff_deliver_approval_signal(execution_id text, lane_id text, waitpoint_id uuid, signal_name text, idempotency_suffix text)
RETURNS TABLE (outcome text, signal_id uuid, effect text)
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = @extschema@, pg_temp AS $$
#variable_conflict use_variable
DECLARE
    id record := ff_parse_execution_id(ff_required(execution_id, 'execution_id'));
BEGIN
    lane_id := ff_required(lane_id, 'lane_id');
    lane_id := ff_check_lane_id(lane_id);
    waitpoint_id := ff_required(waitpoint_id, 'waitpoint_id');
    signal_name := ff_required(signal_name, 'signal_name');
    signal_name := ff_check_optional_text(signal_name, 'signal_name', 256);
    idempotency_suffix := ff_required(idempotency_suffix, 'idempotency_suffix');
    idempotency_suffix := ff_check_optional_text(idempotency_suffix, 'idempotency_suffix', 256);
    RETURN QUERY SELECT * FROM ff_deliver(id.partition_key, id.execution_uuid, execution_id, waitpoint_id, signal_name, gen_random_uuid(), 'approval',
        'operator', session_user::text, NULL, NULL, 'approval:' || signal_name || ':' || idempotency_suffix,
        ff_dedup_ttl_ms(86400000), 0, ff_max_signals(10000), NULL, lane_id, ff_now_ms());
END
$$;

-- Operator resume of a locked, suspended execution: one statement, the Rust edition's
-- (signals/resume_by_operator.sql, inlined).
CREATE FUNCTION ff_resume_by_operator(pk smallint, id uuid, sid uuid, now_ms bigint, delay_ms bigint) RETURNS void
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    ref text := '{fp:' || pk || '}:' || id;
    elig text := CASE WHEN delay_ms > 0 THEN 'not_eligible_until_time' ELSE 'eligible_now' END;
    pub text := CASE WHEN delay_ms > 0 THEN 'delayed' ELSE 'waiting' END;
    eligible_at bigint := CASE WHEN delay_ms > 0 THEN now_ms + delay_ms END;
BEGIN
    -- @statement signals/resume_by_operator.sql: pk, id, sid, now_ms, 'runnable', 'unowned', elig, 'attempt_interrupted', pub, eligible_at, ref
    WITH sus AS (
        UPDATE ff_suspension SET state = 'closed', closed_at_ms = now_ms, close_reason = 'resumed_by_operator',
            closer_signal_id = NULL, satisfier_seqs = '{}'
        WHERE partition_key = pk AND execution_id = id AND suspension_id = sid AND state = 'open'),
    wps AS (
        UPDATE ff_waitpoint SET state = 'closed', closed_at_ms = now_ms, close_reason = 'resumed_by_operator'
        WHERE partition_key = pk AND execution_id = id AND suspension_id = sid AND state <> 'closed'),
    upd AS (
        UPDATE ff_exec_core SET lifecycle_phase = 'runnable', ownership_state = 'unowned', eligibility_state = elig,
            attempt_state = 'attempt_interrupted', public_state = pub, eligible_at_ms = eligible_at, updated_at_ms = now_ms
        WHERE partition_key = pk AND execution_id = id RETURNING partition_key, namespace)
    INSERT INTO ff_completion_event (partition_key, execution_id, namespace, occurred_at_ms, outcome)
    SELECT partition_key, ref, namespace, now_ms, 'resumed' FROM upd
    -- @end statement
    ;
END
$$;
COMMENT ON FUNCTION ff_resume_by_operator(smallint, uuid, uuid, bigint, bigint) IS 'Resume a locked, suspended execution (internal).';

CREATE FUNCTION ff_resume_execution(execution_id text, resume_delay_ms bigint DEFAULT 0)
RETURNS TABLE (outcome text)
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = @extschema@, pg_temp AS $$
#variable_conflict use_variable
DECLARE
    id record := ff_parse_execution_id(ff_required(execution_id, 'execution_id'));
    e ff_exec_core;
    sid uuid;
    now_ms bigint;
BEGIN
    resume_delay_ms := ff_required(resume_delay_ms, 'resume_delay_ms');
    resume_delay_ms := ff_check_ms(resume_delay_ms, 'resume_delay_ms', 0);
    now_ms := ff_now_ms();
    e := ff_lock_execution(id.partition_key, id.execution_uuid);
    SELECT s.suspension_id INTO sid FROM ff_suspension s
    WHERE s.partition_key = id.partition_key AND s.execution_id = id.execution_uuid AND s.state = 'open';
    IF sid IS NULL OR e.lifecycle_phase <> 'suspended' THEN
        PERFORM ff_raise('WF033', 'execution_not_suspended', format('the execution is %s, not suspended', e.lifecycle_phase));
    END IF;
    PERFORM ff_resume_by_operator(id.partition_key, id.execution_uuid, sid, now_ms, resume_delay_ms);
    IF resume_delay_ms <= 0 THEN
        PERFORM ff_claim_start_lower(e.lane_id, e.priority, e.queue_seq);
    END IF;
    PERFORM ff_wake('{ff_completion}', CASE WHEN resume_delay_ms > 0 THEN '{}'::text[] ELSE ARRAY[e.lane_id] END);
    RETURN QUERY SELECT 'resumed'::text;
END
$$;

CREATE FUNCTION ff_observe_signals(execution_id text)
RETURNS TABLE (signal_id uuid, waitpoint_key text, signal_name text, signal_category text, source_type text, source_identity text,
    correlation_id text, accepted_at_ms bigint, payload bytea)
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = @extschema@, pg_temp AS $$
#variable_conflict use_variable
DECLARE
    id record := ff_parse_execution_id(ff_required(execution_id, 'execution_id'));
BEGIN
    RETURN QUERY
    WITH s AS (
        SELECT x.satisfier_seqs FROM ff_suspension x WHERE x.partition_key = id.partition_key AND x.execution_id = id.execution_uuid
        ORDER BY x.suspended_at_ms DESC, x.closed_at_ms DESC NULLS FIRST LIMIT 1)
    SELECT g.signal_id, g.waitpoint_key, g.signal_name, g.signal_category, g.source_type, g.source_identity, g.correlation_id,
           g.accepted_at_ms, g.payload
    FROM s JOIN ff_signal g ON g.partition_key = id.partition_key AND g.execution_id = id.execution_uuid AND g.signal_seq = ANY (s.satisfier_seqs)
    ORDER BY g.signal_seq;
END
$$;

-- A signal the engine delivers itself (a flow member's end to its parent): no token, the lane read
-- from the execution, no per-execution signal limit (the signals come from members, bounded by
-- creation). Returns the effect.
CREATE FUNCTION ff_deliver_engine_signal(pk smallint, id uuid, waitpoint_id uuid, signal_name text, source_identity text, payload bytea)
RETURNS text
LANGUAGE plpgsql VOLATILE AS $$
BEGIN
    RETURN (SELECT d.effect FROM ff_deliver(pk, id, '{fp:' || pk || '}:' || id, waitpoint_id, signal_name, gen_random_uuid(), 'flow', 'child_execution',
        source_identity, payload, NULL, NULL, 0, 0, 2147483647,
        NULL, (SELECT e.lane_id FROM ff_exec_core e WHERE e.partition_key = pk AND e.execution_id = id), ff_now_ms()) d);
END
$$;
COMMENT ON FUNCTION ff_deliver_engine_signal(smallint, uuid, uuid, text, text, bytea) IS 'Deliver a signal from the engine itself (internal).';
