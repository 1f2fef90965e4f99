-- ... then its outbox event and the execution's signal count (no resume). The resume parameters
-- are declared and not used, so that this and record_and_resume share their arguments.
-- $17 satisfier_seqs
-- $18..$22 states
-- $23 eligible_at_ms
-- $24 close_reason
cnt AS (
    UPDATE ff_exec_core SET signal_count = signal_count + 1 WHERE partition_key = $1 AND execution_id = $2
    RETURNING namespace),
ev AS (
    INSERT INTO ff_signal_event (partition_key, execution_id, namespace, occurred_at_ms, signal_id, waitpoint_id,
        signal_name, source_type, source_identity, effect)
    SELECT $1, $16, namespace, $15, $3, $4, $7, $9, $10, $14 FROM cnt)
SELECT signal_seq FROM sig
