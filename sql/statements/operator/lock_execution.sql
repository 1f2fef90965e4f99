-- Lock an execution for an operator action and read what the actions decide on.
-- $1 partition_key
-- $2 execution_id
SELECT lifecycle_phase, ownership_state, public_state, priority, lease_epoch, namespace, lane_id
FROM ff_exec_core WHERE partition_key = $1 AND execution_id = $2
FOR UPDATE
