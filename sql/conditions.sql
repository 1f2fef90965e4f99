-- Resume-condition builders: small immutable functions that return the exact JSON ff_suspend takes,
-- so nobody writes {"Composite":{"kind":"AllOf","members":[...]}} by hand. Each assembles the JSON and
-- passes it through ff_cond_check, the validator ff_suspend runs, so a bad argument is the same WF001
-- (with the same DETAIL code) that ff_suspend would give. A node matches signals by signal_name or by
-- correlation_id (the one a signal was delivered with), not both (the validator's matcher_conflict);
-- neither given, it matches any signal.

CREATE FUNCTION ff_cond_single(waitpoint_key text, signal_name text DEFAULT NULL, correlation_id text DEFAULT NULL) RETURNS jsonb
LANGUAGE sql IMMUTABLE PARALLEL SAFE SET search_path = @extschema@, pg_temp
AS $$
    SELECT ff_cond_check(jsonb_build_object('Single', jsonb_build_object(
        'waitpoint_key', waitpoint_key,
        'matcher', CASE WHEN signal_name IS NULL AND correlation_id IS NULL THEN to_jsonb('Wildcard'::text)
                        ELSE jsonb_strip_nulls(jsonb_build_object('ByName', signal_name, 'ByCorrelation', correlation_id)) END)))
$$;
COMMENT ON FUNCTION ff_cond_single(text, text, text) IS
    'Resume condition: one signal (named signal_name, or with correlation_id; any when both NULL) on the waitpoint waitpoint_key.';

CREATE FUNCTION ff_cond_all(VARIADIC members jsonb[]) RETURNS jsonb
LANGUAGE sql IMMUTABLE PARALLEL SAFE SET search_path = @extschema@, pg_temp
AS $$
    SELECT ff_cond_check(jsonb_build_object('Composite', jsonb_build_object(
        'kind', 'AllOf', 'members', coalesce(to_jsonb(members), '[]'::jsonb))))
$$;
COMMENT ON FUNCTION ff_cond_all(jsonb[]) IS
    'Resume condition: every member condition satisfied (AllOf); members are conditions, e.g. from ff_cond_single.';

CREATE FUNCTION ff_cond_count(n integer, count_kind text, waitpoint_keys text[], signal_name text DEFAULT NULL,
    correlation_id text DEFAULT NULL)
RETURNS jsonb
LANGUAGE sql IMMUTABLE PARALLEL SAFE SET search_path = @extschema@, pg_temp
AS $$
    SELECT ff_cond_check(jsonb_build_object('Composite', jsonb_strip_nulls(jsonb_build_object(
        'kind', 'Count', 'n', n,
        'count_kind', CASE count_kind WHEN 'waitpoints' THEN 'DistinctWaitpoints'
                                      WHEN 'signals' THEN 'DistinctSignals'
                                      WHEN 'sources' THEN 'DistinctSources'
                                      ELSE count_kind END,
        'waitpoints', coalesce(to_jsonb(waitpoint_keys), '[]'::jsonb),
        'matcher', CASE WHEN signal_name IS NOT NULL OR correlation_id IS NOT NULL
                        THEN jsonb_build_object('ByName', signal_name, 'ByCorrelation', correlation_id) END))))
$$;
COMMENT ON FUNCTION ff_cond_count(integer, text, text[], text, text) IS
    'Resume condition: n distinct waitpoints, signals or sources (count_kind: waitpoints, signals, sources or the canonical Distinct* name) among waitpoint_keys, counting signals named signal_name or with correlation_id.';

CREATE FUNCTION ff_cond_any(waitpoint_keys text[], signal_name text DEFAULT NULL, correlation_id text DEFAULT NULL) RETURNS jsonb
LANGUAGE sql IMMUTABLE PARALLEL SAFE SET search_path = @extschema@, pg_temp
AS $$ SELECT ff_cond_count(1, 'waitpoints', waitpoint_keys, signal_name, correlation_id) $$;
COMMENT ON FUNCTION ff_cond_any(text[], text, text) IS
    'Resume condition: a signal on any one of waitpoint_keys (Count 1 of DistinctWaitpoints), named signal_name or with correlation_id when given.';

CREATE FUNCTION ff_cond_timeout_only() RETURNS jsonb
LANGUAGE sql IMMUTABLE PARALLEL SAFE SET search_path = @extschema@, pg_temp
AS $$ SELECT ff_cond_check('"TimeoutOnly"'::jsonb) $$;
COMMENT ON FUNCTION ff_cond_timeout_only() IS 'Resume condition: only the suspension''s timeout ends it (a durable sleep).';

CREATE FUNCTION ff_cond_operator_only() RETURNS jsonb
LANGUAGE sql IMMUTABLE PARALLEL SAFE SET search_path = @extschema@, pg_temp
AS $$ SELECT ff_cond_check('"OperatorOnly"'::jsonb) $$;
COMMENT ON FUNCTION ff_cond_operator_only() IS 'Resume condition: only an operator (ff_resume_execution) ends it.';
