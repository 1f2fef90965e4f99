-- Workload 1 through the partition-first calls (pgbench, one cycle per transaction): create, claim,
-- suspend on one waitpoint, deliver the signal, claim the resumed execution, complete. Each client
-- has its own lane; its partition is looked up first (the only call Citus runs on the coordinator).
SELECT ff_partition_for('b:client_id', NULL) AS p \gset
SELECT execution_id AS eid FROM ff_create_execution_in(:p::smallint, 'b:client_id', '\x01') \gset
SELECT lease_id, lease_epoch FROM ff_claim_in(:p::smallint, 'b:client_id', 'w', 'i') \gset
SELECT waitpoint_id AS wp, token FROM ff_suspend_in(:p::smallint, ':eid', ':lease_id', :lease_epoch, '{"Single":{"waitpoint_key":"k","matcher":{"ByName":"go"}}}', '[{"waitpoint_key":"k"}]') \gset
SELECT effect FROM ff_deliver_signal_in(:p::smallint, ':eid', ':wp', ':token', 'go');
SELECT lease_id AS l2, lease_epoch AS e2 FROM ff_claim_in(:p::smallint, 'b:client_id', 'w', 'i') \gset
SELECT outcome FROM ff_complete_in(:p::smallint, ':eid', ':l2', :e2);
