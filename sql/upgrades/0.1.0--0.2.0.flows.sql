
-- 0.1.0 stored flow_id and did nothing with it. Each flow id in use becomes a flow (created when its
-- first execution was), and its executions in the flow's partition (every one whose id was minted,
-- not given) its members, with no parent and no upstreams. An execution given an id in another
-- partition keeps its flow_id as a label and is not a member: members share their flow's partition.
INSERT INTO ff_flow (partition_key, flow_id, created_at_ms)
SELECT ff_partition_for('', flow_id), flow_id, min(created_at_ms) FROM ff_exec_core WHERE flow_id IS NOT NULL GROUP BY flow_id;
INSERT INTO ff_flow_member (partition_key, execution_id, flow_id, joined_at_ms)
SELECT e.partition_key, e.execution_id, e.flow_id, e.created_at_ms FROM ff_exec_core e
WHERE e.flow_id IS NOT NULL AND e.partition_key = ff_partition_for('', e.flow_id);
