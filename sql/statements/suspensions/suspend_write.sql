-- Record the suspension, its fresh waitpoints (a JSON array of records) and, when end_lease, end the
-- lease (epoch + 1, attempt interrupted) with the lease event `revoked` -- one statement. Returns
-- how many waitpoints were inserted (fewer than given: a caller-chosen waitpoint id is taken).
-- $1 partition_key
-- $2 execution_id
-- $3 suspension_id
-- $4 suspension_state
-- $5 resume_condition
-- $6 reason_code
-- $7 requested_by
-- $8 timeout_at_ms
-- $9 timeout_behavior
-- $10 continuation
-- $11 now_ms
-- $12 closed_at_ms
-- $13 close_reason
-- $14 satisfier_seqs
-- $15 fresh_waitpoints
-- $16..$20 states
-- $21 end_lease
-- $22 execution_ref
WITH sus AS (
    INSERT INTO ff_suspension (partition_key, execution_id, suspension_id, state, resume_condition, reason_code,
        requested_by, timeout_at_ms, timeout_behavior, continuation, suspended_at_ms, closed_at_ms, close_reason,
        satisfier_seqs)
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)),
wps AS (
    INSERT INTO ff_waitpoint (partition_key, execution_id, waitpoint_id, waitpoint_key, suspension_id, state,
        token_kid, token_fingerprint, required_signal_names, created_at_ms, activated_at_ms, expires_at_ms)
    SELECT $1, $2, w.waitpoint_id, w.waitpoint_key, $3, 'active', w.token_kid, w.token_fingerprint,
           w.required_signal_names, $11, $11, $8
    FROM jsonb_to_recordset($15) AS w(waitpoint_id uuid, waitpoint_key text, token_kid text,
         token_fingerprint text, required_signal_names text[])
    ON CONFLICT DO NOTHING RETURNING 1),
upd AS (
    UPDATE ff_exec_core SET lifecycle_phase = $16, ownership_state = $17, eligibility_state = $18,
        attempt_state = $19, public_state = $20, lease_epoch = lease_epoch + 1, lease_expires_at_ms = NULL,
        interrupt_reason = 'suspended', updated_at_ms = $11
    WHERE partition_key = $1 AND execution_id = $2 AND $21
    RETURNING partition_key, namespace, lease_id, lease_epoch),
ev AS (
    INSERT INTO ff_lease_event (partition_key, execution_id, namespace, occurred_at_ms, lease_id, lease_epoch, event_type)
    SELECT partition_key, $22, namespace, $11, lease_id, lease_epoch, 'revoked' FROM upd)
SELECT count(*) AS inserted FROM wps
