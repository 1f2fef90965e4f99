-- After a replay: a flow member waits for its upstreams again; with_dependents revives what its end
-- skipped (sql/shared/flows.sql). Nothing for an execution outside a flow.
-- $1 partition_key
-- $2 execution_id
-- $3 with_dependents
SELECT FROM ff_flow_replayed($1, $2, $3)
