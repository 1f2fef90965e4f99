-- Whether the quota policy exists.
-- $1 quota_policy_id
SELECT EXISTS (SELECT 1 FROM ff_quota_policy WHERE quota_policy_id = $1) AS found
