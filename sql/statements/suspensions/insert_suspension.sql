-- Record a suspension (the first part of suspensions/suspend_write.sql, which 0.1.0's schema runs
-- whole; a suspend writes one table per statement: see leases/end_lease_row.sql).
-- $1 partition_key
-- $2 execution_id
-- $3 suspension_id
-- $4 suspension_state
-- $5 resume_condition
-- $6 reason_code
-- $7 requested_by
-- $8 timeout_at_ms
-- $9 timeout_behavior
-- $10 continuation
-- $11 now_ms
-- $12 closed_at_ms
-- $13 close_reason
-- $14 satisfier_seqs
INSERT INTO ff_suspension (partition_key, execution_id, suspension_id, state, resume_condition, reason_code,
    requested_by, timeout_at_ms, timeout_behavior, continuation, suspended_at_ms, closed_at_ms, close_reason,
    satisfier_seqs)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)
