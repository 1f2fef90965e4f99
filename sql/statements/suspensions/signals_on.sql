-- The signals buffered on waitpoints, in acceptance order.
-- $1 partition_key
-- $2 execution_id
-- $3 waitpoint_ids
SELECT signal_seq, signal_id, waitpoint_key, signal_name, source_type, source_identity, correlation_id FROM ff_signal
WHERE partition_key = $1 AND execution_id = $2 AND waitpoint_id = ANY ($3) ORDER BY signal_seq
