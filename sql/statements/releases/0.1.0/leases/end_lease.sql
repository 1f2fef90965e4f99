-- The lease end as one statement, for a database still on 0.1.0's schema (src/postgres/release.rs;
-- on later schemas leases/end_lease_row.sql and the files it names, one table each).
-- End the current lease: new states, epoch + 1, attempt closed, lease event `released`, and a
-- completion event when completion_outcome is not NULL -- only if the caller's fence holds on the
-- row's latest version (the UPDATE waits for the row lock and re-checks its WHERE on what committed
-- meanwhile). The fence terms are lifecycle::check_fence's acceptance, term for term. Returns how
-- many rows it ended (0 or 1): ff_complete runs it before locking and locks only when it ended
-- nothing, to let check_fence say why. `ownership_state || ''` keeps the partial index
-- ff_exec_core_leases (whose predicate a plain `ownership_state = 'leased'` would imply) out of the
-- plan: a generic plan made while few leases existed scanned it whole, by expiry, instead of the
-- primary key, and under a held snapshot that index keeps every lease ever ended.
-- $1 partition_key
-- $2 execution_id
-- $3..$7 states
-- $8 result
-- $9 eligible_at_ms
-- $10 completed_at_ms
-- $11 error_message
-- $12 now_ms
-- $13 completion_outcome
-- $14 attempt_outcome
-- $15 execution_ref
-- $16 lease_id
-- $17 lease_epoch
-- $18 failure_class (0.1.0's schema has no failure class: unused)
-- $19 failure_detail (unused)
WITH upd AS (
    UPDATE ff_exec_core SET lifecycle_phase = $3, ownership_state = $4, eligibility_state = $5,
        attempt_state = $6, public_state = $7, lease_epoch = lease_epoch + 1, lease_expires_at_ms = NULL,
        result = coalesce($8, result), eligible_at_ms = $9, completed_at_ms = $10,
        last_error = coalesce($11, last_error), updated_at_ms = $12
    WHERE partition_key = $1 AND execution_id = $2 AND lease_id = $16 AND lease_epoch = $17
      AND (lease_expires_at_ms IS NULL OR lease_expires_at_ms > $12)
      AND lifecycle_phase = 'active' AND ownership_state || '' = 'leased'
    RETURNING partition_key, namespace, lease_id, lease_epoch, attempt_index),
att AS (
    UPDATE ff_attempt SET ended_at_ms = $12, outcome = $14, error_message = $11
    WHERE partition_key = $1 AND execution_id = $2 AND attempt_index = (SELECT attempt_index FROM upd)),
le AS (
    INSERT INTO ff_lease_event (partition_key, execution_id, namespace, occurred_at_ms, lease_id, lease_epoch, event_type)
    SELECT partition_key, $15, namespace, $12, lease_id, lease_epoch, 'released' FROM upd),
ce AS (
    INSERT INTO ff_completion_event (partition_key, execution_id, namespace, occurred_at_ms, outcome)
    SELECT partition_key, $15, namespace, $12, $13 FROM upd WHERE $13 IS NOT NULL)
SELECT count(*) AS ended FROM upd
