-- After the lock (a new statement, so it sees what committed while we waited): the waitpoint, the
-- first signal id of an idempotency key, the open suspension with its condition, and the signals that
-- count towards it (one row each, in acceptance order; a single row of NULLs in those columns when
-- none).
-- $1 partition_key
-- $2 execution_id
-- $3 waitpoint_id
-- $4 idempotency_key
-- $5 now_ms
-- $6 counting_effects
SELECT w.waitpoint_key, w.state AS waitpoint_state, w.expires_at_ms, w.suspension_id AS waitpoint_suspension_id,
       (SELECT d.signal_id FROM ff_signal_dedup d WHERE d.partition_key = $1 AND d.execution_id = $2
          AND d.waitpoint_id = $3 AND d.idempotency_key = $4 AND d.expires_at_ms > $5) AS first_signal_id,
       s.suspension_id, s.resume_condition,
       g.signal_seq, g.signal_id, g.waitpoint_key AS signal_waitpoint_key, g.signal_name, g.source_type, g.source_identity,
       g.correlation_id AS signal_correlation_id
FROM ff_waitpoint w
LEFT JOIN ff_suspension s ON s.partition_key = $1 AND s.execution_id = $2 AND s.state = 'open'
LEFT JOIN ff_signal g ON g.partition_key = $1 AND g.execution_id = $2 AND g.suspension_id = s.suspension_id
      AND g.effect = ANY ($6)
WHERE w.partition_key = $1 AND w.execution_id = $2 AND w.waitpoint_id = $3
ORDER BY g.signal_seq
