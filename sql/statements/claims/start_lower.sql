-- A row became claimable, or moved to another priority while claimable: lower the claim start of its
-- (lane, priority) to it (ff_claim_start_lower: the slot's gate is held shared until the end of the
-- transaction).
-- $1 lane_id text
-- $2 priority integer
-- $3 queue_seq bigint
SELECT FROM ff_claim_start_lower($1, $2, $3)
