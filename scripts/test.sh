#!/usr/bin/env bash
# Second command of the README: the whole test suite. `.ci/run` calls exactly this.
#  1. setup (idempotent, quick when done)
#  2. unit + property tests and in-database #[pg_test]s: cargo pgrx test (its own pgrx-managed cluster)
#  3. install the normal build into the system PostgreSQL 15 (cargo pgrx test installed its test build)
#  4. client crate tests, integration tests and pg_regress scripts: each test binary starts its own
#     cluster (initdb/pg_ctl as postgres, unix socket under /tmp) and drives it with real sessions.
set -euo pipefail
cd "$(dirname "$0")/.."
start=$(date +%s)
bash scripts/setup.sh

PGRX_DATA=/tmp/ff_engine_pgrx_test
mkdir -p "$PGRX_DATA" && chown postgres:postgres "$PGRX_DATA"
echo "== unit, property and in-database tests (cargo pgrx test pg15)"
env -u RUST_BACKTRACE -u RUST_LIB_BACKTRACE cargo pgrx test pg15 --runas postgres --pgdata "$PGRX_DATA/data"

echo "== install ff_engine into the system PostgreSQL 15"
bash scripts/install.sh

echo "== client, integration and pg_regress tests (real clusters, concurrent sessions)"
cargo test -p ff-engine-client -p ff-engine-tests -p ff-engine-bench

echo "== client rustdoc (every public item documented, no broken links)"
RUSTDOCFLAGS="-D warnings" cargo doc -p ff-engine-client --no-deps --quiet

echo "== all tests passed in $(( $(date +%s) - start )) s"
