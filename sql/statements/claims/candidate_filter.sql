-- Fragment of the claim candidate statements: the scan of one priority from its start, and its filters.
FROM ff_exec_core e
WHERE hashtext(e.lane_id) = hashtext($1) AND e.lane_id = $1 AND e.priority = $6 AND e.queue_seq >= $7
  AND e.lifecycle_phase = 'runnable' AND e.eligibility_state = 'eligible_now'
  AND e.required_capabilities <@ $2
  AND e.execution_id <> ALL ($4)
  AND (e.reserved_until_ms IS NULL OR e.reserved_until_ms <= $3)
