-- Where a run of a time-ordered scanner scans from (sql/shared/scan_starts.sql): its scan start, or
-- the earliest key when the verifier is due.
-- $1 scanner
-- $2 now_ms
-- $3 unfiltered
SELECT ff_scan_from($1, $2, $3) AS scan_from
