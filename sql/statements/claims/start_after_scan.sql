-- After a claim scanned one priority from its claim start (ff_claim_start_after_scan): its first row
-- was a stride past the start (found): move the start up; it gave nothing: verify the start (at most
-- once a second).
-- $1 lane_id text
-- $2 priority integer
-- $3 start_seq bigint
-- $4 found boolean
-- $5 now_ms bigint
SELECT FROM ff_claim_start_after_scan($1, $2, $3, $4, $5)
