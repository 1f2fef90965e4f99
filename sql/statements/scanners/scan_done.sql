-- After an unfiltered run of a time-ordered scanner that processed every due row it found: its scan
-- start moves up (sql/shared/scan_starts.sql).
-- $1 scanner
-- $2 now_ms
SELECT FROM ff_scan_done($1, $2)
