-- Lock order is always execution row first, then suspension (as in delivery), so no deadlock; a
-- busy execution is skipped and caught by the next tick.
-- $1 partition_key
-- $2 execution_id
SELECT lane_id FROM ff_exec_core WHERE partition_key = $1 AND execution_id = $2 FOR UPDATE SKIP LOCKED
