-- The key id a waitpoint's token was minted under.
-- $1 partition_key
-- $2 execution_id
-- $3 waitpoint_id
SELECT token_kid FROM ff_waitpoint WHERE partition_key = $1 AND execution_id = $2 AND waitpoint_id = $3
