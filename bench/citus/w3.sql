-- Workload 3 through the partition-first calls (pgbench, one cycle per transaction): claim one
-- execution of the client's lane (filled beforehand) and complete it.
SELECT ff_partition_for('b:client_id', NULL) AS p \gset
SELECT execution_id AS eid, lease_id, lease_epoch FROM ff_claim_in(:p::smallint, 'b:client_id', 'w', 'i') \gset
SELECT outcome FROM ff_complete_in(:p::smallint, ':eid', ':lease_id', :lease_epoch);
