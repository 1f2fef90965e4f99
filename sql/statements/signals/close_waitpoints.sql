-- Close the waitpoints of a suspension its signal satisfied (signals/record_and_resume.sql's).
-- $1 partition_key
-- $2 execution_id
-- $3 suspension_id
-- $4 now_ms
-- $5 close_reason
UPDATE ff_waitpoint SET state = 'closed', closed_at_ms = $4, close_reason = $5
WHERE partition_key = $1 AND execution_id = $2 AND suspension_id = $3 AND state <> 'closed'
