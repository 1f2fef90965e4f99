-- pg_cron drives ff_tick: ff_schedule_tick schedules `SELECT * FROM <schema>.ff_tick()` in this
-- database every `every` (1-59 whole seconds on pg_cron >= 1.5, or whole minutes dividing an hour),
-- as the calling role (pg_cron runs a job as the role that scheduled it: it needs EXECUTE on ff_tick,
-- i.e. ff_admin). SECURITY INVOKER on purpose. pg_cron's functions live in the database named by
-- cron.database_name; called elsewhere this is a clear WF035, not a crash. The job's command is a
-- constant: nothing from the arguments is put into SQL.

CREATE FUNCTION ff_schedule_tick(every interval DEFAULT '1 minute') RETURNS bigint
LANGUAGE plpgsql SET search_path = @extschema@, pg_temp
AS $$
DECLARE
    seconds numeric := extract(epoch FROM every);
    schedule text;
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_proc WHERE proname = 'schedule_in_database' AND pronamespace = to_regnamespace('cron')) THEN
        RAISE EXCEPTION 'feature_unavailable: pg_cron is not installed in this database'
            USING ERRCODE = 'WF035', DETAIL = 'pg_cron',
                  HINT = 'Add pg_cron to shared_preload_libraries, set cron.database_name to this database and CREATE EXTENSION pg_cron; or drive ff_tick from outside (docs/operations.md).';
    END IF;
    IF seconds IS NULL OR seconds <> trunc(seconds) THEN
        RAISE EXCEPTION 'invalid_input: every must be whole seconds (1-59) or whole minutes dividing an hour'
            USING ERRCODE = 'WF001', DETAIL = 'invalid_every';
    ELSIF seconds BETWEEN 1 AND 59 THEN
        schedule := seconds::integer || ' seconds';
    ELSIF seconds BETWEEN 60 AND 3600 AND seconds % 60 = 0 AND 60 % (seconds / 60) = 0 THEN
        schedule := CASE seconds WHEN 60 THEN '* * * * *' WHEN 3600 THEN '0 * * * *'
                                 ELSE '*/' || (seconds / 60)::integer || ' * * * *' END;
    ELSE
        RAISE EXCEPTION 'invalid_input: every must be whole seconds (1-59) or whole minutes dividing an hour'
            USING ERRCODE = 'WF001', DETAIL = 'invalid_every';
    END IF;
    BEGIN
        RETURN cron.schedule_in_database('ff_engine_tick', schedule, 'SELECT * FROM @extschema@.ff_tick()', current_database());
    EXCEPTION WHEN invalid_parameter_value OR invalid_text_representation THEN
        RAISE EXCEPTION 'feature_unavailable: this pg_cron does not take the schedule %', schedule
            USING ERRCODE = 'WF035', DETAIL = 'pg_cron_schedule',
                  HINT = 'pg_cron before 1.5 schedules by the minute: use an interval of whole minutes.';
    END;
END
$$;
COMMENT ON FUNCTION ff_schedule_tick(interval) IS
    'Schedule ff_tick with pg_cron in this database every `every` (seconds 1-59, or minutes dividing an hour); returns the job id. WF035 without pg_cron.';

CREATE FUNCTION ff_unschedule_tick() RETURNS boolean
LANGUAGE plpgsql SET search_path = @extschema@, pg_temp
AS $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_proc WHERE proname = 'unschedule' AND pronamespace = to_regnamespace('cron')) THEN
        RAISE EXCEPTION 'feature_unavailable: pg_cron is not installed in this database'
            USING ERRCODE = 'WF035', DETAIL = 'pg_cron';
    END IF;
    IF NOT EXISTS (SELECT 1 FROM cron.job WHERE jobname = 'ff_engine_tick' AND database = current_database()) THEN
        RETURN false;
    END IF;
    RETURN cron.unschedule('ff_engine_tick');
END
$$;
COMMENT ON FUNCTION ff_unschedule_tick() IS 'Remove the pg_cron job ff_schedule_tick made (false when there is none). WF035 without pg_cron.';
