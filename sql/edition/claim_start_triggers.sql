-- ff_engine, SQL edition: the triggers that keep the claim starts (sql/shared/claim_start.sql) below
-- every claimable row. (The Rust edition's are row triggers in C: sql/claim_start_triggers.sql.)

CREATE FUNCTION ff_claim_start_became_claimable() RETURNS trigger
LANGUAGE plpgsql VOLATILE AS $$
BEGIN
    -- Two tests: most updates (a claim, a suspension, an end) compile and run only the first.
    IF NEW.eligibility_state <> 'eligible_now' THEN
        RETURN NEW;
    END IF;
    IF OLD.eligibility_state <> 'eligible_now' OR OLD.priority <> NEW.priority THEN
        PERFORM ff_claim_start_lower(NEW.lane_id, NEW.priority, NEW.queue_seq);
    END IF;
    RETURN NEW;
END
$$;
COMMENT ON FUNCTION ff_claim_start_became_claimable() IS
    'Lower the claim start of the row''s (lane, priority) (internal).';

-- A create: the row's number is above every start already set; only a new (lane, priority) needs
-- its registration (read first: an existing one costs one index probe).
CREATE FUNCTION ff_claim_start_inserted() RETURNS trigger
LANGUAGE plpgsql VOLATILE AS $$
BEGIN
    IF NEW.eligibility_state = 'eligible_now'
       AND NOT EXISTS (SELECT 1 FROM ff_claim_start s WHERE s.lane_id = NEW.lane_id AND s.priority = NEW.priority) THEN
        PERFORM ff_claim_start_register(NEW.lane_id, NEW.priority);
    END IF;
    RETURN NEW;
END
$$;
COMMENT ON FUNCTION ff_claim_start_inserted() IS
    'Register the (lane, priority) of a row created claimable (internal).';

-- BEFORE row triggers without a WHEN clause, as the Rust edition's: PostgreSQL reads a WHEN clause
-- from the catalog and prepares it again for each statement that writes a row, which cost more (0.2 M
-- instructions per workload-1 cycle) than a call that tests the row and returns it. A row is
-- claimable when its eligibility_state is 'eligible_now' (only runnable rows are); lane_id never
-- changes.
CREATE TRIGGER ff_claim_start_inserted BEFORE INSERT ON ff_exec_core FOR EACH ROW
    EXECUTE FUNCTION ff_claim_start_inserted();
COMMENT ON TRIGGER ff_claim_start_inserted ON ff_exec_core IS
    'A (lane, priority) that gets its first claimable row is registered for claims.';
CREATE TRIGGER ff_claim_start_became_claimable BEFORE UPDATE OF eligibility_state, priority ON ff_exec_core FOR EACH ROW
    EXECUTE FUNCTION ff_claim_start_became_claimable();
COMMENT ON TRIGGER ff_claim_start_became_claimable ON ff_exec_core IS
    'A row that becomes claimable (or changes priority) lowers its (lane, priority)''s claim start to it.';

