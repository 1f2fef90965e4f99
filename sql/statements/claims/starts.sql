-- The priorities of a lane that ever had claimable work, highest first, each with its claim start
-- (sql/shared/claim_start.sql): the sequence holding it (NULL without a slot) and its value, the
-- queue_seq below which none of the priority's rows is claimable (0 without a slot). When two
-- transactions registered a priority at once, the lower slot.
-- $1 lane_id text
-- returns priority integer, start_seq_oid bigint, start_seq bigint
SELECT DISTINCT ON (s.priority) s.priority, s.start_seq::oid::bigint AS start_seq_oid,
       coalesce(pg_sequence_last_value(s.start_seq), 0) AS start_seq
FROM ff_claim_start s
WHERE s.lane_id = $1
ORDER BY s.priority DESC, s.slot
