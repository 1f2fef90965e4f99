-- The signals that satisfied the latest suspension, in acceptance order.
-- $1 partition_key
-- $2 execution_id
WITH s AS (
    SELECT satisfier_seqs FROM ff_suspension WHERE partition_key = $1 AND execution_id = $2
    ORDER BY suspended_at_ms DESC, closed_at_ms DESC NULLS FIRST LIMIT 1)
SELECT g.signal_id, g.waitpoint_key, g.signal_name, g.signal_category, g.source_type, g.source_identity,
       g.correlation_id, g.accepted_at_ms, g.payload
FROM s JOIN ff_signal g ON g.partition_key = $1 AND g.execution_id = $2 AND g.signal_seq = ANY (s.satisfier_seqs)
ORDER BY g.signal_seq
