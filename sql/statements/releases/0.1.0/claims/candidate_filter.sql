-- Fragment of the claim candidate statements: the lane scan and its filters.
FROM ff_exec_core e
WHERE e.lane_id = $1 AND e.lifecycle_phase = 'runnable' AND e.eligibility_state = 'eligible_now'
  AND e.required_capabilities <@ $2
  AND e.execution_id <> ALL ($4)
  AND (e.reserved_until_ms IS NULL OR e.reserved_until_ms <= $3)
