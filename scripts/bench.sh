#!/usr/bin/env bash
# The benchmark: release build of the extension, Absurd's schema tool, then the harness in
# bench/ (release). Not part of the test command. Options go to the harness, e.g.
#   ./scripts/bench.sh --duration 8 --warmup 2 --clients 1,4,16 --workloads 1,2,3,4
# Results: bench/results/{results.csv,chart.svg,table.md,postgresql.conf}.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
echo "== build + install ff_engine (release)"
bash scripts/install.sh --release
# Not `pip show | grep -q`: grep stops reading at the match, pip then dies of SIGPIPE, and with pipefail
# the check failed every time (a reinstall on every run).
if [[ "$(pip show absurdctl 2>/dev/null || true)" != *$'\nVersion: 0.5.1\n'* ]]; then
  echo "== pip install absurdctl==0.5.1 (Absurd's schema for the comparison)"
  pip install --quiet absurdctl==0.5.1
fi
echo "== build the harness (release)"
cargo build --release --quiet -p ff-engine-bench
env -u RUST_BACKTRACE ./target/release/ff-engine-bench "$@"
