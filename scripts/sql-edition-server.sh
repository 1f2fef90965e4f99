#!/usr/bin/env bash
# A copy of PostgreSQL MAJOR whose `ff_engine` is the SQL edition, for the test suite's
# SQL-edition pass: the same server binaries, hard-linked (or copied) under
# $FF_PG_HOME/sql-edition/MAJOR, with the Rust edition's files (ff_engine.so, its control file and
# scripts) removed and the file-based SQL-only extension from scripts/sql-edition.sh put in their place.
# A server started from this copy can only ever load the SQL edition, and `CREATE EXTENSION ff_engine`
# there runs exactly the script the pg_tle installer carries.
#   scripts/sql-edition-server.sh MAJOR     prints the copy's installation prefix (bin/ is under it)
#   scripts/sql-edition-server.sh 15 --pgtle
#                                           a copy with no ff_engine at all and pg_tle (staged by
#                                           setup.sh) installed: the SQL edition gets there only through
#                                           its pg_tle installer, as on RDS, Aurora and Supabase. The
#                                           server must preload it (shared_preload_libraries = pg_tle).
# Idempotent: the copy is made once; the extension files are rebuilt from the source on every call.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/majors.sh
source scripts/majors.sh
major=${1:?usage: $0 MAJOR [--pgtle]}
pgtle=false
if [ "${2:-}" = --pgtle ]; then pgtle=true; fi
prefix=$(pg_prefix "$major")
# What to copy: the trees the server finds relative to its own binary (PostgreSQL relocates its share
# and lib directories by their path relative to bin/), at the same absolute paths under the copy's root.
case "$major" in
  15) trees=(/usr/lib/postgresql/15 /usr/share/postgresql/15) ;;
  *) trees=("$FF_PG_HOME/$major") ;;
esac
root="$FF_PG_HOME/sql-edition/$major"
stage="$FF_PG_HOME/pg_tle-1.5.3"
if $pgtle; then
  root="$FF_PG_HOME/pgtle/$major"
  [ -f "$stage$prefix/lib/pg_tle.so" ] || { echo "sql-edition-server: no pg_tle staged for $major under $stage (scripts/setup.sh builds it for 15)" >&2; exit 1; }
fi
# Made again when the original server changed version (a package upgrade, say), or gained Citus
# (scripts/setup.sh unpacks it into PostgreSQL 18).
if [ ! -x "$root$prefix/bin/postgres" ] || [ "$("$root$prefix/bin/postgres" --version)" != "$("$prefix/bin/postgres" --version)" ] \
  || { [ -f "$prefix/lib/citus.so" ] && [ ! -f "$root$prefix/lib/citus.so" ]; }; then
  rm -rf "$root"
  for t in "${trees[@]}"; do
    mkdir -p "$root$(dirname "$t")"
    cp -al "$t" "$root$t" 2>/dev/null || { rm -rf "${root:?}$t"; cp -a "$t" "$root$t"; }
  done
fi
if [ -x "$root$prefix/bin/pg_config" ]; then
  sharedir=$("$root$prefix/bin/pg_config" --sharedir)
  pkglibdir=$("$root$prefix/bin/pg_config" --pkglibdir)
else # a server-only build (14, 17): PostgreSQL's relocatable layout under the prefix
  sharedir="$root$prefix/share/postgresql"
  pkglibdir="$root$prefix/lib/postgresql"
fi
case "$sharedir" in "$root"/*) ;; *) echo "sql-edition-server: the copy's pg_config reports $sharedir, not a path under $root" >&2; exit 1 ;; esac
# rm before writing: the copy's files may be hard links to the original installation's.
rm -f "$sharedir"/extension/ff_engine.control "$sharedir"/extension/ff_engine--*.sql "$pkglibdir"/ff_engine.so
if $pgtle; then
  # pg_tle's files, at the same paths under the copy (setup.sh staged them with DESTDIR).
  (cd "$stage" && find . -type f) | while read -r f; do
    mkdir -p "$(dirname "$root/$f")"
    rm -f "${root:?}/$f"
    cp "$stage/$f" "$root/$f"
  done
  chmod -R a+rX "$root"
  echo "$root$prefix"
  exit 0
fi
out=$(mktemp -d)
bash scripts/sql-edition.sh --out "$out" >/dev/null
cp "$out"/extension/* "$sharedir/extension/"
rm -rf "$out"
chmod -R a+rX "$root"
echo "$root$prefix"
