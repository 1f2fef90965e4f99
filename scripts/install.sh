#!/usr/bin/env bash
# Build the extension and install it into the system PostgreSQL 15 (dev profile; --release for benchmarks).
set -euo pipefail
cd "$(dirname "$0")/.."
cargo pgrx install --pg-config /usr/lib/postgresql/15/bin/pg_config "$@" 2>&1 | grep -vE '^\s*(Compiling|Copying|Discovered|Writing|Installing|Using|Building|Running|Finished `)' || true
test -f /usr/share/postgresql/15/extension/ff_engine.control
