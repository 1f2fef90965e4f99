-- Count an accepted signal that does not resume on its execution (signals/record.sql's update).
-- Returns the namespace its event needs.
-- $1 partition_key
-- $2 execution_id
UPDATE ff_exec_core SET signal_count = signal_count + 1 WHERE partition_key = $1 AND execution_id = $2
RETURNING namespace
