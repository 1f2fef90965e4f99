-- Claim candidates of a lane's priority: one index scan of ff_exec_core_claimable (lane, priority,
-- oldest first, from the claim start) with FOR UPDATE SKIP LOCKED, so a row another claimer holds is passed over, never waited
-- for. Two statements share these fragments: the lean one (without candidate_admission) for the common
-- case, and the full one (candidate_admission) whose budget and quota predicates make a refused head
-- never block the lane.
-- $1 lane_id
-- $2 capabilities
-- $3 now_ms
-- $4 refused_execution_ids
-- $5 max_rows
-- $6 priority
-- $7 start_seq
-- Each statement scans one priority of the lane from its claim start (sql/shared/claim_start.sql);
-- start_behind says the start trails the row by a stride, so the claim moves it up.
SELECT e.partition_key, e.execution_id, e.quota_policy_id, e.attempt_state, e.attempt_index,
       e.current_attempt_id, e.interrupt_reason, e.reserved_until_ms IS NOT NULL AS reserved,
       e.queue_seq - $7 >= 64 AS start_behind
