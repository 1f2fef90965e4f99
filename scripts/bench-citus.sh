#!/usr/bin/env bash
# Workloads 1 and 3 through the partition-first calls, with pgbench, on one PostgreSQL 18 node and on
# Citus clusters of a coordinator and one or two workers on this machine (the same cores in total),
# the Rust edition's release build. For the throughput model in BENCHMARKS.md it also reads the CPU
# time each instance's processes spent during the run (from /proc), per cycle.
#   scripts/bench-citus.sh [SECONDS] [CLIENTS]     defaults 20 and 8 (SECONDS sizes each run: a
#                                                   number of W1 cycles, or a W3 backlog to drain,
#                                                   per client); writes bench/results/citus/results.txt
#   FF_CITUS_EDITION=sql scripts/bench-citus.sh     the SQL edition instead (scripts/sql-edition-server.sh
#                                                   18); writes bench/results/citus-sql/results.txt
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/majors.sh
source scripts/majors.sh
secs=${1:-20}
clients=${2:-8}
if [ "${FF_CITUS_EDITION:-rust}" = sql ]; then
  BIN="$(bash scripts/sql-edition-server.sh 18)/bin"
  out=bench/results/citus-sql
  echo "bench-citus: the SQL edition on PostgreSQL 18"
else
  BIN="$(pg_prefix 18)/bin"
  out=bench/results/citus
  echo "bench-citus: release build into PostgreSQL 18"
  FF_PG_MAJOR=18 bash scripts/install.sh --release >/dev/null
fi
mkdir -p "$out"
as_pg() { env -u RUST_BACKTRACE runuser -u postgres -- "$@"; }
options="-c max_connections=200 -c fsync=off -c synchronous_commit=off -c full_page_writes=off"

# CPU seconds (user + system) of the instance whose data directory is $1: its postmaster's, its live
# processes', and (the postmaster's cutime and cstime) those of the backends that have exited.
cpu_of() {
  local pm
  pm=$(head -1 "$1/postmaster.pid")
  for f in /proc/[0-9]*/stat; do
    [ -r "$f" ] || continue
    # pid, then the fields after the command name: state ppid ... utime stime cutime cstime (14-17)
    awk -v pm="$pm" '{ line = $0; pid = $1; sub(/^.*\) /, "", line); split(line, a, " ");
      if (pid == pm) print a[12] + a[13] + a[14] + a[15]; else if (a[2] == pm) print a[12] + a[13] }' "$f" 2>/dev/null || true
  done | awk -v hz="$(getconf CLK_TCK)" '{ s += $1 } END { printf "%.2f", s / hz }'
}

# Run workload file $2 against the coordinator (or node) socket $1, each client for $3 transactions;
# prints "tps=<cycles/s> <instance>_cpu_s_per_s=<CPU seconds per second> ...", the CPU read every
# second while pgbench runs (its first second left out; backends end with the run, so the last read
# before the end is the last one counted).
run() {
  local sock=$1 script=$2 transactions=$3; shift 3
  local log samples
  log=$(mktemp); samples=$(mktemp)
  as_pg "$BIN/pgbench" -h "$sock" -p 5432 -U postgres -n -f "$script" -c "$clients" -j 2 -t "$transactions" postgres >"$log" 2>&1 &
  local bench=$!
  sleep 1
  while kill -0 "$bench" 2>/dev/null; do
    local line; line="$(date +%s.%N)"
    for d in "$@"; do line+=" $(cpu_of "$d")"; done
    echo "$line" >>"$samples"
    sleep 1
  done
  wait "$bench" || { cat "$log"; exit 1; }
  local tps
  tps=$(awk '/^tps = / { printf "%.0f", $3 }' "$log")
  local names=""
  for d in "$@"; do names+=" $(basename "$d")"; done
  # The first and the next-to-last reads (the last may have come after backends ended).
  awk -v tps="$tps" -v names="$names" '{ row[NR] = $0 }
    END { split(names, n, " "); split(row[1], a, " "); last = (NR > 2 ? NR - 1 : NR); split(row[last], b, " ");
          out = "cycles_per_s=" tps;
          for (i = 2; i <= length(a); i++)
            out = out sprintf(" %s_cpu_ms_per_cycle=%.3f", n[i - 1], 1000 * (b[i] - a[i]) / (b[1] - a[1]) / tps);
          print out }' "$samples"
  rm -f "$log" "$samples"
}

# Fill each client's lane with $2 executions through the socket $1 (pgbench: each client its own).
fill() {
  as_pg "$BIN/pgbench" -h "$1" -p 5432 -U postgres -n -f bench/citus/fill.sql -c "$clients" -j 2 -t "$2" postgres >/dev/null
}

prepare() { # socket, distribute?
  as_pg "$BIN/psql" -X -q -h "$1" -p 5432 -U postgres -c "CREATE EXTENSION ff_engine CASCADE" \
    -c "SELECT * FROM ff_seed_hmac('k1', repeat('11', 32))" >/dev/null
  if [ "$2" = yes ]; then as_pg "$BIN/psql" -X -q -h "$1" -p 5432 -U postgres -c "SELECT * FROM ff_distribute(32)" >/dev/null 2>&1; fi
}

results="$out/results.txt"
: >"$results"
# Transactions per client, sized to run about SECONDS: one node does ~8x the cycles of these clusters
# (the results say why).
per_client() { # setup workload
  local rate
  case "$1 $2" in
    "one-node w1") rate=120 ;; "one-node w3") rate=450 ;;
    *" w1") rate=12 ;; *) rate=45 ;;
  esac
  echo $((secs * rate * 8 / clients))
}
# Stop the setup running now: after each run, and on exit (an aborted run leaves no servers behind).
setup='' dir=''
stop_setup() {
  [ -n "$dir" ] || return 0
  case $setup in
    one-node) FF_PG_BINDIR=$BIN bash scripts/cluster.sh stop "$dir" >/dev/null 2>&1 ;;
    citus-1-worker) FF_CITUS_WORKERS=1 FF_PG_BINDIR=$BIN bash scripts/citus-cluster.sh stop "$dir" >/dev/null 2>&1 ;;
    *) FF_PG_BINDIR=$BIN bash scripts/citus-cluster.sh stop "$dir" >/dev/null 2>&1 ;;
  esac
  rm -rf "$dir"
  dir=''
}
trap stop_setup EXIT
for setup in one-node citus-1-worker citus-2-workers; do
  for w in w1 w3; do
    dir=$(mktemp -d /tmp/ff_bench_citus.XXXXXX)
    chmod 755 "$dir"
    case $setup in
      one-node)
        FF_PG_BINDIR=$BIN FF_PG_OPTIONS="$options" bash scripts/cluster.sh start "$dir" >/dev/null
        sock=$dir/sock; instances=("$dir/data")
        ;;
      citus-1-worker)
        FF_CITUS_WORKERS=1 FF_PG_BINDIR=$BIN FF_PG_OPTIONS="$options" bash scripts/citus-cluster.sh start "$dir" >/dev/null
        sock=$dir/sock; instances=("$dir/coordinator" "$dir/worker1")
        ;;
      citus-2-workers)
        FF_PG_BINDIR=$BIN FF_PG_OPTIONS="$options" bash scripts/citus-cluster.sh start "$dir" >/dev/null
        sock=$dir/sock; instances=("$dir/coordinator" "$dir/worker1" "$dir/worker2")
        ;;
    esac
    prepare "$sock" "$([ "$setup" = one-node ] && echo no || echo yes)"
    n=$(per_client "$setup" "$w")
    if [ "$w" = w3 ]; then fill "$sock" "$n"; fi
    line="$setup $w $(run "$sock" "bench/citus/$w.sql" "$n" "${instances[@]}")"
    echo "$line" | tee -a "$results"
    stop_setup
  done
done
echo "bench-citus: $results ($secs s per run, $clients clients, $(nproc) cores)"
