-- One execution as ff_get_execution shows it: its row, how many attempts it has had and when the
-- first started, its open suspension, the continuation its current attempt resumes from (that
-- attempt's latest suspension's, as a claim hands it back) and how many steps it stored. Never a
-- grant, a token or a secret. blocked_by: the flow upstreams it waits for that have not completed.
-- Every table is restricted by the partition itself ($1), not through a join to the execution's row,
-- so that Citus routes the whole statement to the partition's shard (docs/scale-out.md).
-- $1 partition_key smallint
-- $2 execution_id uuid
-- returns lane_id text, namespace text, flow_id uuid, tags jsonb, priority integer, lifecycle_phase text, ownership_state text, eligibility_state text, attempt_state text, public_state text, attempt_index integer, attempt_count integer, max_attempts integer, created_at_ms bigint, started_at_ms bigint, terminal_at_ms bigint, updated_at_ms bigint, lease_worker_id text, lease_worker_instance_id text, lease_expires_at_ms bigint, lease_epoch bigint, suspension_id uuid, suspension_reason text, next_retry_at_ms bigint, deadline_at_ms bigint, last_error text, payload bytea, result bytea, continuation text, step_count integer, blocked_by text[]
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
       e.last_error, e.payload, e.result,
       (SELECT x.continuation FROM ff_suspension x
        WHERE x.partition_key = $1 AND x.execution_id = e.execution_id
          AND x.history_seq > (SELECT t.history_seq FROM ff_attempt t WHERE t.partition_key = $1
                               AND t.execution_id = e.execution_id AND t.attempt_index = e.attempt_index)
        ORDER BY x.history_seq DESC LIMIT 1) AS continuation,
       (SELECT count(*)::integer FROM ff_step st WHERE st.partition_key = $1 AND st.execution_id = e.execution_id)
           AS step_count,
       (SELECT coalesce(array_agg('{fp:' || d.partition_key || '}:' || d.upstream_id ORDER BY d.upstream_id), '{}')
        FROM ff_flow_dependency d JOIN ff_exec_core u ON u.partition_key = $1 AND u.execution_id = d.upstream_id
        WHERE d.partition_key = $1 AND d.downstream_id = e.execution_id AND u.public_state <> 'completed') AS blocked_by
FROM ff_exec_core e
CROSS JOIN LATERAL (SELECT count(*)::integer AS attempt_count, min(t.started_at_ms) AS started_at_ms
                    FROM ff_attempt t WHERE t.partition_key = $1 AND t.execution_id = e.execution_id) a
LEFT JOIN ff_deadline dl ON dl.partition_key = $1 AND dl.execution_id = e.execution_id
LEFT JOIN ff_suspension s ON s.partition_key = $1 AND s.execution_id = e.execution_id AND s.state = 'open'
WHERE e.partition_key = $1 AND e.execution_id = $2
