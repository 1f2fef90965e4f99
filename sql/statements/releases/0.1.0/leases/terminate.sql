-- leases/terminate.sql for a database still on 0.1.0's schema (src/postgres/release.rs): the statement without what that schema lacks.
-- Terminate an execution from any non-terminal phase: close its suspension and every waitpoint,
-- drop its grant, end its lease (epoch + 1), close the attempt, write the events (the lease event
-- only when it was leased). Cancel and the suspension timeout share it.
-- $1 partition_key
-- $2 execution_id
-- $3..$7 states
-- $8 now_ms
-- $9 reason
-- $10 close_reason
-- $11 outcome
-- $12 execution_ref
-- $13 was_leased
-- $14 failure_class (0.1.0's schema has no failure class: unused)
WITH upd AS (
    UPDATE ff_exec_core SET lifecycle_phase = $3, ownership_state = $4, eligibility_state = $5,
        attempt_state = $6, public_state = $7, lease_epoch = lease_epoch + 1, lease_expires_at_ms = NULL,
        eligible_at_ms = NULL, reserved_until_ms = NULL, completed_at_ms = $8, updated_at_ms = $8,
        last_error = $9
    WHERE partition_key = $1 AND execution_id = $2
    RETURNING partition_key, execution_id, namespace, lease_id, lease_epoch, attempt_index),
sus AS (
    UPDATE ff_suspension SET state = 'closed', closed_at_ms = $8, close_reason = $10
    WHERE partition_key = $1 AND execution_id = $2 AND state = 'open'),
wps AS (
    UPDATE ff_waitpoint SET state = 'closed', closed_at_ms = $8, close_reason = $10
    WHERE partition_key = $1 AND execution_id = $2 AND state <> 'closed'),
gr AS (
    DELETE FROM ff_claim_grant WHERE partition_key = $1 AND execution_id = $2),
att AS (
    UPDATE ff_attempt a SET ended_at_ms = $8, outcome = $11 FROM upd
    WHERE a.partition_key = upd.partition_key AND a.execution_id = upd.execution_id
      AND a.attempt_index = upd.attempt_index AND a.ended_at_ms IS NULL),
le AS (
    INSERT INTO ff_lease_event (partition_key, execution_id, namespace, occurred_at_ms, lease_id, lease_epoch, event_type)
    SELECT partition_key, $12, namespace, $8, lease_id, lease_epoch, 'released' FROM upd WHERE $13)
INSERT INTO ff_completion_event (partition_key, execution_id, namespace, occurred_at_ms, outcome)
SELECT partition_key, $12, namespace, $8, $11 FROM upd
