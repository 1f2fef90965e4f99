-- ff_engine SQL edition: wake-ups (docs/wakeups.md), the same protocol as the Rust edition
-- (src/postgres/notify.rs): the same ff_waiter table, the same advisory lock keys
-- (1717985655, hashtext(channel || ':' || lane_id)), the same channels and payloads.

-- ff_engine.notify folded: 'nobody', 'announced' (default) or 'everyone'; the Rust edition's values
-- and hidden aliases, any other value 22023 (settings.sql).
CREATE FUNCTION ff_notify_mode() RETURNS text
LANGUAGE sql STABLE AS $$
    SELECT CASE lower(trim(coalesce(nullif(current_setting('ff_engine.notify', true), ''), 'on')))
        WHEN 'on' THEN 'announced' WHEN 'true' THEN 'announced' WHEN 'yes' THEN 'announced' WHEN '1' THEN 'announced'
        WHEN 'off' THEN 'nobody' WHEN 'false' THEN 'nobody' WHEN 'no' THEN 'nobody' WHEN '0' THEN 'nobody'
        WHEN 'always' THEN 'everyone'
        ELSE ff_setting_invalid('ff_engine.notify', current_setting('ff_engine.notify', true), 'on, off or always') END
$$;
COMMENT ON FUNCTION ff_notify_mode() IS 'ff_engine.notify with its aliases folded (internal).';

-- The wake-up lock of one (channel, lane) key, in share mode (writers) or exclusive mode (waiters);
-- true. SQL, so that PostgreSQL writes it into the calling expression.
CREATE FUNCTION ff_wake_lock(channel text, lane_id text, exclusive boolean) RETURNS boolean
LANGUAGE sql VOLATILE PARALLEL UNSAFE AS $$
    SELECT CASE WHEN exclusive THEN pg_advisory_xact_lock(1717985655, hashtext(channel || ':' || lane_id)) IS NOT NULL
                ELSE pg_advisory_xact_lock_shared(1717985655, hashtext(channel || ':' || lane_id)) IS NOT NULL END
$$;
COMMENT ON FUNCTION ff_wake_lock(text, text, boolean) IS 'The wake-up advisory lock of a (channel, lane) key (internal).';

-- The (channel, lane) keys of `channels` ('' lane) and `lanes`, in the one order writers (share) and
-- waiters (exclusive) lock them: by bytes, channel then lane, as the Rust edition. SQL, so that
-- PostgreSQL writes it into the calling statement, whose plan is kept.
CREATE FUNCTION ff_wake_keys(channels text[], lanes text[]) RETURNS TABLE (channel text, lane_id text)
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT DISTINCT u.c COLLATE "C", u.l COLLATE "C"
    FROM (SELECT unnest(channels), '' UNION ALL SELECT 'ff_lane_ready', unnest(lanes)) AS u(c, l)
    ORDER BY 1, 2
$$;
COMMENT ON FUNCTION ff_wake_keys(text[], text[]) IS 'Wake-up lock keys in lock order (internal).';

CREATE FUNCTION ff_wake_share_locks_sorted(channels text[], lanes text[]) RETURNS boolean
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE AS $$
BEGIN
    PERFORM ff_wake_lock(k.channel, k.lane_id, false) FROM ff_wake_keys(channels, lanes) k;
    RETURN true;
END
$$;
COMMENT ON FUNCTION ff_wake_share_locks_sorted(text[], text[]) IS 'Take several keys'' wake-up locks in lock order (internal).';

-- The writers' share locks of the keys written, in the one lock order (ff_wake_keys: bytes of
-- channel, then lane, as the Rust edition); whether there was a key. One key, or two channels (an end:
-- lease events and completions), the common cases, are one expression PostgreSQL writes into ff_wake
-- (the CASE orders the two locks); more keys take one statement.
CREATE FUNCTION ff_wake_share_locks(channels text[], lanes text[]) RETURNS boolean
LANGUAGE sql VOLATILE PARALLEL UNSAFE AS $$
    SELECT CASE coalesce(cardinality(channels), 0) + coalesce(cardinality(lanes), 0)
        WHEN 0 THEN false
        WHEN 1 THEN ff_wake_lock(coalesce(channels[1], 'ff_lane_ready'), coalesce(lanes[1], ''), false)
        ELSE CASE WHEN cardinality(channels) = 2 AND coalesce(cardinality(lanes), 0) = 0
                       AND ff_wake_lock(least(channels[1] COLLATE "C", channels[2] COLLATE "C"), '', false)
                  THEN ff_wake_lock(greatest(channels[1] COLLATE "C", channels[2] COLLATE "C"), '', false)
                  ELSE ff_wake_share_locks_sorted(channels, lanes) END END
$$;
COMMENT ON FUNCTION ff_wake_share_locks(text[], text[]) IS 'Take the writers'' wake-up locks (internal).';

-- The rest of a wake-up its quick test did not settle (ff_wake_one; ff_wake): take the announcements
-- of the keys written (every subscriber of a channel, the longest-waiting worker of a lane) and
-- notify each. Under the default setting ('on' or unset) the caller holds the keys' share locks and
-- ff_waiter has had a row. Under any other the quick test took no lock, and this tells the setting
-- (ff_wake_by_setting: its aliases folded, 'always' notifying every key itself), takes the share
-- locks in lock order and tests the size before it reads. True.
CREATE FUNCTION ff_wake_rest(channels text[], lanes text[]) RETURNS boolean
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE AS $$
DECLARE
    woken record;
BEGIN
    IF NOT ff_wake_default() AND NOT (ff_wake_by_setting(channels, lanes) AND ff_wake_share_locks(channels, lanes) AND NOT ff_wake_quiet()) THEN
        RETURN true;
    END IF;
    FOR woken IN
        -- @statement wakeups/take_waiters.sql: channels, lanes
        DELETE FROM ff_waiter w
        USING (
            (SELECT channel, lane_id, backend_pid FROM ff_waiter WHERE channel = ANY (channels) AND lane_id = '')
            UNION ALL
            (SELECT DISTINCT ON (lane_id) channel, lane_id, backend_pid FROM ff_waiter
             WHERE channel = 'ff_lane_ready' AND lane_id = ANY (lanes)
             ORDER BY lane_id, announced_at_ms, backend_pid)
        ) t
        WHERE w.channel = t.channel AND w.lane_id = t.lane_id AND w.backend_pid = t.backend_pid
        RETURNING w.channel, w.lane_id, w.backend_pid
        -- @end statement
    LOOP
        IF woken.channel = 'ff_lane_ready' THEN
            PERFORM pg_notify('ff_wake_' || woken.backend_pid, woken.lane_id);
        ELSE
            PERFORM pg_notify(woken.channel, '');
        END IF;
    END LOOP;
    RETURN true;
END
$$;
COMMENT ON FUNCTION ff_wake_rest(text[], text[]) IS
    'A wake-up past its quick test: the setting, the locks, the announced waiters notified and forgotten (internal).';

-- ff_wake under a setting of ff_engine.notify other than the default ('on' or unset): 'everyone'
-- notifies every channel and lane written; whether the setting (an alias of 'on') still means the
-- announced waiters.
CREATE FUNCTION ff_wake_by_setting(channels text[], lanes text[]) RETURNS boolean
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE AS $$
DECLARE
    mode text := ff_notify_mode();
    c text;
BEGIN
    IF mode = 'everyone' THEN
        FOREACH c IN ARRAY channels LOOP PERFORM pg_notify(c, ''); END LOOP;
        FOREACH c IN ARRAY lanes LOOP PERFORM pg_notify('ff_lane_ready', c); END LOOP;
    END IF;
    RETURN mode = 'announced';
END
$$;
COMMENT ON FUNCTION ff_wake_by_setting(text[], text[]) IS 'ff_wake under a non-default ff_engine.notify (internal).';

-- A wake-up's quick test, in two halves written into the caller's expression around the keys' share
-- locks: ff_engine.notify at its default ('on' or unset), told by two comparisons, ...
CREATE FUNCTION ff_wake_default() RETURNS boolean
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT coalesce(current_setting('ff_engine.notify', true), 'on') IN ('on', '')
$$;
COMMENT ON FUNCTION ff_wake_default() IS 'Whether ff_engine.notify is at its default (internal).';

-- ... and, the locks held, nobody announced since ff_waiter was last vacuumed empty (its size, not a
-- query).
CREATE FUNCTION ff_wake_quiet() RETURNS boolean
LANGUAGE sql VOLATILE PARALLEL UNSAFE AS $$
    SELECT pg_relation_size('ff_waiter') = 0
$$;
COMMENT ON FUNCTION ff_wake_quiet() IS 'Whether ff_waiter has never had a row since it was vacuumed empty (internal).';

-- ff_wake of one key, the channel's (lane_id '') or the lane's (channel 'ff_lane_ready'), as one
-- expression PostgreSQL writes into the caller (SQL, inlined): a hot path evaluates it in an
-- assignment, which PL/pgSQL runs without starting an executor, and a constant key's lock number is
-- computed when the caller's plan is made. The quick test settles the common case: the default
-- setting, the key's share lock, nobody announced; anything else is ff_wake_rest's, the one function
-- the expression names (PostgreSQL sets up every function an expression names in each transaction,
-- called or not: ~3 300 instructions a PL/pgSQL function). ff_wake costs a statement, a call and its
-- CASE over every number of keys, ~85 000 instructions a key; this ~15 000. True. Several keys are one
-- expression of the same parts, the share locks in lock order, channel then lane, by bytes (as
-- ff_wake_keys sorts them), e.g.
--   woken := ff_wake_default() AND ff_wake_lock('ff_completion', '', false)
--              AND ff_wake_lock('ff_lease_event', '', false) AND ff_wake_quiet()
--            OR ff_wake_rest('{ff_completion,ff_lease_event}', '{}');
CREATE FUNCTION ff_wake_one(channel text, lane_id text) RETURNS boolean
LANGUAGE sql VOLATILE PARALLEL UNSAFE AS $$
    SELECT ff_wake_default() AND ff_wake_lock(channel, lane_id, false) AND ff_wake_quiet()
           OR ff_wake_rest(CASE WHEN lane_id = '' THEN ARRAY[channel] ELSE '{}' END,
                           CASE WHEN lane_id = '' THEN '{}' ELSE ARRAY[lane_id] END)
$$;
COMMENT ON FUNCTION ff_wake_one(text, text) IS 'ff_wake of one key, written into the caller (internal).';

-- Wake the waiters on the outbox `channels` written and the `lanes` made claimable; call after the
-- writes. Under the default setting, the share locks first, then, unless nobody has announced since
-- ff_waiter was last vacuumed empty (no block), the announcements (ff_wake_rest, which reads
-- ff_waiter in a statement of its own); under any other, ff_wake_rest whole. The default setting is
-- told by two comparisons and the other settings' aliases folded only when one is set: PL/pgSQL
-- compiles each expression it evaluates again in every transaction, and every call of a hot path is
-- a transaction of its own.
CREATE FUNCTION ff_wake(channels text[], lanes text[]) RETURNS void
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE AS $$
BEGIN
    IF NOT ff_wake_default() OR ff_wake_share_locks(channels, lanes) AND NOT ff_wake_quiet() THEN
        PERFORM ff_wake_rest(channels, lanes);
    END IF;
END
$$;
COMMENT ON FUNCTION ff_wake(text[], text[]) IS 'Notify the announced waiters on what the caller wrote (internal).';

-- The announcements (the waiter side): the exclusive locks in lock order, then the rows.
CREATE FUNCTION ff_announce(channels text[], lanes text[]) RETURNS void
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE AS $$
DECLARE
    key_channels text[];
    key_lanes text[];
BEGIN
    PERFORM ff_wake_lock(k.channel, k.lane_id, true) FROM ff_wake_keys(channels, lanes) k;
    SELECT array_agg(k.channel), array_agg(k.lane_id) INTO key_channels, key_lanes FROM ff_wake_keys(channels, lanes) k;
    -- @statement wakeups/announce.sql: key_channels, key_lanes, ff_now_ms()
    INSERT INTO ff_waiter (channel, lane_id, backend_pid, announced_at_ms)
    SELECT c, l, pg_backend_pid(), ff_now_ms() FROM unnest(key_channels::text[], key_lanes::text[]) AS a(c, l)
    ON CONFLICT (channel, lane_id, backend_pid) DO UPDATE SET announced_at_ms = EXCLUDED.announced_at_ms
    -- @end statement
    ;
END
$$;
COMMENT ON FUNCTION ff_announce(text[], text[]) IS 'Announce the session as a waiter (internal).';

-- Differs from the Rust edition in one way: PL/pgSQL cannot see whether it runs inside a transaction
-- block, so announcing inside one is not refused (WF001 in_transaction_block in the Rust edition);
-- the announcement's locks are then held until that transaction ends.
CREATE FUNCTION ff_await_lane(lane_id text) RETURNS void
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = @extschema@, pg_temp AS $$
BEGIN
    lane_id := ff_required(lane_id, 'lane_id');
    lane_id := ff_check_lane_id(lane_id);
    PERFORM ff_announce('{}', ARRAY[lane_id]);
END
$$;

CREATE FUNCTION ff_await_events(channels text[]) RETURNS void
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = @extschema@, pg_temp AS $$
BEGIN
    channels := ff_required(channels, 'channels');
    IF cardinality(channels) NOT BETWEEN 1 AND 5 OR EXISTS (
        SELECT 1 FROM unnest(channels) c
        WHERE c IS NULL OR c NOT IN ('ff_signal_event', 'ff_lease_event', 'ff_completion', 'ff_operator_event', 'ff_frame')) THEN
        PERFORM ff_invalid('invalid_channel',
            'channels must be 1-5 of ff_signal_event, ff_lease_event, ff_completion, ff_operator_event, ff_frame');
    END IF;
    PERFORM ff_announce(channels, '{}');
END
$$;
