-- Store the hashed grant and reserve the execution row until the grant expires. The reservation is
-- a column of the row (not only the grant table) so that a concurrent claimer that locks the row
-- after we commit re-checks it (EvalPlanQual) instead of trusting its older snapshot.
-- $1 partition_key
-- $2 execution_id
-- $3 grant_hash
-- $4 worker_id
-- $5 worker_instance_id
-- $6 now_ms
-- $7 expires_at_ms
WITH r AS (UPDATE ff_exec_core SET reserved_until_ms = $7 WHERE partition_key = $1 AND execution_id = $2)
INSERT INTO ff_claim_grant (partition_key, execution_id, grant_hash, worker_id, worker_instance_id,
    created_at_ms, expires_at_ms)
VALUES ($1, $2, $3, $4, $5, $6, $7)
ON CONFLICT (partition_key, execution_id) DO UPDATE SET grant_hash = EXCLUDED.grant_hash,
    worker_id = EXCLUDED.worker_id, worker_instance_id = EXCLUDED.worker_instance_id,
    created_at_ms = EXCLUDED.created_at_ms, expires_at_ms = EXCLUDED.expires_at_ms
