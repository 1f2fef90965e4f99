-- ff_engine schema. Runs first in the extension script (pgrx `bootstrap`).
-- Conventions: every per-execution table has `partition_key smallint` (the N of {fp:N}) as the first
-- primary-key column; timestamps are unix milliseconds of the server clock (`*_ms bigint`); state
-- columns hold the canonical FlowFabric literals (semantics §2), checked by domains.

-- Roles are cluster-wide: created if missing, never dropped with the extension. Two databases may
-- create the extension at the same moment, so a concurrent creator's role is not an error.
DO $roles$
DECLARE
    r text;
BEGIN
    FOREACH r IN ARRAY ARRAY['ff_engine_owner', 'ff_admin', 'ff_worker', 'ff_signaler'] LOOP
        IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = r) THEN
            BEGIN
                IF r = 'ff_engine_owner' THEN
                    CREATE ROLE ff_engine_owner NOLOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOINHERIT;
                ELSE
                    EXECUTE format('CREATE ROLE %I NOLOGIN', r);
                END IF;
            EXCEPTION WHEN duplicate_object OR unique_violation THEN
                NULL;  -- created concurrently by another database's CREATE EXTENSION
            END;
        END IF;
    END LOOP;
END
$roles$;

----------------------------------------------------------------------------------------------------
-- State domains
----------------------------------------------------------------------------------------------------
-- The literal checks of the hot tables are domains, not table CHECK constraints: PostgreSQL 15
-- re-reads (stringToNode) and re-plans every CHECK constraint of a table in each INSERT/UPDATE
-- statement, while a domain's check is compiled once per backend (type cache). Measured on the
-- benchmark's workload 3: +13-19 % claim+complete cycles/s against the same checks as table CHECKs.
CREATE DOMAIN ff_lifecycle_phase AS text
    CHECK (VALUE IN ('submitted','runnable','active','suspended','terminal'));
COMMENT ON DOMAIN ff_lifecycle_phase IS 'Execution lifecycle phase (canonical FlowFabric literal).';
CREATE DOMAIN ff_ownership_state AS text
    CHECK (VALUE IN ('unowned','leased','lease_expired_reclaimable','lease_revoked'));
COMMENT ON DOMAIN ff_ownership_state IS 'Execution ownership state (canonical FlowFabric literal).';
CREATE DOMAIN ff_eligibility_state AS text
    CHECK (VALUE IN ('eligible_now','not_eligible_until_time','blocked_by_dependencies',
                     'blocked_by_budget','blocked_by_quota','blocked_by_route',
                     'blocked_by_lane_state','blocked_by_operator','not_applicable'));
COMMENT ON DOMAIN ff_eligibility_state IS 'Execution eligibility state (canonical FlowFabric literal).';
CREATE DOMAIN ff_attempt_state AS text
    CHECK (VALUE IN ('none','pending_first_attempt','running_attempt','attempt_interrupted',
                     'pending_retry_attempt','pending_replay_attempt','attempt_terminal'));
COMMENT ON DOMAIN ff_attempt_state IS 'Execution attempt state (canonical FlowFabric literal).';
CREATE DOMAIN ff_public_state AS text
    CHECK (VALUE IN ('waiting','delayed','rate_limited','waiting_children','active','suspended',
                     'resumable','completed','failed','cancelled','expired','skipped'));
COMMENT ON DOMAIN ff_public_state IS 'Execution public state (canonical FlowFabric literal).';
CREATE DOMAIN ff_interrupt_reason AS text CHECK (VALUE IN ('suspended','lease_expired','lease_revoked'));
COMMENT ON DOMAIN ff_interrupt_reason IS 'Why the current attempt was interrupted.';
CREATE DOMAIN ff_attempt_limit AS integer CHECK (VALUE >= 1);
COMMENT ON DOMAIN ff_attempt_limit IS 'max_attempts: at least 1.';
CREATE DOMAIN ff_duration_ms AS bigint CHECK (VALUE >= 0);
COMMENT ON DOMAIN ff_duration_ms IS 'A non-negative duration in milliseconds.';
CREATE DOMAIN ff_suspension_state AS text CHECK (VALUE IN ('open','closed'));
COMMENT ON DOMAIN ff_suspension_state IS 'Suspension state.';
CREATE DOMAIN ff_waitpoint_state AS text CHECK (VALUE IN ('pending','active','closed'));
COMMENT ON DOMAIN ff_waitpoint_state IS 'Waitpoint state.';
CREATE DOMAIN ff_lease_event_type AS text
    CHECK (VALUE IN ('acquired','renewed','expired','reclaimed','revoked','released'));
COMMENT ON DOMAIN ff_lease_event_type IS 'Lease event type.';
CREATE DOMAIN ff_completion_outcome AS text
    CHECK (VALUE IN ('success','failed','cancelled','expired','skipped','resumed'));
COMMENT ON DOMAIN ff_completion_outcome IS 'Completion event outcome (terminal outcomes and resumes).';
CREATE DOMAIN ff_operator_action AS text
    CHECK (VALUE IN ('priority_changed','replayed','lease_revoked','execution_held','execution_released',
                     'lane_paused','lane_resumed'));
COMMENT ON DOMAIN ff_operator_action IS 'Operator event action.';
CREATE DOMAIN ff_failure_class AS text
    CHECK (VALUE IN ('transient','permanent','infra_crash','timeout','cancelled'));
COMMENT ON DOMAIN ff_failure_class IS 'Why an attempt failed, which decides whether it is retried.';

----------------------------------------------------------------------------------------------------
-- Keys
----------------------------------------------------------------------------------------------------
-- HMAC-SHA256's two padded keys (RFC 2104), kept with each key so that the SQL edition signs and
-- verifies with two sha256() calls: the key (hashed first when longer than the 64-byte block)
-- zero-padded to the block, XOR-ed with 0x36.. (inner) and 0x5c.. (outer), as one 128-byte value.
CREATE FUNCTION ff_hmac_pads(secret bytea) RETURNS bytea
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
    SELECT substr(varbit_send(b # ('x' || repeat('36', 64))::bit(512)), 5) || substr(varbit_send(b # ('x' || repeat('5c', 64))::bit(512)), 5)
    FROM (SELECT ('x' || rpad(encode(CASE WHEN length(secret) > 64 THEN sha256(secret) ELSE secret END, 'hex'), 128, '0'))::bit(512) AS b) k
$$;
COMMENT ON FUNCTION ff_hmac_pads(bytea) IS 'HMAC-SHA256''s inner and outer padded keys of a secret, 64 bytes each (internal).';

CREATE TABLE ff_keystore (
    kid            text PRIMARY KEY,
    secret         bytea   NOT NULL CHECK (octet_length(secret) BETWEEN 32 AND 64),
    created_at_ms  bigint  NOT NULL,
    rotated_at_ms  bigint,
    active         boolean NOT NULL,
    expires_at_ms  bigint,
    hmac_pads      bytea   NOT NULL GENERATED ALWAYS AS (ff_hmac_pads(secret)) STORED,
    CHECK (active = (expires_at_ms IS NULL))
);
COMMENT ON TABLE ff_keystore IS
    'HMAC signing keys. Readable only by ff_engine_owner: secrets never leave the database.';
-- Serves: the signing-key look-up of every token/grant mint (WHERE active); also makes two active
-- keys impossible even if the keystore lock were bypassed.
CREATE UNIQUE INDEX ff_keystore_one_active ON ff_keystore ((true)) WHERE active;
COMMENT ON INDEX ff_keystore_one_active IS 'At most one active key; serves WHERE active look-ups.';

----------------------------------------------------------------------------------------------------
-- Executions and attempts
----------------------------------------------------------------------------------------------------
CREATE TABLE ff_exec_core (
    partition_key            smallint NOT NULL,
    execution_id             uuid     NOT NULL,
    lane_id                  text     NOT NULL,
    namespace                text,
    flow_id                  uuid,
    priority                 integer  NOT NULL DEFAULT 0,
    required_capabilities    text[]   NOT NULL DEFAULT '{}',
    tags                     jsonb    NOT NULL DEFAULT '{}',
    budget_ids               text[]   NOT NULL DEFAULT '{}',
    quota_policy_id          uuid,
    payload                  bytea,
    result                   bytea,
    lifecycle_phase          ff_lifecycle_phase   NOT NULL,
    ownership_state          ff_ownership_state   NOT NULL,
    eligibility_state        ff_eligibility_state NOT NULL,
    attempt_state            ff_attempt_state     NOT NULL,
    public_state             ff_public_state      NOT NULL,
    attempt_index            integer  NOT NULL DEFAULT 0,
    current_attempt_id       uuid,
    lease_id                 uuid,
    lease_epoch              bigint   NOT NULL DEFAULT 0,
    lease_expires_at_ms      bigint,
    lease_worker_id          text,
    lease_worker_instance_id text,
    eligible_at_ms           bigint,
    max_attempts             ff_attempt_limit NOT NULL DEFAULT 1,
    retry_backoff_ms         ff_duration_ms   NOT NULL DEFAULT 1000,
    reclaim_count            integer  NOT NULL DEFAULT 0,
    reserved_until_ms        bigint,
    interrupt_reason         ff_interrupt_reason,
    signal_count             integer  NOT NULL DEFAULT 0,
    idempotency_key          text,
    last_error               text,
    queue_seq                bigint   GENERATED ALWAYS AS IDENTITY,
    created_at_ms            bigint   NOT NULL,
    updated_at_ms            bigint   NOT NULL,
    completed_at_ms          bigint,
    completion_waited        boolean  NOT NULL DEFAULT false,
    PRIMARY KEY (partition_key, execution_id)
);
COMMENT ON TABLE ff_exec_core IS
    'One row per execution: its five state columns, current lease (id, epoch, expiry) and attempt. '
    'The row lock (FOR UPDATE) is the per-execution mutex of every operation. reserved_until_ms is the '
    'expiry of an outstanding claim grant: kept on the row so concurrent claimers re-check it. '
    'completion_waited: someone announced a wait for its end (ff_await_completion), which then notifies them.';
-- Serves: ff_claim_for_worker / ff_claim candidate scan: WHERE hashtext(lane_id) = hashtext($1) AND
-- lane_id = $1 AND priority = $2 AND queue_seq >= start AND runnable AND eligible_now ORDER BY
-- queue_seq (oldest first) ... FOR UPDATE SKIP LOCKED, per priority. The lane is keyed by its hash, a
-- fixed-width first column: a B-tree checks every key of every entry on a leaf page it reads, and
-- behind a variable-length first column each later key is found by walking the entry (about half of
-- a claim's instructions at depth, measured). Lanes whose hashes collide share entries, which the
-- lane_id test on the row tells apart.
CREATE INDEX ff_exec_core_claimable ON ff_exec_core (hashtext(lane_id), priority DESC, queue_seq)
    WHERE lifecycle_phase = 'runnable' AND eligibility_state = 'eligible_now';
COMMENT ON INDEX ff_exec_core_claimable IS 'Claim scan: lane (by its hash), priority desc, oldest first; claimable rows only.';
-- Serves: ff_promote_delayed: WHERE eligibility_state = 'not_eligible_until_time' AND eligible_at_ms <= now.
CREATE INDEX ff_exec_core_delayed ON ff_exec_core (eligible_at_ms)
    WHERE eligibility_state = 'not_eligible_until_time';
COMMENT ON INDEX ff_exec_core_delayed IS 'Delayed promotion scan, oldest due first.';
-- Serves: ff_expire_leases: WHERE ownership_state = 'leased' AND lease_expires_at_ms <= now.
CREATE INDEX ff_exec_core_leases ON ff_exec_core (lease_expires_at_ms)
    WHERE ownership_state = 'leased';
COMMENT ON INDEX ff_exec_core_leases IS 'Lease expiry scan, oldest due first.';
-- Serves: retention (ff_prune_executions, ff_tick's prune_executions): finished before a cutoff. BRIN,
-- not btree: completion times follow the table's insertion order closely enough, and an entry costs
-- next to nothing on the completion path.
CREATE INDEX ff_exec_core_completed ON ff_exec_core USING brin (completed_at_ms);
COMMENT ON INDEX ff_exec_core_completed IS 'Retention scan of finished executions (BRIN).';
-- Serves: ff_create_execution idempotent replay: (lane_id, idempotency_key) look-up, and uniqueness.
CREATE UNIQUE INDEX ff_exec_core_idempotency ON ff_exec_core (lane_id, idempotency_key)
    WHERE idempotency_key IS NOT NULL;
COMMENT ON INDEX ff_exec_core_idempotency IS 'Idempotent create: one execution per (lane, idempotency_key).';
-- Serves: quota admission: executions of one policy that are leased or reserved by a grant.
CREATE INDEX ff_exec_core_quota_active ON ff_exec_core (quota_policy_id)
    WHERE quota_policy_id IS NOT NULL AND (ownership_state = 'leased' OR reserved_until_ms IS NOT NULL);
COMMENT ON INDEX ff_exec_core_quota_active IS 'Quota concurrency cap: leased or reserved executions per policy.';
-- Serves: ff_lane_stats and operator listings by lane (ff_list_executions). Not (lane_id, queue_seq),
-- which would hand ff_list_executions its order: measured, that index cost 2 % more instructions per
-- workload-1 cycle, on every state change; the listing sorts the lane's rows instead.
CREATE INDEX ff_exec_core_lane ON ff_exec_core (lane_id, lifecycle_phase);
COMMENT ON INDEX ff_exec_core_lane IS 'Per-lane counts for ff_lane_stats.';

-- The per-execution tables below (attempts, grants, suspensions, waitpoints, signals) have no foreign
-- key to ff_exec_core, on purpose. Their rows are written only by this extension's functions (no role
-- may write the tables), always while the function holds the execution's row lock (FOR UPDATE), in
-- the statement that also updates that row or after it; the API never deletes an execution. So a
-- parent cannot vanish under a child, and the foreign-key trigger would only re-check it: measured,
-- that check was 5.5 % of the instructions of a suspend -> signal -> resume cycle.
-- assert_no_orphans (tests/harness/lib.rs), called by every racing test, checks that racing sessions
-- leave no child row without its execution.
-- Deadlines live in their own table, written once at create for the executions that have one and
-- read by the deadline scanner: a deadline column with an index on ff_exec_core cost every state
-- change of every execution a partial-index check (+1.6 % instructions per workload-1 cycle,
-- measured), deadline or not. A row stays until its deadline has passed: the scanner then expires the
-- execution if it is still running and deletes the row either way; retention deletes it with its
-- execution.
CREATE TABLE ff_deadline (
    partition_key   smallint NOT NULL,
    execution_id    uuid     NOT NULL,
    deadline_at_ms  bigint   NOT NULL,
    PRIMARY KEY (partition_key, execution_id)
);
COMMENT ON TABLE ff_deadline IS 'The deadline of each execution created with one (deadline_at_ms): not finished by then, it expires.';
-- Serves: ff_expire_deadlines: WHERE deadline_at_ms <= now, soonest first.
CREATE INDEX ff_deadline_due ON ff_deadline (deadline_at_ms);
COMMENT ON INDEX ff_deadline_due IS 'Deadline scan, soonest first.';

CREATE TABLE ff_attempt (
    partition_key      smallint NOT NULL,
    execution_id       uuid     NOT NULL,
    attempt_index      integer  NOT NULL,
    attempt_id         uuid     NOT NULL,
    worker_id          text,
    worker_instance_id text,
    started_at_ms      bigint   NOT NULL,
    ended_at_ms        bigint,
    outcome            text,
    error_message      text,
    history_seq        bigint   NOT NULL,
    failure_class      ff_failure_class,
    failure_detail     bytea,
    PRIMARY KEY (partition_key, execution_id, attempt_index)
);
COMMENT ON TABLE ff_attempt IS 'One row per attempt of an execution (attempt_index 0, 1, ...); a resumed attempt keeps its row.';

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

CREATE TABLE ff_claim_grant (
    partition_key      smallint NOT NULL,
    execution_id       uuid     NOT NULL,
    grant_hash         bytea    NOT NULL,
    worker_id          text     NOT NULL,
    worker_instance_id text     NOT NULL,
    created_at_ms      bigint   NOT NULL,
    expires_at_ms      bigint   NOT NULL,
    PRIMARY KEY (partition_key, execution_id)
);
COMMENT ON TABLE ff_claim_grant IS
    'Outstanding claim grants, at most one per execution, stored as sha256 of the grant key. An '
    'unexpired row reserves the execution; consuming deletes it, so a grant is single-use.';
-- Serves: ff_expire_grants: WHERE expires_at_ms <= now.
CREATE INDEX ff_claim_grant_expiry ON ff_claim_grant (expires_at_ms);
COMMENT ON INDEX ff_claim_grant_expiry IS 'Grant expiry scan.';

----------------------------------------------------------------------------------------------------
-- Suspensions, waitpoints, signals
----------------------------------------------------------------------------------------------------
CREATE TABLE ff_suspension (
    partition_key     smallint NOT NULL,
    execution_id      uuid     NOT NULL,
    suspension_id     uuid     NOT NULL,
    state             ff_suspension_state NOT NULL,
    resume_condition  jsonb    NOT NULL,
    reason_code       text     NOT NULL,
    requested_by      text     NOT NULL,
    timeout_at_ms     bigint,
    timeout_behavior  text     NOT NULL,
    continuation      text,
    suspended_at_ms   bigint   NOT NULL,
    closed_at_ms      bigint,
    close_reason      text,
    closer_signal_id  uuid,
    satisfier_seqs    bigint[],
    history_seq       bigint   GENERATED ALWAYS AS IDENTITY (SEQUENCE NAME ff_history_seq),
    PRIMARY KEY (partition_key, execution_id, suspension_id)
);
-- ff_history_seq orders attempt starts and suspensions of every execution: a claim that resumes an
-- attempt hands back the continuation of the attempt's latest suspension (the highest history_seq
-- above the attempt's own), exactly, whatever the clock says.
ALTER TABLE ff_attempt ALTER COLUMN history_seq SET DEFAULT nextval('ff_history_seq');
COMMENT ON TABLE ff_suspension IS
    'Suspensions of executions: the resume condition (FlowFabric JSON), timeout policy, and, once '
    'closed, why and by which signals (satisfier_seqs point into ff_signal).';
-- Serves: "at most one open suspension per execution", the open-suspension look-up of signal
-- delivery / suspend / cancel, and ff_list_suspended's keyset pagination (ORDER BY partition_key,
-- execution_id).
CREATE UNIQUE INDEX ff_suspension_open ON ff_suspension (partition_key, execution_id) WHERE state = 'open';
COMMENT ON INDEX ff_suspension_open IS 'One open suspension per execution.';
-- Serves: ff_expire_suspensions: open suspensions WHERE timeout_at_ms <= now.
CREATE INDEX ff_suspension_timeout ON ff_suspension (timeout_at_ms)
    WHERE state = 'open' AND timeout_at_ms IS NOT NULL;
COMMENT ON INDEX ff_suspension_timeout IS 'Suspension timeout scan.';

CREATE TABLE ff_waitpoint (
    partition_key          smallint NOT NULL,
    execution_id           uuid     NOT NULL,
    waitpoint_id           uuid     NOT NULL,
    waitpoint_key          text     NOT NULL,
    suspension_id          uuid,
    state                  ff_waitpoint_state NOT NULL,
    token_kid              text     NOT NULL,
    token_fingerprint      text     NOT NULL,
    required_signal_names  text[]   NOT NULL DEFAULT '{}',
    created_at_ms          bigint   NOT NULL,
    activated_at_ms        bigint,
    expires_at_ms          bigint,
    closed_at_ms           bigint,
    close_reason           text,
    PRIMARY KEY (partition_key, execution_id, waitpoint_id)
);
COMMENT ON TABLE ff_waitpoint IS
    'Waitpoints: pending (made by ff_create_waitpoint), active (bound to an open suspension) or '
    'closed. Tokens are never stored: they are recomputed from token_kid; only a fingerprint is kept.';
-- Serves: ff_expire_pending_waitpoints: WHERE state = 'pending' AND expires_at_ms <= now.
CREATE INDEX ff_waitpoint_pending_expiry ON ff_waitpoint (expires_at_ms) WHERE state = 'pending';
COMMENT ON INDEX ff_waitpoint_pending_expiry IS 'Pending waitpoint expiry scan.';
-- Serves: derived bindings at suspend (reuse this execution''s open pending waitpoint with a key).
CREATE INDEX ff_waitpoint_by_key ON ff_waitpoint (partition_key, execution_id, waitpoint_key)
    WHERE state <> 'closed';
COMMENT ON INDEX ff_waitpoint_by_key IS 'Open waitpoints of an execution by key.';

CREATE TABLE ff_signal (
    partition_key    smallint NOT NULL,
    execution_id     uuid     NOT NULL,
    signal_seq       bigint   GENERATED ALWAYS AS IDENTITY,
    signal_id        uuid     NOT NULL,
    waitpoint_id     uuid     NOT NULL,
    waitpoint_key    text     NOT NULL,
    suspension_id    uuid,
    signal_name      text     NOT NULL,
    signal_category  text     NOT NULL DEFAULT '',
    source_type      text     NOT NULL DEFAULT '',
    source_identity  text     NOT NULL DEFAULT '',
    correlation_id   text,
    idempotency_key  text,
    payload          bytea,
    effect           text     NOT NULL,
    accepted_at_ms   bigint   NOT NULL,
    PRIMARY KEY (partition_key, execution_id, signal_seq)
);
COMMENT ON TABLE ff_signal IS
    'Every accepted signal, in acceptance order (signal_seq), with its effect. Conditions are '
    'evaluated by recomputing over these rows; the same signal_id may appear twice (DistinctSignals).';
-- Serves: condition evaluation: the signals of one waitpoint / suspension of an execution.
CREATE INDEX ff_signal_by_waitpoint ON ff_signal (partition_key, execution_id, waitpoint_id, signal_seq);
COMMENT ON INDEX ff_signal_by_waitpoint IS 'Signals recorded on one waitpoint, in acceptance order.';

CREATE TABLE ff_signal_dedup (
    partition_key    smallint NOT NULL,
    execution_id     uuid     NOT NULL,
    waitpoint_id     uuid     NOT NULL,
    idempotency_key  text     NOT NULL,
    signal_id        uuid     NOT NULL,
    expires_at_ms    bigint   NOT NULL,
    PRIMARY KEY (partition_key, execution_id, waitpoint_id, idempotency_key)
);
COMMENT ON TABLE ff_signal_dedup IS 'Signal idempotency keys per waitpoint, kept for dedup_ttl_ms.';
-- Serves: ff_gc_dedup.
CREATE INDEX ff_signal_dedup_expiry ON ff_signal_dedup (expires_at_ms);
COMMENT ON INDEX ff_signal_dedup_expiry IS 'Dedup GC scan.';

CREATE TABLE ff_suspend_dedup (
    partition_key    smallint NOT NULL,
    execution_id     uuid     NOT NULL,
    idempotency_key  text     NOT NULL,
    result_rows      jsonb    NOT NULL,
    expires_at_ms    bigint   NOT NULL,
    PRIMARY KEY (partition_key, execution_id, idempotency_key)
);
COMMENT ON TABLE ff_suspend_dedup IS
    'Suspend idempotency: the first call''s result rows, replayed verbatim for the same key.';
-- Serves: ff_gc_dedup.
CREATE INDEX ff_suspend_dedup_expiry ON ff_suspend_dedup (expires_at_ms);
COMMENT ON INDEX ff_suspend_dedup_expiry IS 'Dedup GC scan.';

----------------------------------------------------------------------------------------------------
-- Budgets and quotas
----------------------------------------------------------------------------------------------------
CREATE TABLE ff_budget (
    budget_id          text   PRIMARY KEY,
    hard_limits        jsonb  NOT NULL DEFAULT '{}',
    soft_limits        jsonb  NOT NULL DEFAULT '{}',
    reset_interval_ms  bigint,
    created_at_ms      bigint NOT NULL,
    last_reset_at_ms   bigint
);
COMMENT ON TABLE ff_budget IS 'Budgets: hard and soft limits per dimension ({dimension: u64}).';

CREATE TABLE ff_budget_usage (
    budget_id  text   NOT NULL REFERENCES ff_budget ON DELETE CASCADE,
    dimension  text   NOT NULL,
    used       bigint NOT NULL DEFAULT 0,
    PRIMARY KEY (budget_id, dimension)
);
COMMENT ON TABLE ff_budget_usage IS 'Usage per budget and dimension, reported by leased workers.';

CREATE TABLE ff_usage_dedup (
    partition_key  smallint NOT NULL,
    execution_id   uuid     NOT NULL,
    dedup_key      text     NOT NULL,
    created_at_ms  bigint   NOT NULL,
    PRIMARY KEY (partition_key, execution_id, dedup_key)
);
COMMENT ON TABLE ff_usage_dedup IS 'ff_report_usage idempotency: one row per (execution, dedup_key).';

CREATE TABLE ff_quota_policy (
    quota_policy_id          uuid    PRIMARY KEY,
    max_requests_per_window  integer CHECK (max_requests_per_window >= 0),
    window_ms                bigint  NOT NULL CHECK (window_ms > 0),
    active_concurrency_cap   integer CHECK (active_concurrency_cap >= 0),
    created_at_ms            bigint  NOT NULL
);
COMMENT ON TABLE ff_quota_policy IS 'Quota policies: requests per sliding window and an active-concurrency cap.';

CREATE TABLE ff_quota_admission (
    quota_policy_id  uuid     NOT NULL REFERENCES ff_quota_policy ON DELETE CASCADE,
    admitted_at_ms   bigint   NOT NULL,
    partition_key    smallint NOT NULL,
    execution_id     uuid     NOT NULL,
    PRIMARY KEY (quota_policy_id, admitted_at_ms, partition_key, execution_id)
);
COMMENT ON TABLE ff_quota_admission IS
    'Admitted claims per quota policy (a quota "request"), for the sliding-window count.';

----------------------------------------------------------------------------------------------------
-- Outbox event tables (append-only; retention by ff_prune_events)
----------------------------------------------------------------------------------------------------
CREATE TABLE ff_signal_event (
    event_id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    partition_key    smallint NOT NULL,
    execution_id     text     NOT NULL,
    namespace        text,
    occurred_at_ms   bigint   NOT NULL,
    signal_id        uuid     NOT NULL,
    waitpoint_id     uuid     NOT NULL,
    signal_name      text     NOT NULL,
    source_type      text     NOT NULL,
    source_identity  text     NOT NULL,
    effect           text     NOT NULL
);
COMMENT ON TABLE ff_signal_event IS
    'Outbox: one row per accepted signal (buffered included, duplicates excluded). NOTIFY channel '
    'ff_signal_event, empty payload; listeners read rows after their last event_id.';

CREATE TABLE ff_lease_event (
    event_id        bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    partition_key   smallint NOT NULL,
    execution_id    text     NOT NULL,
    namespace       text,
    occurred_at_ms  bigint   NOT NULL,
    lease_id        uuid,
    lease_epoch     bigint   NOT NULL,
    event_type      ff_lease_event_type NOT NULL
);
COMMENT ON TABLE ff_lease_event IS
    'Outbox: lease acquired / renewed / expired / reclaimed / revoked / released. NOTIFY channel ff_lease_event.';

CREATE TABLE ff_completion_event (
    event_id        bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    partition_key   smallint NOT NULL,
    execution_id    text     NOT NULL,
    namespace       text,
    occurred_at_ms  bigint   NOT NULL,
    outcome         ff_completion_outcome NOT NULL,
    failure_class   ff_failure_class
);
COMMENT ON TABLE ff_completion_event IS
    'Outbox: terminal outcomes and resumes. NOTIFY channel ff_completion.';

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
-- Serves: ff_prune_events(older_than_ms) bulk retention on all three event tables. BRIN, not btree:
-- the tables are append-only in (nearly) occurred_at_ms order, so a block-range summary finds the old
-- rows, and an insert costs next to nothing (a btree entry per event was on every hot path).
CREATE INDEX ff_signal_event_time ON ff_signal_event USING brin (occurred_at_ms);
CREATE INDEX ff_lease_event_time ON ff_lease_event USING brin (occurred_at_ms);
CREATE INDEX ff_completion_event_time ON ff_completion_event USING brin (occurred_at_ms);
COMMENT ON INDEX ff_signal_event_time IS 'Retention scan for ff_prune_events (BRIN).';
COMMENT ON INDEX ff_lease_event_time IS 'Retention scan for ff_prune_events (BRIN).';
COMMENT ON INDEX ff_completion_event_time IS 'Retention scan for ff_prune_events (BRIN).';
CREATE INDEX ff_operator_event_time ON ff_operator_event USING brin (occurred_at_ms);
COMMENT ON INDEX ff_operator_event_time IS 'Retention scan for ff_prune_events (BRIN).';

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

----------------------------------------------------------------------------------------------------
-- Wake-ups: waiters announced to writers (the futex pattern; docs/wakeups.md)
----------------------------------------------------------------------------------------------------
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

----------------------------------------------------------------------------------------------------
-- Operator views (readable by ff_admin; no payloads, no secrets)
----------------------------------------------------------------------------------------------------
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

CREATE VIEW ff_suspensions AS
SELECT '{fp:' || s.partition_key || '}:' || s.execution_id AS execution_id, s.suspension_id, s.reason_code,
       s.suspended_at_ms, s.timeout_at_ms, s.timeout_behavior,
       (SELECT count(*) FROM ff_waitpoint w WHERE w.partition_key = s.partition_key
          AND w.execution_id = s.execution_id AND w.suspension_id = s.suspension_id) AS waitpoints,
       (SELECT count(*) FROM ff_signal g WHERE g.partition_key = s.partition_key
          AND g.execution_id = s.execution_id AND g.suspension_id = s.suspension_id) AS signals_received
FROM ff_suspension s WHERE s.state = 'open';
COMMENT ON VIEW ff_suspensions IS 'Open suspensions with their number of waitpoints and signals received.';

CREATE VIEW ff_lane_stats AS
SELECT lane_id,
       count(*) FILTER (WHERE lifecycle_phase = 'runnable' AND eligibility_state = 'eligible_now') AS runnable,
       count(*) FILTER (WHERE lifecycle_phase = 'runnable' AND eligibility_state <> 'eligible_now') AS delayed,
       count(*) FILTER (WHERE lifecycle_phase = 'active') AS active,
       count(*) FILTER (WHERE lifecycle_phase = 'suspended') AS suspended,
       count(*) FILTER (WHERE lifecycle_phase = 'terminal') AS terminal
FROM ff_exec_core GROUP BY lane_id;
COMMENT ON VIEW ff_lane_stats IS 'Per lane: executions runnable now, delayed, active, suspended, terminal.';

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
