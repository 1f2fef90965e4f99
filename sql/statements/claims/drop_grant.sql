-- Consume a claimed execution's grant (claims/lease_consume_grant.sql as a statement of its own; see
-- claims/lease_row.sql).
-- $1 partition_key
-- $2 execution_id
DELETE FROM ff_claim_grant WHERE partition_key = $1 AND execution_id = $2
