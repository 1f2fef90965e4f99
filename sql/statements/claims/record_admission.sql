-- Count an admission against a quota policy's window.
-- $1 quota_policy_id
-- $2 now_ms
-- $3 partition_key
-- $4 execution_id
INSERT INTO ff_quota_admission (quota_policy_id, admitted_at_ms, partition_key, execution_id)
VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING
