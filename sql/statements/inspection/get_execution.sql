-- One execution as ff_get_execution shows it: its row, how many attempts it has had and when the
-- first started, and its open suspension. Never a grant, a token or a secret.
-- $1 partition_key
-- $2 execution_id
SELECT e.lane_id, e.namespace, e.flow_id, e.tags, e.priority,
       e.lifecycle_phase::text AS lifecycle_phase, e.ownership_state::text AS ownership_state,
       e.eligibility_state::text AS eligibility_state, e.attempt_state::text AS attempt_state,
       e.public_state::text AS public_state,
       e.attempt_index, a.attempt_count, e.max_attempts::integer AS max_attempts,
       e.created_at_ms, a.started_at_ms, e.completed_at_ms AS terminal_at_ms, e.updated_at_ms,
       CASE WHEN e.ownership_state = 'leased' THEN e.lease_worker_id END AS lease_worker_id,
       CASE WHEN e.ownership_state = 'leased' THEN e.lease_worker_instance_id END AS lease_worker_instance_id,
       CASE WHEN e.ownership_state = 'leased' THEN e.lease_expires_at_ms END AS lease_expires_at_ms,
       e.lease_epoch,
       s.suspension_id, s.reason_code AS suspension_reason,
       CASE WHEN e.attempt_state = 'pending_retry_attempt' AND e.eligibility_state = 'not_eligible_until_time'
            THEN e.eligible_at_ms END AS next_retry_at_ms,
       dl.deadline_at_ms,
       e.last_error, e.payload, e.result
FROM ff_exec_core e
CROSS JOIN LATERAL (SELECT count(*)::integer AS attempt_count, min(t.started_at_ms) AS started_at_ms
                    FROM ff_attempt t WHERE t.partition_key = e.partition_key AND t.execution_id = e.execution_id) a
LEFT JOIN ff_deadline dl ON dl.partition_key = e.partition_key AND dl.execution_id = e.execution_id
LEFT JOIN ff_suspension s ON s.partition_key = e.partition_key AND s.execution_id = e.execution_id AND s.state = 'open'
WHERE e.partition_key = $1 AND e.execution_id = $2
