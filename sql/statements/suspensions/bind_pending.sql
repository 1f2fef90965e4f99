-- Bind a pending waitpoint to the new suspension (or close it when the condition was already
-- satisfied by its buffered signals).
-- $1 partition_key
-- $2 execution_id
-- $3 waitpoint_id
-- $4 waitpoint_state
-- $5 suspension_id
-- $6 now_ms
-- $7 required_signal_names
-- $8 close_reason
UPDATE ff_waitpoint SET state = $4, suspension_id = $5, activated_at_ms = $6, required_signal_names = $7,
    closed_at_ms = CASE WHEN $4 = 'closed' THEN $6 END, close_reason = $8
WHERE partition_key = $1 AND execution_id = $2 AND waitpoint_id = $3
