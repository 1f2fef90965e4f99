#!/usr/bin/env bash
# The long crash soak: workload 1 through the client crate while the postmaster is killed with
# SIGKILL every ~20 s (crash recovery each time), then a drain and the checks of
# tests/crash.rs (every acknowledged create completed exactly once, every acknowledged signal
# stored, nothing stuck or orphaned). The test command runs the 5-second version.
#   ./scripts/crash-soak.sh                 # 180 s, 16 clients, the Rust edition on PostgreSQL 15
#   ./scripts/crash-soak.sh 300 sql         # 300 s, the SQL edition
# Environment: FF_CRASH_SOAK_CLIENTS (16).
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-180}
edition=${2:-rust}
case "$edition" in
  rust) ./scripts/install.sh >/dev/null; bindir=$(pg_config --bindir) ;;
  sql) prefix=$(bash scripts/sql-edition-server.sh 15 | tail -1); bindir="$prefix/bin" ;;
  *) echo "usage: $0 [seconds] [rust|sql]" >&2; exit 2 ;;
esac
echo "crash soak: $seconds s, ${FF_CRASH_SOAK_CLIENTS:-16} clients, $edition edition ($bindir)"
FF_EDITION=$edition FF_PG_BINDIR="$bindir" FF_CRASH_SOAK_S="$seconds" FF_CRASH_SOAK_CLIENTS="${FF_CRASH_SOAK_CLIENTS:-16}" \
  env -u RUST_BACKTRACE cargo test -q -p ff-engine-tests --test crash sigkill_during_workload_one -- --nocapture
