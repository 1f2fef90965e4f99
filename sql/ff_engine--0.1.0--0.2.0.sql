-- ff_engine 0.1.0 -> 0.2.0 (ALTER EXTENSION ff_engine UPDATE TO '0.2.0'). Assembled by
-- scripts/upgrade-script.py from sql/upgrades/0.1.0--0.2.0.schema.sql, the 0.2.0 install script's
-- functions, the new extension_sql files and sql/finalize.sql; tests/upgrade.rs compares the result
-- with a fresh 0.2.0 install.

-- ff_engine 0.1.0 -> 0.2.0: schema changes (the functions follow, then finalize.sql re-applies
-- ownership, grants, plan settings and comments to everything, old and new). The whole script is
-- assembled with
--   cargo pgrx schema pg15 --out /tmp/ff_engine--0.2.0.sql
--   scripts/upgrade-script.py 0.1.0 0.2.0 sql/shared/errors.sql sql/shared/ids.sql sql/shared/flows.sql \
--       sql/shared/lanes.sql sql/upgrades/0.1.0--0.2.0.flows.sql sql/shared/claim_start.sql \
--       sql/shared/scan_starts.sql sql/claim_start_triggers.sql sql/upgrades/0.1.0--0.2.0.claim_start.sql \
--       sql/conditions.sql sql/cron.sql sql/shared/citus.sql

-- Lease revocation interrupts an attempt for a new reason.
ALTER DOMAIN ff_interrupt_reason DROP CONSTRAINT ff_interrupt_reason_check;
ALTER DOMAIN ff_interrupt_reason ADD CONSTRAINT ff_interrupt_reason_check
    CHECK (VALUE IN ('suspended','lease_expired','lease_revoked'));

CREATE DOMAIN ff_operator_action AS text
    CHECK (VALUE IN ('priority_changed','replayed','lease_revoked','execution_held','execution_released',
                     'lane_paused','lane_resumed'));
COMMENT ON DOMAIN ff_operator_action IS 'Operator event action.';
CREATE DOMAIN ff_failure_class AS text
    CHECK (VALUE IN ('transient','permanent','infra_crash','timeout','cancelled'));
COMMENT ON DOMAIN ff_failure_class IS 'Why an attempt failed, which decides whether it is retried.';

-- Each key keeps HMAC-SHA256's padded keys, which the SQL edition signs and verifies with (computed
-- for the existing keys as the column is added).
CREATE FUNCTION ff_hmac_pads(secret bytea) RETURNS bytea
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
    SELECT substr(varbit_send(b # ('x' || repeat('36', 64))::bit(512)), 5) || substr(varbit_send(b # ('x' || repeat('5c', 64))::bit(512)), 5)
    FROM (SELECT ('x' || rpad(encode(CASE WHEN length(secret) > 64 THEN sha256(secret) ELSE secret END, 'hex'), 128, '0'))::bit(512) AS b) k
$$;
COMMENT ON FUNCTION ff_hmac_pads(bytea) IS 'HMAC-SHA256''s inner and outer padded keys of a secret, 64 bytes each (internal).';
ALTER TABLE ff_keystore ADD COLUMN hmac_pads bytea NOT NULL GENERATED ALWAYS AS (ff_hmac_pads(secret)) STORED;

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
    partition_key   smallint,
    execution_id    text,
    namespace       text,
    occurred_at_ms  bigint   NOT NULL,
    action          ff_operator_action NOT NULL,
    actor           text     NOT NULL,
    reason          text,
    detail          jsonb    NOT NULL DEFAULT '{}',
    lane_id         text,
    CHECK ((execution_id IS NULL) = (partition_key IS NULL) AND (execution_id IS NOT NULL OR lane_id IS NOT NULL))
);
COMMENT ON TABLE ff_operator_event IS
    'Outbox: operator actions on an execution (priority changed, replayed, lease revoked, held, released) '
    'or on a lane (lane_id, no execution: paused, resumed), with the session user who acted and the '
    'details. NOTIFY channel ff_operator_event.';
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
        CHECK (channel IN ('ff_lane_ready','ff_signal_event','ff_lease_event','ff_completion','ff_operator_event','ff_frame',
                           'ff_completion_of')),
    lane_id          text     NOT NULL DEFAULT '',
    backend_pid      integer  NOT NULL,
    announced_at_ms  bigint   NOT NULL,
    PRIMARY KEY (channel, lane_id, backend_pid)
) WITH (autovacuum_vacuum_threshold = 0, autovacuum_vacuum_scale_factor = 0);
COMMENT ON TABLE ff_waiter IS
    'Announced waiters: a sleeping worker of a lane (channel ff_lane_ready), a caught-up subscriber of an '
    'outbox channel, or a waiter for one execution''s or flow''s end (channel ff_completion_of, lane_id '
    'the execution id or flow:<flow id>). The first writer that makes work for it deletes the row and notifies.';

-- ff_exec_core.partition_key becomes a plain smallint, the type of every other table's partition_key:
-- Citus co-locates tables only when their distribution columns have one type, and delegates a
-- function only by an argument of that type (docs/scale-out.md). The values come only from the
-- partition function and the id parser, both bounded to 0..255. The view reading the column goes
-- first and comes back below, with the columns it gains: attempt count, terminal time, last failure
-- and result size.
DROP VIEW ff_executions;
ALTER TABLE ff_exec_core ALTER COLUMN partition_key TYPE smallint;
DROP DOMAIN ff_partition_key;
CREATE VIEW ff_executions AS
SELECT '{fp:' || e.partition_key || '}:' || e.execution_id AS execution_id, e.lane_id, e.namespace, e.priority,
       e.lifecycle_phase, e.ownership_state, e.eligibility_state, e.attempt_state, e.public_state, e.attempt_index,
       e.lease_epoch, e.lease_expires_at_ms, e.created_at_ms,
       (SELECT count(*) FROM ff_attempt a WHERE a.partition_key = e.partition_key AND a.execution_id = e.execution_id)
           AS attempt_count,
       e.completed_at_ms AS terminal_at_ms, e.last_error, octet_length(e.result) AS result_bytes
FROM ff_exec_core e;
COMMENT ON VIEW ff_executions IS
    'One row per execution: its state columns, lease, attempt count, terminal time, last failure and result size; no payload or result bytes.';

-- ff_create_execution gained deadline_at_ms and the flow arguments (its 0.1.0 C symbol stays in the
-- library, unused from here).
DROP FUNCTION ff_create_execution(text, bytea, integer, text[], text, jsonb, text[], uuid, bigint, integer, bigint, text, text, uuid);

-- The continuation a claim hands back: attempt starts and suspensions in one order (ff_history_seq).
-- Suspensions recorded before the update are numbered before every existing attempt, so a claim
-- resuming from one of them hands back no continuation (0.1.0 handed back none).
ALTER TABLE ff_attempt ADD COLUMN history_seq bigint;
ALTER TABLE ff_suspension ADD COLUMN history_seq bigint GENERATED ALWAYS AS IDENTITY (SEQUENCE NAME ff_history_seq);
UPDATE ff_attempt SET history_seq = nextval('ff_history_seq');
ALTER TABLE ff_attempt ALTER COLUMN history_seq SET NOT NULL;
ALTER TABLE ff_attempt ALTER COLUMN history_seq SET DEFAULT nextval('ff_history_seq');

-- Failure classes: on each attempt, and on the completion event of a failure.
ALTER TABLE ff_attempt ADD COLUMN failure_class ff_failure_class, ADD COLUMN failure_detail bytea;
ALTER TABLE ff_completion_event ADD COLUMN failure_class ff_failure_class;

-- A paused lane (ff_pause_lane): it keeps accepting executions and hands out none until
-- ff_resume_lane deletes its row. A claim reads it with one index probe, a constant of the claim's
-- statement; the table holds only paused lanes, so an unpaused engine reads an empty index.
CREATE TABLE ff_lane_pause (
    lane_id       text   PRIMARY KEY,
    paused_at_ms  bigint NOT NULL,
    paused_by     text   NOT NULL,
    reason        text
);
COMMENT ON TABLE ff_lane_pause IS 'Paused lanes: claims hand out nothing from a lane listed here (ff_pause_lane, ff_resume_lane).';

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

-- ff_fail takes a failure class and detail.
DROP FUNCTION ff_fail(text, uuid, bigint, text, boolean);

-- ff_report_usage answers throttled, with retry_after_ms.
DROP FUNCTION ff_report_usage(text, uuid, bigint, jsonb, text);

-- ff_tick and the scanners take a filter (namespace, tag_key, tag_value).
DROP FUNCTION ff_tick(integer);
DROP FUNCTION ff_promote_delayed(integer);
DROP FUNCTION ff_expire_grants(integer);
DROP FUNCTION ff_expire_leases(integer);
DROP FUNCTION ff_expire_suspensions(integer);
DROP FUNCTION ff_expire_pending_waitpoints(integer);
DROP FUNCTION ff_gc_dedup(integer);

-- Waiting for one execution's end, woken by it alone (ff_await_completion).
ALTER TABLE ff_exec_core ADD COLUMN completion_waited boolean NOT NULL DEFAULT false;
COMMENT ON TABLE ff_exec_core IS
    'One row per execution: its five state columns, current lease (id, epoch, expiry) and attempt. '
    'The row lock (FOR UPDATE) is the per-execution mutex of every operation. reserved_until_ms is the '
    'expiry of an outstanding claim grant: kept on the row so concurrent claimers re-check it. '
    'completion_waited: someone announced a wait for its end (ff_await_completion), which then notifies them.';

-- Skipped executions (a flow upstream did not complete) have a completion event of their own.
ALTER DOMAIN ff_completion_outcome DROP CONSTRAINT ff_completion_outcome_check;
ALTER DOMAIN ff_completion_outcome ADD CONSTRAINT ff_completion_outcome_check
    CHECK (VALUE IN ('success','failed','cancelled','expired','skipped','resumed'));

----------------------------------------------------------------------------------------------------
-- Flows: executions that depend on each other and children that signal their parent
----------------------------------------------------------------------------------------------------
-- A flow's members share its partition (the N of their {fp:N}: crc16 of the flow id's 16 bytes), so
-- every row below is keyed by it, and releasing dependents or signalling a parent stays in one
-- partition. The flow's state is derived from its members when read (ff_get_flow); only a
-- cancellation is stored.
CREATE TABLE ff_flow (
    partition_key    smallint NOT NULL,
    flow_id          uuid     NOT NULL,
    namespace        text,
    tags             jsonb    NOT NULL DEFAULT '{}',
    created_at_ms    bigint   NOT NULL,
    cancelled_at_ms  bigint,
    cancel_policy    text,
    cancel_reason    text,
    PRIMARY KEY (partition_key, flow_id)
);
COMMENT ON TABLE ff_flow IS
    'Flows (ff_create_flow): a group of executions with dependencies and parents; cancelled by ff_cancel_flow.';

-- One row per member: its flow, its parent (signalled when the member ends) and how many of its
-- upstreams have not completed yet (it is claimable when that reaches 0).
CREATE TABLE ff_flow_member (
    partition_key         smallint NOT NULL,
    execution_id          uuid     NOT NULL,
    flow_id               uuid     NOT NULL,
    parent_execution_id   uuid,
    parent_waitpoint_key  text,
    upstreams_left        integer  NOT NULL DEFAULT 0 CHECK (upstreams_left >= 0),
    joined_at_ms          bigint   NOT NULL,
    PRIMARY KEY (partition_key, execution_id)
);
COMMENT ON TABLE ff_flow_member IS
    'Flow members: the flow, the parent waitpoint a member signals when it ends, and the upstreams it still waits for.';
-- Serves: ff_get_flow counts, ff_list_flow_members and ff_cancel_flow (a flow's members in id order).
CREATE INDEX ff_flow_member_by_flow ON ff_flow_member (partition_key, flow_id, execution_id);
COMMENT ON INDEX ff_flow_member_by_flow IS 'Members of a flow, in execution id order.';

-- Dependency edges: downstream_id runs after upstream_id completes; both in the edge's partition.
CREATE TABLE ff_flow_dependency (
    partition_key  smallint NOT NULL,
    upstream_id    uuid     NOT NULL,
    downstream_id  uuid     NOT NULL,
    PRIMARY KEY (partition_key, upstream_id, downstream_id)
);
COMMENT ON TABLE ff_flow_dependency IS 'Flow dependencies: downstream_id waits for upstream_id to complete.';
-- Serves: the blockers an execution still waits for (ff_get_execution) and retention.
CREATE INDEX ff_flow_dependency_downstream ON ff_flow_dependency (partition_key, downstream_id);
COMMENT ON INDEX ff_flow_dependency_downstream IS 'Upstreams of an execution.';

-- The completion outbox with what each event's execution produced: its flow, and for a success its
-- result's size and bytes (the result of a completed execution does not change; NULL once retention
-- pruned it). ff_signaler may read every column but result.
CREATE VIEW ff_completions AS
SELECT c.event_id, c.partition_key, c.execution_id, c.namespace, c.occurred_at_ms AS produced_at_ms, c.outcome, e.flow_id,
       CASE WHEN c.outcome = 'success' THEN octet_length(e.result) END AS result_bytes,
       CASE WHEN c.outcome = 'success' THEN e.result END AS result, c.failure_class
FROM ff_completion_event c
LEFT JOIN ff_exec_core e ON e.partition_key = c.partition_key
    AND e.execution_id = substr(c.execution_id, strpos(c.execution_id, '}:') + 2)::uuid;
COMMENT ON VIEW ff_completions IS
    'Completion events with the execution''s flow, for a success its result size and bytes (result: not for ff_signaler), '
    'for a failure its class.';

-- The claim scan keys a lane by its hash (schema.sql says why); the index is built again.
DROP INDEX ff_exec_core_claimable;
CREATE INDEX ff_exec_core_claimable ON ff_exec_core (hashtext(lane_id), priority DESC, queue_seq)
    WHERE lifecycle_phase = 'runnable' AND eligibility_state = 'eligible_now';
COMMENT ON INDEX ff_exec_core_claimable IS 'Claim scan: lane (by its hash), priority desc, oldest first; claimable rows only.';

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

-- ff_engine::api::claims::ff_claim_in
CREATE  FUNCTION "ff_claim_in"(
	"partition_key" smallint, /* Option < i16 > */
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
AS 'MODULE_PATHNAME', 'ff_claim_in_wrapper';

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

-- ff_engine::api::claim_start::ff_claim_start_row
CREATE FUNCTION "ff_claim_start_row"()
	RETURNS TRIGGER
	LANGUAGE c
	AS 'MODULE_PATHNAME', 'ff_claim_start_row_wrapper';

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
	"deadline_at_ms" bigint DEFAULT NULL, /* Option < i64 > */
	"depends_on" TEXT[] DEFAULT NULL, /* :: std :: option :: Option < Vec < Option < String > > > */
	"parent_execution_id" TEXT DEFAULT NULL, /* Option < & str > */
	"parent_waitpoint_key" TEXT DEFAULT NULL /* Option < & str > */
) RETURNS TABLE (
	"execution_id" TEXT,  /* String */
	"created" bool  /* bool */
)
SECURITY DEFINER PARALLEL UNSAFE 
SET search_path TO @extschema@, pg_temp
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'ff_create_execution_0_2_wrapper';

-- ff_engine::api::flows::ff_deliver_engine_signal
CREATE  FUNCTION "ff_deliver_engine_signal"(
	"partition_key" smallint, /* Option < i16 > */
	"execution_id" uuid, /* Option < pgrx :: Uuid > */
	"waitpoint_id" uuid, /* Option < pgrx :: Uuid > */
	"signal_name" TEXT, /* Option < & str > */
	"source_identity" TEXT, /* Option < & str > */
	"payload" bytea /* Option < & [u8] > */
) RETURNS TEXT /* Option < String > */
PARALLEL UNSAFE
SET search_path TO @extschema@, pg_temp
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'ff_deliver_engine_signal_wrapper';

-- ff_engine::api::scanners::ff_expire_deadlines
CREATE  FUNCTION "ff_expire_deadlines"(
	"max_rows" INT DEFAULT 1000, /* Option < i32 > */
	"namespace" TEXT DEFAULT NULL, /* Option < & str > */
	"tag_key" TEXT DEFAULT NULL, /* Option < & str > */
	"tag_value" TEXT DEFAULT NULL /* Option < & str > */
) RETURNS INT /* i32 */
SECURITY DEFINER PARALLEL UNSAFE
SET search_path TO @extschema@, pg_temp
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'ff_expire_deadlines_wrapper';

-- ff_engine::api::scanners::ff_expire_grants
CREATE  FUNCTION "ff_expire_grants"(
	"max_rows" INT DEFAULT 1000, /* Option < i32 > */
	"namespace" TEXT DEFAULT NULL, /* Option < & str > */
	"tag_key" TEXT DEFAULT NULL, /* Option < & str > */
	"tag_value" TEXT DEFAULT NULL /* Option < & str > */
) RETURNS INT /* i32 */
SECURITY DEFINER PARALLEL UNSAFE 
SET search_path TO @extschema@, pg_temp
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'ff_expire_grants_0_2_wrapper';

-- ff_engine::api::scanners::ff_expire_leases
CREATE  FUNCTION "ff_expire_leases"(
	"max_rows" INT DEFAULT 1000, /* Option < i32 > */
	"namespace" TEXT DEFAULT NULL, /* Option < & str > */
	"tag_key" TEXT DEFAULT NULL, /* Option < & str > */
	"tag_value" TEXT DEFAULT NULL /* Option < & str > */
) RETURNS INT /* i32 */
SECURITY DEFINER PARALLEL UNSAFE 
SET search_path TO @extschema@, pg_temp
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'ff_expire_leases_0_2_wrapper';

-- ff_engine::api::scanners::ff_expire_pending_waitpoints
CREATE  FUNCTION "ff_expire_pending_waitpoints"(
	"max_rows" INT DEFAULT 1000, /* Option < i32 > */
	"namespace" TEXT DEFAULT NULL, /* Option < & str > */
	"tag_key" TEXT DEFAULT NULL, /* Option < & str > */
	"tag_value" TEXT DEFAULT NULL /* Option < & str > */
) RETURNS INT /* i32 */
SECURITY DEFINER PARALLEL UNSAFE 
SET search_path TO @extschema@, pg_temp
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'ff_expire_pending_waitpoints_0_2_wrapper';

-- ff_engine::api::scanners::ff_expire_suspensions
CREATE  FUNCTION "ff_expire_suspensions"(
	"max_rows" INT DEFAULT 1000, /* Option < i32 > */
	"namespace" TEXT DEFAULT NULL, /* Option < & str > */
	"tag_key" TEXT DEFAULT NULL, /* Option < & str > */
	"tag_value" TEXT DEFAULT NULL /* Option < & str > */
) RETURNS INT /* i32 */
SECURITY DEFINER PARALLEL UNSAFE 
SET search_path TO @extschema@, pg_temp
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'ff_expire_suspensions_0_2_wrapper';

-- ff_engine::api::leases::ff_fail
CREATE  FUNCTION "ff_fail"(
	"execution_id" TEXT, /* Option < & str > */
	"lease_id" uuid, /* Option < pgrx :: Uuid > */
	"lease_epoch" bigint, /* Option < i64 > */
	"message" TEXT, /* Option < & str > */
	"retryable" bool DEFAULT true, /* Option < bool > */
	"failure_class" TEXT DEFAULT NULL, /* Option < & str > */
	"detail" bytea DEFAULT NULL /* Option < & [u8] > */
) RETURNS TABLE (
	"outcome" TEXT,  /* String */
	"retry_at_ms" bigint  /* Option < i64 > */
)
SECURITY DEFINER PARALLEL UNSAFE 
SET search_path TO @extschema@, pg_temp
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'ff_fail_0_2_wrapper';

-- ff_engine::api::scanners::ff_gc_dedup
CREATE  FUNCTION "ff_gc_dedup"(
	"max_rows" INT DEFAULT 1000, /* Option < i32 > */
	"namespace" TEXT DEFAULT NULL, /* Option < & str > */
	"tag_key" TEXT DEFAULT NULL, /* Option < & str > */
	"tag_value" TEXT DEFAULT NULL /* Option < & str > */
) RETURNS INT /* i32 */
SECURITY DEFINER PARALLEL UNSAFE 
SET search_path TO @extschema@, pg_temp
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'ff_gc_dedup_0_2_wrapper';

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
	"step_count" INT,  /* i32 */
	"blocked_by" TEXT[]  /* Vec < String > */
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

-- ff_engine::api::flows::ff_lanes_changed
CREATE  FUNCTION "ff_lanes_changed"() RETURNS void
STRICT PARALLEL UNSAFE 
SET search_path TO @extschema@, pg_temp
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'ff_lanes_changed_wrapper';

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
	"error_message" TEXT,  /* Option < String > */
	"failure_class" TEXT,  /* Option < String > */
	"failure_detail" bytea  /* :: std :: option :: Option < Vec < u8 > > */
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

-- ff_engine::api::scanners::ff_promote_delayed
CREATE  FUNCTION "ff_promote_delayed"(
	"max_rows" INT DEFAULT 1000, /* Option < i32 > */
	"namespace" TEXT DEFAULT NULL, /* Option < & str > */
	"tag_key" TEXT DEFAULT NULL, /* Option < & str > */
	"tag_value" TEXT DEFAULT NULL /* Option < & str > */
) RETURNS INT /* i32 */
SECURITY DEFINER PARALLEL UNSAFE 
SET search_path TO @extschema@, pg_temp
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'ff_promote_delayed_0_2_wrapper';

-- ff_engine::api::scanners::ff_prune_by_retention
CREATE  FUNCTION "ff_prune_by_retention"(
	"max_rows" INT DEFAULT 1000, /* Option < i32 > */
	"namespace" TEXT DEFAULT NULL, /* Option < & str > */
	"tag_key" TEXT DEFAULT NULL, /* Option < & str > */
	"tag_value" TEXT DEFAULT NULL /* Option < & str > */
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
	"keep_steps" bool DEFAULT true, /* Option < bool > */
	"with_dependents" bool DEFAULT false /* Option < bool > */
) RETURNS TABLE (
	"outcome" TEXT,  /* String */
	"previous_public_state" TEXT  /* String */
)
SECURITY DEFINER PARALLEL UNSAFE
SET search_path TO @extschema@, pg_temp
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'ff_replay_execution_wrapper';

-- ff_engine::api::budgets::ff_report_usage
CREATE OR REPLACE FUNCTION "ff_report_usage"(
	"execution_id" TEXT, /* Option < & str > */
	"lease_id" uuid, /* Option < pgrx :: Uuid > */
	"lease_epoch" bigint, /* Option < i64 > */
	"usage" jsonb, /* Option < JsonbArg > */
	"dedup_key" TEXT DEFAULT NULL /* Option < & str > */
) RETURNS TABLE (
	"decision" TEXT,  /* String */
	"dimension" TEXT,  /* Option < String > */
	"retry_after_ms" bigint  /* Option < i64 > */
)
SECURITY DEFINER PARALLEL UNSAFE 
SET search_path TO @extschema@, pg_temp
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'ff_report_usage_0_2_wrapper';

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
CREATE  FUNCTION "ff_tick"(
	"max_rows" INT DEFAULT 1000, /* Option < i32 > */
	"namespace" TEXT DEFAULT NULL, /* Option < & str > */
	"tag_key" TEXT DEFAULT NULL, /* Option < & str > */
	"tag_value" TEXT DEFAULT NULL /* Option < & str > */
) RETURNS TABLE (
	"task" TEXT,  /* String */
	"processed" INT  /* i32 */
)
SECURITY DEFINER PARALLEL UNSAFE 
SET search_path TO @extschema@, pg_temp
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'ff_tick_0_2_wrapper';

-- ff_engine::api::scanners::ff_tick_node
CREATE  FUNCTION "ff_tick_node"(
	"max_rows" INT DEFAULT 1000 /* Option < i32 > */
) RETURNS TABLE (
	"task" TEXT,  /* String */
	"processed" INT  /* i32 */
)
SECURITY DEFINER PARALLEL UNSAFE
SET search_path TO @extschema@, pg_temp
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'ff_tick_node_wrapper';

-- ff_engine::api::scanners::ff_verify_claim_starts
CREATE  FUNCTION "ff_verify_claim_starts"(
	"max_rows" INT DEFAULT 1000 /* Option < i32 > */
) RETURNS INT /* i32 */
SECURITY DEFINER PARALLEL UNSAFE
SET search_path TO @extschema@, pg_temp
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'ff_verify_claim_starts_wrapper';

-- ff_engine::api::flows::ff_wake
CREATE  FUNCTION "ff_wake"(
	"channels" TEXT[], /* :: std :: option :: Option < Vec < Option < String > > > */
	"lanes" TEXT[] /* :: std :: option :: Option < Vec < Option < String > > > */
) RETURNS void
PARALLEL UNSAFE 
SET search_path TO @extschema@, pg_temp
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'ff_wake_wrapper';


-- ff_engine, both editions: raising the documented WF… errors as the Rust edition writes them
-- (docs/errors.md): SQLSTATE, message `<kind>: <what>`, DETAIL when the Rust edition gives one.

-- The current time in unix milliseconds (the Rust edition reads the system clock per call, not the
-- transaction's start). date_part's double precision, not extract's numeric: exact to well under a
-- microsecond for centuries yet, and a third cheaper (numeric arithmetic allocates).
CREATE FUNCTION ff_now_ms() RETURNS bigint
LANGUAGE sql VOLATILE PARALLEL SAFE AS $$
    SELECT (date_part('epoch', clock_timestamp()) * 1000)::bigint
$$;
COMMENT ON FUNCTION ff_now_ms() IS 'Now, in unix milliseconds (internal).';

CREATE FUNCTION ff_raise(sqlstate text, kind text, what text, detail text DEFAULT NULL) RETURNS void
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
BEGIN
    IF detail IS NULL THEN
        RAISE EXCEPTION USING ERRCODE = sqlstate, MESSAGE = kind || ': ' || what;
    END IF;
    RAISE EXCEPTION USING ERRCODE = sqlstate, MESSAGE = kind || ': ' || what, DETAIL = detail;
END
$$;
COMMENT ON FUNCTION ff_raise(text, text, text, text) IS 'Raise a WF… error as the Rust edition does (internal).';

-- WF001 invalid_input with its reason as DETAIL.
CREATE FUNCTION ff_invalid(reason text, what text) RETURNS void
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT ff_raise('WF001', 'invalid_input', what, reason)
$$;
COMMENT ON FUNCTION ff_invalid(text, text) IS 'Raise WF001 invalid_input (internal).';

-- WF001 invalid_input with `reason` as DETAIL, typed as the value checked, so that a check can be a
-- SQL CASE the planner writes into the calling expression (no function call at run time unless the
-- check fails). VOLATILE, so the planner never evaluates it while folding constants.
CREATE FUNCTION ff_reject(value anyelement, reason text, what text) RETURNS anyelement
LANGUAGE plpgsql VOLATILE PARALLEL SAFE AS $$
BEGIN
    RAISE EXCEPTION USING ERRCODE = 'WF001', MESSAGE = 'invalid_input: ' || what, DETAIL = reason;
END
$$;
COMMENT ON FUNCTION ff_reject(anyelement, text, text) IS 'Raise WF001 invalid_input for a value (internal).';

-- A required argument: WF001 `<param>_required` when NULL; the value otherwise. The checks below
-- return what they checked and are called in assignments (`v := ff_required(v, 'v')`), which PL/pgSQL
-- evaluates without starting an executor (PERFORM starts one); each is written into its caller.
CREATE FUNCTION ff_required(value anyelement, param text) RETURNS anyelement
LANGUAGE sql VOLATILE PARALLEL SAFE AS $$
    SELECT CASE WHEN value IS NULL THEN ff_reject(value, param || '_required', param || ' must not be NULL') ELSE value END
$$;
COMMENT ON FUNCTION ff_required(anyelement, text) IS 'A required argument, or WF001 <param>_required (internal).';

-- A required count from 1 to max (WF001 invalid_<field>), as the Rust edition's bounded_count.
CREATE FUNCTION ff_bounded_count(value integer, field text, max integer) RETURNS bigint
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
BEGIN
    IF ff_required(value, field) NOT BETWEEN 1 AND max THEN
        PERFORM ff_invalid('invalid_' || field, format('%s must be between 1 and %s', field, max));
    END IF;
    RETURN value;
END
$$;
COMMENT ON FUNCTION ff_bounded_count(integer, text, integer) IS 'A count from 1 to max, or WF001 (internal).';

-- Optional text of 1 to max bytes (WF001 invalid_<field>); the value.
CREATE FUNCTION ff_check_optional_text(value text, field text, max integer) RETURNS text
LANGUAGE sql VOLATILE PARALLEL SAFE AS $$
    SELECT CASE WHEN octet_length(value) NOT BETWEEN 1 AND max
                THEN ff_reject(value, 'invalid_' || field, format('%s must be 1-%s bytes', field, max)) ELSE value END
$$;
COMMENT ON FUNCTION ff_check_optional_text(text, text, integer) IS 'WF001 invalid_<field> unless 1-max bytes (internal).';

-- ff_engine, both editions: identifiers (docs/semantics.md §1), as core/src/ids.rs: lane ids, execution
-- ids `{fp:N}:<uuid>` and their CRC-16/XMODEM partitions.

-- lane_id: 1-64 bytes of printable ASCII (space included).
CREATE FUNCTION ff_check_lane_id(lane_id text) RETURNS text
LANGUAGE sql VOLATILE PARALLEL SAFE AS $$
    SELECT CASE WHEN lane_id !~ '^[\x20-\x7e]{1,64}$'
                THEN ff_reject(lane_id, 'invalid_lane_id', 'lane_id must be 1-64 bytes of printable ASCII') ELSE lane_id END
$$;
COMMENT ON FUNCTION ff_check_lane_id(text) IS 'WF001 invalid_lane_id unless a valid lane id; the lane id (internal).';

-- CRC-16/XMODEM: poly 0x1021, init 0, no reflection, no final xor; a byte at a time through the
-- 256-entry table of the polynomial. The table is a constant of the loop's expression, not a
-- variable: PL/pgSQL copies a variable's array into its own form on every call (~25 000
-- instructions), while a subscript of the plan's constant reads the element in place.
CREATE FUNCTION ff_crc16_xmodem(data bytea) RETURNS integer
LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE AS $$
DECLARE
    crc integer := 0;
BEGIN
    FOR i IN 0 .. length(data) - 1 LOOP
        crc := ((crc << 8) & 65535) # ('{0,4129,8258,12387,16516,20645,24774,28903,33032,37161,41290,45419,49548,53677,57806,61935,4657,528,12915,8786,21173,17044,29431,25302,37689,33560,45947,41818,54205,50076,62463,58334,9314,13379,1056,5121,25830,29895,17572,21637,42346,46411,34088,38153,58862,62927,50604,54669,13907,9842,5649,1584,30423,26358,22165,18100,46939,42874,38681,34616,63455,59390,55197,51132,18628,22757,26758,30887,2112,6241,10242,14371,51660,55789,59790,63919,35144,39273,43274,47403,23285,19156,31415,27286,6769,2640,14899,10770,56317,52188,64447,60318,39801,35672,47931,43802,27814,31879,19684,23749,11298,15363,3168,7233,60846,64911,52716,56781,44330,48395,36200,40265,32407,28342,24277,20212,15891,11826,7761,3696,65439,61374,57309,53244,48923,44858,40793,36728,37256,33193,45514,41451,53516,49453,61774,57711,4224,161,12482,8419,20484,16421,28742,24679,33721,37784,41979,46042,49981,54044,58239,62302,689,4752,8947,13010,16949,21012,25207,29270,46570,42443,38312,34185,62830,58703,54572,50445,13538,9411,5280,1153,29798,25671,21540,17413,42971,47098,34713,38840,59231,63358,50973,55100,9939,14066,1681,5808,26199,30326,17941,22068,55628,51565,63758,59695,39368,35305,47498,43435,22596,18533,30726,26663,6336,2273,14466,10403,52093,56156,60223,64286,35833,39896,43963,48026,19061,23124,27191,31254,2801,6864,10931,14994,64814,60687,56684,52557,48554,44427,40424,36297,31782,27655,23652,19525,15522,11395,7392,3265,61215,65342,53085,57212,44955,49082,36825,40952,28183,32310,20053,24180,11923,16050,3793,7920}'::integer[])[(((crc >> 8) # get_byte(data, i)) & 255) + 1];
    END LOOP;
    RETURN crc;
END
$$;
COMMENT ON FUNCTION ff_crc16_xmodem(bytea) IS 'CRC-16/XMODEM (internal).';

-- The partition of a new execution: by its flow's 16 raw bytes when it has one, else by its lane.
-- STABLE, not IMMUTABLE: convert_to() is STABLE, and only so does PostgreSQL inline this into its caller.
-- The CRC by its schema: the function is inlined into the caller's statement, which may run under
-- another search path (a statement Citus sends to a worker, a caller that names the schema).
CREATE FUNCTION ff_partition_for(lane_id text, flow_id uuid) RETURNS smallint
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT (@extschema@.ff_crc16_xmodem(CASE WHEN flow_id IS NULL THEN convert_to(lane_id, 'UTF8') ELSE uuid_send(flow_id) END) % 256)::smallint
$$;
COMMENT ON FUNCTION ff_partition_for(text, uuid) IS 'Partition of a new execution (internal).';

-- An execution's partition and uuid: what its id `{fp:N}:<uuid>` holds.
CREATE TYPE ff_execution_ref AS (partition_key smallint, execution_uuid uuid);
COMMENT ON TYPE ff_execution_ref IS 'An execution''s partition and uuid (internal).';

-- Parse an execution id strictly, with the Rust edition's messages (WF001 invalid_execution_id). A
-- declared result type, not OUT parameters: PostgreSQL builds the result descriptor of OUT parameters
-- on every call, a declared type's comes from its cache.
CREATE FUNCTION ff_parse_execution_id(execution_id text) RETURNS ff_execution_ref
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
DECLARE
    rest text;
    close integer;
    digits text := substr(execution_id, 5, greatest(octet_length(execution_id) - 42, 0));
    uuid_text text;
    why text;
BEGIN
    -- A well-formed id: the shape by LIKE (the uuid's four hyphens in place), its uuid lowercase hex
    -- but for those four (a regular expression without counted repetitions), the partition's digits.
    -- One regular expression of the whole id costs more (~50 000 instructions: PostgreSQL builds its
    -- automaton's states anew for every match, one per position of {8}, {4}, ...), translate() of the
    -- uuid to its hyphens too (~27 000 against ~16 000: it steps through both strings character by
    -- character). The checks below only say what is wrong with another.
    IF execution_id LIKE '{fp:%}:________-____-____-____-____________'
       AND right(execution_id, 36) ~ '^[0-9a-f]+-[0-9a-f]+-[0-9a-f]+-[0-9a-f]+-[0-9a-f]+$'
       AND digits ~ '^(0|[1-9][0-9]?[0-9]?)$' AND digits::integer < 256 THEN
        RETURN ROW(digits::smallint, right(execution_id, 36)::uuid)::ff_execution_ref;
    END IF;
    IF octet_length(execution_id) > 64 THEN
        why := 'is too long';
    ELSIF left(execution_id, 4) <> '{fp:' THEN
        why := 'must start with {fp:';
    ELSE
        rest := substr(execution_id, 5);
        close := strpos(rest, '}');
        IF close = 0 THEN
            why := 'has no closing brace';
        ELSE
            digits := left(rest, close - 1);
            IF NOT (CASE WHEN digits ~ '^(0|[1-9][0-9]{0,2})$' THEN digits::int < 256 ELSE false END) THEN
                why := 'has a partition that is not a decimal number below 256';
            ELSIF substr(rest, close + 1, 1) <> ':' THEN
                why := 'needs '':'' after the partition';
            ELSE
                uuid_text := substr(rest, close + 2);
                IF uuid_text !~ '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$' THEN
                    why := 'has a uuid that is not lowercase hyphenated';
                END IF;
            END IF;
        END IF;
    END IF;
    IF why IS NOT NULL THEN
        PERFORM ff_invalid('invalid_execution_id', format('execution_id %s; expected {fp:N}:<uuid>', why));
    END IF;
    RETURN ROW(digits::smallint, uuid_text::uuid)::ff_execution_ref;
END
$$;
COMMENT ON FUNCTION ff_parse_execution_id(text) IS 'Parse {fp:N}:<uuid>, or WF001 invalid_execution_id (internal).';

-- A uuid as the Rust edition's parser accepts it (hyphenated, simple, braced, urn; any case), or NULL.
CREATE FUNCTION ff_parse_uuid_text(t text) RETURNS uuid
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN t ~ '^(urn:uuid:[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}|\{[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\}|[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}|[0-9a-fA-F]{32})$'
                THEN regexp_replace(t, '^urn:uuid:', '')::uuid END
$$;
COMMENT ON FUNCTION ff_parse_uuid_text(text) IS 'Parse a uuid as the Rust edition does, or NULL (internal).';

-- ff_engine, both editions: flows (docs/semantics.md §11). Written once: both editions install this
-- file. What it needs from the edition it is installed with, by the same name and signature in both:
-- ff_wake(text[], text[]) (wake-ups), ff_deliver_engine_signal(...) (a signal the engine delivers
-- without a token) and ff_cancel(text, text).
--
-- Members share their flow's partition. Joining a flow happens in the creating transaction
-- (ff_flow_join, called by ff_create_execution); what follows a member's end happens in the
-- transaction that ends it, whatever ends it (complete, fail, cancel, expiry, a skipped upstream), by
-- the trigger on ff_exec_core below, which also wakes the sessions waiting for one execution's or one
-- flow's end (ff_await_completion).

-- The edition's functions this file calls, internal in both.
COMMENT ON FUNCTION ff_wake(text[], text[]) IS 'Notify the announced waiters on what the caller wrote (internal).';
COMMENT ON FUNCTION ff_deliver_engine_signal(smallint, uuid, uuid, text, text, bytea) IS 'Deliver a signal from the engine itself (internal).';

-- The flow a member joins, checked, with its row share-locked (so ff_cancel_flow cannot slip between
-- the check and the member's row).
CREATE FUNCTION ff_flow_lock(pk smallint, p_flow_id uuid) RETURNS ff_flow
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    f ff_flow;
BEGIN
    SELECT * INTO f FROM ff_flow WHERE partition_key = ff_partition_for('', p_flow_id) AND flow_id = p_flow_id FOR SHARE;
    IF NOT FOUND THEN
        PERFORM ff_raise('WF010', 'not_found', 'flow not found', 'flow');
    END IF;
    IF f.cancelled_at_ms IS NOT NULL THEN
        PERFORM ff_invalid('flow_cancelled', 'the flow was cancelled: it takes no new members');
    END IF;
    IF pk <> f.partition_key THEN
        PERFORM ff_invalid('partition_mismatch', format('a member of this flow must be in its partition {fp:%s}', f.partition_key));
    END IF;
    RETURN f;
END
$$;
COMMENT ON FUNCTION ff_flow_lock(smallint, uuid) IS 'The flow a new member joins, share-locked and checked (internal).';

-- The parent a new member will signal: an execution of the same flow, not terminal, with a waitpoint
-- of that key that is not closed. Returns (parent uuid, its flow).
CREATE FUNCTION ff_flow_parent(pk smallint, p_parent text, p_key text, OUT parent_id uuid, OUT parent_flow uuid)
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    ppk smallint;
    phase text;
BEGIN
    IF p_key IS NULL THEN
        PERFORM ff_invalid('parent_waitpoint_key_required', 'parent_waitpoint_key must be given with parent_execution_id');
    END IF;
    p_key := ff_check_optional_text(p_key, 'parent_waitpoint_key', 256);
    SELECT x.partition_key, x.execution_uuid INTO ppk, parent_id FROM ff_parse_execution_id(p_parent) x;
    SELECT e.lifecycle_phase, m.flow_id INTO phase, parent_flow
    FROM ff_exec_core e LEFT JOIN ff_flow_member m ON m.partition_key = e.partition_key AND m.execution_id = e.execution_id
    WHERE e.partition_key = ppk AND e.execution_id = parent_id;
    IF NOT FOUND THEN
        PERFORM ff_raise('WF010', 'not_found', 'parent execution not found', 'parent_execution');
    END IF;
    IF parent_flow IS NULL THEN
        PERFORM ff_invalid('parent_not_in_flow', 'the parent is not a member of a flow (create it with flow_id)');
    END IF;
    IF phase = 'terminal' THEN
        PERFORM ff_raise('WF031', 'target_not_signalable', 'the parent execution is terminal');
    END IF;
    IF NOT EXISTS (SELECT 1 FROM ff_waitpoint w WHERE w.partition_key = ppk AND w.execution_id = parent_id
                   AND w.waitpoint_key = p_key AND w.state <> 'closed') THEN
        PERFORM ff_raise('WF010', 'not_found', 'the parent has no open waitpoint with this key', 'parent_waitpoint');
    END IF;
END
$$;
COMMENT ON FUNCTION ff_flow_parent(smallint, text, text) IS 'The parent a new member signals, checked (internal).';

-- The upstreams of a new member, checked: existing members of its flow. ff_flow_recount then locks
-- them and counts those not completed.
CREATE FUNCTION ff_flow_upstreams(pk smallint, p_flow_id uuid, p_depends_on text[]) RETURNS uuid[]
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    ids uuid[];
    same_partition boolean;
BEGIN
    IF cardinality(p_depends_on) > 1000 THEN
        PERFORM ff_invalid('too_many_upstreams', 'depends_on: at most 1000 executions');
    END IF;
    IF array_position(p_depends_on, NULL) IS NOT NULL THEN
        PERFORM ff_invalid('invalid_depends_on', 'depends_on must not contain NULL');
    END IF;
    SELECT coalesce(array_agg(DISTINCT x.execution_uuid ORDER BY x.execution_uuid), '{}'), coalesce(bool_and(x.partition_key = pk), true)
    INTO ids, same_partition
    FROM unnest(p_depends_on) d, ff_parse_execution_id(d) x;
    IF NOT same_partition THEN
        PERFORM ff_invalid('upstream_not_in_flow', 'every upstream must be a member of the same flow');
    END IF;
    IF (SELECT count(*) FROM ff_flow_member m WHERE m.partition_key = pk AND m.execution_id = ANY (ids) AND m.flow_id = p_flow_id)
       <> cardinality(ids) THEN
        IF (SELECT count(*) FROM ff_exec_core e WHERE e.partition_key = pk AND e.execution_id = ANY (ids)) <> cardinality(ids) THEN
            PERFORM ff_raise('WF010', 'not_found', 'upstream execution not found', 'upstream_execution');
        END IF;
        PERFORM ff_invalid('upstream_not_in_flow', 'every upstream must be a member of the same flow');
    END IF;
    RETURN ids;
END
$$;
COMMENT ON FUNCTION ff_flow_upstreams(smallint, uuid, text[]) IS 'The upstreams of a new member, checked (internal).';

-- End the given members as skipped (an upstream of theirs did not complete), with everything that
-- waits on them, transitively, in one statement; their completion events, and their listeners woken.
-- The trigger below then runs for each (their parents are signalled; their own dependents are already
-- skipped).
CREATE FUNCTION ff_flow_skip(pk smallint, roots uuid[], now_ms bigint) RETURNS void
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    n bigint;
BEGIN
    WITH RECURSIVE down(id) AS (
        SELECT unnest(roots)
        UNION
        SELECT e.downstream_id FROM down JOIN ff_flow_dependency e ON e.partition_key = pk AND e.upstream_id = down.id),
    skipped AS (
        UPDATE ff_exec_core x SET lifecycle_phase = 'terminal', ownership_state = 'unowned', eligibility_state = 'not_applicable',
            attempt_state = 'attempt_terminal', public_state = 'skipped', eligible_at_ms = NULL, reserved_until_ms = NULL,
            lease_epoch = x.lease_epoch + 1, completed_at_ms = now_ms, updated_at_ms = now_ms, last_error = 'dependency_failed'
        FROM down
        WHERE x.partition_key = pk AND x.execution_id = down.id AND x.eligibility_state = 'blocked_by_dependencies'
        RETURNING x.partition_key, x.execution_id, x.namespace),
    ce AS (
        INSERT INTO ff_completion_event (partition_key, execution_id, namespace, occurred_at_ms, outcome)
        SELECT partition_key, '{fp:' || partition_key || '}:' || execution_id, namespace, now_ms, 'skipped' FROM skipped)
    SELECT count(*) INTO n FROM skipped;
    IF n > 0 THEN
    PERFORM ff_wake('{ff_completion}', '{}');
    END IF;
END
$$;
COMMENT ON FUNCTION ff_flow_skip(smallint, uuid[], bigint) IS 'Skip blocked members and their dependents (internal).';

-- Join a just-inserted execution to a flow: its flow (given, or its parent's), its parent, its
-- upstreams; then its state from them (ff_flow_recount: waiting_children while upstreams are left,
-- skipped when one already ended without completing, else as created, its lane woken).
CREATE FUNCTION ff_flow_join(pk smallint, id uuid, p_flow_id uuid, p_parent text, p_parent_key text, p_depends_on text[])
RETURNS void
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    now_ms bigint := ff_now_ms();
    parent_id uuid;
    parent_flow uuid;
    flow uuid := p_flow_id;
BEGIN
    IF p_parent IS NULL AND p_parent_key IS NOT NULL THEN
        PERFORM ff_invalid('parent_execution_id_required', 'parent_waitpoint_key needs parent_execution_id');
    END IF;
    IF p_parent IS NOT NULL THEN
        SELECT x.parent_id, x.parent_flow INTO parent_id, parent_flow FROM ff_flow_parent(pk, p_parent, p_parent_key) x;
        IF flow IS NOT NULL AND flow <> parent_flow THEN
            PERFORM ff_invalid('flow_mismatch', 'a child joins its parent''s flow');
        END IF;
        flow := parent_flow;
    END IF;
    IF flow IS NULL THEN
        PERFORM ff_invalid('flow_id_required', 'depends_on needs flow_id (or a parent in a flow)');
    END IF;
    PERFORM ff_flow_lock(pk, flow);
    INSERT INTO ff_flow_dependency (partition_key, upstream_id, downstream_id)
    SELECT pk, u, id FROM unnest(ff_flow_upstreams(pk, flow, coalesce(p_depends_on, '{}'))) u;
    INSERT INTO ff_flow_member (partition_key, execution_id, flow_id, parent_execution_id, parent_waitpoint_key, joined_at_ms)
    VALUES (pk, id, flow, parent_id, p_parent_key, now_ms);
    -- A child created without flow_id takes its parent's.
    UPDATE ff_exec_core SET flow_id = flow WHERE partition_key = pk AND execution_id = id AND flow_id IS DISTINCT FROM flow;
    PERFORM ff_flow_recount(pk, ARRAY[id], now_ms);
END
$$;
COMMENT ON FUNCTION ff_flow_join(smallint, uuid, uuid, text, text, text[]) IS 'Join a new execution to its flow (internal).';

-- A member completed: one upstream fewer for each of its dependents; those with none left become
-- claimable (or delayed, until their delay), and their lanes' sleeping workers are woken.
CREATE FUNCTION ff_flow_release(pk smallint, id uuid, now_ms bigint) RETURNS void
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    ready_lanes text[];
    ready_priorities integer[];
    ready_seqs bigint[];
BEGIN
    WITH released AS (
        UPDATE ff_flow_member d SET upstreams_left = d.upstreams_left - 1
        FROM ff_flow_dependency e
        WHERE e.partition_key = pk AND e.upstream_id = id
          AND d.partition_key = pk AND d.execution_id = e.downstream_id AND d.upstreams_left > 0
        RETURNING d.execution_id, d.upstreams_left),
    ready AS (
        UPDATE ff_exec_core x SET
            eligibility_state = CASE WHEN x.eligible_at_ms > now_ms THEN 'not_eligible_until_time' ELSE 'eligible_now' END,
            public_state = CASE WHEN x.eligible_at_ms > now_ms THEN 'delayed' ELSE 'waiting' END,
            eligible_at_ms = CASE WHEN x.eligible_at_ms > now_ms THEN x.eligible_at_ms END,
            updated_at_ms = now_ms
        FROM released r
        WHERE r.upstreams_left = 0 AND x.partition_key = pk AND x.execution_id = r.execution_id
          AND x.eligibility_state = 'blocked_by_dependencies'
        RETURNING x.lane_id, x.priority, x.queue_seq, x.eligibility_state)
    SELECT array_agg(lane_id) FILTER (WHERE eligibility_state = 'eligible_now'),
           array_agg(priority) FILTER (WHERE eligibility_state = 'eligible_now'),
           array_agg(queue_seq) FILTER (WHERE eligibility_state = 'eligible_now')
    INTO ready_lanes, ready_priorities, ready_seqs FROM ready;
    IF ready_lanes IS NOT NULL THEN
        PERFORM ff_claim_start_lower_rows(ready_lanes, ready_priorities, ready_seqs);
        PERFORM ff_wake('{}', ARRAY(SELECT DISTINCT l FROM unnest(ready_lanes) l ORDER BY 1));
    END IF;
END
$$;
COMMENT ON FUNCTION ff_flow_release(smallint, uuid, bigint) IS 'Release the dependents of a completed member (internal).';

-- A member ended: signal `child_<state>` to its parent's waitpoint of the member's key, with the
-- member's id as source_identity and its result as payload. Nothing is recorded when the parent is
-- terminal or has no open waitpoint of that key any more (it stopped listening, e.g. resumed by
-- "3 of 5" before the 4th child ended).
CREATE FUNCTION ff_flow_signal_parent(pk smallint, parent_id uuid, p_key text, child_id uuid, child_state text, child_result bytea,
    now_ms bigint) RETURNS void
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    wp uuid;
BEGIN
    -- The parent's row lock first: its waitpoints change only under it.
    PERFORM 1 FROM ff_exec_core WHERE partition_key = pk AND execution_id = parent_id AND lifecycle_phase <> 'terminal' FOR UPDATE;
    IF NOT FOUND THEN
        RETURN;
    END IF;
    SELECT w.waitpoint_id INTO wp FROM ff_waitpoint w
    WHERE w.partition_key = pk AND w.execution_id = parent_id AND w.waitpoint_key = p_key
      AND (w.state = 'active' OR (w.state = 'pending' AND (w.expires_at_ms IS NULL OR w.expires_at_ms > now_ms)))
    ORDER BY w.state = 'active' DESC, w.created_at_ms DESC LIMIT 1;
    IF FOUND THEN
        PERFORM ff_deliver_engine_signal(pk, parent_id, wp, 'child_' || child_state, '{fp:' || pk || '}:' || child_id, child_result);
    END IF;
END
$$;
COMMENT ON FUNCTION ff_flow_signal_parent(smallint, uuid, text, uuid, text, bytea, bigint) IS 'Signal a parent that a child ended (internal).';

-- Notify the sessions announced (ff_await_completion) on `key`: an execution id or flow:<flow id>.
-- Each is told once, on its own channel ff_wake_<backend pid> (payload the key), and its announcement
-- consumed.
CREATE FUNCTION ff_notify_completion_waiters(key text) RETURNS void
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    pid integer;
BEGIN
    FOR pid IN DELETE FROM ff_waiter WHERE channel = 'ff_completion_of' AND lane_id = key RETURNING backend_pid LOOP
        PERFORM pg_notify('ff_wake_' || pid, key);
    END LOOP;
END
$$;
COMMENT ON FUNCTION ff_notify_completion_waiters(text) IS 'Notify the waiters on an execution''s or flow''s end (internal).';

-- The trigger: an execution that is a flow member, or that someone waits for, ended.
CREATE FUNCTION ff_execution_ended() RETURNS trigger
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    m ff_flow_member;
    now_ms bigint := ff_now_ms();
BEGIN
    IF NEW.lifecycle_phase <> 'terminal' OR OLD.lifecycle_phase = 'terminal' THEN
        RETURN NULL;
    END IF;
    IF NEW.completion_waited THEN
        PERFORM ff_notify_completion_waiters('{fp:' || NEW.partition_key || '}:' || NEW.execution_id);
    END IF;
    SELECT * INTO m FROM ff_flow_member WHERE partition_key = NEW.partition_key AND execution_id = NEW.execution_id;
    IF NOT FOUND THEN
        RETURN NULL;
    END IF;
    IF NEW.public_state = 'completed' THEN
        PERFORM ff_flow_release(NEW.partition_key, NEW.execution_id, now_ms);
    ELSIF EXISTS (SELECT 1 FROM ff_flow_dependency e WHERE e.partition_key = NEW.partition_key AND e.upstream_id = NEW.execution_id) THEN
        PERFORM ff_flow_skip(NEW.partition_key, ARRAY(SELECT e.downstream_id FROM ff_flow_dependency e
                             WHERE e.partition_key = NEW.partition_key AND e.upstream_id = NEW.execution_id), now_ms);
    END IF;
    IF m.parent_execution_id IS NOT NULL THEN
        PERFORM ff_flow_signal_parent(NEW.partition_key, m.parent_execution_id, m.parent_waitpoint_key, NEW.execution_id,
            NEW.public_state, NEW.result, now_ms);
    END IF;
    -- The flow's waiters: every member's end may be the flow's, so each wakes them (they read the
    -- flow again). The shared lock orders this with an announcement (ff_await_completion takes it
    -- exclusively): one that committed first is seen here, one that comes later sees this end.
    PERFORM pg_advisory_xact_lock_shared(1717985655, hashtext('ff_completion_of:flow:' || m.flow_id));
    PERFORM ff_notify_completion_waiters('flow:' || m.flow_id);
    RETURN NULL;
END
$$;
COMMENT ON FUNCTION ff_execution_ended() IS 'An execution that is a flow member or waited for ended: release or skip its dependents, signal its parent, notify its waiters (internal).';

-- Fires for flow members and executions someone waits for, when completed_at_ms is written: every
-- statement that ends an execution writes it (leases/end_lease_row.sql, leases/terminate.sql,
-- scanners/expire_leases.sql, ff_flow_skip), and no claim, suspension or resume does, so only those
-- statements prepare the WHEN clause (PostgreSQL reads and prepares it again for every statement
-- whose UPDATE names the column: ~14 000 instructions). The function returns at once unless the
-- execution just became terminal.
CREATE TRIGGER ff_execution_ended AFTER UPDATE OF completed_at_ms ON ff_exec_core FOR EACH ROW
    WHEN (NEW.flow_id IS NOT NULL OR NEW.completion_waited)
    EXECUTE FUNCTION ff_execution_ended();
COMMENT ON TRIGGER ff_execution_ended ON ff_exec_core IS
    'What follows the end of a flow member or of an execution someone waits for, in the transaction that ends it.';

-- Retention deletes an execution with everything that belongs to it: its membership and edges too.
CREATE FUNCTION ff_flow_member_deleted() RETURNS trigger
LANGUAGE plpgsql VOLATILE AS $$
BEGIN
    DELETE FROM ff_flow_member WHERE partition_key = OLD.partition_key AND execution_id = OLD.execution_id;
    DELETE FROM ff_flow_dependency WHERE partition_key = OLD.partition_key
        AND (upstream_id = OLD.execution_id OR downstream_id = OLD.execution_id);
    RETURN NULL;
END
$$;
COMMENT ON FUNCTION ff_flow_member_deleted() IS 'Delete a pruned member''s flow rows (internal).';
CREATE TRIGGER ff_flow_member_deleted AFTER DELETE ON ff_exec_core FOR EACH ROW
    WHEN (OLD.flow_id IS NOT NULL)
    EXECUTE FUNCTION ff_flow_member_deleted();
COMMENT ON TRIGGER ff_flow_member_deleted ON ff_exec_core IS 'A pruned flow member''s membership and edges go with it.';

----------------------------------------------------------------------------------------------------
-- The API
----------------------------------------------------------------------------------------------------

CREATE FUNCTION ff_create_flow_body(p_flow_id uuid, p_namespace text, p_tags jsonb, OUT r_flow_id uuid, OUT r_created boolean)
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = @extschema@, pg_temp AS $$
DECLARE
    inserted uuid;
BEGIN
    r_flow_id := coalesce(p_flow_id, gen_random_uuid());
    p_namespace := ff_check_optional_text(p_namespace, 'namespace', 256);
    IF jsonb_typeof(coalesce(p_tags, '{}')) <> 'object' THEN
        PERFORM ff_invalid('invalid_tags', 'tags must be a JSON object');
    END IF;
    INSERT INTO ff_flow (partition_key, flow_id, namespace, tags, created_at_ms)
    VALUES (ff_partition_for('', r_flow_id), r_flow_id, p_namespace, coalesce(p_tags, '{}'), ff_now_ms())
    ON CONFLICT DO NOTHING
    RETURNING flow_id INTO inserted;
    r_created := inserted IS NOT NULL;
END
$$;
COMMENT ON FUNCTION ff_create_flow_body(uuid, text, jsonb) IS 'ff_create_flow''s body (internal).';

CREATE FUNCTION ff_create_flow(flow_id uuid DEFAULT NULL, namespace text DEFAULT NULL, tags jsonb DEFAULT '{}')
RETURNS TABLE (flow_id uuid, created boolean)
LANGUAGE sql STABLE AS $$
    SELECT * FROM @extschema@.ff_create_flow_body($1, $2, $3)
$$;

-- A flow's state, derived from its members: cancelled when ff_cancel_flow ran; else open while a
-- member is not terminal (or there is none); else completed when every member completed, failed
-- otherwise.
CREATE FUNCTION ff_get_flow_body(p_flow_id uuid)
RETURNS TABLE (r_flow_id uuid, r_partition_key text, r_namespace text, r_tags jsonb, r_state text, r_member_count bigint,
    r_counts jsonb, r_created_at_ms bigint, r_cancelled_at_ms bigint, r_cancel_policy text, r_cancel_reason text)
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = @extschema@, pg_temp AS $$
DECLARE
    f ff_flow;
    n bigint;
    open_n bigint;
    completed_n bigint;
    by_state jsonb;
BEGIN
    p_flow_id := ff_required(p_flow_id, 'flow_id');
    SELECT * INTO f FROM ff_flow x WHERE x.partition_key = ff_partition_for('', p_flow_id) AND x.flow_id = p_flow_id;
    IF NOT FOUND THEN
        PERFORM ff_raise('WF010', 'not_found', 'flow not found', 'flow');
    END IF;
    SELECT coalesce(sum(c), 0), coalesce(sum(c) FILTER (WHERE NOT terminal), 0), coalesce(sum(c) FILTER (WHERE s = 'completed'), 0),
           coalesce(jsonb_object_agg(s, c), '{}')
    INTO n, open_n, completed_n, by_state
    FROM (SELECT e.public_state::text AS s, e.lifecycle_phase = 'terminal' AS terminal, count(*) AS c
          FROM ff_flow_member m JOIN ff_exec_core e ON e.partition_key = m.partition_key AND e.execution_id = m.execution_id
          WHERE m.partition_key = f.partition_key AND m.flow_id = f.flow_id
          GROUP BY 1, 2) t;
    RETURN QUERY SELECT f.flow_id, '{fp:' || f.partition_key || '}', f.namespace, f.tags,
        CASE WHEN f.cancelled_at_ms IS NOT NULL THEN 'cancelled' WHEN n = 0 OR open_n > 0 THEN 'open'
             WHEN completed_n = n THEN 'completed' ELSE 'failed' END,
        n, by_state, f.created_at_ms, f.cancelled_at_ms, f.cancel_policy, f.cancel_reason;
END
$$;
COMMENT ON FUNCTION ff_get_flow_body(uuid) IS 'ff_get_flow''s body (internal).';

CREATE FUNCTION ff_get_flow(flow_id uuid)
RETURNS TABLE (flow_id uuid, partition_key text, namespace text, tags jsonb, state text, member_count bigint, counts jsonb,
    created_at_ms bigint, cancelled_at_ms bigint, cancel_policy text, cancel_reason text)
LANGUAGE sql STABLE AS $$
    SELECT * FROM @extschema@.ff_get_flow_body($1)
$$;

CREATE FUNCTION ff_list_flow_members(flow_id uuid, after_execution_id text DEFAULT NULL, max_rows integer DEFAULT 100)
RETURNS TABLE (execution_id text, lane_id text, public_state text, parent_execution_id text, parent_waitpoint_key text,
    upstreams_left integer, created_at_ms bigint, terminal_at_ms bigint)
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = @extschema@, pg_temp AS $$
#variable_conflict use_column
DECLARE
    pk smallint := ff_partition_for('', ff_required($1, 'flow_id'));
    after_pk smallint;
    after_id uuid;
BEGIN
    IF NOT EXISTS (SELECT 1 FROM ff_flow x WHERE x.partition_key = pk AND x.flow_id = $1) THEN
        PERFORM ff_raise('WF010', 'not_found', 'flow not found', 'flow');
    END IF;
    PERFORM ff_bounded_count($3, 'max_rows', 10000);
    IF $2 IS NOT NULL THEN
        SELECT x.partition_key, x.execution_uuid INTO after_pk, after_id FROM ff_parse_execution_id($2) x;
    END IF;
    RETURN QUERY
    SELECT '{fp:' || m.partition_key || '}:' || m.execution_id, e.lane_id, e.public_state::text,
           CASE WHEN m.parent_execution_id IS NOT NULL THEN '{fp:' || m.partition_key || '}:' || m.parent_execution_id END,
           m.parent_waitpoint_key, m.upstreams_left, e.created_at_ms, e.completed_at_ms
    FROM ff_flow_member m JOIN ff_exec_core e ON e.partition_key = m.partition_key AND e.execution_id = m.execution_id
    WHERE m.partition_key = pk AND m.flow_id = $1 AND (after_id IS NULL OR m.execution_id > after_id)
    ORDER BY m.execution_id
    LIMIT $3;
END
$$;

-- Cancel a flow. flow_only: the flow takes no new members, its members carry on; cancel_all: every
-- member not terminal is cancelled (a leased one's lease ends: its worker's next renew or complete
-- is lease_conflict); cancel_pending: the members not leased are cancelled, the leased ones drain.
-- One row per outcome: cancelled, left_running (leased, under cancel_pending, or every member under
-- flow_only), already_terminal.
CREATE FUNCTION ff_cancel_flow(flow_id uuid, policy text DEFAULT 'cancel_all', reason text DEFAULT 'flow_cancelled')
RETURNS TABLE (outcome text, members bigint)
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = @extschema@, pg_temp AS $$
#variable_conflict use_column
DECLARE
    pk smallint;
    f ff_flow;
    m record;
    cancelled bigint := 0;
    running bigint := 0;
    ended bigint := 0;
BEGIN
    IF $2 IS NULL OR $2 NOT IN ('flow_only', 'cancel_all', 'cancel_pending') THEN
        PERFORM ff_invalid('invalid_policy', 'policy must be flow_only, cancel_all or cancel_pending');
    END IF;
    IF $3 IS NULL OR octet_length($3) NOT BETWEEN 1 AND 256 THEN
        PERFORM ff_invalid('invalid_reason', 'reason must be 1-256 bytes');
    END IF;
    pk := ff_partition_for('', ff_required($1, 'flow_id'));
    UPDATE ff_flow x SET cancelled_at_ms = coalesce(x.cancelled_at_ms, ff_now_ms()), cancel_policy = coalesce(x.cancel_policy, $2),
        cancel_reason = coalesce(x.cancel_reason, $3)
    WHERE x.partition_key = pk AND x.flow_id = $1
    RETURNING * INTO f;
    IF NOT FOUND THEN
        PERFORM ff_raise('WF010', 'not_found', 'flow not found', 'flow');
    END IF;
    -- Newest first, so dependents and children are cancelled before what they wait on (not skipped
    -- by it), each under its own row lock (ff_cancel takes it); one that ended meanwhile is
    -- already_terminal.
    FOR m IN
        SELECT mm.execution_id, e.lifecycle_phase, e.ownership_state
        FROM ff_flow_member mm JOIN ff_exec_core e ON e.partition_key = mm.partition_key AND e.execution_id = mm.execution_id
        WHERE mm.partition_key = f.partition_key AND mm.flow_id = f.flow_id
        ORDER BY e.queue_seq DESC
    LOOP
        IF m.lifecycle_phase = 'terminal' THEN
            ended := ended + 1;
        ELSIF $2 = 'flow_only' OR ($2 = 'cancel_pending' AND m.ownership_state = 'leased') THEN
            running := running + 1;
        ELSIF (SELECT c.outcome FROM ff_cancel('{fp:' || f.partition_key || '}:' || m.execution_id, $3) c) = 'cancelled' THEN
            cancelled := cancelled + 1;
        ELSE
            ended := ended + 1;
        END IF;
    END LOOP;
    RETURN QUERY VALUES ('cancelled', cancelled), ('left_running', running), ('already_terminal', ended);
END
$$;

-- Announce this session as waiting for one execution's end or one flow's (every member ended, and
-- the flow cancelled or not open), unless it has ended already: then true and no announcement. The
-- transaction that ends it notifies ff_wake_<this backend's pid> with the execution id or
-- flow:<flow id> as payload; nothing else wakes the session, so a thousand waiters on a thousand
-- executions are told one each. LISTEN first, call, commit, sleep; after a notification call again.
CREATE FUNCTION ff_await_completion_body(p_execution_id text, p_flow_id uuid) RETURNS boolean
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = @extschema@, pg_temp AS $$
DECLARE
    pk smallint;
    id uuid;
    key text;
BEGIN
    IF (p_execution_id IS NULL) = (p_flow_id IS NULL) THEN
        PERFORM ff_invalid('execution_or_flow_required', 'give execution_id or flow_id, one of them');
    END IF;
    IF p_execution_id IS NOT NULL THEN
        SELECT x.partition_key, x.execution_uuid INTO pk, id FROM ff_parse_execution_id(p_execution_id) x;
        key := '{fp:' || pk || '}:' || id;
        -- Under the row lock: either the transaction that ends it sees the flag (and, committed with it,
        -- this announcement), or this one sees it ended.
        UPDATE ff_exec_core SET completion_waited = true
        WHERE partition_key = pk AND execution_id = id AND lifecycle_phase <> 'terminal';
        IF NOT FOUND THEN
            IF NOT EXISTS (SELECT 1 FROM ff_exec_core WHERE partition_key = pk AND execution_id = id) THEN
                PERFORM ff_raise('WF010', 'not_found', 'execution not found', 'execution');
            END IF;
            RETURN true;
        END IF;
    ELSE
        pk := ff_partition_for('', p_flow_id);
        IF NOT EXISTS (SELECT 1 FROM ff_flow WHERE partition_key = pk AND flow_id = p_flow_id) THEN
            PERFORM ff_raise('WF010', 'not_found', 'flow not found', 'flow');
        END IF;
        key := 'flow:' || p_flow_id;
        PERFORM pg_advisory_xact_lock(1717985655, hashtext('ff_completion_of:' || key));
        IF NOT EXISTS (SELECT 1 FROM ff_flow_member m JOIN ff_exec_core e ON e.partition_key = m.partition_key AND e.execution_id = m.execution_id
                       WHERE m.partition_key = pk AND m.flow_id = p_flow_id AND e.lifecycle_phase <> 'terminal')
           AND (EXISTS (SELECT 1 FROM ff_flow_member m WHERE m.partition_key = pk AND m.flow_id = p_flow_id)
                OR EXISTS (SELECT 1 FROM ff_flow f WHERE f.partition_key = pk AND f.flow_id = p_flow_id AND f.cancelled_at_ms IS NOT NULL)) THEN
            RETURN true;
        END IF;
    END IF;
    INSERT INTO ff_waiter (channel, lane_id, backend_pid, announced_at_ms)
    VALUES ('ff_completion_of', key, pg_backend_pid(), ff_now_ms())
    ON CONFLICT (channel, lane_id, backend_pid) DO UPDATE SET announced_at_ms = EXCLUDED.announced_at_ms;
    RETURN false;
END
$$;
COMMENT ON FUNCTION ff_await_completion_body(text, uuid) IS 'ff_await_completion''s body (internal).';

CREATE FUNCTION ff_await_completion(execution_id text DEFAULT NULL, flow_id uuid DEFAULT NULL) RETURNS boolean
LANGUAGE sql VOLATILE AS $$
    SELECT @extschema@.ff_await_completion_body($1, $2)
$$;

-- After a replay (ff_replay_execution, both editions): a member whose upstreams have not all
-- completed waits for them again (blocked_by_dependencies), one with an upstream that ended without
-- completing is skipped again; with_dependents also brings back every member skipped because of it,
-- transitively, as long as none of its own upstreams ended without completing.
CREATE FUNCTION ff_flow_replayed(pk smallint, id uuid, with_dependents boolean) RETURNS void
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    now_ms bigint := ff_now_ms();
    frontier uuid[] := ARRAY[id];
    revived uuid[];
BEGIN
    IF NOT EXISTS (SELECT 1 FROM ff_flow_member WHERE partition_key = pk AND execution_id = id) THEN
        RETURN;
    END IF;
    PERFORM ff_flow_recount(pk, frontier, now_ms);
    WHILE with_dependents LOOP
        WITH back AS (
            UPDATE ff_exec_core x SET lifecycle_phase = 'runnable', ownership_state = 'unowned',
                eligibility_state = 'blocked_by_dependencies',
                attempt_state = CASE WHEN x.attempt_index = 0 THEN 'pending_first_attempt' ELSE 'pending_replay_attempt' END,
                public_state = 'waiting_children', completed_at_ms = NULL, last_error = NULL, updated_at_ms = now_ms
            WHERE x.partition_key = pk AND x.public_state = 'skipped'
              AND x.execution_id IN (SELECT d.downstream_id FROM ff_flow_dependency d WHERE d.partition_key = pk AND d.upstream_id = ANY (frontier))
              AND NOT EXISTS (SELECT 1 FROM ff_flow_dependency u JOIN ff_exec_core ux ON ux.partition_key = u.partition_key AND ux.execution_id = u.upstream_id
                              WHERE u.partition_key = pk AND u.downstream_id = x.execution_id
                                AND ux.lifecycle_phase = 'terminal' AND ux.public_state <> 'completed')
            RETURNING x.execution_id)
        SELECT array_agg(execution_id) INTO revived FROM back;
        EXIT WHEN revived IS NULL;
        PERFORM ff_flow_recount(pk, revived, now_ms);
        frontier := revived;
    END LOOP;
END
$$;
COMMENT ON FUNCTION ff_flow_replayed(smallint, uuid, boolean) IS 'A replayed member waits for its upstreams again; with_dependents revives what it skipped (internal).';

-- Count again, for runnable members, the upstreams that have not completed (share-locked first, as at
-- create, so none ends between the count and the write): some left, it waits for them; none, it is
-- claimable (or delayed); one ended without completing, it is skipped.
CREATE FUNCTION ff_flow_recount(pk smallint, ids uuid[], now_ms bigint) RETURNS void
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    doomed_ids uuid[];
    ready_lanes text[];
    ready_priorities integer[];
    ready_seqs bigint[];
BEGIN
    PERFORM 1 FROM ff_exec_core u
    WHERE u.partition_key = pk
      AND u.execution_id IN (SELECT d.upstream_id FROM ff_flow_dependency d WHERE d.partition_key = pk AND d.downstream_id = ANY (ids))
    ORDER BY u.execution_id FOR SHARE;
    WITH counted AS (
        SELECT m.execution_id,
               count(u.execution_id) FILTER (WHERE u.public_state <> 'completed') AS left_count,
               coalesce(bool_or(u.lifecycle_phase = 'terminal' AND u.public_state <> 'completed'), false) AS doomed
        FROM ff_flow_member m
        LEFT JOIN ff_flow_dependency d ON d.partition_key = m.partition_key AND d.downstream_id = m.execution_id
        LEFT JOIN ff_exec_core u ON u.partition_key = d.partition_key AND u.execution_id = d.upstream_id
        WHERE m.partition_key = pk AND m.execution_id = ANY (ids)
        GROUP BY m.execution_id),
    members AS (
        UPDATE ff_flow_member m SET upstreams_left = c.left_count FROM counted c
        WHERE m.partition_key = pk AND m.execution_id = c.execution_id
        RETURNING m.execution_id, c.left_count, c.doomed),
    states AS (
        UPDATE ff_exec_core x SET
            eligibility_state = CASE WHEN c.left_count > 0 OR c.doomed THEN 'blocked_by_dependencies'
                                     WHEN x.eligible_at_ms > now_ms THEN 'not_eligible_until_time' ELSE 'eligible_now' END,
            public_state = CASE WHEN c.left_count > 0 OR c.doomed THEN 'waiting_children'
                                WHEN x.eligible_at_ms > now_ms THEN 'delayed' ELSE 'waiting' END,
            updated_at_ms = now_ms
        FROM members c
        WHERE x.partition_key = pk AND x.execution_id = c.execution_id AND x.lifecycle_phase = 'runnable'
          AND x.eligibility_state IN ('eligible_now', 'not_eligible_until_time', 'blocked_by_dependencies')
        RETURNING x.execution_id, x.lane_id, x.priority, x.queue_seq, x.eligibility_state, c.doomed)
    SELECT array_agg(execution_id) FILTER (WHERE doomed), array_agg(lane_id) FILTER (WHERE eligibility_state = 'eligible_now'),
           array_agg(priority) FILTER (WHERE eligibility_state = 'eligible_now'),
           array_agg(queue_seq) FILTER (WHERE eligibility_state = 'eligible_now')
    INTO doomed_ids, ready_lanes, ready_priorities, ready_seqs FROM states;
    IF doomed_ids IS NOT NULL THEN
        PERFORM ff_flow_skip(pk, doomed_ids, now_ms);
    END IF;
    IF ready_lanes IS NOT NULL THEN
        PERFORM ff_claim_start_lower_rows(ready_lanes, ready_priorities, ready_seqs);
        PERFORM ff_wake('{}', ARRAY(SELECT DISTINCT l FROM unnest(ready_lanes) l ORDER BY 1));
    END IF;
END
$$;
COMMENT ON FUNCTION ff_flow_recount(smallint, uuid[], bigint) IS 'Count a member''s upstreams again and set its state from them (internal).';

-- ff_engine, both editions: why a lane's runnable work is not handed out (ff_lane_holdback), holding
-- one execution out of it (ff_hold_execution, ff_release_execution), and pausing the whole lane
-- (ff_pause_lane, ff_resume_lane, ff_list_lanes). Written once: both editions install this file.

-- A lane's runnable executions held for the lane's or their own state: the lane paused (every
-- eligible one), delayed, blocked by dependencies, reserved by a grant (reason, executions, earliest).
CREATE FUNCTION ff_lane_held_by_state(p_lane_id text, now_ms bigint)
RETURNS TABLE (r_reason text, r_executions bigint, r_earliest_at_ms bigint)
LANGUAGE plpgsql STABLE AS $$
BEGIN
    RETURN QUERY
    WITH runnable AS (
        SELECT e.eligibility_state, e.eligible_at_ms, e.reserved_until_ms
        FROM ff_exec_core e WHERE e.lane_id = p_lane_id AND e.lifecycle_phase = 'runnable'),
    held AS (
        SELECT 'lane_paused' AS reason, NULL::bigint AS earliest FROM runnable r
        WHERE r.eligibility_state = 'eligible_now' AND EXISTS (SELECT 1 FROM ff_lane_pause p WHERE p.lane_id = p_lane_id)
        UNION ALL
        SELECT 'delayed', r.eligible_at_ms FROM runnable r WHERE r.eligibility_state = 'not_eligible_until_time'
        UNION ALL
        SELECT 'dependencies', NULL FROM runnable r WHERE r.eligibility_state = 'blocked_by_dependencies'
        UNION ALL
        SELECT 'reserved', r.reserved_until_ms FROM runnable r
        WHERE r.eligibility_state = 'eligible_now' AND r.reserved_until_ms > now_ms)
    SELECT h.reason, count(*), min(h.earliest) FROM held h GROUP BY h.reason;
END
$$;
COMMENT ON FUNCTION ff_lane_held_by_state(text, bigint) IS 'A lane''s executions held by pause, delay, dependencies or reservation (internal).';

-- A lane's eligible executions held by a budget whose hard limit is reached, as the claim sees it;
-- the earliest time one of them could pass is when the last of its full budgets resets (NULL when
-- one of them does not).
CREATE FUNCTION ff_lane_held_by_budget(p_lane_id text, now_ms bigint)
RETURNS TABLE (r_reason text, r_executions bigint, r_earliest_at_ms bigint)
LANGUAGE plpgsql STABLE AS $$
BEGIN
    RETURN QUERY
    WITH budget AS (
        SELECT x.ord, bool_and(b.reset_interval_ms IS NOT NULL) AS resets,
               max(coalesce(b.last_reset_at_ms, b.created_at_ms) + b.reset_interval_ms) AS reset_at_ms
        FROM (SELECT row_number() OVER () AS ord, e.budget_ids FROM ff_exec_core e
              WHERE e.lane_id = p_lane_id AND e.lifecycle_phase = 'runnable' AND e.eligibility_state = 'eligible_now'
                AND cardinality(e.budget_ids) > 0) x
        JOIN ff_budget b ON b.budget_id = ANY (x.budget_ids)
        WHERE EXISTS (SELECT 1 FROM jsonb_each_text(b.hard_limits) AS h(dimension, hard_limit)
                      WHERE CASE WHEN b.reset_interval_ms IS NOT NULL
                                      AND coalesce(b.last_reset_at_ms, b.created_at_ms) + b.reset_interval_ms <= now_ms
                                 THEN 0
                                 ELSE coalesce((SELECT u.used FROM ff_budget_usage u
                                                WHERE u.budget_id = b.budget_id AND u.dimension = h.dimension), 0)
                            END >= h.hard_limit::numeric)
        GROUP BY x.ord)
    SELECT 'budget'::text, count(*), min(CASE WHEN b.resets THEN b.reset_at_ms END) FROM budget b HAVING count(*) > 0;
END
$$;
COMMENT ON FUNCTION ff_lane_held_by_budget(text, bigint) IS 'A lane''s executions held by a full budget (internal).';

-- A lane's eligible executions held by a full quota policy, as the claim sees it: its admissions in
-- the window (quota_rate, until the oldest leaves it) and its active executions (quota_concurrency),
-- counted by aggregates (not subqueries correlated to the policy, a join Citus refuses over its
-- distributed tables).
CREATE FUNCTION ff_lane_held_by_quota(p_lane_id text, now_ms bigint)
RETURNS TABLE (r_reason text, r_executions bigint, r_earliest_at_ms bigint)
LANGUAGE plpgsql STABLE AS $$
BEGIN
    RETURN QUERY
    WITH eligible AS (
        SELECT e.quota_policy_id FROM ff_exec_core e
        WHERE e.lane_id = p_lane_id AND e.lifecycle_phase = 'runnable' AND e.eligibility_state = 'eligible_now'
          AND e.quota_policy_id IS NOT NULL),
    admitted AS (
        SELECT a.quota_policy_id, count(*) AS requests, min(a.admitted_at_ms) AS first_at_ms
        FROM ff_quota_admission a JOIN ff_quota_policy p ON p.quota_policy_id = a.quota_policy_id
        WHERE a.quota_policy_id IN (SELECT g.quota_policy_id FROM eligible g) AND a.admitted_at_ms > now_ms - p.window_ms
        GROUP BY a.quota_policy_id),
    active AS (
        SELECT x.quota_policy_id, count(*) AS active FROM ff_exec_core x
        WHERE x.quota_policy_id IN (SELECT g.quota_policy_id FROM eligible g)
          AND (x.ownership_state = 'leased' OR x.reserved_until_ms > now_ms)
        GROUP BY x.quota_policy_id),
    quota AS (
        SELECT p.quota_policy_id, coalesce(ad.requests, 0) AS requests, ad.first_at_ms + p.window_ms AS slot_at_ms,
               coalesce(ac.active, 0) AS active, p.max_requests_per_window, p.active_concurrency_cap
        FROM ff_quota_policy p
        LEFT JOIN admitted ad ON ad.quota_policy_id = p.quota_policy_id
        LEFT JOIN active ac ON ac.quota_policy_id = p.quota_policy_id
        WHERE p.quota_policy_id IN (SELECT g.quota_policy_id FROM eligible g)),
    held AS (
        SELECT 'quota_rate' AS reason, q.slot_at_ms AS earliest FROM eligible g JOIN quota q ON q.quota_policy_id = g.quota_policy_id
        WHERE q.requests >= q.max_requests_per_window
        UNION ALL
        SELECT 'quota_concurrency', NULL FROM eligible g JOIN quota q ON q.quota_policy_id = g.quota_policy_id
        WHERE q.active >= q.active_concurrency_cap)
    SELECT h.reason, count(*), min(h.earliest) FROM held h GROUP BY h.reason;
END
$$;
COMMENT ON FUNCTION ff_lane_held_by_quota(text, bigint) IS 'A lane''s executions held by a full quota policy (internal).';

CREATE FUNCTION ff_lane_holdback_body(p_lane_id text)
RETURNS TABLE (r_reason text, r_executions bigint, r_earliest_at_ms bigint)
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = @extschema@, pg_temp AS $$
DECLARE
    now_ms bigint := ff_now_ms();
BEGIN
    p_lane_id := ff_required(p_lane_id, 'lane_id');
    p_lane_id := ff_check_lane_id(p_lane_id);
    RETURN QUERY
    SELECT h.* FROM (
        SELECT * FROM ff_lane_held_by_state(p_lane_id, now_ms)
        UNION ALL SELECT * FROM ff_lane_held_by_budget(p_lane_id, now_ms)
        UNION ALL SELECT * FROM ff_lane_held_by_quota(p_lane_id, now_ms)) h
    ORDER BY h.r_reason;
END
$$;
COMMENT ON FUNCTION ff_lane_holdback_body(text) IS 'ff_lane_holdback''s body (internal).';

CREATE FUNCTION ff_lane_holdback(lane_id text)
RETURNS TABLE (reason text, executions bigint, earliest_at_ms bigint)
LANGUAGE sql STABLE AS $$
    SELECT * FROM @extschema@.ff_lane_holdback_body($1)
$$;

-- Holding one execution (semantics §7a): a runnable execution — waiting, delayed, or blocked by its
-- upstreams — is taken out of the claimable set (eligibility blocked_by_operator, its public state
-- kept) until ff_release_execution. Nothing else moves a held execution: delay promotion, dependency
-- release and replays touch only the eligibility states they own. A hold racing a claim: the claim
-- locks its candidate first and the hold finds it active (execution_not_runnable), or the hold
-- commits first and no claim or grant consume takes it. Each writes an operator event.
CREATE FUNCTION ff_hold_execution_body(p_execution_id text, p_reason text) RETURNS text
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = @extschema@, pg_temp AS $$
DECLARE
    id record := ff_parse_execution_id(ff_required(p_execution_id, 'execution_id'));
    now_ms bigint := ff_now_ms();
    e record;
BEGIN
    p_reason := ff_check_optional_text(p_reason, 'reason', 256);
    SELECT x.lifecycle_phase, x.eligibility_state, x.namespace INTO e FROM ff_exec_core x
    WHERE x.partition_key = id.partition_key AND x.execution_id = id.execution_uuid FOR UPDATE;
    IF NOT FOUND THEN
        PERFORM ff_raise('WF010', 'not_found', 'execution not found', 'execution');
    END IF;
    IF e.eligibility_state = 'blocked_by_operator' THEN
        RETURN 'already_held';
    END IF;
    IF e.lifecycle_phase <> 'runnable' THEN
        PERFORM ff_invalid('execution_not_runnable',
            format('the execution is %s; only a waiting, delayed or blocked execution can be held', e.lifecycle_phase));
    END IF;
    UPDATE ff_exec_core SET eligibility_state = 'blocked_by_operator', reserved_until_ms = NULL, updated_at_ms = now_ms
    WHERE partition_key = id.partition_key AND execution_id = id.execution_uuid;
    DELETE FROM ff_claim_grant WHERE partition_key = id.partition_key AND execution_id = id.execution_uuid;
    INSERT INTO ff_operator_event (partition_key, execution_id, namespace, occurred_at_ms, action, actor, reason, detail)
    VALUES (id.partition_key, '{fp:' || id.partition_key || '}:' || id.execution_uuid, e.namespace, now_ms, 'execution_held',
            session_user, p_reason, jsonb_build_object('eligibility_state', e.eligibility_state));
    PERFORM ff_wake('{ff_operator_event}', '{}');
    RETURN 'held';
END
$$;
COMMENT ON FUNCTION ff_hold_execution_body(text, text) IS 'ff_hold_execution''s body (internal).';

CREATE FUNCTION ff_hold_execution(execution_id text, reason text DEFAULT NULL)
RETURNS TABLE (outcome text)
LANGUAGE sql STABLE AS $$
    SELECT * FROM @extschema@.ff_hold_execution_body($1, $2)
$$;

-- Releasing a hold: the execution goes back to what its state calls for now — blocked while upstreams
-- of its flow have not completed, delayed until a delay still ahead, else claimable (its lane's
-- sleeping worker is woken).
CREATE FUNCTION ff_release_execution_body(p_execution_id text) RETURNS text
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = @extschema@, pg_temp AS $$
DECLARE
    id record := ff_parse_execution_id(ff_required(p_execution_id, 'execution_id'));
    now_ms bigint := ff_now_ms();
    e record;
    upstreams integer;
BEGIN
    SELECT x.eligibility_state, x.eligible_at_ms, x.namespace, x.lane_id, x.priority, x.queue_seq INTO e FROM ff_exec_core x
    WHERE x.partition_key = id.partition_key AND x.execution_id = id.execution_uuid FOR UPDATE;
    IF NOT FOUND THEN
        PERFORM ff_raise('WF010', 'not_found', 'execution not found', 'execution');
    END IF;
    IF e.eligibility_state <> 'blocked_by_operator' THEN
        RETURN 'not_held';
    END IF;
    SELECT m.upstreams_left INTO upstreams FROM ff_flow_member m
    WHERE m.partition_key = id.partition_key AND m.execution_id = id.execution_uuid;
    UPDATE ff_exec_core SET
        eligibility_state = CASE WHEN coalesce(upstreams, 0) > 0 THEN 'blocked_by_dependencies'
                                 WHEN eligible_at_ms > now_ms THEN 'not_eligible_until_time' ELSE 'eligible_now' END,
        public_state = CASE WHEN coalesce(upstreams, 0) > 0 THEN 'waiting_children'
                            WHEN eligible_at_ms > now_ms THEN 'delayed' ELSE 'waiting' END,
        eligible_at_ms = CASE WHEN coalesce(upstreams, 0) > 0 OR eligible_at_ms > now_ms THEN eligible_at_ms END,
        updated_at_ms = now_ms
    WHERE partition_key = id.partition_key AND execution_id = id.execution_uuid
    RETURNING eligibility_state INTO e.eligibility_state;
    IF e.eligibility_state = 'eligible_now' THEN
        PERFORM ff_claim_start_lower(e.lane_id, e.priority, e.queue_seq);
    END IF;
    INSERT INTO ff_operator_event (partition_key, execution_id, namespace, occurred_at_ms, action, actor, detail)
    VALUES (id.partition_key, '{fp:' || id.partition_key || '}:' || id.execution_uuid, e.namespace, now_ms, 'execution_released',
            session_user, jsonb_build_object('eligibility_state', e.eligibility_state));
    PERFORM ff_wake('{ff_operator_event}', CASE WHEN e.eligibility_state = 'eligible_now' THEN ARRAY[e.lane_id] ELSE '{}'::text[] END);
    RETURN 'released';
END
$$;
COMMENT ON FUNCTION ff_release_execution_body(text) IS 'ff_release_execution''s body (internal).';

CREATE FUNCTION ff_release_execution(execution_id text)
RETURNS TABLE (outcome text)
LANGUAGE sql STABLE AS $$
    SELECT * FROM @extschema@.ff_release_execution_body($1)
$$;

-- Pausing a lane (semantics §7a): the lane keeps accepting executions and hands out none. Every claim
-- checks its lane, and consuming a claim grant checks it under the execution's row lock: a claim that
-- starts after the pause's commit has returned hands out nothing; a claim already running may finish.
-- Grants issued before the pause stay valid for their TTL but cannot be consumed while it holds.
-- ff_lanes_changed, supplied by each edition, tells the claims: the Rust edition keeps a copy of
-- ff_lane_pause per backend and refreshes it on the invalidation this sends at commit; the SQL
-- edition's claim statements read ff_lane_pause themselves, and its ff_lanes_changed does nothing.
COMMENT ON FUNCTION ff_lanes_changed() IS 'Tell the claims that the paused lanes changed, at commit (internal).';

CREATE FUNCTION ff_pause_lane_body(p_lane_id text, p_reason text) RETURNS text
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = @extschema@, pg_temp AS $$
DECLARE
    now_ms bigint := ff_now_ms();
BEGIN
    p_lane_id := ff_required(p_lane_id, 'lane_id');
    p_lane_id := ff_check_lane_id(p_lane_id);
    p_reason := ff_check_optional_text(p_reason, 'reason', 256);
    INSERT INTO ff_lane_pause (lane_id, paused_at_ms, paused_by, reason) VALUES (p_lane_id, now_ms, session_user, p_reason)
    ON CONFLICT (lane_id) DO NOTHING;
    IF NOT FOUND THEN
        RETURN 'already_paused';
    END IF;
    INSERT INTO ff_operator_event (lane_id, occurred_at_ms, action, actor, reason) VALUES (p_lane_id, now_ms, 'lane_paused', session_user, p_reason);
    PERFORM ff_lanes_changed();
    PERFORM ff_wake('{ff_operator_event}', '{}');
    RETURN 'paused';
END
$$;
COMMENT ON FUNCTION ff_pause_lane_body(text, text) IS 'ff_pause_lane''s body (internal).';

CREATE FUNCTION ff_pause_lane(lane_id text, reason text DEFAULT NULL)
RETURNS TABLE (outcome text)
LANGUAGE sql STABLE AS $$
    SELECT * FROM @extschema@.ff_pause_lane_body($1, $2)
$$;

-- Resuming a lane wakes its sleeping workers (ff_await_lane) in the resuming transaction.
CREATE FUNCTION ff_resume_lane_body(p_lane_id text) RETURNS text
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = @extschema@, pg_temp AS $$
DECLARE
    now_ms bigint := ff_now_ms();
BEGIN
    p_lane_id := ff_required(p_lane_id, 'lane_id');
    p_lane_id := ff_check_lane_id(p_lane_id);
    DELETE FROM ff_lane_pause WHERE lane_id = p_lane_id;
    IF NOT FOUND THEN
        RETURN 'not_paused';
    END IF;
    INSERT INTO ff_operator_event (lane_id, occurred_at_ms, action, actor) VALUES (p_lane_id, now_ms, 'lane_resumed', session_user);
    PERFORM ff_lanes_changed();
    PERFORM ff_wake('{ff_operator_event}', ARRAY[p_lane_id]);
    RETURN 'resumed';
END
$$;
COMMENT ON FUNCTION ff_resume_lane_body(text) IS 'ff_resume_lane''s body (internal).';

CREATE FUNCTION ff_resume_lane(lane_id text)
RETURNS TABLE (outcome text)
LANGUAGE sql STABLE AS $$
    SELECT * FROM @extschema@.ff_resume_lane_body($1)
$$;

-- Every lane with unfinished work or a pause: whether it is paused, how many executions it could hand
-- out now (depth), how long the oldest of them has waited since it became claimable (its last state
-- change), how many are delayed or blocked, and how many are leased. One pass over the unfinished
-- executions (lifecycle runnable and active), grouped by lane: an operator's view, not a hot path.
CREATE FUNCTION ff_list_lanes()
RETURNS TABLE (lane_id text, state text, depth bigint, oldest_eligible_age_ms bigint, not_eligible bigint, active bigint,
    paused_at_ms bigint, pause_reason text)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = @extschema@, pg_temp AS $$
    WITH counts AS (
        SELECT e.lane_id,
               count(*) FILTER (WHERE e.lifecycle_phase = 'runnable' AND e.eligibility_state = 'eligible_now') AS depth,
               min(e.updated_at_ms) FILTER (WHERE e.lifecycle_phase = 'runnable' AND e.eligibility_state = 'eligible_now') AS oldest,
               count(*) FILTER (WHERE e.lifecycle_phase = 'runnable' AND e.eligibility_state <> 'eligible_now') AS not_eligible,
               count(*) FILTER (WHERE e.lifecycle_phase = 'active') AS active
        FROM ff_exec_core e WHERE e.lifecycle_phase IN ('runnable', 'active') GROUP BY e.lane_id)
    SELECT coalesce(c.lane_id, p.lane_id), CASE WHEN p.lane_id IS NULL THEN 'open' ELSE 'paused' END,
           coalesce(c.depth, 0), ff_now_ms() - c.oldest, coalesce(c.not_eligible, 0), coalesce(c.active, 0),
           p.paused_at_ms, p.reason
    FROM counts c FULL JOIN ff_lane_pause p ON p.lane_id = c.lane_id
    ORDER BY 1
$$;


-- 0.1.0 stored flow_id and did nothing with it. Each flow id in use becomes a flow (created when its
-- first execution was), and its executions in the flow's partition (every one whose id was minted,
-- not given) its members, with no parent and no upstreams. An execution given an id in another
-- partition keeps its flow_id as a label and is not a member: members share their flow's partition.
INSERT INTO ff_flow (partition_key, flow_id, created_at_ms)
SELECT ff_partition_for('', flow_id), flow_id, min(created_at_ms) FROM ff_exec_core WHERE flow_id IS NOT NULL GROUP BY flow_id;
INSERT INTO ff_flow_member (partition_key, execution_id, flow_id, joined_at_ms)
SELECT e.partition_key, e.execution_id, e.flow_id, e.created_at_ms FROM ff_exec_core e
WHERE e.flow_id IS NOT NULL AND e.partition_key = ff_partition_for('', e.flow_id);

-- ff_engine, both editions: where a claim starts its scan of a lane's priority.
--
-- A claim walks ff_exec_core_claimable (lane's hash, priority desc, queue_seq) from the head of each
-- priority.
-- Every claimed row leaves an index entry behind that only VACUUM removes, and VACUUM cannot while any
-- snapshot older than the claim is held (a report, pg_dump, a client idle in a transaction): each claim
-- then walks every row claimed since that snapshot began. The claim start of a (lane, priority) is a
-- lower bound on the queue_seq of its claimable rows, so a claim's index scan begins there and skips
-- the dead entries below it.
--
-- It is kept in a sequence, which keeps no MVCC history (setval is not transactional): a table row
-- moved by claims would itself become the chain of dead versions. A pool of sequences is created with
-- the extension; ff_claim_start maps a (lane, priority) to its slot when its first claimable row
-- appears (insert-only; when the pool is used up a pair gets no slot and its claims scan from the
-- priority's first entry, as without a hint).
--
-- Who moves it, and why no claimable row is ever left below it:
-- * Raised only by ff_claim_start_advance, to the first claimable row a fresh statement sees from the
--   current start (rows other claimers hold locked count as claimable: their claim may roll back).
--   It runs while holding the slot's gate exclusively, tried without waiting.
-- * Lowered by every transition that makes a row claimable (retry, resume, reclaim, revoke, replay,
--   promotion, release, dependency release, priority change: the Rust edition's row trigger,
--   sql/claim_start_triggers.sql; in the SQL edition the transition itself, sql/edition/claim_starts.sql),
--   which take the slot's gate shared until their transaction ends. So a raise never runs while a
--   transition is uncommitted, and a raise's statement sees every transition that committed before it.
-- * A row inserted claimable (a create) gets a queue_seq above every start already set, except when
--   its transaction commits after a raise passed its number (a producer that holds its transaction):
--   ff_claim_start_verify lowers the start to the true head, from ff_tick and from a claim that
--   finds a priority empty (at most once a second per slot). Such a row waits at most until then.
-- * The verifier scans from its slot's floor, not from the priority's first entry (which, while a
--   snapshot is held, is every entry claimed since it began). Below the floor every create has ended
--   and a verifier saw its row, so only transitions can make a row claimable there, and they lower
--   the start themselves. Floors rise to the settled mark: a mark is the queue_seq high-water taken
--   with the xmax of a snapshot taken after it (one for the whole database, at most once per verifier
--   interval); it settles once the xmin of a later snapshot passed that xmax (every transaction in
--   progress when it was taken has ended). A create takes its transaction id before its queue_seq
--   (executions/insert_execution.sql), so whoever held a number at or below a settled mark has ended,
--   and a slot's verifier that scans from its floor after the mark settled sees every such row; then
--   its floor rises past the mark. A writer open for long holds the marks back, not the verifier.
-- Registration never waits for another transaction: two that register the same (lane, priority) at
-- once each insert a row with a slot of its own, and from then on the lower slot is the one claims,
-- transitions and raises use (the other stays unused; until the first commits, the second is used,
-- and the first's start is still at or below its rows).
-- Sequences are WAL-logged: a start survives a crash as it was set (and the verifier corrects it).

DO $pool$
BEGIN
    FOR i IN 1..128 LOOP
        EXECUTE format('CREATE SEQUENCE ff_claim_start_%s AS bigint MINVALUE 0 START 0', i);
        EXECUTE format('COMMENT ON SEQUENCE ff_claim_start_%s IS %L', i,
            'Claim start of the (lane, priority) in ff_claim_start with this slot: no claimable row is below it.');
        EXECUTE format('CREATE SEQUENCE ff_claim_verified_%s AS bigint MINVALUE 0 START 0', i);
        EXECUTE format('COMMENT ON SEQUENCE ff_claim_verified_%s IS %L', i,
            'When the claim start of this slot was last verified (ms since the epoch).');
        EXECUTE format('CREATE SEQUENCE ff_claim_floor_%s AS bigint MINVALUE 0 START 0', i);
        EXECUTE format('COMMENT ON SEQUENCE ff_claim_floor_%s IS %L', i,
            'Where the verifier of this claim-start slot scans from: below it every create ended and was verified.');
    END LOOP;
END
$pool$;

CREATE SEQUENCE ff_claim_mark_seq AS bigint MINVALUE 0 START 0;
COMMENT ON SEQUENCE ff_claim_mark_seq IS 'The queue_seq high-water when the claim-start mark was taken.';
CREATE SEQUENCE ff_claim_mark_xid AS bigint MINVALUE 0 START 0;
COMMENT ON SEQUENCE ff_claim_mark_xid IS
    'The transaction id horizon (ff_xid_horizon) taken after the claim-start mark''s high-water: the mark settles when every id below it ended.';
CREATE SEQUENCE ff_claim_mark_at AS bigint MINVALUE 0 START 0;
COMMENT ON SEQUENCE ff_claim_mark_at IS 'When the claim-start mark was last checked (ms since the epoch).';
CREATE SEQUENCE ff_claim_settled_seq AS bigint MINVALUE 0 START 0;
COMMENT ON SEQUENCE ff_claim_settled_seq IS
    'The high-water of the last settled claim-start mark: every create holding a number up to it has ended.';
CREATE SEQUENCE ff_claim_start_slot AS integer MINVALUE 1 START 1;
COMMENT ON SEQUENCE ff_claim_start_slot IS 'Hands out claim-start slots (1 to 128), never twice.';
CREATE SEQUENCE ff_claim_start_generation AS bigint MINVALUE 0 START 0;
COMMENT ON SEQUENCE ff_claim_start_generation IS
    'Moves on every registration in ff_claim_start: a session that keeps a lane''s priorities reads them again.';

CREATE TABLE ff_claim_start (
    lane_id      text     NOT NULL,
    priority     integer  NOT NULL,
    slot         integer  UNIQUE,
    start_seq    regclass,
    verified_seq regclass
);
COMMENT ON TABLE ff_claim_start IS
    'The priorities of each lane that ever had claimable work, which claims visit highest first, and the '
    'slot of sequences holding where their scan starts (NULL: the pool is used up, the scan starts at the '
    'priority''s first entry). Written once per (lane, priority) (twice when two transactions register it '
    'at once: the lower slot is the one used), never updated.';
CREATE INDEX ff_claim_start_lane ON ff_claim_start (lane_id, priority DESC, slot);
COMMENT ON INDEX ff_claim_start_lane IS 'A lane''s priorities in claim order, each with its slot first.';

-- The gate of a slot (advisory lock, class 1717985657): transitions take it shared until they end,
-- a raise exclusively for its few statements. The slot's mutex (class 1717985658) orders lowerings.
CREATE FUNCTION ff_claim_start_register(p_lane_id text, p_priority integer) RETURNS void
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    next_slot integer := nextval('ff_claim_start_slot');
BEGIN
    IF next_slot > 128 THEN
        next_slot := NULL;
    END IF;
    INSERT INTO ff_claim_start VALUES (p_lane_id, p_priority, next_slot, to_regclass('ff_claim_start_' || next_slot),
        to_regclass('ff_claim_verified_' || next_slot));
    PERFORM nextval('ff_claim_start_generation');
END
$$;
COMMENT ON FUNCTION ff_claim_start_register(text, integer) IS
    'Give a (lane, priority) its claim-start slot (internal).';

-- The start of a registered slot goes down to p_queue_seq (under the slot's mutex: lowerings do not
-- overwrite each other). Whether it did.
CREATE FUNCTION ff_claim_start_lower_slot(r ff_claim_start, p_queue_seq bigint) RETURNS boolean
LANGUAGE plpgsql VOLATILE AS $$
BEGIN
    IF p_queue_seq IS NULL OR coalesce(pg_sequence_last_value(r.start_seq), 0) <= p_queue_seq THEN
        RETURN false;
    END IF;
    PERFORM pg_advisory_lock(1717985658, r.slot);
    IF coalesce(pg_sequence_last_value(r.start_seq), 0) > p_queue_seq THEN
        PERFORM setval(r.start_seq, p_queue_seq, true);
    END IF;
    PERFORM pg_advisory_unlock(1717985658, r.slot);
    RETURN true;
END
$$;
COMMENT ON FUNCTION ff_claim_start_lower_slot(ff_claim_start, bigint) IS
    'Lower a slot''s claim start to a queue_seq (internal).';

-- The registration of a (lane, priority) that claims use: its lowest slot (NULL: beyond the pool); a
-- row of NULLs when the pair is not registered.
-- PL/pgSQL rather than SQL: PostgreSQL cannot inline the look-up, and would parse and plan a SQL
-- function's body again in every transaction that calls it; PL/pgSQL keeps its plan for the session.
CREATE FUNCTION ff_claim_start_slot_of(p_lane_id text, p_priority integer) RETURNS ff_claim_start
LANGUAGE plpgsql STABLE AS $$
DECLARE
    r ff_claim_start;
BEGIN
    SELECT s.* INTO r FROM ff_claim_start s WHERE s.lane_id = p_lane_id AND s.priority = p_priority
    ORDER BY s.slot LIMIT 1;
    RETURN r;
END
$$;
COMMENT ON FUNCTION ff_claim_start_slot_of(text, integer) IS
    'The registration of a (lane, priority) that claims use, its lowest slot (internal).';

-- A row became claimable at p_queue_seq: the start of its (lane, priority) goes down to it, and its
-- gate is held shared until the transaction ends (no raise meanwhile). The slot is read here, not
-- through ff_claim_start_slot_of, and ff_claim_start_lower_slot is called only when the start is above
-- the row: a transition pays one statement and no nested call when nothing is to lower.
CREATE FUNCTION ff_claim_start_lower(p_lane_id text, p_priority integer, p_queue_seq bigint) RETURNS void
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    r ff_claim_start;
    above boolean;
BEGIN
    -- One statement finds the slot, takes its gate (NULL without a slot: no lock) and then reads its
    -- start (AND evaluates left to right and stops at the first false).
    SELECT s.*, pg_advisory_xact_lock_shared(1717985657, s.slot) IS NOT NULL
                AND coalesce(pg_sequence_last_value(s.start_seq), 0) > p_queue_seq
    INTO r.lane_id, r.priority, r.slot, r.start_seq, r.verified_seq, above
    FROM ff_claim_start s WHERE s.lane_id = p_lane_id AND s.priority = p_priority
    ORDER BY s.slot LIMIT 1;
    IF NOT FOUND THEN
        PERFORM ff_claim_start_register(p_lane_id, p_priority);
    ELSIF above THEN
        PERFORM ff_claim_start_lower_slot(r, p_queue_seq);
    END IF;
END
$$;
COMMENT ON FUNCTION ff_claim_start_lower(text, integer, bigint) IS
    'Lower the claim start of a (lane, priority) to a row that became claimable (internal).';

-- Rows (lane, priority, queue_seq, zipped arrays) became claimable in one statement: each (lane,
-- priority) goes down to its oldest, in a fixed order. For the statements of flows and lanes that
-- make rows claimable: the SQL edition has no trigger and lowers here; in the Rust edition the row
-- trigger already did, so this finds every start at or below its rows and lowers nothing.
CREATE FUNCTION ff_claim_start_lower_rows(p_lane_ids text[], p_priorities integer[], p_queue_seqs bigint[]) RETURNS void
LANGUAGE plpgsql VOLATILE AS $$
BEGIN
    IF p_lane_ids IS NOT NULL THEN
        PERFORM ff_claim_start_lower(l, p, min(s))
        FROM unnest(p_lane_ids, p_priorities, p_queue_seqs) AS u(l, p, s)
        GROUP BY l, p ORDER BY l, p;
    END IF;
END
$$;
COMMENT ON FUNCTION ff_claim_start_lower_rows(text[], integer[], bigint[]) IS
    'Lower the claim starts of rows one statement made claimable (internal).';

-- The claim start of a (lane, priority) goes up to the first row a fresh statement sees claimable from
-- p_from, unless a transition is under way on its slot (the gate
-- is taken; a later claim tries again) or the start moved since the claimer read it (p_from).
CREATE FUNCTION ff_claim_start_advance(p_lane_id text, p_priority integer, p_from bigint) RETURNS void
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    r ff_claim_start;
BEGIN
    r := ff_claim_start_slot_of(p_lane_id, p_priority);
    IF r.slot IS NULL OR NOT pg_try_advisory_lock(1717985657, r.slot) THEN
        RETURN;
    END IF;
    IF coalesce(pg_sequence_last_value(r.start_seq), 0) = p_from THEN
        -- None seen (cannot be: the claimer's own rows count): the start stays.
        PERFORM setval(r.start_seq, coalesce(ff_claim_head(p_lane_id, p_priority, p_from), p_from), true);
    END IF;
    PERFORM pg_advisory_unlock(1717985657, r.slot);
END
$$;
COMMENT ON FUNCTION ff_claim_start_advance(text, integer, bigint) IS
    'Raise the claim start of a (lane, priority) to its first claimable row (internal).';

-- The first claimable row of a (lane, priority) at or after p_from, locked by a claimer or not; NULL
-- when there is none. A fresh statement (its own snapshot); PL/pgSQL keeps its plan for the session.
CREATE FUNCTION ff_claim_head(p_lane_id text, p_priority integer, p_from bigint) RETURNS bigint
LANGUAGE plpgsql VOLATILE AS $$
BEGIN
    RETURN (SELECT e.queue_seq FROM ff_exec_core e
            WHERE hashtext(e.lane_id) = hashtext(p_lane_id) AND e.lane_id = p_lane_id AND e.priority = p_priority
              AND e.queue_seq >= p_from
              AND e.lifecycle_phase = 'runnable' AND e.eligibility_state = 'eligible_now'
            ORDER BY e.queue_seq LIMIT 1);
END
$$;
COMMENT ON FUNCTION ff_claim_head(text, integer, bigint) IS
    'The first claimable queue_seq of a (lane, priority) from a number on (internal).';

-- Past every transaction id assigned so far, as far as any session can tell: past the snapshot's xmax
-- (one past the latest *completed* transaction) and past every transaction in progress, prepared ones
-- included (pg_stat_activity's backend_xid is readable by every role; its copy is refreshed first, as
-- a transaction keeps the first it read). The xmax alone is not: a transaction in progress can hold a
-- larger id than any completed one. Never less than an earlier call's result on the same cluster.
CREATE FUNCTION ff_xid_horizon(p_snapshot pg_snapshot) RETURNS bigint
LANGUAGE sql VOLATILE AS $$
    SELECT pg_stat_clear_snapshot();
    -- Each 32-bit id as its signed distance from the xmax's low 32 bits (in-progress ids are within 2^31).
    SELECT x.xmax + greatest(0, max(((a.xid::text::bigint - x.xmax % 4294967296 + 6442450944) % 4294967296) - 2147483647))
    FROM (SELECT pg_snapshot_xmax(p_snapshot)::text::bigint AS xmax) x
    LEFT JOIN (SELECT backend_xid AS xid FROM pg_catalog.pg_stat_activity WHERE backend_xid IS NOT NULL
               UNION ALL SELECT transaction FROM pg_catalog.pg_prepared_xacts) a ON true
    GROUP BY x.xmax;
$$;
COMMENT ON FUNCTION ff_xid_horizon(pg_snapshot) IS
    'Past every transaction id assigned so far: the snapshot''s xmax and every transaction in progress (internal).';

-- Check the claim-start mark, at most once per p_min_interval_ms and by one session at a time (class
-- 1717985659, to the end of the transaction): once settled, its high-water becomes the settled one
-- and a new mark is taken (the high-water, then in a later statement, so a later snapshot, the id
-- horizon: ff_xid_horizon). A mark from beyond the current horizon (the database was restored
-- elsewhere) counts as settled.
-- Returns the settled high-water; NULL outside READ COMMITTED, where no floor may rise (a
-- transaction snapshot is not a later one).
CREATE FUNCTION ff_claim_mark_check(p_now_ms bigint, p_min_interval_ms bigint) RETURNS bigint
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    settled_seq bigint := coalesce(pg_sequence_last_value('ff_claim_settled_seq'), 0);
    mark_xid bigint;
    snapshot pg_snapshot;
BEGIN
    IF current_setting('transaction_isolation') <> 'read committed' THEN
        RETURN NULL;
    END IF;
    IF coalesce(pg_sequence_last_value('ff_claim_mark_at'), 0) > p_now_ms - p_min_interval_ms
       OR NOT pg_try_advisory_xact_lock(1717985659, 0) THEN
        RETURN settled_seq;
    END IF;
    PERFORM setval('ff_claim_mark_at', greatest(p_now_ms, 0), true);
    mark_xid := coalesce(pg_sequence_last_value('ff_claim_mark_xid'), 0);
    snapshot := pg_current_snapshot();
    IF pg_snapshot_xmin(snapshot)::text::bigint >= mark_xid OR ff_xid_horizon(snapshot) < mark_xid THEN
        settled_seq := greatest(settled_seq, coalesce(pg_sequence_last_value('ff_claim_mark_seq'), 0));
        PERFORM setval('ff_claim_settled_seq', settled_seq, true);
        PERFORM setval('ff_claim_mark_seq', coalesce(pg_sequence_last_value(pg_get_serial_sequence('ff_exec_core', 'queue_seq')::regclass), 0), true);
        PERFORM setval('ff_claim_mark_xid', ff_xid_horizon(pg_current_snapshot()), true);
    END IF;
    RETURN settled_seq;
END
$$;
COMMENT ON FUNCTION ff_claim_mark_check(bigint, bigint) IS
    'Settle the claim-start mark and take a new one, at most once per interval (internal).';

-- Verify one slot: lower its start to the first claimable row from its floor, then raise the floor
-- past p_settled_seq (the high-water of a mark that settled before the scan; NULL: it stays).
-- Whether the start was lowered.
CREATE FUNCTION ff_claim_start_verify_slot(r ff_claim_start, p_settled_seq bigint) RETURNS boolean
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    floor_seq regclass := to_regclass('ff_claim_floor_' || r.slot);
    scan_from bigint := coalesce(pg_sequence_last_value(floor_seq), 0);
    lowered boolean := ff_claim_start_lower_slot(r, ff_claim_head(r.lane_id, r.priority, scan_from));
BEGIN
    IF p_settled_seq >= scan_from THEN
        PERFORM setval(floor_seq, p_settled_seq + 1, true);
    END IF;
    RETURN lowered;
END
$$;
COMMENT ON FUNCTION ff_claim_start_verify_slot(ff_claim_start, bigint) IS
    'Lower a slot''s claim start to its true head, scanning from its floor (internal).';

-- Lower the starts of a lane's priority (every priority: NULL; every lane: NULL) to their true heads,
-- scanning each from its floor; it never raises one (that is ff_claim_start_advance's, under the
-- gate), so it takes no gate and holds up no transition. From ff_tick, and from a claim that found a
-- priority empty, when the slot was not verified within p_min_interval_ms. Returns how many starts it
-- lowered.
CREATE FUNCTION ff_claim_start_verify(p_lane_id text, p_priority integer, p_now_ms bigint, p_min_interval_ms bigint)
RETURNS integer
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    settled_seq bigint;
    checked boolean := false;
    r ff_claim_start;
    lowered integer := 0;
BEGIN
    FOR r IN SELECT * FROM ff_claim_start s
             WHERE (p_lane_id IS NULL OR s.lane_id = p_lane_id) AND (p_priority IS NULL OR s.priority = p_priority)
               AND s.slot IS NOT NULL
             ORDER BY s.slot LOOP
        CONTINUE WHEN coalesce(pg_sequence_last_value(r.verified_seq), 0) > p_now_ms - p_min_interval_ms;
        PERFORM setval(r.verified_seq, p_now_ms, true);
        IF NOT checked THEN
            -- Only when a slot is due: a claim that finds a priority empty calls this on every claim.
            settled_seq := ff_claim_mark_check(p_now_ms, p_min_interval_ms);
            checked := true;
        END IF;
        IF ff_claim_start_verify_slot(r, settled_seq) THEN
            lowered := lowered + 1;
        END IF;
    END LOOP;
    RETURN lowered;
END
$$;
COMMENT ON FUNCTION ff_claim_start_verify(text, integer, bigint, bigint) IS
    'Lower claim starts to their true heads, at most once per interval per slot (internal).';

-- After a claim's scan of one priority from p_start (claims/start_after_scan.sql): the scan admitted
-- a first row a stride (16 numbers) past the start: move the start up; it admitted none: verify the
-- start (at most once a second). An empty scan never moves a start up: the numbers past the last
-- visible row may belong to creates not committed yet, which a worker woken by their commit must find.
CREATE FUNCTION ff_claim_start_after_scan(p_lane_id text, p_priority integer, p_start bigint, p_found boolean,
    p_now_ms bigint) RETURNS void
LANGUAGE plpgsql VOLATILE AS $$
BEGIN
    IF p_found THEN
        PERFORM ff_claim_start_advance(p_lane_id, p_priority, p_start);
    ELSE
        PERFORM ff_claim_start_verify(p_lane_id, p_priority, p_now_ms, 1000);
    END IF;
END
$$;
COMMENT ON FUNCTION ff_claim_start_after_scan(text, integer, bigint, boolean, bigint) IS
    'Move or verify a claim start after a claim scanned its priority (internal).';

-- ff_engine, both editions: where the time-ordered scanners start their index scans.
--
-- Lease expiry (ff_exec_core_leases), delayed promotion (ff_exec_core_delayed), suspension timeouts
-- (ff_suspension_timeout) and deadlines (ff_deadline_due) each walk an index from its earliest key up
-- to now. Every row moved out of the index (a lease ended, a promotion, a closed suspension, a deleted
-- deadline) leaves an entry behind that only VACUUM removes, and VACUUM cannot while a snapshot older
-- than the change is held: each run then walks every entry moved out since that snapshot began. A scan
-- start is a lower bound on the keys of the rows still due: a run scans from it and skips the dead
-- entries below.
--
-- Kept in a sequence per scanner (setval is not transactional: no MVCC history). Who moves it:
-- * An unfiltered run that processed every due row it found (fewer than max_rows) moves it up to its
--   now minus one second (ff_scan_done). Every row visible to that run with a key up to then was
--   processed; a row written by a transaction still open has a key from that transaction's clock (an
--   expiry, a delay, a timeout: a time plus a duration), so only a transaction open for more than a
--   second can commit one below the start.
-- * Every ten seconds a run scans from the earliest key instead (ff_scan_from): the verifier. It
--   processes what the start passed: rows of transactions open longer than a second, a row another
--   session held locked when the start moved and then left due (its change rolled back), a run that
--   rolled back after moving the start, a timeout or deadline given in the past. Such a row is
--   processed at most ten seconds late. A filtered run (namespace, tag) does not move the start and
--   does not count as the verifier: while one is due, it scans from the earliest key too.
-- Sequences are WAL-logged: a start survives a crash as it was set.

DO $seqs$
DECLARE
    s text;
BEGIN
    FOREACH s IN ARRAY ARRAY['expire_leases', 'promote_delayed', 'expire_suspensions', 'expire_deadlines'] LOOP
        EXECUTE format('CREATE SEQUENCE ff_scan_start_%s AS bigint MINVALUE -9223372036854775808 START -9223372036854775808', s);
        EXECUTE format('COMMENT ON SEQUENCE ff_scan_start_%s IS %L', s,
            'Scan start of the scanner ' || s || ': no due row has a key below it but the verifier''s (ms since the epoch).');
        EXECUTE format('CREATE SEQUENCE ff_scan_verified_%s AS bigint MINVALUE 0 START 0', s);
        EXECUTE format('COMMENT ON SEQUENCE ff_scan_verified_%s IS %L', s,
            'When the scanner ' || s || ' last scanned from its earliest key (ms since the epoch).');
    END LOOP;
END
$seqs$;

-- The sequences of a scanner: its start and when it was last verified. WF001 for another name.
CREATE FUNCTION ff_scan_sequences(p_scanner text, OUT start_seq regclass, OUT verified_seq regclass)
LANGUAGE plpgsql STABLE AS $$
BEGIN
    CASE p_scanner
        WHEN 'expire_leases' THEN
            start_seq := 'ff_scan_start_expire_leases'::regclass;
            verified_seq := 'ff_scan_verified_expire_leases'::regclass;
        WHEN 'promote_delayed' THEN
            start_seq := 'ff_scan_start_promote_delayed'::regclass;
            verified_seq := 'ff_scan_verified_promote_delayed'::regclass;
        WHEN 'expire_suspensions' THEN
            start_seq := 'ff_scan_start_expire_suspensions'::regclass;
            verified_seq := 'ff_scan_verified_expire_suspensions'::regclass;
        WHEN 'expire_deadlines' THEN
            start_seq := 'ff_scan_start_expire_deadlines'::regclass;
            verified_seq := 'ff_scan_verified_expire_deadlines'::regclass;
        ELSE
            PERFORM ff_invalid('invalid_scanner', 'no scan start for this scanner');
    END CASE;
END
$$;
COMMENT ON FUNCTION ff_scan_sequences(text) IS 'The scan-start sequences of a scanner (internal).';

-- The key a run of p_scanner at p_now_ms scans from: its start, or the earliest key when the verifier
-- is due (every ten seconds; an unfiltered run records that it verified).
CREATE FUNCTION ff_scan_from(p_scanner text, p_now_ms bigint, p_unfiltered boolean) RETURNS bigint
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    s record := ff_scan_sequences(p_scanner);
BEGIN
    IF coalesce(pg_sequence_last_value(s.verified_seq), 0) <= p_now_ms - 10000 THEN
        IF p_unfiltered THEN
            PERFORM setval(s.verified_seq, greatest(p_now_ms, 0), true);
        END IF;
        RETURN -9223372036854775808;
    END IF;
    RETURN coalesce(pg_sequence_last_value(s.start_seq), -9223372036854775808);
END
$$;
COMMENT ON FUNCTION ff_scan_from(text, bigint, boolean) IS 'Where a scanner''s run scans from (internal).';

-- After an unfiltered run of p_scanner at p_now_ms that processed every due row it found: its start
-- moves up to one second before p_now_ms (never down: a concurrent run may have moved it further).
CREATE FUNCTION ff_scan_done(p_scanner text, p_now_ms bigint) RETURNS void
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    s record := ff_scan_sequences(p_scanner);
BEGIN
    IF coalesce(pg_sequence_last_value(s.start_seq), -9223372036854775808) < p_now_ms - 1000 THEN
        PERFORM setval(s.start_seq, p_now_ms - 1000, true);
    END IF;
END
$$;
COMMENT ON FUNCTION ff_scan_done(text, bigint) IS 'Move a scanner''s start up after a complete run (internal).';

-- ff_engine, Rust edition: the triggers that keep the claim starts (sql/shared/claim_start.sql) below
-- every claimable row. One C function (src/store/claim_starts.rs) fired BEFORE the write, without a
-- WHEN clause: PostgreSQL parses a WHEN clause again for every statement that updates a row, which cost
-- more than a call that returns at once when the row does not become claimable. (The SQL edition
-- keeps them without triggers: sql/edition/claim_starts.sql.)
COMMENT ON FUNCTION ff_claim_start_row() IS
    'Register a created claimable row''s (lane, priority); lower the claim start to a row that becomes claimable (internal).';
CREATE TRIGGER ff_claim_start_inserted BEFORE INSERT ON ff_exec_core FOR EACH ROW
    EXECUTE FUNCTION ff_claim_start_row();
COMMENT ON TRIGGER ff_claim_start_inserted ON ff_exec_core IS
    'A (lane, priority) that gets its first claimable row is registered for claims.';
CREATE TRIGGER ff_claim_start_became_claimable BEFORE UPDATE OF eligibility_state, priority ON ff_exec_core FOR EACH ROW
    EXECUTE FUNCTION ff_claim_start_row();
COMMENT ON TRIGGER ff_claim_start_became_claimable ON ff_exec_core IS
    'A row that becomes claimable (or changes priority) lowers its (lane, priority)''s claim start to it.';

-- Upgrading from 0.1.0: every (lane, priority) that already has claimable rows gets its claim-start
-- slot (its start at 0, the first entry; claims and the verifier move it from there).
SELECT ff_claim_start_register(k.lane_id, k.priority)
FROM (SELECT DISTINCT e.lane_id, e.priority FROM ff_exec_core e
      WHERE e.lifecycle_phase = 'runnable' AND e.eligibility_state = 'eligible_now') k;

-- Resume-condition builders: small immutable functions that return the exact JSON ff_suspend takes,
-- so nobody writes {"Composite":{"kind":"AllOf","members":[...]}} by hand. Each assembles the JSON and
-- passes it through ff_cond_check, the validator ff_suspend runs, so a bad argument is the same WF001
-- (with the same DETAIL code) that ff_suspend would give. A node matches signals by signal_name or by
-- correlation_id (the one a signal was delivered with), not both (the validator's matcher_conflict);
-- neither given, it matches any signal.

CREATE FUNCTION ff_cond_single(waitpoint_key text, signal_name text DEFAULT NULL, correlation_id text DEFAULT NULL) RETURNS jsonb
LANGUAGE sql IMMUTABLE PARALLEL SAFE SET search_path = @extschema@, pg_temp
AS $$
    SELECT ff_cond_check(jsonb_build_object('Single', jsonb_build_object(
        'waitpoint_key', waitpoint_key,
        'matcher', CASE WHEN signal_name IS NULL AND correlation_id IS NULL THEN to_jsonb('Wildcard'::text)
                        ELSE jsonb_strip_nulls(jsonb_build_object('ByName', signal_name, 'ByCorrelation', correlation_id)) END)))
$$;
COMMENT ON FUNCTION ff_cond_single(text, text, text) IS
    'Resume condition: one signal (named signal_name, or with correlation_id; any when both NULL) on the waitpoint waitpoint_key.';

CREATE FUNCTION ff_cond_all(VARIADIC members jsonb[]) RETURNS jsonb
LANGUAGE sql IMMUTABLE PARALLEL SAFE SET search_path = @extschema@, pg_temp
AS $$
    SELECT ff_cond_check(jsonb_build_object('Composite', jsonb_build_object(
        'kind', 'AllOf', 'members', coalesce(to_jsonb(members), '[]'::jsonb))))
$$;
COMMENT ON FUNCTION ff_cond_all(jsonb[]) IS
    'Resume condition: every member condition satisfied (AllOf); members are conditions, e.g. from ff_cond_single.';

CREATE FUNCTION ff_cond_count(n integer, count_kind text, waitpoint_keys text[], signal_name text DEFAULT NULL,
    correlation_id text DEFAULT NULL)
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
        'matcher', CASE WHEN signal_name IS NOT NULL OR correlation_id IS NOT NULL
                        THEN jsonb_build_object('ByName', signal_name, 'ByCorrelation', correlation_id) END))))
$$;
COMMENT ON FUNCTION ff_cond_count(integer, text, text[], text, text) IS
    'Resume condition: n distinct waitpoints, signals or sources (count_kind: waitpoints, signals, sources or the canonical Distinct* name) among waitpoint_keys, counting signals named signal_name or with correlation_id.';

CREATE FUNCTION ff_cond_any(waitpoint_keys text[], signal_name text DEFAULT NULL, correlation_id text DEFAULT NULL) RETURNS jsonb
LANGUAGE sql IMMUTABLE PARALLEL SAFE SET search_path = @extschema@, pg_temp
AS $$ SELECT ff_cond_count(1, 'waitpoints', waitpoint_keys, signal_name, correlation_id) $$;
COMMENT ON FUNCTION ff_cond_any(text[], text, text) IS
    'Resume condition: a signal on any one of waitpoint_keys (Count 1 of DistinctWaitpoints), named signal_name or with correlation_id when given.';

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

----------------------------------------------------------------------------------------------------
-- ff_engine, both editions: scale-out on Citus (docs/scale-out.md). ff_distribute turns an installed
-- ff_engine on a Citus coordinator into a distributed one: every per-execution table distributed by
-- partition_key and co-located with ff_exec_core, the rarely written tables replicated to every node,
-- and the partition-first forms of the hot calls (`<call>_in(partition_key, …)`) registered so that
-- Citus runs each on the node that holds its partition, in one round trip. Those forms work on one node
-- too: they check the partition and call the plain function. Event tables, claim starts and waiter
-- announcements stay on each node. The function names Citus's functions in PL/pgSQL, which resolves
-- them only when it runs: without Citus it raises WF035, and nothing is built from its arguments.

-- Whether this database's ff_exec_core is distributed by Citus.
CREATE FUNCTION ff_distributed() RETURNS boolean
LANGUAGE plpgsql STABLE SET search_path = @extschema@, pg_temp AS $$
BEGIN
    IF to_regclass('pg_catalog.pg_dist_partition') IS NULL THEN
        RETURN false;
    END IF;
    RETURN EXISTS (SELECT 1 FROM pg_catalog.pg_dist_partition WHERE logicalrelid = 'ff_exec_core'::regclass);
END
$$;
COMMENT ON FUNCTION ff_distributed() IS 'Whether ff_exec_core is distributed by Citus (internal).';

-- WF035 not_delegated when the partition's shard is on another node: a partition-first call that
-- Citus did not delegate (an argument that is an expression rather than a constant or a parameter,
-- or a call inside a transaction block or another function) would otherwise run here, reaching the
-- shard statement by statement over connections and writing its events and wake-ups on this node
-- instead of the partition's. Nothing on one node.
CREATE FUNCTION ff_check_partition_here(p_partition_key smallint) RETURNS void
LANGUAGE plpgsql STABLE SET search_path = @extschema@, pg_temp AS $$
BEGIN
    IF ff_distributed() THEN
        IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_dist_placement p JOIN pg_catalog.pg_dist_local_group g USING (groupid)
                       WHERE p.shardid = get_shard_id_for_distribution_column('@extschema@.ff_exec_core', p_partition_key)) THEN
            RAISE EXCEPTION 'feature_unavailable: partition % is on another node, and Citus ran this call here', p_partition_key
                USING ERRCODE = 'WF035', DETAIL = 'not_delegated',
                      HINT = 'Call a partition-first function at the top level of its own statement with constant or parameter arguments (docs/scale-out.md).';
        END IF;
    END IF;
END
$$;
COMMENT ON FUNCTION ff_check_partition_here(smallint) IS
    'WF035 not_delegated when the partition''s shard is not on this node of a distributed install (internal).';

-- The partitions of each shard of ff_exec_core placed on this node, one array per shard, for
-- ff_tick_node; one NULL (every partition) when this database is not distributed.
CREATE FUNCTION ff_node_partitions() RETURNS SETOF smallint[]
LANGUAGE plpgsql STABLE SET search_path = @extschema@, pg_temp AS $$
BEGIN
    IF NOT ff_distributed() THEN
        RETURN NEXT NULL::smallint[];
        RETURN;
    END IF;
    RETURN QUERY
        SELECT array_agg(s.partition ORDER BY s.partition)
        FROM (SELECT p::smallint AS partition,
                     get_shard_id_for_distribution_column('@extschema@.ff_exec_core', p::smallint) AS shardid
              FROM generate_series(0, 255) p) s
        WHERE EXISTS (SELECT 1 FROM pg_catalog.pg_dist_placement pl JOIN pg_catalog.pg_dist_local_group g USING (groupid)
                      WHERE pl.shardid = s.shardid)
        GROUP BY s.shardid
        ORDER BY s.shardid;
END
$$;
COMMENT ON FUNCTION ff_node_partitions() IS
    'The partitions of each ff_exec_core shard on this node, or one NULL when not distributed (internal).';

-- The execution id, when its {fp:N} is the given partition; WF001 partition_mismatch otherwise.
CREATE FUNCTION ff_in_partition(p_partition_key smallint, p_execution_id text) RETURNS text
LANGUAGE plpgsql STABLE SET search_path = @extschema@, pg_temp AS $$
BEGIN
    IF (ff_parse_execution_id(ff_required(p_execution_id, 'execution_id'))).partition_key
       IS DISTINCT FROM ff_required(p_partition_key, 'partition_key') THEN
        PERFORM ff_invalid('partition_mismatch', 'partition_key must be the partition of execution_id');
    END IF;
    PERFORM ff_check_partition_here(p_partition_key);
    RETURN p_execution_id;
END
$$;
COMMENT ON FUNCTION ff_in_partition(smallint, text) IS
    'The execution id if it is in the given partition, else WF001 partition_mismatch (internal).';

-- The tables ff_distribute distributes by partition_key, co-located with ff_exec_core.
CREATE FUNCTION ff_distributed_tables() RETURNS text[]
LANGUAGE sql IMMUTABLE AS $$
    SELECT ARRAY['ff_attempt', 'ff_claim_grant', 'ff_deadline', 'ff_suspension', 'ff_waitpoint', 'ff_signal',
                 'ff_signal_dedup', 'ff_suspend_dedup', 'ff_usage_dedup', 'ff_step', 'ff_stream', 'ff_frame', 'ff_flow',
                 'ff_flow_member', 'ff_flow_dependency', 'ff_quota_admission']
$$;
COMMENT ON FUNCTION ff_distributed_tables() IS
    'The per-execution tables distributed with ff_exec_core (internal).';

-- The tables ff_distribute replicates to every node.
CREATE FUNCTION ff_reference_tables() RETURNS text[]
LANGUAGE sql IMMUTABLE AS $$
    SELECT ARRAY['ff_keystore', 'ff_lane_pause', 'ff_budget', 'ff_budget_usage', 'ff_quota_policy']
$$;
COMMENT ON FUNCTION ff_reference_tables() IS 'The tables ff_distribute replicates to every node (internal).';

-- Whether ff_engine was installed by the SQL edition's standalone script (psql -f) rather than by
-- CREATE EXTENSION: its tables are then no extension's members, which Citus treats differently.
CREATE FUNCTION ff_installed_by_script() RETURNS boolean
LANGUAGE sql STABLE SET search_path = @extschema@, pg_temp AS $$
    SELECT NOT EXISTS (SELECT 1 FROM pg_depend d
                       WHERE d.classid = 'pg_class'::regclass AND d.objid = 'ff_exec_core'::regclass
                         AND d.refclassid = 'pg_extension'::regclass AND d.deptype = 'e')
$$;
COMMENT ON FUNCTION ff_installed_by_script() IS
    'Whether ff_engine''s tables belong to no extension: the standalone script installed it (internal).';

-- The partition-first forms Citus delegates by their first argument.
CREATE FUNCTION ff_delegated_functions() RETURNS text[]
LANGUAGE sql IMMUTABLE AS $$
    SELECT ARRAY['ff_create_execution_in', 'ff_claim_in', 'ff_renew_lease_in', 'ff_complete_in', 'ff_fail_in',
                 'ff_suspend_in', 'ff_deliver_signal_in']
$$;
COMMENT ON FUNCTION ff_delegated_functions() IS 'The partition-first functions ff_distribute delegates (internal).';

-- Distribute ff_engine over the Citus cluster this database is the coordinator of (run once, as a
-- superuser, after CREATE EXTENSION ff_engine and citus_add_node). Idempotent: a second call changes
-- nothing. Returns every table and function it placed and how.
CREATE FUNCTION ff_distribute(shard_count integer DEFAULT 32)
RETURNS TABLE (object text, placement text)
LANGUAGE plpgsql SET search_path = @extschema@, pg_temp AS $$
DECLARE
    t text;
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'citus') THEN
        RAISE EXCEPTION 'feature_unavailable: Citus is not installed in this database'
            USING ERRCODE = 'WF035', DETAIL = 'citus',
                  HINT = 'Add citus to shared_preload_libraries on every node, CREATE EXTENSION citus, add the workers (docs/scale-out.md).';
    END IF;
    IF shard_count IS NULL OR shard_count NOT BETWEEN 1 AND 256 THEN
        PERFORM ff_invalid('invalid_shard_count', 'shard_count must be between 1 and 256');
    END IF;
    PERFORM ff_distribute_nodes();
    PERFORM ff_distribute_script_objects();
    IF ff_installed_by_script() THEN
        -- Citus creates the functions it delegates on the workers (an extension's are there) over the
        -- connections of this transaction, which it may do only when it used one connection per node.
        PERFORM set_config('citus.multi_shard_modify_mode', 'sequential', true);
    END IF;
    IF NOT ff_distributed() THEN
        PERFORM ff_distribute_script_workers();
        PERFORM ff_distribute_tables(shard_count);
    END IF;
    FOREACH t IN ARRAY ff_delegated_functions() LOOP
        PERFORM create_distributed_function(p.oid::regprocedure, 'partition_key', colocate_with => 'ff_exec_core')
        FROM pg_proc p WHERE p.proname = t AND p.pronamespace = '@extschema@'::regnamespace;
    END LOOP;
    RETURN QUERY
        SELECT d.logicalrelid::text, CASE d.partmethod WHEN 'h' THEN 'distributed by partition_key' ELSE 'reference' END
        FROM pg_catalog.pg_dist_partition d JOIN pg_class c ON c.oid = d.logicalrelid
        WHERE c.relnamespace = '@extschema@'::regnamespace
        UNION ALL
        SELECT o.objid::regprocedure::text, 'delegated by partition_key'
        FROM pg_catalog.pg_dist_object o JOIN pg_proc p ON o.classid = 'pg_proc'::regclass AND p.oid = o.objid
        WHERE o.distribution_argument_index IS NOT NULL AND p.pronamespace = '@extschema@'::regnamespace
        ORDER BY 2, 1;
END
$$;
COMMENT ON FUNCTION ff_distribute(integer) IS
    'On a Citus coordinator: distribute ff_engine''s tables by partition and delegate the partition-first calls. WF035 without Citus.';

-- What ff_distribute sets on every node (the commands are constants):
-- * plan_cache_mode = auto on the functions that pin force_generic_plan on one node
--   (sql/finalize.sql says why): Citus plans a statement whose CTEs insert or write a node-local
--   table (the event tables) only once its parameters are bound, and prices the generic plan of
--   such a statement out so that the plan cache keeps custom plans; under force_generic_plan the
--   plan cache never asks.
-- * LOGIN for ff_engine_owner, with no password: Citus connects between nodes, and from a node to
--   itself, as the role running a statement, and the SECURITY DEFINER functions run as the owner.
--   A step of a statement planned in steps (an update reading another step's rows) travels through
--   such a connection. pg_hba.conf decides who may use it (docs/scale-out.md).
CREATE FUNCTION ff_distribute_nodes() RETURNS void
LANGUAGE plpgsql SET search_path = @extschema@, pg_temp AS $$
DECLARE
    failed text;
BEGIN
    SELECT string_agg(r.result, '; ') INTO failed
    FROM run_command_on_all_nodes($cmd$
        SET citus.enable_ddl_propagation = off;
        ALTER ROLE ff_engine_owner LOGIN;
        DO $do$
        DECLARE
            f regprocedure;
        BEGIN
            FOR f IN
                SELECT p.oid::regprocedure FROM pg_catalog.pg_proc p
                WHERE p.pronamespace = '@extschema@'::regnamespace AND p.proname LIKE 'ff\_%'
                  AND 'plan_cache_mode=force_generic_plan' = ANY (p.proconfig)
            LOOP
                EXECUTE format('ALTER FUNCTION %s SET plan_cache_mode = auto', f);
            END LOOP;
        END
        $do$
    $cmd$) r
    WHERE NOT r.success;
    IF failed IS NOT NULL THEN
        RAISE EXCEPTION 'feature_unavailable: ff_distribute could not prepare every node: %', failed
            USING ERRCODE = 'WF035', DETAIL = 'citus';
    END IF;
END
$$;
COMMENT ON FUNCTION ff_distribute_nodes() IS 'ff_distribute''s settings on every node (internal).';

-- A script install on a cluster: the standalone script has created ff_engine's objects on every node
-- (Citus creates an extension on every node, a script's objects only where they are created). Citus
-- creates a distributed or reference table on the workers itself, so their copies of those tables go
-- first, with what depends on them there (the views, and the functions whose signatures name a
-- table's rows: ff_distribute_script_objects creates them again). WF035 when a worker has no
-- ff_engine. The commands are constants and the tables' names.
CREATE FUNCTION ff_distribute_script_workers() RETURNS void
LANGUAGE plpgsql SET search_path = @extschema@, pg_temp AS $$
DECLARE
    missing text;
    failed text;
BEGIN
    IF NOT ff_installed_by_script() THEN
        RETURN;
    END IF;
    SELECT string_agg(format('%s:%s', r.nodename, r.nodeport), ', ') INTO missing
    FROM run_command_on_workers($cmd$SELECT to_regclass('@extschema@.ff_claim_start') IS NOT NULL$cmd$) r
    WHERE r.result IS DISTINCT FROM 't';
    IF missing IS NOT NULL THEN
        RAISE EXCEPTION 'feature_unavailable: ff_engine is not installed on the worker %', missing
            USING ERRCODE = 'WF035', DETAIL = 'citus',
                  HINT = 'Run the standalone script on the coordinator once the workers are added: it installs on them too (docs/scale-out.md).';
    END IF;
    SELECT string_agg(r.result, '; ') INTO failed
    FROM run_command_on_workers(
        'SET citus.enable_ddl_propagation = off; SET client_min_messages = warning; DROP TABLE IF EXISTS '
        || (SELECT string_agg(format('@extschema@.%I', t), ', ')
            FROM unnest(ARRAY['ff_exec_core'] || ff_distributed_tables() || ff_reference_tables()) t)
        || ' CASCADE') r
    WHERE NOT r.success;
    IF failed IS NOT NULL THEN
        RAISE EXCEPTION 'feature_unavailable: ff_distribute could not prepare every worker: %', failed
            USING ERRCODE = 'WF035', DETAIL = 'citus';
    END IF;
END
$$;
COMMENT ON FUNCTION ff_distribute_script_workers() IS
    'On a cluster installed by the standalone script: the workers'' copies of the tables Citus creates go (internal).';

-- A script install on a cluster: what ff_distribute_script_workers dropped on the workers with their
-- copies of the tables, created there again as it is here, with its owner, grants and comment: the
-- functions whose signatures name a distributed or reference table's rows, and every view (Citus
-- creates a view that reads distributed tables only on the workers, without grants, and none that
-- reads a node-local table, as ff_completions does). The commands run outside this transaction, so
-- they see the workers' tables only once the distribution has committed: ff_distribute calls this
-- first (a repeated call completes an earlier one), and the standalone script after it. Each
-- definition is the catalog's, written out under pg_catalog's search path; nothing comes from an
-- argument.
CREATE FUNCTION ff_distribute_script_objects() RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    failed text;
BEGIN
    IF NOT @extschema@.ff_installed_by_script() OR NOT @extschema@.ff_distributed() THEN
        RETURN;
    END IF;
    SELECT string_agg(r.result, '; ') INTO failed
    FROM run_command_on_workers(
        'SET citus.enable_ddl_propagation = off; SET search_path = @extschema@, pg_temp; '
        || @extschema@.ff_script_functions_ddl() || @extschema@.ff_script_views_ddl()) r
    WHERE NOT r.success;
    IF failed IS NOT NULL THEN
        RAISE EXCEPTION 'feature_unavailable: ff_distribute could not complete ff_engine on every worker: %', failed
            USING ERRCODE = 'WF035', DETAIL = 'citus';
    END IF;
END
$$;
COMMENT ON FUNCTION ff_distribute_script_objects() IS
    'On a cluster installed by the standalone script: the functions over table rows and the views on every worker, as here (internal).';

-- The grants of an ACL as commands on `target` (a function's or a relation's), PUBLIC's first revoked.
CREATE FUNCTION ff_script_grants_ddl(acl aclitem[], owner oid, kind "char", target text) RETURNS text
LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $$
    SELECT format('REVOKE ALL ON %s FROM PUBLIC; ', target)
           || coalesce(string_agg(format('GRANT %s ON %s TO %s; ', a.privilege_type, target,
                                         CASE a.grantee WHEN 0 THEN 'PUBLIC' ELSE quote_ident(a.grantee::regrole::text) END), ''), '')
    FROM aclexplode(coalesce(acl, acldefault(kind, owner))) a WHERE a.grantee <> owner
$$;
COMMENT ON FUNCTION ff_script_grants_ddl(aclitem[], oid, "char", text) IS 'An ACL as GRANT commands, for ff_distribute_script_objects (internal).';

-- The functions whose signatures name a distributed or reference table's rows, as commands. PL/pgSQL,
-- which reads Citus's catalog only when it runs (a SQL function's body is checked when created).
CREATE FUNCTION ff_script_functions_ddl() RETURNS text
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    RETURN (
        SELECT coalesce(string_agg(pg_get_functiondef(p.oid) || '; '
                                   || format('ALTER FUNCTION %s OWNER TO %I; ', p.oid::regprocedure, p.proowner::regrole::text)
                                   || @extschema@.ff_script_grants_ddl(p.proacl, p.proowner, 'f', 'FUNCTION ' || p.oid::regprocedure::text)
                                   || format('COMMENT ON FUNCTION %s IS %L; ', p.oid::regprocedure, obj_description(p.oid, 'pg_proc')),
                                   '' ORDER BY p.oid), '')
        FROM pg_proc p
        WHERE p.pronamespace = '@extschema@'::regnamespace AND p.proname LIKE 'ff\_%'
          AND EXISTS (SELECT 1 FROM pg_depend d JOIN pg_type ty ON d.refobjid = ty.oid
                      JOIN pg_catalog.pg_dist_partition dp ON dp.logicalrelid = ty.typrelid
                      WHERE d.classid = 'pg_proc'::regclass AND d.objid = p.oid AND d.refclassid = 'pg_type'::regclass));
END
$$;
COMMENT ON FUNCTION ff_script_functions_ddl() IS
    'The functions over a distributed table''s rows as commands, for ff_distribute_script_objects (internal).';

-- Every view of ff_engine (named ff_*, as all its objects), as commands (column grants too).
CREATE FUNCTION ff_script_views_ddl() RETURNS text
LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $$
    SELECT coalesce(string_agg(format('CREATE OR REPLACE VIEW %s AS %s ', c.oid::regclass, pg_get_viewdef(c.oid))
                               || format('ALTER VIEW %s OWNER TO %I; ', c.oid::regclass, c.relowner::regrole::text)
                               || @extschema@.ff_script_grants_ddl(c.relacl, c.relowner, 'r', c.oid::regclass::text)
                               || coalesce((SELECT string_agg(format('GRANT %s (%I) ON %s TO %s; ', a.privilege_type, att.attname,
                                                                     c.oid::regclass, quote_ident(a.grantee::regrole::text)), '')
                                            FROM pg_attribute att, aclexplode(att.attacl) a
                                            WHERE att.attrelid = c.oid AND a.grantee <> 0), '')
                               || format('COMMENT ON VIEW %s IS %L; ', c.oid::regclass, obj_description(c.oid, 'pg_class')),
                               '' ORDER BY c.relname), '')
    FROM pg_class c WHERE c.relnamespace = '@extschema@'::regnamespace AND c.relkind = 'v' AND c.relname LIKE 'ff\_%'
$$;
COMMENT ON FUNCTION ff_script_views_ddl() IS 'Every view of ff_engine as commands, for ff_distribute_script_objects (internal).';

-- ff_distribute's table conversion: unique keys that include the partition, then the tables.
CREATE FUNCTION ff_distribute_tables(p_shard_count integer) RETURNS void
LANGUAGE plpgsql SET search_path = @extschema@, pg_temp AS $$
DECLARE
    t text;
BEGIN
    -- Row triggers on a distributed table (the claim-start trigger) are Citus's "unsafe" triggers:
    -- they touch only node-local objects here.
    PERFORM set_config('citus.enable_unsafe_triggers', 'on', true);
    PERFORM set_config('citus.shard_count', p_shard_count::text, true);
    -- A unique index of a distributed table includes its distribution column: for an execution
    -- without a flow the partition is a function of the lane, so this is the same constraint.
    DROP INDEX ff_exec_core_idempotency;
    CREATE UNIQUE INDEX ff_exec_core_idempotency ON ff_exec_core (partition_key, lane_id, idempotency_key)
        WHERE idempotency_key IS NOT NULL;
    COMMENT ON INDEX ff_exec_core_idempotency IS 'Idempotent create: one execution per (partition, lane, idempotency_key).';
    -- Citus converts a table with a foreign key only together with the tables it references, which
    -- fails on the workers' copies of the extension's tables: the two foreign keys to the replicated
    -- tables go. They only cascade the deletion of a budget or a quota policy, which the API never
    -- deletes, and budgets and quotas are not distributed (ff_create_execution_in refuses them).
    ALTER TABLE ff_budget_usage DROP CONSTRAINT ff_budget_usage_budget_id_fkey;
    ALTER TABLE ff_quota_admission DROP CONSTRAINT ff_quota_admission_quota_policy_id_fkey;
    PERFORM create_distributed_table('ff_exec_core', 'partition_key');
    FOREACH t IN ARRAY ff_distributed_tables() LOOP
        PERFORM create_distributed_table(t::regclass, 'partition_key', colocate_with => 'ff_exec_core');
    END LOOP;
    FOREACH t IN ARRAY ff_reference_tables() LOOP
        PERFORM create_reference_table(t::regclass);
    END LOOP;
END
$$;
COMMENT ON FUNCTION ff_distribute_tables(integer) IS 'ff_distribute''s conversion of the tables (internal).';

----------------------------------------------------------------------------------------------------
-- The partition-first forms of the hot calls. Each checks that its arguments are in the partition
-- and calls the plain function; distributed, Citus runs the call on the node of that partition. They
-- run as the owner, as the plain functions' bodies do, and are granted as the plain functions are.

-- ff_create_execution_in's checks: the partition is the new execution's, and a distributed install
-- takes no budgets or quotas.
CREATE FUNCTION ff_check_create_in(p_partition_key smallint, p_lane_id text, p_budget_ids text[], p_quota_policy_id uuid,
    p_execution_id text, p_flow_id uuid) RETURNS void
LANGUAGE plpgsql STABLE SET search_path = @extschema@, pg_temp AS $$
DECLARE
    partition_of_new smallint;
BEGIN
    IF (cardinality(p_budget_ids) > 0 OR p_quota_policy_id IS NOT NULL) AND ff_distributed() THEN
        RAISE EXCEPTION 'feature_unavailable: budgets and quotas are not distributed'
            USING ERRCODE = 'WF035', DETAIL = 'distributed_admission';
    END IF;
    IF p_execution_id IS NOT NULL THEN
        partition_of_new := (ff_parse_execution_id(p_execution_id)).partition_key;
    ELSE
        partition_of_new := ff_partition_for(ff_check_lane_id(ff_required(p_lane_id, 'lane_id')), p_flow_id);
    END IF;
    IF ff_required(p_partition_key, 'partition_key') IS DISTINCT FROM partition_of_new THEN
        PERFORM ff_invalid('partition_mismatch', 'partition_key must be the partition of the new execution');
    END IF;
    PERFORM ff_check_partition_here(p_partition_key);
END
$$;
COMMENT ON FUNCTION ff_check_create_in(smallint, text, text[], uuid, text, uuid) IS
    'Check ff_create_execution_in''s partition and admission arguments (internal).';

CREATE FUNCTION ff_create_execution_in(partition_key smallint,
    lane_id text, payload bytea DEFAULT NULL, priority integer DEFAULT 0, required_capabilities text[] DEFAULT '{}',
    namespace text DEFAULT NULL, tags jsonb DEFAULT '{}', budget_ids text[] DEFAULT '{}', quota_policy_id uuid DEFAULT NULL,
    delay_until_ms bigint DEFAULT NULL, max_attempts integer DEFAULT 1, retry_backoff_ms bigint DEFAULT 1000,
    idempotency_key text DEFAULT NULL, execution_id text DEFAULT NULL, flow_id uuid DEFAULT NULL, deadline_at_ms bigint DEFAULT NULL,
    depends_on text[] DEFAULT NULL, parent_execution_id text DEFAULT NULL, parent_waitpoint_key text DEFAULT NULL)
RETURNS TABLE (execution_id text, created boolean)
LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = @extschema@, pg_temp AS $$
    SELECT ff_check_create_in($1, $2, $8, $9, $14, $15);
    SELECT * FROM ff_create_execution($2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19);
$$;
COMMENT ON FUNCTION ff_create_execution_in(smallint, text, bytea, integer, text[], text, jsonb, text[], uuid, bigint, integer,
    bigint, text, text, uuid, bigint, text[], text, text) IS
    'ff_create_execution with its partition first (ff_partition_for(lane_id, flow_id), or the given execution_id''s): delegated on a distributed install.';

CREATE FUNCTION ff_renew_lease_in(partition_key smallint, execution_id text, lease_id uuid, lease_epoch bigint,
    lease_ttl_ms bigint DEFAULT 30000)
RETURNS TABLE (lease_expires_at_ms bigint, lease_epoch bigint)
LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = @extschema@, pg_temp AS $$
    SELECT * FROM ff_renew_lease(ff_in_partition($1, $2), $3, $4, $5)
$$;
COMMENT ON FUNCTION ff_renew_lease_in(smallint, text, uuid, bigint, bigint) IS
    'ff_renew_lease with the execution''s partition first: delegated on a distributed install.';

CREATE FUNCTION ff_complete_in(partition_key smallint, execution_id text, lease_id uuid, lease_epoch bigint,
    result bytea DEFAULT NULL)
RETURNS TABLE (outcome text)
LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = @extschema@, pg_temp AS $$
    SELECT * FROM ff_complete(ff_in_partition($1, $2), $3, $4, $5)
$$;
COMMENT ON FUNCTION ff_complete_in(smallint, text, uuid, bigint, bytea) IS
    'ff_complete with the execution''s partition first: delegated on a distributed install.';

CREATE FUNCTION ff_fail_in(partition_key smallint, execution_id text, lease_id uuid, lease_epoch bigint, message text,
    retryable boolean DEFAULT true, failure_class text DEFAULT NULL, detail bytea DEFAULT NULL)
RETURNS TABLE (outcome text, retry_at_ms bigint)
LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = @extschema@, pg_temp AS $$
    SELECT * FROM ff_fail(ff_in_partition($1, $2), $3, $4, $5, $6, $7, $8)
$$;
COMMENT ON FUNCTION ff_fail_in(smallint, text, uuid, bigint, text, boolean, text, bytea) IS
    'ff_fail with the execution''s partition first: delegated on a distributed install.';

CREATE FUNCTION ff_suspend_in(partition_key smallint, execution_id text, lease_id uuid, lease_epoch bigint,
    resume_condition jsonb, waitpoints jsonb DEFAULT NULL, timeout_at_ms bigint DEFAULT NULL, timeout_behavior text DEFAULT 'fail',
    reason_code text DEFAULT 'waiting_for_signal', requested_by text DEFAULT 'worker', suspension_id uuid DEFAULT NULL,
    idempotency_key text DEFAULT NULL, continuation text DEFAULT NULL)
RETURNS TABLE (outcome text, suspension_id uuid, waitpoint_id uuid, waitpoint_key text, token text)
LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = @extschema@, pg_temp AS $$
    SELECT * FROM ff_suspend(ff_in_partition($1, $2), $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
$$;
COMMENT ON FUNCTION ff_suspend_in(smallint, text, uuid, bigint, jsonb, jsonb, bigint, text, text, text, uuid, text, text) IS
    'ff_suspend with the execution''s partition first: delegated on a distributed install.';

CREATE FUNCTION ff_deliver_signal_in(partition_key smallint, execution_id text, waitpoint_id uuid, token text, signal_name text,
    signal_id uuid DEFAULT NULL, signal_category text DEFAULT '', source_type text DEFAULT '', source_identity text DEFAULT '',
    payload bytea DEFAULT NULL, correlation_id text DEFAULT NULL, idempotency_key text DEFAULT NULL,
    dedup_ttl_ms bigint DEFAULT 86400000, resume_delay_ms bigint DEFAULT 0, max_signals_per_execution integer DEFAULT 10000)
RETURNS TABLE (outcome text, signal_id uuid, effect text)
LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = @extschema@, pg_temp AS $$
    SELECT * FROM ff_deliver_signal(ff_in_partition($1, $2), $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)
$$;
COMMENT ON FUNCTION ff_deliver_signal_in(smallint, text, uuid, text, text, uuid, text, text, text, bytea, text, text, bigint,
    bigint, integer) IS
    'ff_deliver_signal with the execution''s partition first: delegated on a distributed install.';

-- The partitions other than the lane's own (ff_partition_for(lane, NULL)) that hold claimable work of
-- the lane, at most 16, lowest first: where a partition-first client claims besides the lane's own
-- partition, since a flow's members live in the flow's partition, whatever their lanes. Read-only,
-- the lane's runnable executions on each partition read once (the index on lane and phase); on a
-- distributed install one statement through the coordinator, which every shard answers.
CREATE FUNCTION ff_lane_partitions_body(p_lane_id text) RETURNS TABLE (r_partition_key smallint)
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = @extschema@, pg_temp AS $$
DECLARE
    home smallint;
BEGIN
    p_lane_id := ff_required(p_lane_id, 'lane_id');
    p_lane_id := ff_check_lane_id(p_lane_id);
    home := ff_partition_for(p_lane_id, NULL);
    RETURN QUERY
    SELECT DISTINCT e.partition_key FROM ff_exec_core e
    WHERE e.lane_id = p_lane_id AND e.lifecycle_phase = 'runnable' AND e.eligibility_state = 'eligible_now'
      AND e.partition_key <> home
    ORDER BY 1 LIMIT 16;
END
$$;
COMMENT ON FUNCTION ff_lane_partitions_body(text) IS 'ff_lane_partitions''s body (internal).';

CREATE FUNCTION ff_lane_partitions(lane_id text) RETURNS TABLE (partition_key smallint)
LANGUAGE sql STABLE AS $$
    SELECT * FROM @extschema@.ff_lane_partitions_body($1)
$$;

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
          AND d.classid = 'pg_class'::regclass AND d.deptype = 'e' AND c.relkind IN ('r','v','S')
          -- A sequence a column owns (identity) follows its table. (Sequences only: on PostgreSQL 14 a
          -- table with a generated column has such rows too, for the column's expression.)
          AND NOT (c.relkind = 'S' AND EXISTS (SELECT 1 FROM pg_depend o WHERE o.classid = 'pg_class'::regclass
                                               AND o.objid = c.oid AND o.deptype IN ('a','i')))
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
               coalesce(obj_description(p.oid, 'pg_proc'), '') LIKE '%(internal).'
                 AND NOT EXISTS (SELECT 1 FROM pg_proc s WHERE s.pronamespace = p.pronamespace
                                   AND p.proname::text = s.proname || '_body') AS internal
        FROM pg_depend d JOIN pg_proc p ON p.oid = d.objid
        WHERE d.refclassid = 'pg_extension'::regclass AND d.refobjid = ext
          AND d.classid = 'pg_proc'::regclass AND d.deptype = 'e'
    LOOP
        EXECUTE format('ALTER FUNCTION %s OWNER TO ff_engine_owner', r.fn);
        EXECUTE format('REVOKE ALL ON FUNCTION %s FROM PUBLIC', r.fn);
        -- ff_admin may call everything but the helpers (commented '… (internal).'), which only the
        -- SECURITY DEFINER functions that own them call. A function's body (`<name>_body`) is the
        -- function under another parameter naming and has its grants: the SQL edition's shells run as
        -- their caller, so that PostgreSQL writes them into the calling query, and their bodies as
        -- the owner.
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
        -- * enable_bitmapscan = off: with many lanes the generic plan estimates a lane's claimable rows
        --   at a few, and read all of them through a bitmap and sorted them to hand out the first (16
        --   lanes of 625: 625 rows and 1.0 ms per claim, against 1 row and 0.1 ms in queue order).
        --   Lists of keys (= ANY) are index scans without it.
        -- * jit = off: a generic plan's cost is estimated for the whole queue (the candidate scan with
        --   its budget and quota sublinks: ~760 000 with 300 000 queued), above jit_above_cost, and JIT
        --   code is compiled for every execution and never reused: 386 ms per claim, measured.
        IF r.has_config THEN
            EXECUTE format('ALTER FUNCTION %s SET jit = off', r.fn);
            EXECUTE format('ALTER FUNCTION %s SET plan_cache_mode = force_generic_plan', r.fn);
            EXECUTE format('ALTER FUNCTION %s SET enable_seqscan = off', r.fn);
            EXECUTE format('ALTER FUNCTION %s SET enable_bitmapscan = off', r.fn);
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

-- Completions with what they produced: results for the roles that create and run executions, never
-- for a signaler.
GRANT SELECT ON ff_completions TO ff_admin, ff_worker;
GRANT SELECT (event_id, partition_key, execution_id, namespace, produced_at_ms, outcome, flow_id, result_bytes, failure_class)
    ON ff_completions TO ff_signaler;

-- Role grants by function name (every overload, and the function's body). ff_admin already has
-- EXECUTE on everything.
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
            -- Flows: created and read by whoever creates executions; cancelled by an operator.
            ('ff_create_flow', 'ff_worker'), ('ff_get_flow', 'ff_worker'), ('ff_list_flow_members', 'ff_worker'),
            ('ff_await_completion', 'ff_worker'), ('ff_lane_holdback', 'ff_worker'),
            -- Wake-ups: a worker announces itself on its lane; anyone who reads the outbox may
            -- announce itself on its channels.
            ('ff_await_lane', 'ff_worker'), ('ff_await_events', 'ff_worker'), ('ff_await_events', 'ff_signaler'),
            -- The partition-first forms (sql/shared/citus.sql), as their plain functions.
            ('ff_create_execution_in', 'ff_worker'), ('ff_claim_in', 'ff_worker'), ('ff_renew_lease_in', 'ff_worker'),
            ('ff_complete_in', 'ff_worker'), ('ff_fail_in', 'ff_worker'), ('ff_suspend_in', 'ff_worker'),
            ('ff_deliver_signal_in', 'ff_signaler'), ('ff_lane_partitions', 'ff_worker')
        ) AS g(fn_name, role)
        JOIN pg_proc p ON p.proname IN (g.fn_name, g.fn_name || '_body') AND p.pronamespace = '@extschema@'::regnamespace
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
            ('ff_claim_in', 'ff_claim in one partition (partition_key first): delegated to its node on a distributed install.'),
            ('ff_lane_partitions', 'The partitions other than the lane''s own holding claimable work of the lane (flow members live in their flow''s partition), at most 16: where a partition-first claim looks besides the lane''s partition.'),
            ('ff_renew_lease', 'Extend the current lease by lease_ttl_ms from now (fenced by lease id and epoch).'),
            ('ff_complete', 'Complete the leased attempt with an optional result (fenced; a repeated complete is lease_conflict).'),
            ('ff_complete_many', 'Complete many leases in one call; one row per element, a bad fence fails only its own element.'),
            ('ff_fail', 'Fail the leased attempt with a failure class (transient, permanent, timeout, infra_crash) and detail: retry after exponential backoff while attempts remain unless permanent, else terminal failed.'),
            ('ff_cancel', 'Cancel an execution in any non-terminal phase; closes its open suspension and every waitpoint.'),
            ('ff_create_flow', 'Create a flow (idempotent per flow_id): executions join it with ff_create_execution(flow_id, depends_on, parent_execution_id).'),
            ('ff_get_flow', 'A flow: its state (open, completed, failed, cancelled) derived from its members, and member counts per public state.'),
            ('ff_list_flow_members', 'Members of a flow in execution id order (keyset: after_execution_id), with parent and upstreams left.'),
            ('ff_await_completion', 'Announce a wait for one execution''s or one flow''s end (true: it has ended); the ending transaction notifies ff_wake_<pid>.'),
            ('ff_hold_execution', 'Hold a waiting, delayed or blocked execution out of the claimable set (blocked_by_operator) until ff_release_execution; an operator event.'),
            ('ff_release_execution', 'Release a held execution: blocked, delayed or claimable again as its state calls for; an operator event.'),
            ('ff_lane_holdback', 'Why a lane''s runnable work is not handed out: per reason (lane_paused, delayed, dependencies, reserved, budget, quota_rate, quota_concurrency) the executions held and the earliest time one could pass.'),
            ('ff_pause_lane', 'Pause a lane: it keeps accepting executions and hands out none (claims and grant consumption) until ff_resume_lane; an operator event.'),
            ('ff_resume_lane', 'Resume a paused lane and wake its sleeping workers; an operator event.'),
            ('ff_list_lanes', 'Every lane with unfinished work or a pause: state, depth (claimable now), oldest eligible age, not eligible, active, pause time and reason.'),
            ('ff_cancel_flow', 'Cancel a flow: flow_only, cancel_all (leases end) or cancel_pending (leased members drain); counts per outcome.'),
            ('ff_create_budget', 'Create a budget with hard and soft limits per dimension (created = false if it exists).'),
            ('ff_report_usage', 'Report usage against the execution''s budgets (fenced; idempotent per dedup_key): admitted, soft_breach, hard_breach, throttled (a budget that resets is full: retry_after_ms), duplicate.'),
            ('ff_budget_status', 'Usage, soft limit and hard limit of a budget, one row per dimension.'),
            ('ff_create_quota_policy', 'Create a quota policy: requests per sliding window and/or an active-concurrency cap.'),
            ('ff_tick', 'Run every scanner task once (max_rows each), over the executions of namespace and/or tag_key = tag_value when given; one row per task with the rows it processed.'),
            ('ff_tick_node', 'ff_tick for the node it runs on: on a Citus node, the tasks that touch executions once per shard placed there; on one node, ff_tick. Rows summed per task.'),
            ('ff_promote_delayed', 'Scanner: make delayed executions whose time has come eligible now.'),
            ('ff_expire_grants', 'Scanner: delete expired, unconsumed claim grants.'),
            ('ff_expire_leases', 'Scanner: reclaim executions whose lease expired (epoch + 1); fail them after ff_engine.max_reclaims expiries.'),
            ('ff_expire_pending_waitpoints', 'Scanner: close pending waitpoints past their expiry (never_committed).'),
            ('ff_gc_dedup', 'Scanner: delete signal and suspend dedup rows past their TTL.'),
            ('ff_gc_keys', 'Scanner: delete retired HMAC keys past their grace window.'),
            ('ff_verify_claim_starts', 'Scanner: lower every claim start to the true head of its lane''s priority.'),
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
            ('ff_list_attempts', 'The attempts of an execution, oldest first: worker, start, end, outcome, failure message, failure class and detail.'),
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
