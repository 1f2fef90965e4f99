-- The execution an idempotency key of a lane already created.
-- $1 lane_id
-- $2 idempotency_key
SELECT partition_key, execution_id FROM ff_exec_core WHERE lane_id = $1 AND idempotency_key = $2
