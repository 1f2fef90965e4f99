-- Fragment of the claim candidate statements: the queue order, the batch size, the lock.
ORDER BY e.queue_seq
LIMIT $5
FOR UPDATE OF e SKIP LOCKED
