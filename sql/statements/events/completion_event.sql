-- A completion event in the outbox of the node that runs the call: a terminal outcome (with a
-- failure's class) or a resume.
-- $1 partition_key
-- $2 execution_ref
-- $3 namespace
-- $4 now_ms
-- $5 outcome
-- $6 failure_class
INSERT INTO ff_completion_event (partition_key, execution_id, namespace, occurred_at_ms, outcome, failure_class)
VALUES ($1, $2, $3, $4, $5, $6)
