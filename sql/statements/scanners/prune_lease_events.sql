-- Bulk retention: delete ff_lease_event rows older than the cutoff.
-- $1 older_than_ms
DELETE FROM ff_lease_event WHERE occurred_at_ms < $1
