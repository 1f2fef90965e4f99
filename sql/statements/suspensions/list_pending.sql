-- An execution's waitpoints (closed ones on request), keyset-paginated by waitpoint id.
-- $1 partition_key
-- $2 execution_id
-- $3 after_waitpoint_id
-- $4 max_rows
-- $5 include_closed
SELECT waitpoint_id, waitpoint_key, state, created_at_ms, activated_at_ms, expires_at_ms, required_signal_names,
       token_kid, token_fingerprint
FROM ff_waitpoint WHERE partition_key = $1 AND execution_id = $2
  AND ($3::uuid IS NULL OR waitpoint_id > $3) AND ($5 OR state <> 'closed')
ORDER BY waitpoint_id LIMIT $4
