-- What a claim scan's index keys cost, apart from the engine: 12 000 rows of one lane and one
-- priority, the claim's scan (the first row from a start, LIMIT 1) through an index whose first column
-- is the lane (text, variable-length) or the lane's hash (int4). Each procedure runs n scans; count
-- them as scripts/instructions.sh counts a workload, in a single-user backend under callgrind, the
-- difference of n and 2n scans over n:
--   initdb -D d; pg_ctl -D d start; psql -f bench/instructions/claim_scan_keys.sql; pg_ctl -D d stop
--   echo "CALL scan_by_lane(1000);" | valgrind --tool=callgrind postgres --single -D d postgres   (and 2000)
CREATE TABLE by_lane (lane_id text, priority int, queue_seq bigint);
INSERT INTO by_lane SELECT 'cg3', 0, g FROM generate_series(1, 12000) g;
CREATE INDEX by_lane_claimable ON by_lane (lane_id, priority DESC, queue_seq);
CREATE TABLE by_hash AS SELECT * FROM by_lane;
CREATE INDEX by_hash_claimable ON by_hash (hashtext(lane_id), priority DESC, queue_seq);
VACUUM ANALYZE;
CREATE PROCEDURE scan_by_lane(n int) LANGUAGE plpgsql AS $$
DECLARE x bigint;
BEGIN
    FOR i IN 1..n LOOP
        SELECT queue_seq INTO x FROM by_lane
        WHERE lane_id = 'cg3' AND priority = 0 AND queue_seq >= 100 ORDER BY queue_seq LIMIT 1;
    END LOOP;
END $$;
CREATE PROCEDURE scan_by_hash(n int) LANGUAGE plpgsql AS $$
DECLARE x bigint;
BEGIN
    FOR i IN 1..n LOOP
        SELECT queue_seq INTO x FROM by_hash
        WHERE hashtext(lane_id) = hashtext('cg3') AND lane_id = 'cg3' AND priority = 0 AND queue_seq >= 100
        ORDER BY queue_seq LIMIT 1;
    END LOOP;
END $$;
