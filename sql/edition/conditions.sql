-- ff_engine SQL edition: resume conditions (docs/semantics.md §5), validated and put in canonical form
-- as the Rust edition does (core/src/condition.rs): ff_cond_check, which ff_suspend and the builders
-- of sql/conditions.sql use. The same DETAIL codes and messages.

-- The length of a JSON value as serde_json writes it compactly (no spaces; object keys in byte order),
-- which is what the Rust edition measures against the 8 KiB limit.
CREATE FUNCTION ff_json_compact_length(v jsonb) RETURNS bigint
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
    SELECT CASE jsonb_typeof(v)
        WHEN 'object' THEN 2 + coalesce((SELECT sum(octet_length(to_jsonb(k)::text) + 1 + ff_json_compact_length(x)) + count(*) - 1
                                         FROM jsonb_each(v) AS e(k, x)), 0)
        WHEN 'array' THEN 2 + coalesce((SELECT sum(ff_json_compact_length(x)) + count(*) - 1 FROM jsonb_array_elements(v) AS a(x)), 0)
        ELSE octet_length(v::text) END
$$;
COMMENT ON FUNCTION ff_json_compact_length(jsonb) IS 'Compact JSON length in bytes (internal).';

CREATE FUNCTION ff_cond_unknown(what text) RETURNS void
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT ff_invalid('unknown_condition', 'unknown_condition: ' || what)
$$;
COMMENT ON FUNCTION ff_cond_unknown(text) IS 'WF001 unknown_condition (internal).';

-- A matcher: "Wildcard", {"ByName": name} or {"ByCorrelation": correlation_id}.
CREATE FUNCTION ff_cond_matcher(v jsonb) RETURNS jsonb
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
BEGIN
    IF v = '"Wildcard"' THEN
        RETURN v;
    END IF;
    IF jsonb_typeof(v) = 'object' AND (SELECT count(*) FROM jsonb_object_keys(v)) = 2 AND v ? 'ByName' AND v ? 'ByCorrelation' THEN
        PERFORM ff_invalid('matcher_conflict', 'matcher_conflict: a matcher is ByName or ByCorrelation, not both');
    END IF;
    IF jsonb_typeof(v) = 'object' AND (SELECT count(*) FROM jsonb_object_keys(v)) = 1 AND jsonb_typeof(v -> 'ByName') = 'string' THEN
        IF v ->> 'ByName' = '' THEN
            PERFORM ff_invalid('empty_signal_name', 'empty_signal_name: ByName needs a non-empty signal name');
        END IF;
        RETURN jsonb_build_object('ByName', v -> 'ByName');
    END IF;
    IF jsonb_typeof(v) = 'object' AND (SELECT count(*) FROM jsonb_object_keys(v)) = 1 AND jsonb_typeof(v -> 'ByCorrelation') = 'string' THEN
        IF v ->> 'ByCorrelation' = '' THEN
            PERFORM ff_invalid('empty_correlation_id', 'empty_correlation_id: ByCorrelation needs a non-empty correlation id');
        END IF;
        RETURN jsonb_build_object('ByCorrelation', v -> 'ByCorrelation');
    END IF;
    PERFORM ff_cond_unknown('matcher must be "Wildcard", {"ByName": name} or {"ByCorrelation": correlation_id}');
    RETURN NULL;
END
$$;
COMMENT ON FUNCTION ff_cond_matcher(jsonb) IS 'Validate a condition matcher (internal).';

-- Unknown fields first (the first in byte order), then missing required ones (in their order).
CREATE FUNCTION ff_cond_expect_keys(o jsonb, required text[], optional text[], what text) RETURNS void
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
DECLARE
    k text;
BEGIN
    SELECT x INTO k FROM jsonb_object_keys(o) AS x WHERE x <> ALL (required || optional) ORDER BY x COLLATE "C" LIMIT 1;
    IF FOUND THEN
        PERFORM ff_cond_unknown(format('%s has an unknown field %s', what, k));
    END IF;
    FOREACH k IN ARRAY required LOOP
        IF NOT o ? k THEN
            PERFORM ff_cond_unknown(format('%s needs the field %s', what, k));
        END IF;
    END LOOP;
END
$$;
COMMENT ON FUNCTION ff_cond_expect_keys(jsonb, text[], text[], text) IS 'Check a condition node''s fields (internal).';

CREATE FUNCTION ff_cond_waitpoint_key(v jsonb) RETURNS jsonb
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
BEGIN
    IF jsonb_typeof(v) IS DISTINCT FROM 'string' OR octet_length(v #>> '{}') NOT BETWEEN 1 AND 256 THEN
        PERFORM ff_invalid('invalid_waitpoint_key', 'invalid_waitpoint_key: waitpoint keys are 1-256 bytes');
    END IF;
    RETURN v;
END
$$;
COMMENT ON FUNCTION ff_cond_waitpoint_key(jsonb) IS 'Validate a waitpoint key (internal).';

-- A Count node's fields, checked in the Rust edition's order; its canonical form.
CREATE FUNCTION ff_cond_count_node(comp jsonb) RETURNS jsonb
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
DECLARE
    m jsonb;
    n numeric;
    wps jsonb;
    out jsonb;
BEGIN
    PERFORM ff_cond_expect_keys(comp, '{kind,n,count_kind,waitpoints}', '{matcher}', 'Count');
    IF jsonb_typeof(comp -> 'n') <> 'number' OR (comp -> 'n')::text !~ '^[0-9]+$'
       OR (comp -> 'n')::text::numeric > 4294967295 THEN
        PERFORM ff_cond_unknown('Count n must be a non-negative integer');
    END IF;
    n := (comp -> 'n')::text::numeric;
    IF n = 0 THEN
        PERFORM ff_invalid('count_n_zero', 'count_n_zero: Count n must be at least 1');
    END IF;
    IF coalesce(comp ->> 'count_kind', '') NOT IN ('DistinctWaitpoints', 'DistinctSignals', 'DistinctSources')
       OR jsonb_typeof(comp -> 'count_kind') <> 'string' THEN
        PERFORM ff_cond_unknown('count_kind must be DistinctWaitpoints, DistinctSignals or DistinctSources');
    END IF;
    IF comp ? 'matcher' AND comp -> 'matcher' <> 'null' THEN
        m := ff_cond_matcher(comp -> 'matcher');
    END IF;
    IF jsonb_typeof(comp -> 'waitpoints') <> 'array' THEN
        PERFORM ff_cond_unknown('Count waitpoints must be an array');
    END IF;
    IF jsonb_array_length(comp -> 'waitpoints') = 0 THEN
        PERFORM ff_invalid('count_waitpoints_empty', 'count_waitpoints_empty: Count needs at least one waitpoint');
    END IF;
    SELECT jsonb_agg(ff_cond_waitpoint_key(x) ORDER BY o) INTO wps FROM jsonb_array_elements(comp -> 'waitpoints') WITH ORDINALITY AS a(x, o);
    IF comp ->> 'count_kind' = 'DistinctWaitpoints' AND n > (SELECT count(DISTINCT x) FROM jsonb_array_elements(wps) AS a(x)) THEN
        PERFORM ff_invalid('count_exceeds_waitpoint_set',
            'count_exceeds_waitpoint_set: DistinctWaitpoints n is larger than the number of distinct waitpoints');
    END IF;
    out := jsonb_build_object('kind', 'Count', 'n', n, 'count_kind', comp -> 'count_kind', 'waitpoints', wps);
    IF m IS NOT NULL THEN
        out := out || jsonb_build_object('matcher', m);
    END IF;
    RETURN out;
END
$$;
COMMENT ON FUNCTION ff_cond_count_node(jsonb) IS 'Validate a Count node (internal).';

-- One node, at Composite depth `depth`; returns its canonical form.
CREATE FUNCTION ff_cond_node(v jsonb, depth integer) RETURNS jsonb
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
DECLARE
    single jsonb;
    comp jsonb;
    members jsonb := '[]';
    m jsonb;
BEGIN
    IF v = '"OperatorOnly"' OR v = '"TimeoutOnly"' THEN
        RETURN v;
    END IF;
    IF jsonb_typeof(v) = 'object' AND (SELECT count(*) FROM jsonb_object_keys(v)) = 1 THEN
        single := v -> 'Single';
        IF jsonb_typeof(single) = 'object' THEN
            PERFORM ff_cond_expect_keys(single, '{waitpoint_key,matcher}', '{}', 'Single');
            RETURN jsonb_build_object('Single', jsonb_build_object(
                'waitpoint_key', ff_cond_waitpoint_key(single -> 'waitpoint_key'), 'matcher', ff_cond_matcher(single -> 'matcher')));
        END IF;
        comp := v -> 'Composite';
        IF jsonb_typeof(comp) IS DISTINCT FROM 'object' THEN
            PERFORM ff_cond_unknown('expected Single, Composite, OperatorOnly or TimeoutOnly');
        END IF;
        IF depth + 1 > 4 THEN
            PERFORM ff_invalid('depth_exceeded', 'depth_exceeded: Composite nodes nest at most 4 deep');
        END IF;
        IF comp -> 'kind' = '"AllOf"' THEN
            PERFORM ff_cond_expect_keys(comp, '{kind,members}', '{}', 'AllOf');
            IF jsonb_typeof(comp -> 'members') <> 'array' THEN
                PERFORM ff_cond_unknown('AllOf members must be an array');
            END IF;
            IF jsonb_array_length(comp -> 'members') = 0 THEN
                PERFORM ff_invalid('allof_empty_members', 'allof_empty_members: AllOf needs at least one member');
            END IF;
            FOR m IN SELECT x FROM jsonb_array_elements(comp -> 'members') WITH ORDINALITY AS a(x, o) ORDER BY o LOOP
                members := members || jsonb_build_array(ff_cond_node(m, depth + 1));
            END LOOP;
            RETURN jsonb_build_object('Composite', jsonb_build_object('kind', 'AllOf', 'members', members));
        END IF;
        IF comp -> 'kind' = '"Count"' THEN
            RETURN jsonb_build_object('Composite', ff_cond_count_node(comp));
        END IF;
        PERFORM ff_cond_unknown('Composite kind must be AllOf or Count');
    END IF;
    PERFORM ff_cond_unknown('expected Single, Composite, OperatorOnly or TimeoutOnly');
    RETURN NULL;
END
$$;
COMMENT ON FUNCTION ff_cond_node(jsonb, integer) IS 'Validate one condition node (internal).';

-- Whether a condition is a well-formed Single on a 1-256 byte key with a Wildcard, ByName or
-- ByCorrelation matcher: the common condition, already in canonical form (jsonb keeps one key order),
-- so ff_cond_parse returns it without the node walk. Anything else takes the walk, which says what is
-- wrong in the Rust edition's order. One strict JSON path (no array unwrapping; a missing member or a
-- wrong type makes it unknown, hence false) and the key's byte length: PostgreSQL prepares each
-- operator of an expression anew in every transaction, and the same test written with jsonb operators
-- took about twice the instructions.
CREATE FUNCTION ff_cond_is_plain_single(v jsonb) RETURNS boolean
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT coalesce(jsonb_path_match(v, 'strict !exists($.keyvalue() ? (@.key != "Single"))
        && !exists($.Single.keyvalue() ? (@.key != "waitpoint_key" && @.key != "matcher"))
        && $.Single.waitpoint_key.type() == "string"
        && ($.Single.matcher == "Wildcard"
            || (!exists($.Single.matcher.keyvalue() ? (@.key != "ByName"))
                && $.Single.matcher.ByName.type() == "string" && $.Single.matcher.ByName != "")
            || (!exists($.Single.matcher.keyvalue() ? (@.key != "ByCorrelation"))
                && $.Single.matcher.ByCorrelation.type() == "string" && $.Single.matcher.ByCorrelation != ""))', '{}', true)
        AND octet_length(v #>> '{Single,waitpoint_key}') BETWEEN 1 AND 256, false)
$$;
COMMENT ON FUNCTION ff_cond_is_plain_single(jsonb) IS 'Whether a condition is a canonical Single (internal).';

-- ff_cond_check's work, for suspend (no change of user or settings on the way), on a condition its
-- caller passed through ff_check_jsonb.
CREATE FUNCTION ff_cond_parse(resume_condition jsonb) RETURNS jsonb
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
BEGIN
    resume_condition := ff_required(resume_condition, 'resume_condition');
    -- The compact length exceeds the jsonb text's only by a few bytes per huge number (each at least 20
    -- bytes long), so a text of at most 6 000 bytes is at most 7 500 compact: measure only beyond.
    IF octet_length(resume_condition::text) > 6000 AND ff_json_compact_length(resume_condition) > 8192 THEN
        PERFORM ff_invalid('condition_too_large', 'condition_too_large: the resume condition is larger than 8 KiB');
    END IF;
    IF ff_cond_is_plain_single(resume_condition) THEN
        RETURN resume_condition;
    END IF;
    RETURN ff_cond_node(resume_condition, 0);
END
$$;
COMMENT ON FUNCTION ff_cond_parse(jsonb) IS 'Validate a condition and put it in canonical form (internal).';

CREATE FUNCTION ff_cond_check(resume_condition jsonb) RETURNS jsonb
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE SECURITY DEFINER SET search_path = @extschema@, pg_temp AS $$
BEGIN
    RETURN ff_cond_parse(ff_check_jsonb(resume_condition, 'resume_condition'));
END
$$;

-- Evaluation (core/src/condition.rs: evaluate, effect_of): recomputed over the recorded signals, a
-- jsonb array in acceptance order of {"seq", "signal_id", "waitpoint_key", "name", "source_type",
-- "source_identity", "correlation_id"}. Used by suspend (the buffered-signal replay) and deliver.

-- Whether a matcher accepts a signal (a NULL matcher, Count's absent one, accepts any): by its name, or
-- by its correlation id.
CREATE FUNCTION ff_cond_accepts_signal(matcher jsonb, signal_name text, correlation_id text) RETURNS boolean
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT coalesce(matcher IS NULL OR matcher IN ('null', '"Wildcard"') OR matcher ->> 'ByName' = signal_name
        OR matcher ->> 'ByCorrelation' = correlation_id, false)
$$;
COMMENT ON FUNCTION ff_cond_accepts_signal(jsonb, text, text) IS 'Whether a matcher accepts a signal of this name and correlation id (internal).';

-- The same, for a signal as the evaluation lists it ({"name", "correlation_id", ...}).
CREATE FUNCTION ff_cond_accepts(matcher jsonb, signal jsonb) RETURNS boolean
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT ff_cond_accepts_signal(matcher, signal ->> 'name', signal ->> 'correlation_id')
$$;
COMMENT ON FUNCTION ff_cond_accepts(jsonb, jsonb) IS 'Whether a matcher accepts a signal (internal).';

-- A Count node: its own matching signals, distinct by its kind; the first of each unit; satisfied
-- by n of them.
CREATE FUNCTION ff_cond_eval_count(comp jsonb, signals jsonb, OUT satisfied boolean, OUT progress integer[], OUT satisfiers bigint[])
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
DECLARE
    n integer := (comp ->> 'n')::integer;
    firsts bigint[];
BEGIN
    SELECT coalesce(array_agg(seq ORDER BY o), '{}') INTO firsts FROM (
        SELECT DISTINCT ON (unit) (s ->> 'seq')::bigint AS seq, o
        FROM jsonb_array_elements(signals) WITH ORDINALITY AS a(s, o),
             LATERAL (SELECT CASE comp ->> 'count_kind'
                          WHEN 'DistinctWaitpoints' THEN s ->> 'waitpoint_key'
                          WHEN 'DistinctSignals' THEN s ->> 'signal_id'
                          ELSE jsonb_build_array(s -> 'source_type', s -> 'source_identity')::text END AS unit) u
        WHERE (comp -> 'waitpoints') ? (s ->> 'waitpoint_key') AND ff_cond_accepts(comp -> 'matcher', s)
        ORDER BY unit, o) f;
    progress := ARRAY[least(cardinality(firsts), n)];
    satisfied := cardinality(firsts) >= n;
    satisfiers := CASE WHEN satisfied THEN firsts[1:n] ELSE '{}' END;
END
$$;
COMMENT ON FUNCTION ff_cond_eval_count(jsonb, jsonb) IS 'Evaluate a Count node (internal).';

-- One node: satisfied, its progress (per node, in pre-order: distinct units counted, or 0/1) and the
-- satisfiers (seqs) when satisfied.
CREATE FUNCTION ff_cond_eval_node(c jsonb, signals jsonb, OUT satisfied boolean, OUT progress integer[], OUT satisfiers bigint[])
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
DECLARE
    comp jsonb := c -> 'Composite';
    m jsonb;
    sub record;
    r record;
    sat bigint[] := '{}';
    first_seq bigint;
BEGIN
    progress := '{}';
    satisfiers := '{}';
    IF c ? 'Single' THEN
        SELECT (s ->> 'seq')::bigint INTO first_seq FROM jsonb_array_elements(signals) WITH ORDINALITY AS a(s, o)
        WHERE s ->> 'waitpoint_key' = c -> 'Single' ->> 'waitpoint_key' AND ff_cond_accepts(c -> 'Single' -> 'matcher', s)
        ORDER BY o LIMIT 1;
        satisfied := FOUND;
        progress := ARRAY[CASE WHEN satisfied THEN 1 ELSE 0 END];
        IF satisfied THEN
            satisfiers := ARRAY[first_seq];
        END IF;
        RETURN;
    END IF;
    IF comp IS NULL THEN -- OperatorOnly, TimeoutOnly
        satisfied := false;
        progress := ARRAY[0];
        RETURN;
    END IF;
    IF comp ->> 'kind' = 'AllOf' THEN
        progress := ARRAY[0];
        satisfied := true;
        FOR m IN SELECT x FROM jsonb_array_elements(comp -> 'members') WITH ORDINALITY AS a(x, o) ORDER BY o LOOP
            sub := ff_cond_eval_node(m, signals);
            progress := progress || sub.progress;
            IF sub.satisfied THEN
                sat := sat || sub.satisfiers;
            ELSE
                satisfied := false;
            END IF;
        END LOOP;
        IF satisfied THEN
            satisfiers := sat;
        END IF;
        RETURN;
    END IF;
    r := ff_cond_eval_count(comp, signals);
    satisfied := r.satisfied;
    progress := r.progress;
    satisfiers := r.satisfiers;
END
$$;
COMMENT ON FUNCTION ff_cond_eval_node(jsonb, jsonb) IS 'Evaluate one condition node (internal).';

CREATE FUNCTION ff_cond_evaluate(c jsonb, signals jsonb, OUT satisfied boolean, OUT progress integer[], OUT satisfiers bigint[])
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
DECLARE
    r record := ff_cond_eval_node(c, signals);
BEGIN
    satisfied := r.satisfied;
    progress := r.progress;
    satisfiers := CASE WHEN r.satisfied THEN (SELECT coalesce(array_agg(DISTINCT x ORDER BY x), '{}') FROM unnest(r.satisfiers) x)
                       ELSE '{}' END;
END
$$;
COMMENT ON FUNCTION ff_cond_evaluate(jsonb, jsonb) IS 'Evaluate a condition over signals (internal).';

-- The waitpoint keys a condition references, in first-reference order, without repeats.
CREATE FUNCTION ff_cond_keys(c jsonb) RETURNS text[]
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
DECLARE
    out text[];
    k text;
    m jsonb;
BEGIN
    IF c ? 'Single' THEN
        RETURN ARRAY[c -> 'Single' ->> 'waitpoint_key'];
    END IF;
    out := '{}';  -- not an initial value: a Single returns above without evaluating it
    IF c -> 'Composite' ->> 'kind' = 'AllOf' THEN
        FOR m IN SELECT x FROM jsonb_array_elements(c -> 'Composite' -> 'members') WITH ORDINALITY AS a(x, o) ORDER BY o LOOP
            FOREACH k IN ARRAY ff_cond_keys(m) LOOP
                IF NOT k = ANY (out) THEN out := out || k; END IF;
            END LOOP;
        END LOOP;
    ELSIF c -> 'Composite' ->> 'kind' = 'Count' THEN
        FOR k IN SELECT x FROM jsonb_array_elements_text(c -> 'Composite' -> 'waitpoints') WITH ORDINALITY AS a(x, o) ORDER BY o LOOP
            IF NOT k = ANY (out) THEN out := out || k; END IF;
        END LOOP;
    END IF;
    RETURN out;
END
$$;
COMMENT ON FUNCTION ff_cond_keys(jsonb) IS 'Referenced waitpoint keys in order (internal).';

-- Whether some node on the signal's waitpoint key accepts it.
CREATE FUNCTION ff_cond_key_accepting(c jsonb, signal jsonb) RETURNS boolean
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
DECLARE
    key text := signal ->> 'waitpoint_key';
    m jsonb;
BEGIN
    IF c ? 'Single' THEN
        RETURN c -> 'Single' ->> 'waitpoint_key' = key AND ff_cond_accepts(c -> 'Single' -> 'matcher', signal);
    END IF;
    IF c -> 'Composite' ->> 'kind' = 'Count' THEN
        RETURN (c -> 'Composite' -> 'waitpoints') ? key AND ff_cond_accepts(c -> 'Composite' -> 'matcher', signal);
    END IF;
    IF c -> 'Composite' ->> 'kind' = 'AllOf' THEN
        FOR m IN SELECT jsonb_array_elements(c -> 'Composite' -> 'members') LOOP
            IF ff_cond_key_accepting(m, signal) THEN
                RETURN true;
            END IF;
        END LOOP;
    END IF;
    RETURN false;
END
$$;
COMMENT ON FUNCTION ff_cond_key_accepting(jsonb, jsonb) IS 'Whether a key accepts a signal (internal).';

-- The ByName names the nodes on `key` need, sorted (for the waitpoint listings).
CREATE FUNCTION ff_cond_required_names(c jsonb, key text) RETURNS text[]
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
BEGIN
    IF c ? 'Single' THEN
        RETURN CASE WHEN c -> 'Single' ->> 'waitpoint_key' = key AND c -> 'Single' -> 'matcher' ? 'ByName'
                    THEN ARRAY[c -> 'Single' -> 'matcher' ->> 'ByName'] ELSE '{}' END;
    END IF;
    -- PL/pgSQL around one query, so that its plan is kept (as SQL, WITH RECURSIVE was planned per call).
    RETURN (
        WITH RECURSIVE nodes(n) AS (
            SELECT c
            UNION ALL
            SELECT m FROM nodes, jsonb_array_elements(CASE WHEN n -> 'Composite' ->> 'kind' = 'AllOf' THEN n -> 'Composite' -> 'members' END) m)
        SELECT coalesce(array_agg(DISTINCT name ORDER BY name) FILTER (WHERE name IS NOT NULL), '{}')
        FROM (SELECT CASE
                  WHEN n ? 'Single' AND n -> 'Single' ->> 'waitpoint_key' = key THEN n -> 'Single' -> 'matcher' ->> 'ByName'
                  WHEN n -> 'Composite' ->> 'kind' = 'Count' AND (n -> 'Composite' -> 'waitpoints') ? key
                      THEN n -> 'Composite' -> 'matcher' ->> 'ByName' END COLLATE "C" AS name
              FROM nodes) x
    );
END
$$;
COMMENT ON FUNCTION ff_cond_required_names(jsonb, text) IS 'Signal names a waitpoint needs (internal).';

-- A new signal's effect, and the satisfiers when it satisfies (else those before it). A declared
-- type, not OUT parameters: PostgreSQL builds the result descriptor of OUT parameters on every call.
CREATE TYPE ff_signal_effect AS (effect text, satisfiers bigint[]);
COMMENT ON TYPE ff_signal_effect IS 'A new signal''s effect and the satisfiers (internal).';

-- A Single node's effect of a new signal (its key, name, correlation id and seq), given whether it
-- was satisfied before and by which seqs: ignored on another key, a no-op when its matcher refuses,
-- a duplicate once satisfied, else satisfied by this signal. SQL, written into the caller: a
-- delivery to an open Single suspension (nothing counted before) asks it without building the
-- signal as jsonb.
CREATE FUNCTION ff_cond_single_effect(single jsonb, waitpoint_key text, signal_name text, correlation_id text, seq bigint,
    satisfied_before boolean, satisfiers_before bigint[]) RETURNS ff_signal_effect
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN NOT waitpoint_key = single ->> 'waitpoint_key'
                    THEN ROW('signal_ignored_not_in_condition', satisfiers_before)::ff_signal_effect
                WHEN NOT ff_cond_accepts_signal(single -> 'matcher', signal_name, correlation_id)
                    THEN ROW('no_op', satisfiers_before)::ff_signal_effect
                WHEN satisfied_before THEN ROW('appended_to_waitpoint_duplicate', satisfiers_before)::ff_signal_effect
                ELSE ROW('resume_condition_satisfied', ARRAY[seq])::ff_signal_effect END
$$;
COMMENT ON FUNCTION ff_cond_single_effect(jsonb, text, text, text, bigint, boolean, bigint[]) IS 'A Single node''s effect of a new signal (internal).';

-- ff_cond_effect for a condition that is one Count node: its count before and after the new signal,
-- without the general evaluation (the satisfiers sorted, as ff_cond_evaluate gives them).
CREATE FUNCTION ff_cond_count_effect(comp jsonb, prior jsonb, new_signal jsonb) RETURNS ff_signal_effect
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
DECLARE
    before record := ff_cond_eval_count(comp, prior);
    after record;
    effect text;
    satisfiers bigint[];
BEGIN
    satisfiers := '{}';
    IF before.satisfied THEN
        satisfiers := ARRAY(SELECT x FROM unnest(before.satisfiers) x ORDER BY x);
    END IF;
    IF NOT (comp -> 'waitpoints') ? (new_signal ->> 'waitpoint_key') THEN
        RETURN ROW('signal_ignored_not_in_condition', satisfiers)::ff_signal_effect;
    END IF;
    IF NOT ff_cond_accepts(comp -> 'matcher', new_signal) THEN
        RETURN ROW('signal_ignored_matcher_failed', satisfiers)::ff_signal_effect;
    END IF;
    after := ff_cond_eval_count(comp, prior || jsonb_build_array(new_signal));
    satisfiers := '{}';
    IF after.satisfied THEN
        satisfiers := ARRAY(SELECT x FROM unnest(after.satisfiers) x ORDER BY x);
    END IF;
    effect := CASE WHEN after.satisfied AND NOT before.satisfied THEN 'resume_condition_satisfied'
                   WHEN after.progress = before.progress THEN 'appended_to_waitpoint_duplicate'
                   ELSE 'appended_to_waitpoint' END;
    RETURN ROW(effect, satisfiers)::ff_signal_effect;
END
$$;
COMMENT ON FUNCTION ff_cond_count_effect(jsonb, jsonb, jsonb) IS 'The effect of a new signal on a Count condition (internal).';

-- The effect of a new signal given the signals already counted, and the evaluation after it.
CREATE FUNCTION ff_cond_effect(c jsonb, prior jsonb, new_signal jsonb) RETURNS ff_signal_effect
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
DECLARE
    before record;
    after record;
    satisfied_before boolean;
    single jsonb := c -> 'Single';
    effect text;
    satisfiers bigint[];
BEGIN
    IF single IS NOT NULL THEN
        -- A Single is satisfied by its first accepted signal: no evaluation over the list.
        satisfied_before := false;
        satisfiers := '{}';
        IF jsonb_array_length(prior) > 0 THEN
            before := ff_cond_evaluate(c, prior);
            satisfied_before := before.satisfied;
            satisfiers := before.satisfiers;
        END IF;
        RETURN ff_cond_single_effect(single, new_signal ->> 'waitpoint_key', new_signal ->> 'name', new_signal ->> 'correlation_id',
                                     (new_signal ->> 'seq')::bigint, satisfied_before, satisfiers);
    END IF;
    IF c -> 'Composite' ->> 'kind' = 'Count' THEN
        RETURN ff_cond_count_effect(c -> 'Composite', prior, new_signal);
    END IF;
    before := ff_cond_evaluate(c, prior);
    satisfiers := before.satisfiers;
    IF NOT (new_signal ->> 'waitpoint_key') = ANY (ff_cond_keys(c)) THEN
        RETURN ROW('signal_ignored_not_in_condition', satisfiers)::ff_signal_effect;
    END IF;
    IF NOT ff_cond_key_accepting(c, new_signal) THEN
        RETURN ROW(CASE WHEN c ? 'Single' THEN 'no_op' ELSE 'signal_ignored_matcher_failed' END, satisfiers)::ff_signal_effect;
    END IF;
    after := ff_cond_evaluate(c, prior || jsonb_build_array(new_signal));
    satisfiers := after.satisfiers;
    effect := CASE WHEN after.satisfied AND NOT before.satisfied THEN 'resume_condition_satisfied'
                   WHEN after.progress = before.progress THEN 'appended_to_waitpoint_duplicate'
                   ELSE 'appended_to_waitpoint' END;
    RETURN ROW(effect, satisfiers)::ff_signal_effect;
END
$$;
COMMENT ON FUNCTION ff_cond_effect(jsonb, jsonb, jsonb) IS 'The effect of a new signal (internal).';
