-- Set-up for scripts/instructions.sh after `absurdctl init`: Absurd 0.5.1's W1 with the bench's mapping
-- (spawn_task -> claim_task -> await_event -> emit_event -> claim_task -> complete_run).
SELECT absurd.create_queue('q');
CREATE PROCEDURE w1(n int) LANGUAGE plpgsql AS $$
DECLARE r record; r2 record; ev text;
BEGIN
  FOR i IN 1..n LOOP
    PERFORM * FROM absurd.spawn_task('q', 'job', '{}'::jsonb); COMMIT;
    SELECT run_id, task_id INTO r FROM absurd.claim_task('q', 'w', 30, 1); COMMIT;
    ev := 'ev-' || r.task_id;
    PERFORM * FROM absurd.await_event('q', r.task_id, r.run_id, 'step-0', ev); COMMIT;
    PERFORM absurd.emit_event('q', ev, '{}'::jsonb); COMMIT;
    SELECT run_id, task_id INTO r2 FROM absurd.claim_task('q', 'w', 30, 1); COMMIT;
    IF r2.task_id IS DISTINCT FROM r.task_id THEN RAISE EXCEPTION 'W1: the woken task was not claimed'; END IF;
    PERFORM absurd.complete_run('q', r2.run_id); COMMIT;
  END LOOP;
END $$;
CALL w1(20);
