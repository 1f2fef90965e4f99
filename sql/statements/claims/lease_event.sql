-- Fragment of lease (see lease_head.sql): the lease event, and the result.
ev AS (
    INSERT INTO ff_lease_event (partition_key, execution_id, namespace, occurred_at_ms, lease_id, lease_epoch, event_type)
    SELECT partition_key, $11, namespace, $9, $5, lease_epoch, $12 FROM upd)
SELECT lease_epoch, payload FROM upd
