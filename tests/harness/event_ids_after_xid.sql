-- Every test database checks, on every event row the engine writes, that the writing transaction
-- already had its transaction id when it took the event id. The event subscription's gap rule
-- (client/src/events.rs) relies on it: a hole in the event ids is final once every transaction
-- that had an id when the hole was first seen has ended, which proves nothing about a transaction
-- that took an event id before its transaction id. A BEFORE trigger runs after the row's identity
-- default was drawn, so no id at the trigger means none at the draw.
CREATE SCHEMA ff_test_checks;
CREATE FUNCTION ff_test_checks.event_written_after_xid() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF pg_current_xact_id_if_assigned() IS NULL THEN
        RAISE EXCEPTION 'event % written before its transaction had an id', TG_TABLE_NAME
            USING DETAIL = left(current_query(), 300);
    END IF;
    RETURN NEW;
END
$$;
CREATE TRIGGER ff_test_event_written_after_xid BEFORE INSERT ON ff_signal_event
    FOR EACH ROW EXECUTE FUNCTION ff_test_checks.event_written_after_xid();
CREATE TRIGGER ff_test_event_written_after_xid BEFORE INSERT ON ff_lease_event
    FOR EACH ROW EXECUTE FUNCTION ff_test_checks.event_written_after_xid();
CREATE TRIGGER ff_test_event_written_after_xid BEFORE INSERT ON ff_completion_event
    FOR EACH ROW EXECUTE FUNCTION ff_test_checks.event_written_after_xid();
CREATE TRIGGER ff_test_event_written_after_xid BEFORE INSERT ON ff_operator_event
    FOR EACH ROW EXECUTE FUNCTION ff_test_checks.event_written_after_xid();
