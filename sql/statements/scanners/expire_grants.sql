-- Delete expired, unconsumed claim grants and release their reservations.
-- $1 now_ms
-- $2 max_rows
WITH d AS (
    DELETE FROM ff_claim_grant WHERE ctid IN (SELECT ctid FROM ff_claim_grant WHERE expires_at_ms <= $1
        ORDER BY expires_at_ms LIMIT $2 FOR UPDATE SKIP LOCKED) AND expires_at_ms <= $1
    RETURNING partition_key, execution_id),
r AS (
    UPDATE ff_exec_core e SET reserved_until_ms = NULL FROM d
    WHERE e.partition_key = d.partition_key AND e.execution_id = d.execution_id AND e.reserved_until_ms <= $1)
SELECT 1 AS processed FROM d
