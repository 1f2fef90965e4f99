-- Operator resume: close the suspension (no closing signal, no satisfiers) and its waitpoints, put
-- the execution back in its lane as an interrupted attempt (optionally delayed), write the completion
-- event `resumed`.
-- $1 partition_key
-- $2 execution_id
-- $3 suspension_id
-- $4 now_ms
-- $5..$9 states
-- $10 eligible_at_ms
-- $11 execution_ref
WITH sus AS (
    UPDATE ff_suspension SET state = 'closed', closed_at_ms = $4, close_reason = 'resumed_by_operator',
        closer_signal_id = NULL, satisfier_seqs = '{}'
    WHERE partition_key = $1 AND execution_id = $2 AND suspension_id = $3 AND state = 'open'),
wps AS (
    UPDATE ff_waitpoint SET state = 'closed', closed_at_ms = $4, close_reason = 'resumed_by_operator'
    WHERE partition_key = $1 AND execution_id = $2 AND suspension_id = $3 AND state <> 'closed'),
upd AS (
    UPDATE ff_exec_core SET lifecycle_phase = $5, ownership_state = $6, eligibility_state = $7,
        attempt_state = $8, public_state = $9, eligible_at_ms = $10, updated_at_ms = $4
    WHERE partition_key = $1 AND execution_id = $2 RETURNING partition_key, namespace)
INSERT INTO ff_completion_event (partition_key, execution_id, namespace, occurred_at_ms, outcome)
SELECT partition_key, $11, namespace, $4, 'resumed' FROM upd
