-- Claim candidates of one priority of a lane: one index scan of ff_exec_core_claimable (the lane's
-- hash, priority, oldest first) from the priority's claim start (sql/shared/claim_start.sql, claims/starts.sql) with
-- FOR UPDATE SKIP LOCKED, so a row another claimer holds is passed over, never waited for. Two
-- statements share these fragments: the lean one (without candidate_admission) for the common case,
-- and the full one (candidate_admission) whose budget and quota predicates make a refused head never
-- block the lane. Each row says which priority's scan found it and from where; start_behind: the row
-- is a stride (16 numbers) past that start, so the claim moves the start up.
-- $1 lane_id
-- $2 capabilities
-- $3 now_ms
-- $4 refused_execution_ids
-- $5 max_rows
-- $6 priority
-- $7 start_seq
SELECT e.partition_key, e.execution_id, e.quota_policy_id, e.attempt_state, e.attempt_index,
       e.current_attempt_id, e.interrupt_reason, e.reserved_until_ms IS NOT NULL AS reserved,
       e.priority AS scan_priority, $7::bigint AS scan_start, e.queue_seq - $7 >= 16 AS start_behind
