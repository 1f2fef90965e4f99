-- The executions of one lane in creation order, optionally of one public state, after a queue
-- position (the keyset: the queue_seq of the execution the caller names). The lane's rows come from
-- ff_exec_core_lane and are sorted (top-N): the cost grows with the lane's size, which retention
-- bounds; an index in this order would tax every state change (see schema.sql).
-- $1 lane_id
-- $2 public_state
-- $3 after_queue_seq
-- $4 max_rows
SELECT e.partition_key, e.execution_id, e.namespace, e.priority, e.public_state::text AS public_state,
       e.attempt_index, e.created_at_ms, e.completed_at_ms AS terminal_at_ms, e.last_error,
       octet_length(e.result) AS result_bytes
FROM ff_exec_core e
WHERE e.lane_id = $1 AND ($2::text IS NULL OR e.public_state = $2::text) AND e.queue_seq > $3
ORDER BY e.queue_seq LIMIT $4
