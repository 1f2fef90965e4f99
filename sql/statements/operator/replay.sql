-- Replay a locked failed, cancelled or expired execution: claimable now, its next claim opens a fresh
-- attempt (pending_replay_attempt); the reclaim count starts over; its steps are deleted unless
-- keep_steps (its frames stay: the stream goes on). Records the operator event.
-- $1 partition_key smallint
-- $2 execution_id uuid
-- $3..$7 states text
-- $8 now_ms bigint
-- $9 execution_ref text
-- $10 reason text
-- $11 keep_steps boolean
WITH steps AS (
    DELETE FROM ff_step WHERE partition_key = $1 AND execution_id = $2 AND NOT $11),
upd AS (
    UPDATE ff_exec_core SET lifecycle_phase = $3, ownership_state = $4, eligibility_state = $5,
        attempt_state = $6, public_state = $7, completed_at_ms = NULL, eligible_at_ms = NULL,
        reserved_until_ms = NULL, reclaim_count = 0, updated_at_ms = $8
    WHERE partition_key = $1 AND execution_id = $2
    RETURNING partition_key, namespace, public_state)
INSERT INTO ff_operator_event (partition_key, execution_id, namespace, occurred_at_ms, action, actor, reason)
SELECT partition_key, $9, namespace, $8, 'replayed', session_user, $10 FROM upd
