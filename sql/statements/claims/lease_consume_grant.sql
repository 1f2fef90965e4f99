-- Fragment of lease (see lease_head.sql): consume the grant.
g AS (DELETE FROM ff_claim_grant WHERE partition_key = $1 AND execution_id = $2),
