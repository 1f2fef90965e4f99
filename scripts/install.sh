#!/usr/bin/env bash
# Build the extension and install it into a PostgreSQL (dev profile; --release for benchmarks).
#   scripts/install.sh [--release]             the system PostgreSQL 15
#   FF_PG_MAJOR=16 scripts/install.sh          PostgreSQL 16 (or 18), as scripts/setup.sh unpacked it (majors.sh)
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/majors.sh
source scripts/majors.sh
major=${FF_PG_MAJOR:-15}
pg_config="$(pg_prefix "$major")/bin/pg_config"
log=$(mktemp)
if ! cargo pgrx install --pg-config "$pg_config" --no-default-features --features "pg$major" "$@" >"$log" 2>&1; then
  cat "$log"; rm -f "$log"; echo "install: cargo pgrx install failed" >&2; exit 1
fi
grep -E '^(warning|error)' "$log" || true
rm -f "$log"
# The install scripts of earlier releases, so that `CREATE EXTENSION ff_engine VERSION '0.1.0'` followed
# by `ALTER EXTENSION ff_engine UPDATE` works (the upgrade test does exactly that). pgrx copies the
# upgrade scripts (sql/ff_engine--A--B.sql) itself.
cp sql/releases/ff_engine--*.sql "$("$pg_config" --sharedir)/extension/"
