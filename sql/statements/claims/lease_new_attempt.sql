-- Fragment of lease (see lease_head.sql): the new attempt row.
att AS (
    INSERT INTO ff_attempt (partition_key, execution_id, attempt_index, attempt_id, worker_id,
        worker_instance_id, started_at_ms)
    SELECT $1, $2, $3, $4, $7, $8, $9 WHERE $10),
