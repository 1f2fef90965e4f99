-- Fragment of the claim candidate statements, after candidate_filter.sql: the scan of one partition
-- only (ff_claim_in: on a distributed install, the shard the call was delegated to).
-- $8 partition_key
  AND e.partition_key = $8
