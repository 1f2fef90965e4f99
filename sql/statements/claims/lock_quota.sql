-- Lock a quota policy before re-checking it for a candidate (serialises admissions per policy).
-- $1 quota_policy_id
SELECT max_requests_per_window, active_concurrency_cap, window_ms FROM ff_quota_policy
WHERE quota_policy_id = $1 FOR UPDATE
