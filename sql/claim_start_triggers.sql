-- ff_engine, Rust edition: the triggers that keep the claim starts (sql/shared/claim_start.sql) below
-- every claimable row. One C function (src/store/claim_starts.rs) fired BEFORE the write, without a
-- WHEN clause: PostgreSQL parses a WHEN clause again for every statement that updates a row, which cost
-- more than a call that returns at once when the row does not become claimable. (The SQL edition
-- keeps them without triggers: sql/edition/claim_starts.sql.)
COMMENT ON FUNCTION ff_claim_start_row() IS
    'Register a created claimable row''s (lane, priority); lower the claim start to a row that becomes claimable (internal).';
CREATE TRIGGER ff_claim_start_inserted BEFORE INSERT ON ff_exec_core FOR EACH ROW
    EXECUTE FUNCTION ff_claim_start_row();
COMMENT ON TRIGGER ff_claim_start_inserted ON ff_exec_core IS
    'A (lane, priority) that gets its first claimable row is registered for claims.';
CREATE TRIGGER ff_claim_start_became_claimable BEFORE UPDATE OF eligibility_state, priority ON ff_exec_core FOR EACH ROW
    EXECUTE FUNCTION ff_claim_start_row();
COMMENT ON TRIGGER ff_claim_start_became_claimable ON ff_exec_core IS
    'A row that becomes claimable (or changes priority) lowers its (lane, priority)''s claim start to it.';
