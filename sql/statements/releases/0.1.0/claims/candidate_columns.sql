-- The claim candidate columns on release 0.1.0's schema, which keeps no claim starts: one scan of
-- every priority.
-- Claim candidates of a lane: one index scan of ff_exec_core_claimable (lane, priority desc, oldest
-- first) with FOR UPDATE SKIP LOCKED, so a row another claimer holds is passed over, never waited
-- for. Two statements share these fragments: the lean one (without candidate_admission) for the common
-- case, and the full one (candidate_admission) whose budget and quota predicates make a refused head
-- never block the lane.
-- $1 lane_id
-- $2 capabilities
-- $3 now_ms
-- $4 refused_execution_ids
-- $5 max_rows
-- $6 priority (not used: one scan of every priority)
-- $7 start_seq (not used)
SELECT e.partition_key, e.execution_id, e.quota_policy_id, e.attempt_state, e.attempt_index,
       e.current_attempt_id, e.interrupt_reason, e.reserved_until_ms IS NOT NULL AS reserved,
       e.priority AS scan_priority, 0::bigint AS scan_start, false AS start_behind
