-- Consume the announcements of the waiters on what the calling transaction wrote: the outbox
-- channels it wrote events to ('' lane) and the lanes it made claimable. Each row returned is one
-- NOTIFY to send at commit; none returned, none sent. Runs after the shared wake-up locks are held,
-- so its snapshot sees every announcement committed before them.
-- $1 channels
-- $2 lane_ids
DELETE FROM ff_waiter
WHERE (channel = ANY ($1) AND lane_id = '') OR (channel = 'ff_lane_ready' AND lane_id = ANY ($2))
RETURNING channel, lane_id
