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
