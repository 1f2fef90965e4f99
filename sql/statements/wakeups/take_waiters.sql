-- Consume the announcements of the waiters on what the calling transaction wrote: every subscriber
-- announced on the outbox channels it wrote events to ('' lane), and one worker (the longest asleep)
-- per lane it made claimable. Each row returned is one NOTIFY to send at commit; none returned, none
-- sent. Runs after the shared wake-up locks are held, so its snapshot sees every announcement
-- committed before them. A row another writer is consuming is waited for (not skipped): should that
-- writer roll back, this one consumes the announcement and notifies.
-- $1 channels
-- $2 lane_ids
DELETE FROM ff_waiter w
WHERE (w.channel = ANY ($1) AND w.lane_id = '')
   OR (w.channel, w.lane_id, w.backend_pid) IN (
        SELECT DISTINCT ON (o.lane_id) o.channel, o.lane_id, o.backend_pid FROM ff_waiter o
        WHERE o.channel = 'ff_lane_ready' AND o.lane_id = ANY ($2)
        ORDER BY o.lane_id, o.announced_at_ms, o.backend_pid)
RETURNING w.channel, w.lane_id, w.backend_pid
