-- ff_engine 0.1.0 -> 0.2.0 (ALTER EXTENSION ff_engine UPDATE TO '0.2.0'). Assembled by
-- scripts/upgrade-script.py from sql/upgrades/0.1.0--0.2.0.schema.sql, the 0.2.0 install script's
-- functions, the new extension_sql files and sql/finalize.sql; tests/upgrade.rs compares the result
-- with a fresh 0.2.0 install.

-- ff_engine 0.1.0 -> 0.2.0: schema changes (the functions follow, then finalize.sql re-applies
-- ownership, grants, plan settings and comments to everything, old and new).

-- Lease revocation interrupts an attempt for a new reason.
ALTER DOMAIN ff_interrupt_reason DROP CONSTRAINT ff_interrupt_reason_check;
ALTER DOMAIN ff_interrupt_reason ADD CONSTRAINT ff_interrupt_reason_check
    CHECK (VALUE IN ('suspended','lease_expired','lease_revoked'));

CREATE DOMAIN ff_operator_action AS text
    CHECK (VALUE IN ('priority_changed','replayed','lease_revoked'));
COMMENT ON DOMAIN ff_operator_action IS 'Operator event action.';

-- Execution deadlines.
CREATE TABLE ff_deadline (
    partition_key   smallint NOT NULL,
    execution_id    uuid     NOT NULL,
    deadline_at_ms  bigint   NOT NULL,
    PRIMARY KEY (partition_key, execution_id)
);
COMMENT ON TABLE ff_deadline IS 'The deadline of each execution created with one (deadline_at_ms): not finished by then, it expires.';
CREATE INDEX ff_deadline_due ON ff_deadline (deadline_at_ms);
COMMENT ON INDEX ff_deadline_due IS 'Deadline scan, soonest first.';

-- Retention of finished executions.
CREATE INDEX ff_exec_core_completed ON ff_exec_core USING brin (completed_at_ms);
COMMENT ON INDEX ff_exec_core_completed IS 'Retention scan of finished executions (BRIN).';

-- The operator outbox.
CREATE TABLE ff_operator_event (
    event_id        bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    partition_key   smallint NOT NULL,
    execution_id    text     NOT NULL,
    namespace       text,
    occurred_at_ms  bigint   NOT NULL,
    action          ff_operator_action NOT NULL,
    actor           text     NOT NULL,
    reason          text,
    detail          jsonb    NOT NULL DEFAULT '{}'
);
COMMENT ON TABLE ff_operator_event IS
    'Outbox: operator actions (priority changed, replayed, lease revoked), with the session user who '
    'acted and the details. NOTIFY channel ff_operator_event.';
CREATE INDEX ff_operator_event_time ON ff_operator_event USING brin (occurred_at_ms);
COMMENT ON INDEX ff_operator_event_time IS 'Retention scan for ff_prune_events (BRIN).';

-- Wake-ups: waiters announced to writers (the futex pattern).
-- A worker about to sleep on an empty lane, or a subscriber that has read everything, announces
-- itself here (ff_await_lane, ff_await_events); a writer whose transaction makes work for it deletes
-- the announcement and notifies, and notifies nobody when nobody is announced. UNLOGGED: an
-- announcement means nothing after a crash (every waiter's connection is gone), and announcing or
-- consuming one writes no WAL. Vacuumed as soon as a row is dead, so that once nobody waits the table
-- is empty again (0 blocks), and writers skip reading it (docs/wakeups.md).
CREATE UNLOGGED TABLE ff_waiter (
    channel          text     NOT NULL
        CHECK (channel IN ('ff_lane_ready','ff_signal_event','ff_lease_event','ff_completion','ff_operator_event','ff_frame')),
    lane_id          text     NOT NULL DEFAULT '',
    backend_pid      integer  NOT NULL,
    announced_at_ms  bigint   NOT NULL,
    PRIMARY KEY (channel, lane_id, backend_pid)
) WITH (autovacuum_vacuum_threshold = 0, autovacuum_vacuum_scale_factor = 0);
COMMENT ON TABLE ff_waiter IS
    'Announced waiters: a sleeping worker of a lane (channel ff_lane_ready) or a caught-up subscriber of an '
    'outbox channel. The first writer that makes work for it deletes the row and notifies.';

-- The operator view gains attempt count, terminal time, last failure and result size (new columns
-- last, so CREATE OR REPLACE keeps the old ones).
CREATE OR REPLACE VIEW ff_executions AS
SELECT '{fp:' || e.partition_key || '}:' || e.execution_id AS execution_id, e.lane_id, e.namespace, e.priority,
       e.lifecycle_phase, e.ownership_state, e.eligibility_state, e.attempt_state, e.public_state, e.attempt_index,
       e.lease_epoch, e.lease_expires_at_ms, e.created_at_ms,
       (SELECT count(*) FROM ff_attempt a WHERE a.partition_key = e.partition_key AND a.execution_id = e.execution_id)
           AS attempt_count,
       e.completed_at_ms AS terminal_at_ms, e.last_error, octet_length(e.result) AS result_bytes
FROM ff_exec_core e;
COMMENT ON VIEW ff_executions IS
    'One row per execution: its state columns, lease, attempt count, terminal time, last failure and result size; no payload or result bytes.';

-- ff_create_execution gained deadline_at_ms (its 0.1.0 C symbol stays in the library, unused from here).
DROP FUNCTION ff_create_execution(text, bytea, integer, text[], text, jsonb, text[], uuid, bigint, integer, bigint, text, text, uuid);

-- The continuation a claim hands back: attempt starts and suspensions in one order (ff_history_seq).
-- Suspensions recorded before the update are numbered before every existing attempt, so a claim
-- resuming from one of them hands back no continuation (0.1.0 handed back none).
ALTER TABLE ff_attempt ADD COLUMN history_seq bigint;
ALTER TABLE ff_suspension ADD COLUMN history_seq bigint GENERATED ALWAYS AS IDENTITY (SEQUENCE NAME ff_history_seq);
UPDATE ff_attempt SET history_seq = nextval('ff_history_seq');
ALTER TABLE ff_attempt ALTER COLUMN history_seq SET NOT NULL;
ALTER TABLE ff_attempt ALTER COLUMN history_seq SET DEFAULT nextval('ff_history_seq');

----------------------------------------------------------------------------------------------------
-- Progress: durable steps and output streams
----------------------------------------------------------------------------------------------------
-- A step's value, stored once per execution and step name by ff_set_step under the caller's lease;
-- the first write wins across attempts. Kept by replay, deleted with the execution.
CREATE TABLE ff_step (
    partition_key  smallint NOT NULL,
    execution_id   uuid     NOT NULL,
    step_name      text     NOT NULL,
    step_seq       bigint   GENERATED ALWAYS AS IDENTITY,
    value          bytea,
    attempt_index  integer  NOT NULL,
    stored_at_ms   bigint   NOT NULL,
    PRIMARY KEY (partition_key, execution_id, step_name)
);
COMMENT ON TABLE ff_step IS
    'Durable steps: the first value stored per execution and step name (ff_set_step), with the attempt '
    'that stored it; step_seq is the write order.';

CREATE DOMAIN ff_frame_kind AS text CHECK (VALUE IN ('stdout','stderr','event','blob'));
COMMENT ON DOMAIN ff_frame_kind IS 'Output frame kind.';

-- Per execution: the last seq and the totals the ceilings are checked against, so an append reads one
-- row whatever the stream's length.
CREATE TABLE ff_stream (
    partition_key  smallint NOT NULL,
    execution_id   uuid     NOT NULL,
    last_seq       bigint   NOT NULL,
    frame_count    bigint   NOT NULL,
    total_bytes    bigint   NOT NULL,
    PRIMARY KEY (partition_key, execution_id)
);
COMMENT ON TABLE ff_stream IS 'One row per execution with frames: the last seq, the frame count and total bytes.';

CREATE TABLE ff_frame (
    partition_key   smallint      NOT NULL,
    execution_id    uuid          NOT NULL,
    seq             bigint        NOT NULL CHECK (seq > 0),
    frame_kind      ff_frame_kind NOT NULL,
    bytes           bytea         NOT NULL,
    attempt_index   integer       NOT NULL,
    appended_at_ms  bigint        NOT NULL,
    PRIMARY KEY (partition_key, execution_id, seq)
);
COMMENT ON TABLE ff_frame IS
    'Output frames of executions (ff_append_frame), in seq order per execution; read with '
    'ff_read_frames. NOTIFY channel ff_frame (payload: the execution id).';


-- The claims hand back the continuation and the step count (new result columns; their 0.1.0 C
-- symbols stay in the library, unused from here).
DROP FUNCTION ff_claim(text, text, text, text[], bigint, integer);
DROP FUNCTION ff_claim_execution(text, text, text, bigint);
DROP FUNCTION ff_claim_resumed_execution(text, text, text, bigint);

-- Functions new in 0.2.0, or with a new definition.
-- ff_engine::api::progress::ff_append_frame
CREATE  FUNCTION "ff_append_frame"(
	"execution_id" TEXT, /* Option < & str > */
	"lease_id" uuid, /* Option < pgrx :: Uuid > */
	"lease_epoch" bigint, /* Option < i64 > */
	"frame_kind" TEXT, /* Option < & str > */
	"bytes" bytea, /* Option < & [u8] > */
	"seq" bigint DEFAULT NULL /* Option < i64 > */
) RETURNS TABLE (
	"seq" bigint  /* i64 */
)
SECURITY DEFINER PARALLEL UNSAFE
SET search_path TO @extschema@, pg_temp
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'ff_append_frame_wrapper';

-- ff_engine::api::wakeups::ff_await_events
CREATE  FUNCTION "ff_await_events"(
	"channels" TEXT[] /* :: std :: option :: Option < Vec < Option < String > > > */
) RETURNS void
SECURITY DEFINER PARALLEL UNSAFE
SET search_path TO @extschema@, pg_temp
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'ff_await_events_wrapper';

-- ff_engine::api::wakeups::ff_await_lane
CREATE  FUNCTION "ff_await_lane"(
	"lane_id" TEXT /* Option < & str > */
) RETURNS void
SECURITY DEFINER PARALLEL UNSAFE
SET search_path TO @extschema@, pg_temp
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'ff_await_lane_wrapper';

-- ff_engine::api::operator::ff_change_priority
CREATE  FUNCTION "ff_change_priority"(
	"execution_id" TEXT, /* Option < & str > */
	"priority" INT /* Option < i32 > */
) RETURNS TABLE (
	"outcome" TEXT,  /* String */
	"previous_priority" INT  /* i32 */
)
SECURITY DEFINER PARALLEL UNSAFE
SET search_path TO @extschema@, pg_temp
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'ff_change_priority_wrapper';

-- ff_engine::api::claims::ff_claim
CREATE OR REPLACE FUNCTION "ff_claim"(
	"lane_id" TEXT, /* Option < & str > */
	"worker_id" TEXT, /* Option < & str > */
	"worker_instance_id" TEXT, /* Option < & str > */
	"capabilities" TEXT[] DEFAULT '{}', /* :: std :: option :: Option < Vec < Option < String > > > */
	"lease_ttl_ms" bigint DEFAULT 30000, /* Option < i64 > */
	"max_items" INT DEFAULT 1 /* Option < i32 > */
) RETURNS TABLE (
	"execution_id" TEXT,  /* String */
	"attempt_index" INT,  /* i32 */
	"attempt_id" uuid,  /* pgrx :: Uuid */
	"lease_id" uuid,  /* pgrx :: Uuid */
	"lease_epoch" bigint,  /* i64 */
	"lease_expires_at_ms" bigint,  /* i64 */
	"resumed" bool,  /* bool */
	"payload" bytea,  /* :: std :: option :: Option < Vec < u8 > > */
	"continuation" TEXT,  /* Option < String > */
	"step_count" INT  /* i32 */
)
SECURITY DEFINER PARALLEL UNSAFE 
SET search_path TO @extschema@, pg_temp
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'ff_claim_0_2_wrapper';

-- ff_engine::api::claims::ff_claim_execution
CREATE OR REPLACE FUNCTION "ff_claim_execution"(
	"grant_key" TEXT, /* Option < & str > */
	"worker_id" TEXT, /* Option < & str > */
	"worker_instance_id" TEXT, /* Option < & str > */
	"lease_ttl_ms" bigint DEFAULT 30000 /* Option < i64 > */
) RETURNS TABLE (
	"execution_id" TEXT,  /* String */
	"attempt_index" INT,  /* i32 */
	"attempt_id" uuid,  /* pgrx :: Uuid */
	"lease_id" uuid,  /* pgrx :: Uuid */
	"lease_epoch" bigint,  /* i64 */
	"lease_expires_at_ms" bigint,  /* i64 */
	"resumed" bool,  /* bool */
	"payload" bytea,  /* :: std :: option :: Option < Vec < u8 > > */
	"continuation" TEXT,  /* Option < String > */
	"step_count" INT  /* i32 */
)
SECURITY DEFINER PARALLEL UNSAFE 
SET search_path TO @extschema@, pg_temp
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'ff_claim_execution_0_2_wrapper';

-- ff_engine::api::claims::ff_claim_resumed_execution
CREATE OR REPLACE FUNCTION "ff_claim_resumed_execution"(
	"grant_key" TEXT, /* Option < & str > */
	"worker_id" TEXT, /* Option < & str > */
	"worker_instance_id" TEXT, /* Option < & str > */
	"lease_ttl_ms" bigint DEFAULT 30000 /* Option < i64 > */
) RETURNS TABLE (
	"execution_id" TEXT,  /* String */
	"attempt_index" INT,  /* i32 */
	"attempt_id" uuid,  /* pgrx :: Uuid */
	"lease_id" uuid,  /* pgrx :: Uuid */
	"lease_epoch" bigint,  /* i64 */
	"lease_expires_at_ms" bigint,  /* i64 */
	"resumed" bool,  /* bool */
	"payload" bytea,  /* :: std :: option :: Option < Vec < u8 > > */
	"continuation" TEXT,  /* Option < String > */
	"step_count" INT  /* i32 */
)
SECURITY DEFINER PARALLEL UNSAFE 
SET search_path TO @extschema@, pg_temp
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'ff_claim_resumed_execution_0_2_wrapper';

-- ff_engine::api::conditions::ff_cond_check
CREATE  FUNCTION "ff_cond_check"(
	"resume_condition" jsonb /* Option < JsonbArg > */
) RETURNS jsonb /* pgrx :: JsonB */
IMMUTABLE PARALLEL SAFE
SET search_path TO @extschema@, pg_temp
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'ff_cond_check_wrapper';

-- ff_engine::api::executions::ff_create_execution
CREATE  FUNCTION "ff_create_execution"(
	"lane_id" TEXT, /* Option < & str > */
	"payload" bytea DEFAULT NULL, /* Option < & [u8] > */
	"priority" INT DEFAULT 0, /* Option < i32 > */
	"required_capabilities" TEXT[] DEFAULT '{}', /* :: std :: option :: Option < Vec < Option < String > > > */
	"namespace" TEXT DEFAULT NULL, /* Option < & str > */
	"tags" jsonb DEFAULT '{}', /* Option < JsonbArg > */
	"budget_ids" TEXT[] DEFAULT '{}', /* :: std :: option :: Option < Vec < Option < String > > > */
	"quota_policy_id" uuid DEFAULT NULL, /* Option < pgrx :: Uuid > */
	"delay_until_ms" bigint DEFAULT NULL, /* Option < i64 > */
	"max_attempts" INT DEFAULT 1, /* Option < i32 > */
	"retry_backoff_ms" bigint DEFAULT 1000, /* Option < i64 > */
	"idempotency_key" TEXT DEFAULT NULL, /* Option < & str > */
	"execution_id" TEXT DEFAULT NULL, /* Option < & str > */
	"flow_id" uuid DEFAULT NULL, /* Option < pgrx :: Uuid > */
	"deadline_at_ms" bigint DEFAULT NULL /* Option < i64 > */
) RETURNS TABLE (
	"execution_id" TEXT,  /* String */
	"created" bool  /* bool */
)
SECURITY DEFINER PARALLEL UNSAFE 
SET search_path TO @extschema@, pg_temp
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'ff_create_execution_0_2_wrapper';

-- ff_engine::api::scanners::ff_expire_deadlines
CREATE  FUNCTION "ff_expire_deadlines"(
	"max_rows" INT DEFAULT 1000 /* Option < i32 > */
) RETURNS INT /* i32 */
SECURITY DEFINER PARALLEL UNSAFE
SET search_path TO @extschema@, pg_temp
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'ff_expire_deadlines_wrapper';

-- ff_engine::api::inspection::ff_get_execution
CREATE  FUNCTION "ff_get_execution"(
	"execution_id" TEXT /* Option < & str > */
) RETURNS TABLE (
	"execution_id" TEXT,  /* String */
	"lane_id" TEXT,  /* String */
	"namespace" TEXT,  /* Option < String > */
	"flow_id" uuid,  /* Option < pgrx :: Uuid > */
	"tags" jsonb,  /* pgrx :: JsonB */
	"priority" INT,  /* i32 */
	"lifecycle_phase" TEXT,  /* String */
	"ownership_state" TEXT,  /* String */
	"eligibility_state" TEXT,  /* String */
	"attempt_state" TEXT,  /* String */
	"public_state" TEXT,  /* String */
	"attempt_index" INT,  /* i32 */
	"attempt_count" INT,  /* i32 */
	"max_attempts" INT,  /* i32 */
	"created_at_ms" bigint,  /* i64 */
	"started_at_ms" bigint,  /* Option < i64 > */
	"terminal_at_ms" bigint,  /* Option < i64 > */
	"updated_at_ms" bigint,  /* i64 */
	"lease_worker_id" TEXT,  /* Option < String > */
	"lease_worker_instance_id" TEXT,  /* Option < String > */
	"lease_expires_at_ms" bigint,  /* Option < i64 > */
	"lease_epoch" bigint,  /* i64 */
	"suspension_id" uuid,  /* Option < pgrx :: Uuid > */
	"suspension_reason" TEXT,  /* Option < String > */
	"next_retry_at_ms" bigint,  /* Option < i64 > */
	"deadline_at_ms" bigint,  /* Option < i64 > */
	"last_error" TEXT,  /* Option < String > */
	"payload" bytea,  /* :: std :: option :: Option < Vec < u8 > > */
	"result" bytea,  /* :: std :: option :: Option < Vec < u8 > > */
	"continuation" TEXT,  /* Option < String > */
	"step_count" INT  /* i32 */
)
STABLE SECURITY DEFINER PARALLEL UNSAFE
SET search_path TO @extschema@, pg_temp
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'ff_get_execution_wrapper';

-- ff_engine::api::progress::ff_get_steps
CREATE  FUNCTION "ff_get_steps"(
	"execution_id" TEXT /* Option < & str > */
) RETURNS TABLE (
	"step_name" TEXT,  /* String */
	"value" bytea,  /* :: std :: option :: Option < Vec < u8 > > */
	"attempt_index" INT,  /* i32 */
	"stored_at_ms" bigint  /* i64 */
)
STABLE SECURITY DEFINER PARALLEL UNSAFE
SET search_path TO @extschema@, pg_temp
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'ff_get_steps_wrapper';

-- ff_engine::api::inspection::ff_list_attempts
CREATE  FUNCTION "ff_list_attempts"(
	"execution_id" TEXT /* Option < & str > */
) RETURNS TABLE (
	"attempt_index" INT,  /* i32 */
	"attempt_id" uuid,  /* pgrx :: Uuid */
	"worker_id" TEXT,  /* Option < String > */
	"worker_instance_id" TEXT,  /* Option < String > */
	"started_at_ms" bigint,  /* i64 */
	"ended_at_ms" bigint,  /* Option < i64 > */
	"outcome" TEXT,  /* Option < String > */
	"error_message" TEXT  /* Option < String > */
)
STABLE SECURITY DEFINER PARALLEL UNSAFE
SET search_path TO @extschema@, pg_temp
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'ff_list_attempts_wrapper';

-- ff_engine::api::inspection::ff_list_executions
CREATE  FUNCTION "ff_list_executions"(
	"lane_id" TEXT, /* Option < & str > */
	"public_state" TEXT DEFAULT NULL, /* Option < & str > */
	"after_execution_id" TEXT DEFAULT NULL, /* Option < & str > */
	"max_rows" INT DEFAULT 100 /* Option < i32 > */
) RETURNS TABLE (
	"execution_id" TEXT,  /* String */
	"namespace" TEXT,  /* Option < String > */
	"priority" INT,  /* i32 */
	"public_state" TEXT,  /* String */
	"attempt_index" INT,  /* i32 */
	"created_at_ms" bigint,  /* i64 */
	"terminal_at_ms" bigint,  /* Option < i64 > */
	"last_error" TEXT,  /* Option < String > */
	"result_bytes" INT  /* Option < i32 > */
)
STABLE SECURITY DEFINER PARALLEL UNSAFE
SET search_path TO @extschema@, pg_temp
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'ff_list_executions_wrapper';

-- ff_engine::api::scanners::ff_prune_by_retention
CREATE  FUNCTION "ff_prune_by_retention"(
	"max_rows" INT DEFAULT 1000 /* Option < i32 > */
) RETURNS INT /* i32 */
SECURITY DEFINER PARALLEL UNSAFE
SET search_path TO @extschema@, pg_temp
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'ff_prune_by_retention_wrapper';

-- ff_engine::api::scanners::ff_prune_events
CREATE OR REPLACE FUNCTION "ff_prune_events"(
	"older_than_ms" bigint /* Option < i64 > */
) RETURNS TABLE (
	"table_name" TEXT,  /* String */
	"deleted" bigint  /* i64 */
)
SECURITY DEFINER PARALLEL UNSAFE 
SET search_path TO @extschema@, pg_temp
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'ff_prune_events_0_2_wrapper';

-- ff_engine::api::scanners::ff_prune_executions
CREATE  FUNCTION "ff_prune_executions"(
	"older_than_ms" bigint, /* Option < i64 > */
	"public_states" TEXT[] DEFAULT '{completed,failed,cancelled,expired}', /* :: std :: option :: Option < Vec < Option < String > > > */
	"max_rows" INT DEFAULT 1000 /* Option < i32 > */
) RETURNS bigint /* i64 */
SECURITY DEFINER PARALLEL UNSAFE
SET search_path TO @extschema@, pg_temp
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'ff_prune_executions_wrapper';

-- ff_engine::api::progress::ff_read_frames
CREATE  FUNCTION "ff_read_frames"(
	"execution_id" TEXT, /* Option < & str > */
	"after_seq" bigint DEFAULT 0, /* Option < i64 > */
	"max_rows" INT DEFAULT 100 /* Option < i32 > */
) RETURNS TABLE (
	"seq" bigint,  /* i64 */
	"frame_kind" TEXT,  /* String */
	"bytes" bytea,  /* Vec < u8 > */
	"attempt_index" INT,  /* i32 */
	"appended_at_ms" bigint  /* i64 */
)
STABLE SECURITY DEFINER PARALLEL UNSAFE
SET search_path TO @extschema@, pg_temp
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'ff_read_frames_wrapper';

-- ff_engine::api::operator::ff_replay_execution
CREATE  FUNCTION "ff_replay_execution"(
	"execution_id" TEXT, /* Option < & str > */
	"reason" TEXT DEFAULT NULL, /* Option < & str > */
	"keep_steps" bool DEFAULT true /* Option < bool > */
) RETURNS TABLE (
	"outcome" TEXT,  /* String */
	"previous_public_state" TEXT  /* String */
)
SECURITY DEFINER PARALLEL UNSAFE
SET search_path TO @extschema@, pg_temp
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'ff_replay_execution_wrapper';

-- ff_engine::api::operator::ff_revoke_lease
CREATE  FUNCTION "ff_revoke_lease"(
	"execution_id" TEXT, /* Option < & str > */
	"reason" TEXT DEFAULT 'revoked_by_operator', /* Option < & str > */
	"lease_epoch" bigint DEFAULT NULL /* Option < i64 > */
) RETURNS TABLE (
	"outcome" TEXT,  /* String */
	"revoked_lease_epoch" bigint  /* i64 */
)
SECURITY DEFINER PARALLEL UNSAFE
SET search_path TO @extschema@, pg_temp
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'ff_revoke_lease_wrapper';

-- ff_engine::api::progress::ff_set_step
CREATE  FUNCTION "ff_set_step"(
	"execution_id" TEXT, /* Option < & str > */
	"lease_id" uuid, /* Option < pgrx :: Uuid > */
	"lease_epoch" bigint, /* Option < i64 > */
	"step_name" TEXT, /* Option < & str > */
	"value" bytea /* Option < & [u8] > */
) RETURNS TABLE (
	"outcome" TEXT  /* String */
)
SECURITY DEFINER PARALLEL UNSAFE
SET search_path TO @extschema@, pg_temp
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'ff_set_step_wrapper';

-- ff_engine::api::scanners::ff_tick
CREATE OR REPLACE FUNCTION "ff_tick"(
	"max_rows" INT DEFAULT 1000 /* Option < i32 > */
) RETURNS TABLE (
	"task" TEXT,  /* String */
	"processed" INT  /* i32 */
)
SECURITY DEFINER PARALLEL UNSAFE 
SET search_path TO @extschema@, pg_temp
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'ff_tick_0_2_wrapper';


-- Resume-condition builders: small immutable functions that return the exact JSON ff_suspend takes,
-- so nobody writes {"Composite":{"kind":"AllOf","members":[...]}} by hand. Each assembles the JSON and
-- passes it through ff_cond_check, the validator ff_suspend runs, so a bad argument is the same WF001
-- (with the same DETAIL code) that ff_suspend would give. A NULL signal_name matches any signal.

CREATE FUNCTION ff_cond_single(waitpoint_key text, signal_name text DEFAULT NULL) RETURNS jsonb
LANGUAGE sql IMMUTABLE PARALLEL SAFE SET search_path = @extschema@, pg_temp
AS $$
    SELECT ff_cond_check(jsonb_build_object('Single', jsonb_build_object(
        'waitpoint_key', waitpoint_key,
        'matcher', CASE WHEN signal_name IS NULL THEN to_jsonb('Wildcard'::text)
                        ELSE jsonb_build_object('ByName', signal_name) END)))
$$;
COMMENT ON FUNCTION ff_cond_single(text, text) IS
    'Resume condition: one signal (named signal_name, any when NULL) on the waitpoint waitpoint_key.';

CREATE FUNCTION ff_cond_all(VARIADIC members jsonb[]) RETURNS jsonb
LANGUAGE sql IMMUTABLE PARALLEL SAFE SET search_path = @extschema@, pg_temp
AS $$
    SELECT ff_cond_check(jsonb_build_object('Composite', jsonb_build_object(
        'kind', 'AllOf', 'members', coalesce(to_jsonb(members), '[]'::jsonb))))
$$;
COMMENT ON FUNCTION ff_cond_all(jsonb[]) IS
    'Resume condition: every member condition satisfied (AllOf); members are conditions, e.g. from ff_cond_single.';

CREATE FUNCTION ff_cond_count(n integer, count_kind text, waitpoint_keys text[], signal_name text DEFAULT NULL)
RETURNS jsonb
LANGUAGE sql IMMUTABLE PARALLEL SAFE SET search_path = @extschema@, pg_temp
AS $$
    SELECT ff_cond_check(jsonb_build_object('Composite', jsonb_strip_nulls(jsonb_build_object(
        'kind', 'Count', 'n', n,
        'count_kind', CASE count_kind WHEN 'waitpoints' THEN 'DistinctWaitpoints'
                                      WHEN 'signals' THEN 'DistinctSignals'
                                      WHEN 'sources' THEN 'DistinctSources'
                                      ELSE count_kind END,
        'waitpoints', coalesce(to_jsonb(waitpoint_keys), '[]'::jsonb),
        'matcher', CASE WHEN signal_name IS NOT NULL THEN jsonb_build_object('ByName', signal_name) END))))
$$;
COMMENT ON FUNCTION ff_cond_count(integer, text, text[], text) IS
    'Resume condition: n distinct waitpoints, signals or sources (count_kind: waitpoints, signals, sources or the canonical Distinct* name) among waitpoint_keys.';

CREATE FUNCTION ff_cond_any(waitpoint_keys text[], signal_name text DEFAULT NULL) RETURNS jsonb
LANGUAGE sql IMMUTABLE PARALLEL SAFE SET search_path = @extschema@, pg_temp
AS $$ SELECT ff_cond_count(1, 'waitpoints', waitpoint_keys, signal_name) $$;
COMMENT ON FUNCTION ff_cond_any(text[], text) IS
    'Resume condition: a signal on any one of waitpoint_keys (Count 1 of DistinctWaitpoints).';

CREATE FUNCTION ff_cond_timeout_only() RETURNS jsonb
LANGUAGE sql IMMUTABLE PARALLEL SAFE SET search_path = @extschema@, pg_temp
AS $$ SELECT ff_cond_check('"TimeoutOnly"'::jsonb) $$;
COMMENT ON FUNCTION ff_cond_timeout_only() IS 'Resume condition: only the suspension''s timeout ends it (a durable sleep).';

CREATE FUNCTION ff_cond_operator_only() RETURNS jsonb
LANGUAGE sql IMMUTABLE PARALLEL SAFE SET search_path = @extschema@, pg_temp
AS $$ SELECT ff_cond_check('"OperatorOnly"'::jsonb) $$;
COMMENT ON FUNCTION ff_cond_operator_only() IS 'Resume condition: only an operator (ff_resume_execution) ends it.';

-- pg_cron drives ff_tick: ff_schedule_tick schedules `SELECT * FROM <schema>.ff_tick()` in this
-- database every `every` (1-59 whole seconds on pg_cron >= 1.5, or whole minutes dividing an hour),
-- as the calling role (pg_cron runs a job as the role that scheduled it: it needs EXECUTE on ff_tick,
-- i.e. ff_admin). SECURITY INVOKER on purpose. pg_cron's functions live in the database named by
-- cron.database_name; called elsewhere this is a clear WF035, not a crash. The job's command is a
-- constant: nothing from the arguments is put into SQL.

CREATE FUNCTION ff_schedule_tick(every interval DEFAULT '1 minute') RETURNS bigint
LANGUAGE plpgsql SET search_path = @extschema@, pg_temp
AS $$
DECLARE
    seconds numeric := extract(epoch FROM every);
    schedule text;
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_proc WHERE proname = 'schedule_in_database' AND pronamespace = to_regnamespace('cron')) THEN
        RAISE EXCEPTION 'feature_unavailable: pg_cron is not installed in this database'
            USING ERRCODE = 'WF035', DETAIL = 'pg_cron',
                  HINT = 'Add pg_cron to shared_preload_libraries, set cron.database_name to this database and CREATE EXTENSION pg_cron; or drive ff_tick from outside (docs/operations.md).';
    END IF;
    IF seconds IS NULL OR seconds <> trunc(seconds) THEN
        RAISE EXCEPTION 'invalid_input: every must be whole seconds (1-59) or whole minutes dividing an hour'
            USING ERRCODE = 'WF001', DETAIL = 'invalid_every';
    ELSIF seconds BETWEEN 1 AND 59 THEN
        schedule := seconds::integer || ' seconds';
    ELSIF seconds BETWEEN 60 AND 3600 AND seconds % 60 = 0 AND 60 % (seconds / 60) = 0 THEN
        schedule := CASE seconds WHEN 60 THEN '* * * * *' WHEN 3600 THEN '0 * * * *'
                                 ELSE '*/' || (seconds / 60)::integer || ' * * * *' END;
    ELSE
        RAISE EXCEPTION 'invalid_input: every must be whole seconds (1-59) or whole minutes dividing an hour'
            USING ERRCODE = 'WF001', DETAIL = 'invalid_every';
    END IF;
    BEGIN
        RETURN cron.schedule_in_database('ff_engine_tick', schedule, 'SELECT * FROM @extschema@.ff_tick()', current_database());
    EXCEPTION WHEN invalid_parameter_value OR invalid_text_representation THEN
        RAISE EXCEPTION 'feature_unavailable: this pg_cron does not take the schedule %', schedule
            USING ERRCODE = 'WF035', DETAIL = 'pg_cron_schedule',
                  HINT = 'pg_cron before 1.5 schedules by the minute: use an interval of whole minutes.';
    END;
END
$$;
COMMENT ON FUNCTION ff_schedule_tick(interval) IS
    'Schedule ff_tick with pg_cron in this database every `every` (seconds 1-59, or minutes dividing an hour); returns the job id. WF035 without pg_cron.';

CREATE FUNCTION ff_unschedule_tick() RETURNS boolean
LANGUAGE plpgsql SET search_path = @extschema@, pg_temp
AS $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_proc WHERE proname = 'unschedule' AND pronamespace = to_regnamespace('cron')) THEN
        RAISE EXCEPTION 'feature_unavailable: pg_cron is not installed in this database'
            USING ERRCODE = 'WF035', DETAIL = 'pg_cron';
    END IF;
    IF NOT EXISTS (SELECT 1 FROM cron.job WHERE jobname = 'ff_engine_tick' AND database = current_database()) THEN
        RETURN false;
    END IF;
    RETURN cron.unschedule('ff_engine_tick');
END
$$;
COMMENT ON FUNCTION ff_unschedule_tick() IS 'Remove the pg_cron job ff_schedule_tick made (false when there is none). WF035 without pg_cron.';

-- ff_engine finalize: ownership, privileges and comments. Runs last in the extension script.
--
-- A trusted extension's script runs as the bootstrap superuser, so everything it creates would be
-- owned by a superuser and every SECURITY DEFINER function would run as superuser. Hand every object
-- to the dedicated NOLOGIN role ff_engine_owner instead. The names come from the catalog, never from
-- arguments.
DO $own$
DECLARE
    ext oid := (SELECT oid FROM pg_extension WHERE extname = 'ff_engine');
    r record;
BEGIN
    -- Without a superuser (pg_tle runs an extension's script as the role that creates it): handing an
    -- object to ff_engine_owner takes a member of that role, and ff_engine_owner needs CREATE on the
    -- schema. A superuser is not checked for either.
    IF NOT (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) THEN
        GRANT CREATE ON SCHEMA @extschema@ TO ff_engine_owner;
    END IF;
    FOR r IN
        SELECT c.oid::regclass AS rel, c.relkind
        FROM pg_depend d JOIN pg_class c ON c.oid = d.objid
        WHERE d.refclassid = 'pg_extension'::regclass AND d.refobjid = ext
          AND d.classid = 'pg_class'::regclass AND d.deptype = 'e' AND c.relkind IN ('r','v')
    LOOP
        EXECUTE format('ALTER TABLE %s OWNER TO ff_engine_owner', r.rel);
        EXECUTE format('REVOKE ALL ON %s FROM PUBLIC', r.rel);
    END LOOP;
    FOR r IN
        SELECT t.oid::regtype AS typ
        FROM pg_depend d JOIN pg_type t ON t.oid = d.objid
        WHERE d.refclassid = 'pg_extension'::regclass AND d.refobjid = ext
          AND d.classid = 'pg_type'::regclass AND d.deptype = 'e' AND t.typtype = 'd'
    LOOP
        EXECUTE format('ALTER DOMAIN %s OWNER TO ff_engine_owner', r.typ);
    END LOOP;
    FOR r IN
        SELECT p.oid::regprocedure AS fn, p.proconfig IS NOT NULL AS has_config,
               coalesce(obj_description(p.oid, 'pg_proc'), '') LIKE '%(internal).' AS internal
        FROM pg_depend d JOIN pg_proc p ON p.oid = d.objid
        WHERE d.refclassid = 'pg_extension'::regclass AND d.refobjid = ext
          AND d.classid = 'pg_proc'::regclass AND d.deptype = 'e'
    LOOP
        EXECUTE format('ALTER FUNCTION %s OWNER TO ff_engine_owner', r.fn);
        EXECUTE format('REVOKE ALL ON FUNCTION %s FROM PUBLIC', r.fn);
        -- ff_admin may call everything but the SQL edition's helpers (commented '… (internal).'),
        -- which only the SECURITY DEFINER functions that own them call.
        IF NOT r.internal THEN
            EXECUTE format('GRANT EXECUTE ON FUNCTION %s TO ff_admin', r.fn);
        END IF;
        -- Functions that run SQL (they pin search_path) plan each kept statement once, with index
        -- scans:
        -- * plan_cache_mode = force_generic_plan: left to choose, the plan cache compares the generic
        --   plan with its first five custom plans; for the claim's candidate scan (LIMIT $5, budget and
        --   quota sublinks) the custom plan always looks cheaper, so it re-planned on every call, which
        --   was 17 % of the server's CPU in workload 3 (claim + complete: 1 840 -> 3 070 cycles/s).
        -- * enable_seqscan = off: a plan made while a table was empty or just vacuumed empty
        --   (relpages = 0) is a sequential scan that stays one as the table grows (the benchmark found
        --   ff_waitpoint read 3 600 rows per look-up). Every statement here is an index look-up or an
        --   index-ordered scan; a table without a usable index is still scanned.
        -- * jit = off: a generic plan's cost is estimated for the whole queue (the candidate scan with
        --   its budget and quota sublinks: ~760 000 with 300 000 queued), above jit_above_cost, and JIT
        --   code is compiled for every execution and never reused: 386 ms per claim, measured.
        IF r.has_config THEN
            EXECUTE format('ALTER FUNCTION %s SET jit = off', r.fn);
            EXECUTE format('ALTER FUNCTION %s SET plan_cache_mode = force_generic_plan', r.fn);
            EXECUTE format('ALTER FUNCTION %s SET enable_seqscan = off', r.fn);
        END IF;
    END LOOP;
END
$own$;

-- ff_engine_owner too: the SECURITY DEFINER functions run as it, and look their tables up in this schema
-- (an extension created in a schema of its own, CREATE EXTENSION ff_engine SCHEMA s, needs it).
GRANT USAGE ON SCHEMA @extschema@ TO ff_engine_owner, ff_admin, ff_worker, ff_signaler;

-- Event tables: readable by all three roles (listeners replay from their last event id).
GRANT SELECT ON ff_signal_event, ff_lease_event, ff_completion_event, ff_operator_event TO ff_admin, ff_worker, ff_signaler;

GRANT SELECT ON ff_executions, ff_suspensions, ff_lane_stats TO ff_admin;

-- Role grants by function name (every overload). ff_admin already has EXECUTE on everything.
DO $grants$
DECLARE
    r record;
BEGIN
    FOR r IN
        SELECT p.oid::regprocedure AS fn, g.role
        FROM (VALUES
            ('ff_create_execution', 'ff_worker'), ('ff_claim_for_worker', 'ff_worker'),
            ('ff_claim_execution', 'ff_worker'), ('ff_claim_resumed_execution', 'ff_worker'),
            ('ff_claim', 'ff_worker'), ('ff_renew_lease', 'ff_worker'), ('ff_complete', 'ff_worker'),
            ('ff_complete_many', 'ff_worker'), ('ff_fail', 'ff_worker'), ('ff_report_usage', 'ff_worker'),
            ('ff_create_waitpoint', 'ff_worker'), ('ff_suspend', 'ff_worker'), ('ff_observe_signals', 'ff_worker'),
            ('ff_deliver_signal', 'ff_signaler'), ('ff_observe_signals', 'ff_signaler'),
            ('ff_list_suspended', 'ff_signaler'), ('ff_list_pending_waitpoints', 'ff_signaler'),
            -- Payloads and results: readable by the role that creates and runs executions, never by
            -- a signaler (who holds only tokens).
            ('ff_get_execution', 'ff_worker'), ('ff_list_attempts', 'ff_worker'), ('ff_list_executions', 'ff_worker'),
            ('ff_cond_check', 'ff_worker'), ('ff_cond_single', 'ff_worker'), ('ff_cond_all', 'ff_worker'),
            ('ff_cond_count', 'ff_worker'), ('ff_cond_any', 'ff_worker'), ('ff_cond_timeout_only', 'ff_worker'),
            ('ff_cond_operator_only', 'ff_worker'),
            -- Steps and frames: written under the worker's lease, read by whoever runs executions.
            ('ff_set_step', 'ff_worker'), ('ff_get_steps', 'ff_worker'), ('ff_append_frame', 'ff_worker'),
            ('ff_read_frames', 'ff_worker'),
            -- Wake-ups: a worker announces itself on its lane; anyone who reads the outbox may
            -- announce itself on its channels.
            ('ff_await_lane', 'ff_worker'), ('ff_await_events', 'ff_worker'), ('ff_await_events', 'ff_signaler')
        ) AS g(fn_name, role)
        JOIN pg_proc p ON p.proname = g.fn_name AND p.pronamespace = '@extschema@'::regnamespace
    LOOP
        EXECUTE format('GRANT EXECUTE ON FUNCTION %s TO %I', r.fn, r.role);
    END LOOP;
END
$grants$;

-- One-line purpose of every function, by name.
DO $comments$
DECLARE
    r record;
BEGIN
    FOR r IN
        SELECT p.oid::regprocedure AS fn, c.txt
        FROM (VALUES
            ('ff_seed_hmac', 'Install the first HMAC signing key (idempotent: already_seeded with same_secret). Secret generated when NULL.'),
            ('ff_rotate_hmac', 'Make new_kid the signing key; the old key verifies for grace_ms more; reaps keys past grace (gc_count).'),
            ('ff_hmac_kids', 'List HMAC key ids with their state and times; never the secrets.'),
            ('ff_create_execution', 'Create an execution in a lane (idempotent per lane with idempotency_key; delayed with delay_until_ms).'),
            ('ff_claim_for_worker', 'Pick the best eligible execution of a lane (priority, then oldest; capabilities, budgets, quotas) and reserve it with a signed grant.'),
            ('ff_claim_execution', 'Verify and consume a claim grant; open the next attempt or re-lease an interrupted one (resumed) under a new fenced lease.'),
            ('ff_claim_resumed_execution', 'As ff_claim_execution, but only for grants on interrupted attempts (not_a_resumed_execution otherwise).'),
            ('ff_claim', 'Pick and lease up to max_items executions of a lane in one call (grant and consume together).'),
            ('ff_renew_lease', 'Extend the current lease by lease_ttl_ms from now (fenced by lease id and epoch).'),
            ('ff_complete', 'Complete the leased attempt with an optional result (fenced; a repeated complete is lease_conflict).'),
            ('ff_complete_many', 'Complete many leases in one call; one row per element, a bad fence fails only its own element.'),
            ('ff_fail', 'Fail the leased attempt: retry after exponential backoff while attempts remain, else terminal failed.'),
            ('ff_cancel', 'Cancel an execution in any non-terminal phase; closes its open suspension and every waitpoint.'),
            ('ff_create_budget', 'Create a budget with hard and soft limits per dimension (created = false if it exists).'),
            ('ff_report_usage', 'Report usage against the execution''s budgets (fenced; idempotent per dedup_key): admitted, soft_breach, hard_breach, duplicate.'),
            ('ff_budget_status', 'Usage, soft limit and hard limit of a budget, one row per dimension.'),
            ('ff_create_quota_policy', 'Create a quota policy: requests per sliding window and/or an active-concurrency cap.'),
            ('ff_tick', 'Run every scanner task once (max_rows each); one row per task with the rows it processed.'),
            ('ff_promote_delayed', 'Scanner: make delayed executions whose time has come eligible now.'),
            ('ff_expire_grants', 'Scanner: delete expired, unconsumed claim grants.'),
            ('ff_expire_leases', 'Scanner: reclaim executions whose lease expired (epoch + 1); fail them after ff_engine.max_reclaims expiries.'),
            ('ff_expire_pending_waitpoints', 'Scanner: close pending waitpoints past their expiry (never_committed).'),
            ('ff_gc_dedup', 'Scanner: delete signal and suspend dedup rows past their TTL.'),
            ('ff_gc_keys', 'Scanner: delete retired HMAC keys past their grace window.'),
            ('ff_prune_events', 'Bulk retention: delete events older than older_than_ms from the three event tables.'),
            ('ff_await_lane', 'Wake-ups: announce this session as a worker about to sleep on an empty lane; the next transaction that makes work claimable there wakes one announced worker, on channel ff_wake_<its backend pid> (payload: the lane). Own transaction only.'),
            ('ff_await_events', 'Wake-ups: announce this session as a subscriber that has read everything on these outbox channels; the next transaction that writes an event there notifies the channel. Own transaction only.'),
            ('ff_create_waitpoint', 'Create a pending waitpoint for the leased execution; signals to it are buffered until a suspend binds it.'),
            ('ff_suspend', 'Suspend the leased execution on a resume condition; one row per bound waitpoint (primary first) with its token.'),
            ('ff_deliver_signal', 'Authenticate a signal by waitpoint token, record it, evaluate the resume condition, resume when satisfied.'),
            ('ff_deliver_approval_signal', 'Operator approval signal: token read server-side, category approval, source operator; lane must match.'),
            ('ff_resume_execution', 'Operator resume of a suspended execution (execution_not_suspended otherwise).'),
            ('ff_observe_signals', 'The signals that satisfied the latest suspension, in acceptance order, with payloads.'),
            ('ff_list_suspended', 'Open suspensions, keyset-paginated by execution id.'),
            ('ff_list_pending_waitpoints', 'An execution''s open waitpoints (closed too on request), keyset-paginated; a fingerprint, never the token.'),
            ('ff_read_waitpoint_token', 'The token of a waitpoint, for operators; no row when it does not exist.'),
            ('ff_get_execution', 'One execution: lane, tags, the five states, attempts, lease holder and expiry, open suspension, next retry, last error, payload and result; never a grant or token.'),
            ('ff_list_attempts', 'The attempts of an execution, oldest first: worker, start, end, outcome, failure message.'),
            ('ff_list_executions', 'A lane''s executions in creation order, optionally of one public state, keyset-paginated by execution id; result size, not bytes.'),
            ('ff_cond_check', 'Validate a resume condition as ff_suspend does (WF001 with the same DETAIL codes) and return it in canonical form.'),
            ('ff_change_priority', 'Operator: change an execution''s priority (its place in the claim order); writes an ff_operator_event.'),
            ('ff_replay_execution', 'Operator: give a failed, cancelled or expired execution a fresh attempt, claimable at once; writes an ff_operator_event.'),
            ('ff_revoke_lease', 'Operator: end the current lease at once (epoch + 1, lease_revoked); reclaimable, the old holder''s fence is dead; writes an ff_operator_event.'),
            ('ff_expire_deadlines', 'Scanner: expire executions past their deadline_at_ms (lease ended, suspension and waitpoints closed, completion event expired).'),
            ('ff_prune_executions', 'Retention: delete up to max_rows finished executions (public_states) that ended before older_than_ms, with their attempts, suspensions, waitpoints, signals and dedup rows.'),
            ('ff_prune_by_retention', 'Scanner: delete finished executions past their outcome''s retention setting (ff_engine.retention_<outcome>_s), at most max_rows.'),
            ('ff_set_step', 'Durable step: store a value under step_name for the leased execution (fenced); the first write per execution and step wins across attempts: stored, or exists.'),
            ('ff_get_steps', 'The steps of an execution in write order: name, value, the attempt that stored it, when.'),
            ('ff_append_frame', 'Append an output frame (stdout, stderr, event, blob) to the leased execution''s stream (fenced); returns its seq (assigned 1, 2, 3... or the caller''s, which must increase).'),
            ('ff_read_frames', 'An execution''s frames after after_seq, in seq order, at most max_rows; wait for more with ff_await_events(''{ff_frame}'').'),
            ('ff_expire_suspensions', 'Scanner: apply the timeout behaviour (fail, cancel, expire, auto_resume, escalate) of suspensions past their timeout.')
        ) AS c(fn_name, txt)
        JOIN pg_proc p ON p.proname = c.fn_name AND p.pronamespace = '@extschema@'::regnamespace
    LOOP
        EXECUTE format('COMMENT ON FUNCTION %s IS %L', r.fn, r.txt);
    END LOOP;
END
$comments$;
