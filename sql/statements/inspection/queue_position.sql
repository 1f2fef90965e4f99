-- Where an execution stands in its lane's creation order (the keyset of ff_list_executions).
-- $1 partition_key
-- $2 execution_id
SELECT lane_id, queue_seq FROM ff_exec_core WHERE partition_key = $1 AND execution_id = $2
