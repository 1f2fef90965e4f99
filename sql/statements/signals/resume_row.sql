-- Resume an execution its signal satisfied: the signal counted, the resumed states
-- (signals/record_and_resume.sql's). Returns the namespace its events need.
-- $1 partition_key
-- $2 execution_id
-- $3..$7 states
-- $8 eligible_at_ms
-- $9 now_ms
UPDATE ff_exec_core SET signal_count = signal_count + 1, lifecycle_phase = $3, ownership_state = $4,
    eligibility_state = $5, attempt_state = $6, public_state = $7, eligible_at_ms = $8, updated_at_ms = $9
WHERE partition_key = $1 AND execution_id = $2
RETURNING namespace
