-- Upgrading from 0.1.0: every (lane, priority) that already has claimable rows gets its claim-start
-- slot (its start at 0, the first entry; claims and the verifier move it from there).
SELECT ff_claim_start_register(k.lane_id, k.priority)
FROM (SELECT DISTINCT e.lane_id, e.priority FROM ff_exec_core e
      WHERE e.lifecycle_phase = 'runnable' AND e.eligibility_state = 'eligible_now') k;
