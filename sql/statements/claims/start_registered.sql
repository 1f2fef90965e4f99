-- A claimable row is being created: register its (lane, priority) when no registration is visible
-- (ff_claim_start_register). The transaction id that wrote the registration claims use (its lowest
-- slot); NULL when there was none and this statement made it.
-- $1 lane_id text
-- $2 priority integer
-- returns registered_by bigint
SELECT coalesce((SELECT s.xmin::text::bigint FROM ff_claim_start s WHERE s.lane_id = $1 AND s.priority = $2
                 ORDER BY s.slot LIMIT 1),
                (SELECT NULL::bigint FROM ff_claim_start_register($1, $2))) AS registered_by
