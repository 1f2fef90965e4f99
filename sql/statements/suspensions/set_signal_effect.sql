-- Record what a buffered signal did when its waitpoint was bound.
-- $1 partition_key
-- $2 execution_id
-- $3 suspension_id
-- $4 effect
-- $5 signal_seq
UPDATE ff_signal SET suspension_id = $3, effect = $4
WHERE partition_key = $1 AND execution_id = $2 AND signal_seq = $5
