-- Close a suspension its signal satisfied (signals/record_and_resume.sql's): the placeholder seq
-- i64::MAX among the satisfiers becomes the signal's.
-- $1 partition_key
-- $2 execution_id
-- $3 suspension_id
-- $4 signal_id
-- $5 signal_seq
-- $6 satisfier_seqs
-- $7 now_ms
-- $8 close_reason
UPDATE ff_suspension SET state = 'closed', closed_at_ms = $7, close_reason = $8,
    closer_signal_id = $4, satisfier_seqs = array_replace($6, 9223372036854775807, $5)
WHERE partition_key = $1 AND execution_id = $2 AND suspension_id = $3 AND state = 'open'
