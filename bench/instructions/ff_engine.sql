-- Set-up for scripts/instructions.sh: the extension, a key, 12 000 queued executions (lane cg3) and
-- the two workloads as procedures that commit after every call, as a client's autocommit would.
CREATE EXTENSION ff_engine;
SELECT kid FROM ff_seed_hmac('kid-1', repeat('11', 32));
-- W1: create -> claim -> suspend (Single) -> deliver (satisfies) -> claim resumed -> complete.
CREATE PROCEDURE w1(n int) LANGUAGE plpgsql AS $$
DECLARE l record; s record;
BEGIN
  FOR i IN 1..n LOOP
    PERFORM * FROM ff_create_execution('cg'); COMMIT;
    SELECT * INTO l FROM ff_claim('cg', 'w', 'i', max_items => 1); COMMIT;
    SELECT * INTO s FROM ff_suspend(l.execution_id, l.lease_id, l.lease_epoch,
                                    '{"Single":{"waitpoint_key":"k1","matcher":{"ByName":"go"}}}'); COMMIT;
    PERFORM * FROM ff_deliver_signal(l.execution_id, s.waitpoint_id, s.token, 'go'); COMMIT;
    SELECT * INTO l FROM ff_claim('cg', 'w', 'i', max_items => 1); COMMIT;
    IF NOT l.resumed THEN RAISE EXCEPTION 'W1: the second claim did not resume'; END IF;
    PERFORM * FROM ff_complete(l.execution_id, l.lease_id, l.lease_epoch); COMMIT;
  END LOOP;
END $$;
-- W3: claim + complete from a queue.
CREATE PROCEDURE w3(n int) LANGUAGE plpgsql AS $$
DECLARE l record;
BEGIN
  FOR i IN 1..n LOOP
    SELECT * INTO l FROM ff_claim('cg3', 'w', 'i', max_items => 1); COMMIT;
    IF l.execution_id IS NULL THEN RAISE EXCEPTION 'W3: the queue ran dry'; END IF;
    PERFORM * FROM ff_complete(l.execution_id, l.lease_id, l.lease_epoch); COMMIT;
  END LOOP;
END $$;
SELECT count(*) FROM (SELECT ff_create_execution(lane_id => 'cg3') FROM generate_series(1, 12000)) s;
CALL w1(20);
