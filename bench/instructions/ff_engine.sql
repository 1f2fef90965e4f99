-- Set-up for scripts/instructions.sh: the extension, a key, 12 000 queued executions (lane cg3) and
-- the workloads as procedures that commit after every call, as a client's autocommit would.
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
-- W1's first k calls (FF_INSTR_CALLS=1 ./scripts/instructions.sh: a call's cost is the difference of
-- k and k - 1; the executions runs of 1, 2, 3 or 5 calls leave behind are not claimable).
CREATE PROCEDURE w1_first(k int, n int) LANGUAGE plpgsql AS $$
DECLARE l record; s record;
BEGIN
  FOR i IN 1..n LOOP
    PERFORM * FROM ff_create_execution('cg'); COMMIT;
    CONTINUE WHEN k < 2;
    SELECT * INTO l FROM ff_claim('cg', 'w', 'i', max_items => 1); COMMIT;
    CONTINUE WHEN k < 3;
    SELECT * INTO s FROM ff_suspend(l.execution_id, l.lease_id, l.lease_epoch,
                                    '{"Single":{"waitpoint_key":"k1","matcher":{"ByName":"go"}}}'); COMMIT;
    CONTINUE WHEN k < 4;
    PERFORM * FROM ff_deliver_signal(l.execution_id, s.waitpoint_id, s.token, 'go'); COMMIT;
    CONTINUE WHEN k < 5;
    SELECT * INTO l FROM ff_claim('cg', 'w', 'i', max_items => 1); COMMIT;
    CONTINUE WHEN k < 6;
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
-- W8: a parent in a flow, 100 children, the parent resumed by the last child's end (307 calls).
CREATE PROCEDURE w8(n int) LANGUAGE plpgsql AS $$
DECLARE f uuid; parent text; p record; l record;
BEGIN
  FOR i IN 1..n LOOP
    SELECT flow_id INTO f FROM ff_create_flow(); COMMIT;
    SELECT execution_id INTO parent FROM ff_create_execution('cg8', flow_id => f); COMMIT;
    SELECT * INTO p FROM ff_claim('cg8', 'w', 'i', max_items => 1); COMMIT;
    PERFORM * FROM ff_create_waitpoint(p.execution_id, p.lease_id, p.lease_epoch, 'children', 600000); COMMIT;
    FOR j IN 1..100 LOOP
      PERFORM * FROM ff_create_execution('cg8k', parent_execution_id => parent, parent_waitpoint_key => 'children'); COMMIT;
    END LOOP;
    PERFORM * FROM ff_suspend(p.execution_id, p.lease_id, p.lease_epoch, ff_cond_count(100, 'sources', ARRAY['children'])); COMMIT;
    FOR j IN 1..100 LOOP
      SELECT * INTO l FROM ff_claim('cg8k', 'w', 'i', max_items => 1); COMMIT;
      PERFORM * FROM ff_complete(l.execution_id, l.lease_id, l.lease_epoch); COMMIT;
    END LOOP;
    SELECT * INTO l FROM ff_claim('cg8', 'w', 'i', max_items => 1); COMMIT;
    IF NOT l.resumed THEN RAISE EXCEPTION 'W8: the parent did not resume'; END IF;
    PERFORM * FROM ff_complete(l.execution_id, l.lease_id, l.lease_epoch); COMMIT;
  END LOOP;
END $$;
SELECT count(*) FROM (SELECT ff_create_execution(lane_id => 'cg3') FROM generate_series(1, 12000)) s;
CALL w1(20);
