#!/usr/bin/env bash
# Build the extension and install it into the system PostgreSQL 15 (dev profile; --release for benchmarks).
set -euo pipefail
cd "$(dirname "$0")/.."
log=$(mktemp)
if ! cargo pgrx install --pg-config /usr/lib/postgresql/15/bin/pg_config "$@" >"$log" 2>&1; then
  cat "$log"; rm -f "$log"; echo "install: cargo pgrx install failed" >&2; exit 1
fi
grep -E '^(warning|error)' "$log" || true
rm -f "$log"
# The install scripts of earlier releases, so that `CREATE EXTENSION ff_engine VERSION '0.1.0'` followed
# by `ALTER EXTENSION ff_engine UPDATE` works (the upgrade test does exactly that). pgrx copies the
# upgrade scripts (sql/ff_engine--A--B.sql) itself.
pg_config=/usr/lib/postgresql/15/bin/pg_config
for arg in "$@"; do case "$arg" in --pg-config=*) pg_config=${arg#--pg-config=} ;; esac; done
cp sql/releases/ff_engine--*.sql "$("$pg_config" --sharedir)/extension/"
