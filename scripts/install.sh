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
