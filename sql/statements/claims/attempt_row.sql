-- A claim's new attempt row (claims/lease_new_attempt.sql as a statement of its own; see
-- claims/lease_row.sql).
-- $1 partition_key
-- $2 execution_id
-- $3 attempt_index
-- $4 attempt_id
-- $5 worker_id
-- $6 worker_instance_id
-- $7 now_ms
INSERT INTO ff_attempt (partition_key, execution_id, attempt_index, attempt_id, worker_id, worker_instance_id, started_at_ms)
VALUES ($1, $2, $3, $4, $5, $6, $7)
