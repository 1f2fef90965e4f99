-- Forget a deadline the scanner has dealt with.
-- $1 partition_key
-- $2 execution_id
DELETE FROM ff_deadline WHERE partition_key = $1 AND execution_id = $2
