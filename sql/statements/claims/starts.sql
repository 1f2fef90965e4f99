-- The priorities of a lane that ever had claimable work, highest first, each with its claim start: the
-- queue_seq below which none of its rows is claimable (sql/shared/claim_start.sql; 0 without a slot;
-- the lower one when two transactions registered the priority at once).
-- $1 lane_id text
-- returns priority integer, start_seq bigint
SELECT s.priority, min(coalesce(pg_sequence_last_value(s.start_seq), 0)) AS start_seq
FROM ff_claim_start s
WHERE s.lane_id = $1
GROUP BY s.priority
ORDER BY s.priority DESC
