-- Change a locked execution's priority (its place in the claim order) and record the operator event.
-- $1 partition_key smallint
-- $2 execution_id uuid
-- $3 priority integer
-- $4 now_ms bigint
-- $5 execution_ref text
-- $6 detail jsonb
WITH upd AS (
    UPDATE ff_exec_core SET priority = $3, updated_at_ms = $4
    WHERE partition_key = $1 AND execution_id = $2
    RETURNING partition_key, namespace)
INSERT INTO ff_operator_event (partition_key, execution_id, namespace, occurred_at_ms, action, actor, detail)
SELECT partition_key, $5, namespace, $4, 'priority_changed', session_user, $6 FROM upd
