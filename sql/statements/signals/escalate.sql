-- Timeout behaviour `escalate`: the suspension waits for operator review, with no timeout.
-- $1 partition_key
-- $2 execution_id
-- $3 suspension_id
-- $4 now_ms
WITH s AS (
    UPDATE ff_suspension SET reason_code = 'waiting_for_operator_review', timeout_at_ms = NULL
    WHERE partition_key = $1 AND execution_id = $2 AND suspension_id = $3)
UPDATE ff_exec_core SET eligibility_state = 'blocked_by_operator', updated_at_ms = $4
WHERE partition_key = $1 AND execution_id = $2
