-- Every test database checks, on every row the engine numbers for a reader that relies on it, that the
-- writing transaction already had its transaction id when it drew the number: a number with no
-- transaction id behind it yet could be passed by a reader that waits only for the transactions in
-- progress (the ids they hold).
--   * the event ids: the event subscription's gap rule (client/src/events.rs) takes a hole as final once
--     every transaction that had an id when the hole was first seen has ended;
--   * `ff_exec_core.queue_seq`: the claim-start verifier's floor (sql/shared/claim_start.sql) rises past
--     a mark's high-water once every transaction in progress when it was taken has ended.
-- A BEFORE trigger runs after the row's identity default was drawn, so no id at the trigger means none
-- at the draw; named to fire before the engine's own BEFORE triggers (they fire in name order), which
-- could assign the id first.
CREATE SCHEMA ff_test_checks;
CREATE FUNCTION ff_test_checks.numbered_after_xid() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF pg_current_xact_id_if_assigned() IS NULL THEN
        RAISE EXCEPTION 'a row of % numbered before its transaction had an id', TG_TABLE_NAME
            USING DETAIL = left(current_query(), 300);
    END IF;
    RETURN NEW;
END
$$;
CREATE TRIGGER ff_a_test_numbered_after_xid BEFORE INSERT ON ff_signal_event
    FOR EACH ROW EXECUTE FUNCTION ff_test_checks.numbered_after_xid();
CREATE TRIGGER ff_a_test_numbered_after_xid BEFORE INSERT ON ff_lease_event
    FOR EACH ROW EXECUTE FUNCTION ff_test_checks.numbered_after_xid();
CREATE TRIGGER ff_a_test_numbered_after_xid BEFORE INSERT ON ff_completion_event
    FOR EACH ROW EXECUTE FUNCTION ff_test_checks.numbered_after_xid();
CREATE TRIGGER ff_a_test_numbered_after_xid BEFORE INSERT ON ff_operator_event
    FOR EACH ROW EXECUTE FUNCTION ff_test_checks.numbered_after_xid();
CREATE TRIGGER ff_a_test_numbered_after_xid BEFORE INSERT ON ff_exec_core
    FOR EACH ROW EXECUTE FUNCTION ff_test_checks.numbered_after_xid();
