-- Create an execution; nothing when its id or (lane, idempotency key) already exists. Callers take the
-- transaction id first (the claim-start floor, sql/shared/claim_start.sql: a queue_seq is held only by
-- a transaction with an id).
-- $1 partition_key
-- $2 execution_id
-- $3 lane_id
-- $4 namespace
-- $5 flow_id
-- $6 priority
-- $7 required_capabilities
-- $8 tags
-- $9 budget_ids
-- $10 quota_policy_id
-- $11 payload
-- $12..$16 states
-- $17 eligible_at_ms
-- $18 max_attempts
-- $19 retry_backoff_ms
-- $20 idempotency_key
-- $21 now_ms
INSERT INTO ff_exec_core (partition_key, execution_id, lane_id, namespace, flow_id, priority,
    required_capabilities, tags, budget_ids, quota_policy_id, payload, lifecycle_phase, ownership_state,
    eligibility_state, attempt_state, public_state, eligible_at_ms, max_attempts, retry_backoff_ms,
    idempotency_key, created_at_ms, updated_at_ms)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $21)
ON CONFLICT DO NOTHING
RETURNING execution_id
