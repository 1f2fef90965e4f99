-- Announce the calling session as a waiter on each (channel, lane) pair, or refresh its
-- announcement. Runs while the exclusive wake-up locks are held (released at commit).
-- $1 channels
-- $2 lane_ids
-- $3 now_ms
INSERT INTO ff_waiter (channel, lane_id, backend_pid, announced_at_ms)
SELECT c, l, pg_backend_pid(), $3 FROM unnest($1::text[], $2::text[]) AS a(c, l)
ON CONFLICT (channel, lane_id, backend_pid) DO UPDATE SET announced_at_ms = EXCLUDED.announced_at_ms
