-- Workload 3's backlog (pgbench, one create per transaction in the client's lane).
SELECT ff_partition_for('b:client_id', NULL) AS p \gset
SELECT 1 FROM ff_create_execution_in(:p::smallint, 'b:client_id');
