-- A policy's requests in its window and its active executions. A separate statement after the lock,
-- so that (READ COMMITTED) it counts what committed meanwhile.
-- $1 quota_policy_id
-- $2 now_ms
-- $3 window_ms
SELECT (SELECT count(*) FROM ff_quota_admission a WHERE a.quota_policy_id = $1 AND a.admitted_at_ms > $2 - $3)
           AS requests_in_window,
       (SELECT count(*) FROM ff_exec_core x WHERE x.quota_policy_id = $1
          AND (x.ownership_state = 'leased' OR x.reserved_until_ms > $2)) AS active
