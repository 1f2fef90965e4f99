-- Lock the execution a grant names and read its grant hash, its attempt fields and its lane (whose
-- pause the claim checks once it holds the lock).
-- $1 partition_key
-- $2 execution_id
SELECT e.lifecycle_phase, e.eligibility_state, e.attempt_state, e.attempt_index, e.current_attempt_id,
       e.interrupt_reason, g.grant_hash, e.lane_id
FROM ff_exec_core e LEFT JOIN ff_claim_grant g
  ON g.partition_key = e.partition_key AND g.execution_id = e.execution_id
WHERE e.partition_key = $1 AND e.execution_id = $2 FOR UPDATE OF e
