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
