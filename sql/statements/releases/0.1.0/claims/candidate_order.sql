-- Fragment of the claim candidate statements on release 0.1.0's schema: the queue order, the batch
-- size, the lock.
ORDER BY e.priority DESC, e.queue_seq
LIMIT $5
FOR UPDATE OF e SKIP LOCKED
