#!/usr/bin/env bash
# Throwaway PostgreSQL 15 cluster under /tmp, run as the postgres OS user, unix socket only.
#   scripts/cluster.sh start DIR   -- initdb if needed, start if not running (idempotent)
#     FF_PG_BINDIR: another server's binaries; FF_PG_OPTIONS: more server options ("-c name=value ...")
#   scripts/cluster.sh stop DIR
# Prints nothing on success but the socket directory (for PGHOST).
set -euo pipefail
cmd=${1:?start|stop}; dir=${2:?directory}
BIN=${FF_PG_BINDIR:-/usr/lib/postgresql/15/bin}
as_pg() { env -u RUST_BACKTRACE -u RUST_LIB_BACKTRACE runuser -u postgres -- "$@"; }
case "$cmd" in
  start)
    mkdir -p "$dir/sock"; chown -R postgres:postgres "$dir"
    if [ ! -f "$dir/data/PG_VERSION" ]; then
      as_pg "$BIN/initdb" -D "$dir/data" -U postgres --auth=trust -E UTF8 --locale=C >"$dir/initdb.log" 2>&1
    fi
    if ! as_pg "$BIN/pg_ctl" -D "$dir/data" status >/dev/null 2>&1; then
      as_pg "$BIN/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w \
        -o "-c listen_addresses='' -k $dir/sock -p 5432 ${FF_PG_OPTIONS:-}" start >/dev/null
    fi
    echo "$dir/sock"
    ;;
  stop)
    if [ -f "$dir/data/PG_VERSION" ]; then
      as_pg "$BIN/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null 2>&1 || true
    fi
    ;;
  *) echo "usage: $0 start|stop DIR" >&2; exit 2 ;;
esac
