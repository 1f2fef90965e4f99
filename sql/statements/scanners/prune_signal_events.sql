-- Bulk retention: delete ff_signal_event rows older than the cutoff.
-- $1 older_than_ms
DELETE FROM ff_signal_event WHERE occurred_at_ms < $1
