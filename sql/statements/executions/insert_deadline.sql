-- The deadline of an execution just created (only when it has one: executions without a deadline
-- cost nothing here, and the deadline table is touched by nothing else on the hot paths).
-- $1 partition_key
-- $2 execution_id
-- $3 deadline_at_ms
INSERT INTO ff_deadline (partition_key, execution_id, deadline_at_ms) VALUES ($1, $2, $3)
