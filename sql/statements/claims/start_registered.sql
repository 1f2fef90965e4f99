-- A claimable row is being created: register its (lane, priority) when no registration is visible
-- (ff_claim_start_register); whether one was.
-- $1 lane_id text
-- $2 priority integer
-- returns registered boolean
SELECT EXISTS (SELECT 1 FROM ff_claim_start s WHERE s.lane_id = $1 AND s.priority = $2)
       OR (SELECT false FROM ff_claim_start_register($1, $2)) AS registered
