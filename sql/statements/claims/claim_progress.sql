-- What a claim hands back of an execution's progress: the continuation of the claimed attempt's
-- latest suspension (none when the attempt never suspended: a suspension belongs to the attempt when
-- it comes after the attempt's start in ff_history_seq), and how many steps are stored.
-- $1 partition_key smallint
-- $2 execution_id uuid
-- $3 attempt_index integer
-- returns continuation text, step_count integer
SELECT (SELECT s.continuation FROM ff_suspension s
        WHERE s.partition_key = $1 AND s.execution_id = $2
          AND s.history_seq > (SELECT a.history_seq FROM ff_attempt a
                               WHERE a.partition_key = $1 AND a.execution_id = $2 AND a.attempt_index = $3)
        ORDER BY s.history_seq DESC LIMIT 1) AS continuation,
       (SELECT count(*)::integer FROM ff_step t WHERE t.partition_key = $1 AND t.execution_id = $2) AS step_count
