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
