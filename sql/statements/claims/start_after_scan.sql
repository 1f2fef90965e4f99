-- After a claim's scan of one priority: move its claim start up (the scan found rows a stride past
-- it), or, when it found none, verify it (at most once a second) and move it past what was walked.
-- $1 lane_id text
-- $2 priority integer
-- $3 start_seq bigint
-- $4 found boolean
-- $5 now_ms bigint
SELECT FROM ff_claim_start_after_scan($1, $2, $3, $4, $5)
