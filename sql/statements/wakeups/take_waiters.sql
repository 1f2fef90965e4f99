-- Consume the announcements of the waiters on what the calling transaction wrote: every subscriber
-- announced on the outbox channels it wrote events to ('' lane), and one worker (the longest asleep)
-- per lane it made claimable. Each row returned is one NOTIFY to send at commit; none returned, none
-- sent. Runs after the shared wake-up locks are held, so its snapshot sees every announcement
-- committed before them. A row another writer is consuming is waited for (not skipped): should that
-- writer roll back, this one consumes the announcement and notifies. Two index scans of the primary
-- key joined back to it (an OR with a sub-select would be a sequential scan).
-- $1 channels
-- $2 lane_ids
DELETE FROM ff_waiter w
USING (
    (SELECT channel, lane_id, backend_pid FROM ff_waiter WHERE channel = ANY ($1) AND lane_id = '')
    UNION ALL
    (SELECT DISTINCT ON (lane_id) channel, lane_id, backend_pid FROM ff_waiter
     WHERE channel = 'ff_lane_ready' AND lane_id = ANY ($2)
     ORDER BY lane_id, announced_at_ms, backend_pid)
) t
WHERE w.channel = t.channel AND w.lane_id = t.lane_id AND w.backend_pid = t.backend_pid
RETURNING w.channel, w.lane_id, w.backend_pid
