-- Lock the execution a signal is for (concurrent signals to one execution are serialised here).
-- $1 partition_key
-- $2 execution_id
SELECT lifecycle_phase, signal_count, lane_id FROM ff_exec_core
WHERE partition_key = $1 AND execution_id = $2 FOR UPDATE
