-- Close an attempt whose lease ended: when, its outcome, and a failure's message, class and detail
-- (see leases/end_lease_row.sql).
-- $1 partition_key
-- $2 execution_id
-- $3 attempt_index
-- $4 now_ms
-- $5 attempt_outcome
-- $6 error_message
-- $7 failure_class
-- $8 failure_detail
UPDATE ff_attempt SET ended_at_ms = $4, outcome = $5, error_message = $6, failure_class = $7, failure_detail = $8
WHERE partition_key = $1 AND execution_id = $2 AND attempt_index = $3
