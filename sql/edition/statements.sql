-- ff_engine SQL edition: the statements it shares with the Rust edition, one function each.
-- GENERATED from the files sql/edition/statements.list names; do not edit (core/tests/statement_files.rs).

-- inspection/get_execution.sql: One execution as ff_get_execution shows it: its row, how many attempts it has had and when the
CREATE FUNCTION ff_stmt_inspection_get_execution(smallint, uuid)
RETURNS TABLE (lane_id text, namespace text, flow_id uuid, tags jsonb, priority integer, lifecycle_phase text, ownership_state text, eligibility_state text, attempt_state text, public_state text, attempt_index integer, attempt_count integer, max_attempts integer, created_at_ms bigint, started_at_ms bigint, terminal_at_ms bigint, updated_at_ms bigint, lease_worker_id text, lease_worker_instance_id text, lease_expires_at_ms bigint, lease_epoch bigint, suspension_id uuid, suspension_reason text, next_retry_at_ms bigint, deadline_at_ms bigint, last_error text, payload bytea, result bytea, continuation text, step_count integer, blocked_by text[])
LANGUAGE plpgsql STABLE AS $ff_stmt$
#variable_conflict use_column
BEGIN
RETURN QUERY
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
WHERE e.partition_key = $1 AND e.execution_id = $2;
END
$ff_stmt$;
COMMENT ON FUNCTION ff_stmt_inspection_get_execution(smallint, uuid) IS 'The statement sql/statements/inspection/get_execution.sql (internal).';

-- inspection/list_attempts.sql: The attempts of one execution, oldest first (a resumed attempt keeps its row), with why each failed:
CREATE FUNCTION ff_stmt_inspection_list_attempts(smallint, uuid)
RETURNS TABLE (attempt_index integer, attempt_id uuid, worker_id text, worker_instance_id text, started_at_ms bigint, ended_at_ms bigint, outcome text, error_message text, failure_class text, failure_detail bytea)
LANGUAGE plpgsql STABLE AS $ff_stmt$
#variable_conflict use_column
BEGIN
RETURN QUERY
SELECT attempt_index, attempt_id, worker_id, worker_instance_id, started_at_ms, ended_at_ms, outcome,
       error_message, failure_class::text AS failure_class, failure_detail
FROM ff_attempt WHERE partition_key = $1 AND execution_id = $2
ORDER BY attempt_index;
END
$ff_stmt$;
COMMENT ON FUNCTION ff_stmt_inspection_list_attempts(smallint, uuid) IS 'The statement sql/statements/inspection/list_attempts.sql (internal).';

-- operator/replay.sql: Replay a locked failed, cancelled or expired execution: claimable now, its next claim opens a fresh
CREATE FUNCTION ff_stmt_operator_replay(smallint, uuid, text, text, text, text, text, bigint, text, text, boolean)
RETURNS void
LANGUAGE plpgsql VOLATILE AS $ff_stmt$
#variable_conflict use_column
BEGIN
WITH steps AS (
    DELETE FROM ff_step WHERE partition_key = $1 AND execution_id = $2 AND NOT $11),
upd AS (
    UPDATE ff_exec_core SET lifecycle_phase = $3, ownership_state = $4, eligibility_state = $5,
        attempt_state = $6, public_state = $7, completed_at_ms = NULL, eligible_at_ms = NULL,
        reserved_until_ms = NULL, reclaim_count = 0, updated_at_ms = $8
    WHERE partition_key = $1 AND execution_id = $2
    RETURNING partition_key, namespace, public_state)
INSERT INTO ff_operator_event (partition_key, execution_id, namespace, occurred_at_ms, action, actor, reason)
SELECT partition_key, $9, namespace, $8, 'replayed', session_user, $10 FROM upd;
END
$ff_stmt$;
COMMENT ON FUNCTION ff_stmt_operator_replay(smallint, uuid, text, text, text, text, text, bigint, text, text, boolean) IS 'The statement sql/statements/operator/replay.sql (internal).';

-- operator/change_priority.sql: Change a locked execution's priority (its place in the claim order) and record the operator event.
CREATE FUNCTION ff_stmt_operator_change_priority(smallint, uuid, integer, bigint, text, jsonb)
RETURNS void
LANGUAGE plpgsql VOLATILE AS $ff_stmt$
#variable_conflict use_column
BEGIN
WITH upd AS (
    UPDATE ff_exec_core SET priority = $3, updated_at_ms = $4
    WHERE partition_key = $1 AND execution_id = $2
    RETURNING partition_key, namespace)
INSERT INTO ff_operator_event (partition_key, execution_id, namespace, occurred_at_ms, action, actor, detail)
SELECT partition_key, $5, namespace, $4, 'priority_changed', session_user, $6 FROM upd;
END
$ff_stmt$;
COMMENT ON FUNCTION ff_stmt_operator_change_priority(smallint, uuid, integer, bigint, text, jsonb) IS 'The statement sql/statements/operator/change_priority.sql (internal).';

-- operator/revoke_lease.sql: Revoke a locked execution's lease at once: epoch + 1 (the old holder's fence is dead), the attempt
CREATE FUNCTION ff_stmt_operator_revoke_lease(smallint, uuid, text, text, text, text, text, bigint, text, text)
RETURNS void
LANGUAGE plpgsql VOLATILE AS $ff_stmt$
#variable_conflict use_column
BEGIN
WITH upd AS (
    UPDATE ff_exec_core SET lifecycle_phase = $3, ownership_state = $4, eligibility_state = $5,
        attempt_state = $6, public_state = $7, lease_epoch = lease_epoch + 1, lease_expires_at_ms = NULL,
        interrupt_reason = 'lease_revoked', eligible_at_ms = NULL, updated_at_ms = $8
    WHERE partition_key = $1 AND execution_id = $2
    RETURNING partition_key, namespace, lease_id, lease_epoch),
le AS (
    INSERT INTO ff_lease_event (partition_key, execution_id, namespace, occurred_at_ms, lease_id, lease_epoch, event_type)
    SELECT partition_key, $9, namespace, $8, lease_id, lease_epoch, 'revoked' FROM upd)
INSERT INTO ff_operator_event (partition_key, execution_id, namespace, occurred_at_ms, action, actor, reason, detail)
SELECT partition_key, $9, namespace, $8, 'lease_revoked', session_user, $10,
       jsonb_build_object('lease_epoch', lease_epoch) FROM upd;
END
$ff_stmt$;
COMMENT ON FUNCTION ff_stmt_operator_revoke_lease(smallint, uuid, text, text, text, text, text, bigint, text, text) IS 'The statement sql/statements/operator/revoke_lease.sql (internal).';

-- budgets/usage_dedup.sql: Remember a usage report's dedup key; no row when it was seen before.
CREATE FUNCTION ff_stmt_budgets_usage_dedup(smallint, uuid, text, bigint)
RETURNS TABLE (dedup_key text)
LANGUAGE plpgsql VOLATILE AS $ff_stmt$
#variable_conflict use_column
BEGIN
RETURN QUERY
INSERT INTO ff_usage_dedup (partition_key, execution_id, dedup_key, created_at_ms) VALUES ($1, $2, $3, $4)
ON CONFLICT DO NOTHING RETURNING dedup_key;
END
$ff_stmt$;
COMMENT ON FUNCTION ff_stmt_budgets_usage_dedup(smallint, uuid, text, bigint) IS 'The statement sql/statements/budgets/usage_dedup.sql (internal).';

-- budgets/reset_due.sql: Lazy periodic reset: a budget whose interval has passed starts again from zero usage.
CREATE FUNCTION ff_stmt_budgets_reset_due(text[], bigint)
RETURNS void
LANGUAGE plpgsql VOLATILE AS $ff_stmt$
#variable_conflict use_column
BEGIN
WITH due AS (
    UPDATE ff_budget SET last_reset_at_ms = $2
    WHERE budget_id = ANY ($1) AND reset_interval_ms IS NOT NULL
      AND coalesce(last_reset_at_ms, created_at_ms) + reset_interval_ms <= $2
    RETURNING budget_id)
UPDATE ff_budget_usage u SET used = 0 FROM due WHERE u.budget_id = due.budget_id;
END
$ff_stmt$;
COMMENT ON FUNCTION ff_stmt_budgets_reset_due(text[], bigint) IS 'The statement sql/statements/budgets/reset_due.sql (internal).';

-- budgets/add_usage.sql: Add a usage report to every budget of the execution (saturating at the bigint maximum).
CREATE FUNCTION ff_stmt_budgets_add_usage(text[], jsonb)
RETURNS void
LANGUAGE plpgsql VOLATILE AS $ff_stmt$
#variable_conflict use_column
BEGIN
INSERT INTO ff_budget_usage (budget_id, dimension, used)
SELECT b, d.key, d.value::bigint FROM unnest($1::text[]) AS b, jsonb_each_text($2) AS d
ON CONFLICT (budget_id, dimension) DO UPDATE
SET used = LEAST(ff_budget_usage.used::numeric + EXCLUDED.used, 9223372036854775807)::bigint;
END
$ff_stmt$;
COMMENT ON FUNCTION ff_stmt_budgets_add_usage(text[], jsonb) IS 'The statement sql/statements/budgets/add_usage.sql (internal).';

-- steps/set_step.sql: Store a step's value unless the execution already has one under that name (the first write wins,
CREATE FUNCTION ff_stmt_steps_set_step(smallint, uuid, text, bytea, integer, bigint, bigint)
RETURNS TABLE (existed boolean, step_count bigint, stored bigint)
LANGUAGE plpgsql VOLATILE AS $ff_stmt$
#variable_conflict use_column
BEGIN
RETURN QUERY
WITH prior AS (
    SELECT count(*) AS n, coalesce(bool_or(s.step_name = $3), false) AS present
    FROM ff_step s WHERE s.partition_key = $1 AND s.execution_id = $2),
ins AS (
    INSERT INTO ff_step (partition_key, execution_id, step_name, value, attempt_index, stored_at_ms)
    SELECT $1, $2, $3, $4, $5, $6 FROM prior WHERE NOT prior.present AND prior.n < $7
    ON CONFLICT DO NOTHING
    RETURNING 1)
SELECT prior.present AS existed, prior.n AS step_count, (SELECT count(*) FROM ins) AS stored FROM prior;
END
$ff_stmt$;
COMMENT ON FUNCTION ff_stmt_steps_set_step(smallint, uuid, text, bytea, integer, bigint, bigint) IS 'The statement sql/statements/steps/set_step.sql (internal).';

-- steps/list_steps.sql: The steps of an execution in write order, and whether the execution exists (a row with NULL step
CREATE FUNCTION ff_stmt_steps_list_steps(smallint, uuid)
RETURNS TABLE (step_name text, value bytea, attempt_index integer, stored_at_ms bigint)
LANGUAGE plpgsql STABLE AS $ff_stmt$
#variable_conflict use_column
BEGIN
RETURN QUERY
SELECT s.step_name, s.value, s.attempt_index, s.stored_at_ms
FROM ff_exec_core e
LEFT JOIN ff_step s ON s.partition_key = e.partition_key AND s.execution_id = e.execution_id
WHERE e.partition_key = $1 AND e.execution_id = $2
ORDER BY s.step_seq;
END
$ff_stmt$;
COMMENT ON FUNCTION ff_stmt_steps_list_steps(smallint, uuid) IS 'The statement sql/statements/steps/list_steps.sql (internal).';

-- streams/stream_state.sql: An execution's stream: its last seq and totals (no row before its first frame). The caller holds the execution's
CREATE FUNCTION ff_stmt_streams_stream_state(smallint, uuid)
RETURNS TABLE (last_seq bigint, frame_count bigint, total_bytes bigint)
LANGUAGE plpgsql STABLE AS $ff_stmt$
#variable_conflict use_column
BEGIN
RETURN QUERY
SELECT t.last_seq, t.frame_count, t.total_bytes FROM ff_stream t WHERE t.partition_key = $1 AND t.execution_id = $2;
END
$ff_stmt$;
COMMENT ON FUNCTION ff_stmt_streams_stream_state(smallint, uuid) IS 'The statement sql/statements/streams/stream_state.sql (internal).';

-- streams/append_frame.sql: Append a frame at seq (checked by the caller against the stream's state under the row lock) and
CREATE FUNCTION ff_stmt_streams_append_frame(smallint, uuid, bigint, text, bytea, integer, bigint)
RETURNS TABLE (seq bigint)
LANGUAGE plpgsql VOLATILE AS $ff_stmt$
#variable_conflict use_column
BEGIN
RETURN QUERY
WITH st AS (
    INSERT INTO ff_stream AS t (partition_key, execution_id, last_seq, frame_count, total_bytes)
    VALUES ($1, $2, $3, 1, octet_length($5))
    ON CONFLICT (partition_key, execution_id) DO UPDATE
        SET last_seq = $3, frame_count = t.frame_count + 1, total_bytes = t.total_bytes + octet_length($5)
    RETURNING t.last_seq)
INSERT INTO ff_frame (partition_key, execution_id, seq, frame_kind, bytes, attempt_index, appended_at_ms)
SELECT $1, $2, st.last_seq, $4, $5, $6, $7 FROM st
RETURNING ff_frame.seq;
END
$ff_stmt$;
COMMENT ON FUNCTION ff_stmt_streams_append_frame(smallint, uuid, bigint, text, bytea, integer, bigint) IS 'The statement sql/statements/streams/append_frame.sql (internal).';

-- streams/read_frames.sql: An execution's frames after after_seq in seq order, at most max_rows, and whether the execution
CREATE FUNCTION ff_stmt_streams_read_frames(smallint, uuid, bigint, bigint)
RETURNS TABLE (seq bigint, frame_kind text, bytes bytea, attempt_index integer, appended_at_ms bigint)
LANGUAGE plpgsql STABLE AS $ff_stmt$
#variable_conflict use_column
BEGIN
RETURN QUERY
SELECT f.seq, f.frame_kind::text AS frame_kind, f.bytes, f.attempt_index, f.appended_at_ms
FROM ff_exec_core e
LEFT JOIN LATERAL (
    SELECT * FROM ff_frame x
    WHERE x.partition_key = e.partition_key AND x.execution_id = e.execution_id AND x.seq > $3
    ORDER BY x.seq LIMIT $4) f ON true
WHERE e.partition_key = $1 AND e.execution_id = $2
ORDER BY f.seq;
END
$ff_stmt$;
COMMENT ON FUNCTION ff_stmt_streams_read_frames(smallint, uuid, bigint, bigint) IS 'The statement sql/statements/streams/read_frames.sql (internal).';

