-- ... then resume: the execution's signal count and resumed states, the suspension and its
-- waitpoints closed (the placeholder seq i64::MAX in satisfier_seqs becomes the new signal's), the
-- signal and completion events.
-- $17 satisfier_seqs
-- $18..$22 states
-- $23 eligible_at_ms
-- $24 close_reason
sus AS (
    UPDATE ff_suspension SET state = 'closed', closed_at_ms = $15, close_reason = $24,
        closer_signal_id = $3, satisfier_seqs = array_replace($17, 9223372036854775807, (SELECT signal_seq FROM sig))
    WHERE partition_key = $1 AND execution_id = $2 AND suspension_id = $6 AND state = 'open'),
wps AS (
    UPDATE ff_waitpoint SET state = 'closed', closed_at_ms = $15, close_reason = $24
    WHERE partition_key = $1 AND execution_id = $2 AND suspension_id = $6 AND state <> 'closed'),
upd AS (
    UPDATE ff_exec_core SET signal_count = signal_count + 1, lifecycle_phase = $18, ownership_state = $19,
        eligibility_state = $20, attempt_state = $21, public_state = $22, eligible_at_ms = $23, updated_at_ms = $15
    WHERE partition_key = $1 AND execution_id = $2 RETURNING partition_key, namespace),
ev AS (
    INSERT INTO ff_signal_event (partition_key, execution_id, namespace, occurred_at_ms, signal_id, waitpoint_id,
        signal_name, source_type, source_identity, effect)
    SELECT $1, $16, namespace, $15, $3, $4, $7, $9, $10, $14 FROM upd),
ce AS (
    INSERT INTO ff_completion_event (partition_key, execution_id, namespace, occurred_at_ms, outcome)
    SELECT partition_key, $16, namespace, $15, 'resumed' FROM upd)
SELECT signal_seq FROM sig
