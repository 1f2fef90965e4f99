#!/usr/bin/env bash
# Throwaway Citus cluster under DIR: a coordinator and two workers on one machine, run as the postgres
# OS user, unix socket only (DIR/sock; ports 5432 coordinator, 5433 and 5434 workers).
#   scripts/citus-cluster.sh start DIR   -- initdb if needed, start if not running, CREATE EXTENSION
#                                           citus on each node and add the workers (idempotent)
#   scripts/citus-cluster.sh stop DIR
#   scripts/citus-cluster.sh restart DIR NODE
#                                        -- restart one node (coordinator, worker1, worker2), fast
#     FF_PG_BINDIR: the PostgreSQL 18 binaries Citus is installed with (scripts/setup.sh installs it
#     into the PostgreSQL 18 that setup unpacks); FF_PG_OPTIONS: more server options;
#     FF_CITUS_WORKERS: 1 or 2 (the default) workers.
# Prints nothing on success but the socket directory (for PGHOST).
set -euo pipefail
cmd=${1:?start|stop}; dir=${2:?directory}
BIN=${FF_PG_BINDIR:?FF_PG_BINDIR: the bin directory of a PostgreSQL with Citus}
as_pg() { env -u RUST_BACKTRACE -u RUST_LIB_BACKTRACE runuser -u postgres -- "$@"; }
nodes=(coordinator:5432 worker1:5433 worker2:5434)
workers=(5433 5434)
if [ "${FF_CITUS_WORKERS:-2}" = 1 ]; then nodes=(coordinator:5432 worker1:5433); workers=(5433); fi
psql_at() { as_pg "$BIN/psql" -X -q -v ON_ERROR_STOP=1 -h "$dir/sock" -p "$1" -U postgres -d postgres -At -c "$2"; }
case "$cmd" in
  start)
    [ -f "$BIN/../lib/citus.so" ] || [ -f "$("$BIN/pg_config" --pkglibdir)/citus.so" ] \
      || { echo "citus-cluster: no Citus in $BIN/.. (scripts/setup.sh installs it for PostgreSQL 18)" >&2; exit 1; }
    mkdir -p "$dir/sock"; chown -R postgres:postgres "$dir"
    for node in "${nodes[@]}"; do
      name=${node%%:*}; port=${node##*:}
      if [ ! -f "$dir/$name/PG_VERSION" ]; then
        as_pg "$BIN/initdb" -D "$dir/$name" -U postgres --auth=trust -E UTF8 --locale=C >"$dir/$name.initdb.log" 2>&1
      fi
      if ! as_pg "$BIN/pg_ctl" -D "$dir/$name" status >/dev/null 2>&1; then
        as_pg "$BIN/pg_ctl" -D "$dir/$name" -l "$dir/$name.log" -w \
          -o "-c listen_addresses='' -k $dir/sock -p $port -c shared_preload_libraries=citus ${FF_PG_OPTIONS:-}" start >/dev/null
      fi
      psql_at "$port" "CREATE EXTENSION IF NOT EXISTS citus"
    done
    if [ "$(psql_at 5432 "SELECT count(*) FROM pg_dist_node WHERE noderole = 'primary' AND isactive")" != "${#nodes[@]}" ]; then
      psql_at 5432 "SELECT citus_set_coordinator_host('$dir/sock', 5432)" >/dev/null
      for port in "${workers[@]}"; do
        psql_at 5432 "SELECT citus_add_node('$dir/sock', $port)" >/dev/null
      done
    fi
    echo "$dir/sock"
    ;;
  stop)
    for node in "${nodes[@]}"; do
      name=${node%%:*}
      if [ -f "$dir/$name/PG_VERSION" ]; then
        as_pg "$BIN/pg_ctl" -D "$dir/$name" -m fast -w stop >/dev/null 2>&1 || true
      fi
    done
    ;;
  restart)
    name=${3:?restart DIR NODE}
    as_pg "$BIN/pg_ctl" -D "$dir/$name" -l "$dir/$name.log" -m fast -w restart >/dev/null
    ;;
  *) echo "usage: $0 start|stop DIR, or restart DIR NODE" >&2; exit 2 ;;
esac
