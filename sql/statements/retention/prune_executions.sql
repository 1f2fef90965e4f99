-- Delete up to max_rows terminal executions in the given public states that finished before the
-- cutoff, with every row that belongs to them: attempts, grants, suspensions, waitpoints, signals,
-- dedup rows, deadlines, quota admissions, steps and frames (the outbox tables have their own retention, ff_prune_events).
-- Rows another session holds are left for the next run. Returns how many executions it deleted.
-- $1 cutoff_ms
-- $2 public_states
-- $3 max_rows
-- $4..$7 filter (namespace, tag_key, tag_value, partitions: store::scanners::ScanFilter)
WITH doomed AS (
    SELECT partition_key, execution_id FROM ff_exec_core
    WHERE completed_at_ms < $1 AND lifecycle_phase = 'terminal' AND public_state = ANY ($2::text[])
      AND ($4::text IS NULL OR namespace = $4) AND ($5::text IS NULL OR tags ->> $5 = $6)
      AND ($7::smallint[] IS NULL OR partition_key = ANY($7))
    LIMIT $3
    FOR UPDATE SKIP LOCKED),
attempts AS (
    DELETE FROM ff_attempt x USING doomed d WHERE x.partition_key = d.partition_key AND x.execution_id = d.execution_id
        AND ($7::smallint[] IS NULL OR x.partition_key = ANY($7))),
grants AS (
    DELETE FROM ff_claim_grant x USING doomed d WHERE x.partition_key = d.partition_key AND x.execution_id = d.execution_id
        AND ($7::smallint[] IS NULL OR x.partition_key = ANY($7))),
suspensions AS (
    DELETE FROM ff_suspension x USING doomed d WHERE x.partition_key = d.partition_key AND x.execution_id = d.execution_id
        AND ($7::smallint[] IS NULL OR x.partition_key = ANY($7))),
waitpoints AS (
    DELETE FROM ff_waitpoint x USING doomed d WHERE x.partition_key = d.partition_key AND x.execution_id = d.execution_id
        AND ($7::smallint[] IS NULL OR x.partition_key = ANY($7))),
signals AS (
    DELETE FROM ff_signal x USING doomed d WHERE x.partition_key = d.partition_key AND x.execution_id = d.execution_id
        AND ($7::smallint[] IS NULL OR x.partition_key = ANY($7))),
signal_dedup AS (
    DELETE FROM ff_signal_dedup x USING doomed d WHERE x.partition_key = d.partition_key AND x.execution_id = d.execution_id
        AND ($7::smallint[] IS NULL OR x.partition_key = ANY($7))),
suspend_dedup AS (
    DELETE FROM ff_suspend_dedup x USING doomed d WHERE x.partition_key = d.partition_key AND x.execution_id = d.execution_id
        AND ($7::smallint[] IS NULL OR x.partition_key = ANY($7))),
usage_dedup AS (
    DELETE FROM ff_usage_dedup x USING doomed d WHERE x.partition_key = d.partition_key AND x.execution_id = d.execution_id
        AND ($7::smallint[] IS NULL OR x.partition_key = ANY($7))),
deadlines AS (
    DELETE FROM ff_deadline x USING doomed d WHERE x.partition_key = d.partition_key AND x.execution_id = d.execution_id
        AND ($7::smallint[] IS NULL OR x.partition_key = ANY($7))),
admissions AS (
    DELETE FROM ff_quota_admission x USING doomed d WHERE x.partition_key = d.partition_key AND x.execution_id = d.execution_id
        AND ($7::smallint[] IS NULL OR x.partition_key = ANY($7))),
steps AS (
    DELETE FROM ff_step x USING doomed d WHERE x.partition_key = d.partition_key AND x.execution_id = d.execution_id
        AND ($7::smallint[] IS NULL OR x.partition_key = ANY($7))),
frames AS (
    DELETE FROM ff_frame x USING doomed d WHERE x.partition_key = d.partition_key AND x.execution_id = d.execution_id
        AND ($7::smallint[] IS NULL OR x.partition_key = ANY($7))),
streams AS (
    DELETE FROM ff_stream x USING doomed d WHERE x.partition_key = d.partition_key AND x.execution_id = d.execution_id
        AND ($7::smallint[] IS NULL OR x.partition_key = ANY($7))),
executions AS (
    DELETE FROM ff_exec_core x USING doomed d WHERE x.partition_key = d.partition_key AND x.execution_id = d.execution_id
        AND ($7::smallint[] IS NULL OR x.partition_key = ANY($7))
    RETURNING 1)
SELECT count(*) AS deleted FROM executions
