#!/usr/bin/env bash
# Instructions per cycle, counted by valgrind's callgrind in a single-user backend (postgres --single):
# the same figure on every run of the same build, whatever else the machine is doing, so a change to
# the extension can be compared before/after on a noisy host (the benchmark's throughput varies by up
# to 30 % there). Counts the server's work only (executor, SPI, WAL insertion, commit): no client, no
# protocol, no waiting. Not part of the test command.
#   ./scripts/instructions.sh            # release build of ff_engine: W1 and W3; Absurd's W1 if absurdctl is installed
#   FF_INSTR_NO_INSTALL=1 ./scripts/instructions.sh   # measure whatever ff_engine.so is installed now
#   FF_INSTR_CALLS=1 ./scripts/instructions.sh        # also W1 call by call (create, claim, suspend, ...)
#   FF_INSTR_EDITION=sql ./scripts/instructions.sh    # the SQL edition (CREATE EXTENSION in a copy of the
#                                                       server whose ff_engine is the SQL-only extension)
#   FF_INSTR_W8=1 ./scripts/instructions.sh           # also workload 8 (fan-out / fan-in of 100 children)
#   FF_INSTR_EXTRA=file.sql ./scripts/instructions.sh # run file.sql after ff_engine's set-up (e.g. drop a
#                                                       trigger, to measure what it costs)
#   FF_INSTR_CPU=1 ./scripts/instructions.sh          # also W1's CPU time per cycle in one backend (user +
#                                                       system, fsync off, 1 000 and 2 000 cycles; no
#                                                       valgrind): instructions of different engines run
#                                                       at different speeds, and this is what a cycle costs
#   FF_INSTR_KEEP=DIR ./scripts/instructions.sh       # keep each callgrind output in DIR (callgrind_annotate)
#   FF_INSTR_INITS=1 ./scripts/instructions.sh        # also where W1's function and operator set-ups come
#                                                       from (~2 000 instructions each): per PL/pgSQL function,
#                                                       statement and function set up (bench/instructions/
#                                                       function_inits.c, built with $CC or cc; no valgrind)
# Each figure is (instructions of 2n cycles - instructions of n cycles) / n, both from a copy of the
# same prepared data directory, so start-up and the set-up cancel out. For the extension it also reports
# how much of that runs inside the engine's SQL statements and how much of those only sets a statement
# up and tears it down (bench/instructions/split.py): the most that writing rows without SQL could save.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${FF_PG_BINDIR:-/usr/lib/postgresql/15/bin}
edition=${FF_INSTR_EDITION:-rust}
split="split"   # the SPI split reads the Rust edition's entry point (SPI_execute_plan); not for the SQL edition
if [ "$edition" = sql ]; then
  BIN="$(bash scripts/sql-edition-server.sh 15)/bin"; split=; FF_INSTR_NO_INSTALL=1
fi
command -v valgrind >/dev/null || { echo "valgrind is required (Debian package valgrind)" >&2; exit 2; }
command -v python3 >/dev/null || { echo "python3 is required (bench/instructions/split.py)" >&2; exit 2; }
[ -n "${FF_INSTR_NO_INSTALL:-}" ] || bash scripts/install.sh --release >/dev/null
work=$(mktemp -d /tmp/ff_instr.XXXXXX); chown postgres "$work"
trap 'runuser -u postgres -- "$BIN/pg_ctl" -D "$work/data" -m immediate stop >/dev/null 2>&1 || true; rm -rf "$work"' EXIT
as_pg() { env -u RUST_BACKTRACE -u RUST_LIB_BACKTRACE runuser -u postgres -- "$@"; }
psql_pg() { as_pg "$BIN/psql" -q -X -v ON_ERROR_STOP=1 -h "$work" -p 5499 -U postgres "$@" >/dev/null; }

fresh_run() { rm -rf "$work/run"; cp -a "$work/data" "$work/run"; }   # a copy of the prepared data directory
single_failed() { tail "$work/single.log" >&2; exit 1; }
prepare() { # prepare NAME SETUP_SQL [absurd]
  prepared=$1
  rm -rf "$work/data"
  as_pg "$BIN/initdb" -D "$work/data" -U postgres --auth=trust -E UTF8 --locale=C >/dev/null
  as_pg "$BIN/pg_ctl" -D "$work/data" -l "$work/log" -w -o "-c listen_addresses='' -k $work -p 5499" start >/dev/null
  psql_pg -d postgres -c "CREATE DATABASE cg"
  [ "${3:-}" = absurd ] && absurdctl init -h "$work" -p 5499 -U postgres -d cg >/dev/null
  psql_pg -d cg -f "$2"
  [ "${3:-}" = absurd ] || [ -z "${FF_INSTR_EXTRA:-}" ] || psql_pg -d cg -f "$FF_INSTR_EXTRA"
  psql_pg -d cg -c "VACUUM ANALYZE"
  as_pg "$BIN/psql" -X -At -F '|' -h "$work" -p 5499 -U postgres -d cg -c "SELECT oid, oid::regprocedure FROM pg_proc" >"$work/names"
  as_pg "$BIN/pg_ctl" -D "$work/data" -w stop >/dev/null
}
function_inits() { # function_inits PROC N -> set-ups per cycle of CALL PROC(n), by statement
  # The server's headers: the SQL edition's server copy has none; Debian's 15 has (the same major).
  local include; include=$("$BIN/pg_config" --includedir-server 2>/dev/null || true)
  [ -f "$include/postgres.h" ] || include=$(/usr/lib/postgresql/15/bin/pg_config --includedir-server)
  command -v "${CC:-cc}" >/dev/null || { echo "FF_INSTR_INITS needs a C compiler (\$CC, default cc)" >&2; exit 2; }
  "${CC:-cc}" -O2 -fPIC -shared -I"$include" -o "$work/function_inits.so" bench/instructions/function_inits.c
  for n in "$2" $(($2 * 2)); do
    fresh_run
    echo "CALL $1($n);" | as_pg env FF_INITS_OUT="$work/inits_$n" "$BIN/postgres" --single -D "$work/run" \
      -c shared_preload_libraries="$work/function_inits.so" cg >"$work/single.log" 2>&1 || single_failed
    cat "$work/inits_$n".* >"$work/inits_$n"
  done
  python3 bench/instructions/function_inits.py "$work/inits_$2" "$work/inits_$(($2 * 2))" "$2" "$work/names"
}
count() { # count PROC N [split] -> instructions of CALL PROC(N) from a copy of the prepared data directory
  fresh_run
  echo "CALL $1($2);" | as_pg valgrind --tool=callgrind --callgrind-out-file="$work/cg.out" \
    "$BIN/postgres" --single -D "$work/run" cg >"$work/single.log" 2>&1 || single_failed
  [ -z "${FF_INSTR_KEEP:-}" ] || cp "$work/cg.out" "$FF_INSTR_KEEP/$prepared-$1-${2//[^0-9]/_}.callgrind"
  if [ -n "${3:-}" ]; then   # total, in the engine's statements, their executor set-up
    python3 bench/instructions/split.py "$work/cg.out"
  else
    grep -m1 '^summary:\|^totals:' "$work/cg.out" | awk '{print $2}'
  fi
}
cpu_us() { # cpu_us PROC N -> microseconds of CPU (user + system) of CALL PROC(N) in one backend, fsync off
  fresh_run
  local TIMEFORMAT='%U %S' t
  t=$( { time (echo "CALL $1($2);" | as_pg "$BIN/postgres" --single -D "$work/run" -c fsync=off cg >"$work/single.log" 2>&1); } 2>&1 ) ||
    single_failed
  awk '{printf "%.0f", ($1 + $2) * 1000000}' <<<"$t"
}
measure_cpu() { # measure_cpu LABEL PROC N
  local a b
  a=$(cpu_us "$2" "$3"); b=$(cpu_us "$2" $(($3 * 2)))
  printf '%-28s %12s µs of CPU per cycle (one backend)\n' "$1" "$(( (b - a) / $3 ))"
}
measure() { # measure LABEL PROC N [split]
  local a b
  read -r -a a <<<"$(count "$2" "$3" "${4:-}")"
  read -r -a b <<<"$(count "$2" $(($3 * 2)) "${4:-}")"
  printf '%-28s %12s instructions per cycle\n' "$1" "$(( (b[0] - a[0]) / $3 ))"
  if [ -n "${4:-}" ]; then
    printf '%-28s %12s   in the engine'"'"'s SQL statements (SPI)\n' "" "$(( (b[1] - a[1]) / $3 ))"
    printf '%-28s %12s   of which executor set-up (plan look-up, ExecutorStart, ExecutorEnd)\n' "" "$(( (b[2] - a[2]) / $3 ))"
  fi
}
prepare ff bench/instructions/ff_engine.sql
measure "ff_engine W1 ($edition edition)" w1 100 $split
measure "ff_engine W3 ($edition edition)" w3 1000 $split
if [ -n "${FF_INSTR_CPU:-}" ]; then measure_cpu "ff_engine W1 ($edition edition)" w1 1000; fi
if [ -n "${FF_INSTR_W8:-}" ]; then measure "ff_engine W8 ($edition edition)" w8 2 $split; fi
if [ -n "${FF_INSTR_CALLS:-}" ]; then   # W1 call by call: procedures running its first k calls, k = 1, 2, 3, 5, 6
  # Not 4 alone: a run of the first four calls leaves resumed executions claimable, which the next
  # cycle's claim would take instead of the new one.
  prev=0; calls=(create claim suspend "" "deliver + claim resumed" complete)
  for k in 1 2 3 5 6; do
    once=$(count w1_first "$k, 50"); twice=$(count w1_first "$k, 100")
    printf '%-34s %12s instructions\n' "  W1 ${calls[k - 1]}" "$(( (twice - once) / 50 - prev ))"
    prev=$(( (twice - once) / 50 ))
  done
fi
if [ -n "${FF_INSTR_INITS:-}" ]; then function_inits w1 50; fi
if command -v absurdctl >/dev/null; then
  prepare absurd bench/instructions/absurd.sql absurd
  measure "Absurd W1" w1 100
  if [ -n "${FF_INSTR_CPU:-}" ]; then measure_cpu "Absurd W1" w1 1000; fi
fi
