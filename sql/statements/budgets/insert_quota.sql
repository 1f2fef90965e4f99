-- Create a quota policy; nothing when its id exists.
-- $1 quota_policy_id
-- $2 max_requests_per_window
-- $3 window_ms
-- $4 active_concurrency_cap
-- $5 now_ms
INSERT INTO ff_quota_policy (quota_policy_id, max_requests_per_window, window_ms, active_concurrency_cap, created_at_ms)
VALUES ($1, $2, $3, $4, $5) ON CONFLICT (quota_policy_id) DO NOTHING
