-- Bulk retention: delete ff_operator_event rows older than the cutoff.
-- $1 older_than_ms
DELETE FROM ff_operator_event WHERE occurred_at_ms < $1
