-- The registration of a (lane, priority) that transitions lower (the Rust edition's trigger, which
-- then takes the slot's gate and lowers its sequence itself): its lowest slot and the sequence holding
-- its start, both NULL when the pool was used up; no row when the pair is not registered.
-- $1 lane_id text
-- $2 priority integer
-- returns slot integer, start_seq_oid bigint
SELECT s.slot, s.start_seq::oid::bigint AS start_seq_oid
FROM ff_claim_start s
WHERE s.lane_id = $1 AND s.priority = $2
ORDER BY s.slot
LIMIT 1
