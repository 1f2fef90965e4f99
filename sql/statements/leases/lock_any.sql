-- Lock an execution row in any phase (cancel, operator resume).
-- $1 partition_key
-- $2 execution_id
SELECT lifecycle_phase, ownership_state, lane_id FROM ff_exec_core WHERE partition_key = $1 AND execution_id = $2 FOR UPDATE
