-- The open suspension of an execution (at most one).
-- $1 partition_key
-- $2 execution_id
SELECT suspension_id FROM ff_suspension WHERE partition_key = $1 AND execution_id = $2 AND state = 'open'
