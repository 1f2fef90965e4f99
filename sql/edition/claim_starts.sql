-- ff_engine, SQL edition: how it keeps the claim starts (sql/shared/claim_start.sql) below every
-- claimable row. The Rust edition does it in row triggers (C: sql/claim_start_triggers.sql); here each
-- create and each transition that makes a row claimable does it itself, after its statement, in the
-- same transaction:
--   create                      executions.sql, ff_create_execution_body: the first claimable row of
--                               a (lane, priority) registers the pair
--   resume by a signal          signals.sql, ff_deliver (the pair's slot read with the waitpoint);
--                               scanners.sql, a suspension timeout's auto-resume
--   resume by an operator       signals.sql, ff_resume_execution
--   retry without backoff       leases.sql, ff_fail
--   promotion, lease expiry     scanners.sql (their statements return the rows they made claimable)
--   replay, revoke, priority    operator.sql
--   release of a hold           sql/shared/lanes.sql
--   dependency release, recount sql/shared/flows.sql (both editions; after the Rust edition's
--                               trigger it finds every start already low enough)
-- Why not triggers, as the Rust edition: a PL/pgSQL row trigger on updates of eligibility_state fires
-- five times per workload-1 cycle (four of them on updates that make the row unclaimable) and reads
-- the pair's registration in a statement of its own; with the insert trigger that is 3.2 % of the
-- cycle's instructions, against 1.5 % for these calls (docs/benchmarks-2026-12-03.md). The shared
-- suite's transition test (tests/claim_order.rs) moves a start past a row and checks that each
-- transition above brings it back down.
-- Taking the gate after the row's update rather than before is as safe: a raise that ran between the
-- two did not see the row (not committed), and the lowering, before the commit, brings the start back
-- down to it.

-- Whether a row that became claimable at p_queue_seq must lower its (lane, priority)'s start, from the
-- pair's lowest slot as an earlier statement of the transaction read it (NULL: not registered then,
-- or registered without a slot): no slot, or its start is above the row. The slot's gate is taken
-- shared first (until the transaction ends), then its start read (sequence ff_claim_start_<slot>):
-- no statement of its own (SQL, inlined into the caller's expression). The caller then runs
-- ff_claim_start_lower, which registers or lowers.
CREATE FUNCTION ff_claim_start_above(p_slot integer, p_queue_seq bigint) RETURNS boolean
LANGUAGE sql VOLATILE AS $$
    SELECT p_slot IS NULL
        OR pg_advisory_xact_lock_shared(1717985657, p_slot) IS NOT NULL
           AND coalesce(pg_sequence_last_value(('ff_claim_start_' || p_slot)::regclass), 0) > p_queue_seq
$$;
COMMENT ON FUNCTION ff_claim_start_above(integer, bigint) IS
    'Whether a row that became claimable must lower its claim start, the gate taken (internal).';
