-- Join a just-created execution to its flow (sql/shared/flows.sql), which sets its state from its
-- upstreams and wakes its lane when it is claimable.
-- $1 partition_key
-- $2 execution_id
-- $3 flow_id
-- $4 parent_execution_id
-- $5 parent_waitpoint_key
-- $6 depends_on
SELECT FROM ff_flow_join($1, $2, $3, $4, $5, $6)
