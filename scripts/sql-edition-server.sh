#!/usr/bin/env bash
# A copy of PostgreSQL MAJOR whose `ff_engine` is the SQL edition, for the test suite's
# SQL-edition pass: the same server binaries, hard-linked (or copied) under
# $FF_PG_HOME/sql-edition/MAJOR, with the Rust edition's files (ff_engine.so, its control file and
# scripts) removed and the file-based SQL-only extension from scripts/sql-edition.sh put in their place.
# A server started from this copy can only ever load the SQL edition, and `CREATE EXTENSION ff_engine`
# there runs exactly the script the pg_tle installer carries.
#   scripts/sql-edition-server.sh MAJOR     prints the copy's installation prefix (bin/ is under it)
# Idempotent: the copy is made once; the extension files are rebuilt from the source on every call.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/majors.sh
source scripts/majors.sh
major=${1:?usage: $0 MAJOR}
prefix=$(pg_prefix "$major")
# What to copy: the trees the server finds relative to its own binary (PostgreSQL relocates its share
# and lib directories by their path relative to bin/), at the same absolute paths under the copy's root.
case "$major" in
  15) trees=(/usr/lib/postgresql/15 /usr/share/postgresql/15) ;;
  *) trees=("$FF_PG_HOME/$major") ;;
esac
root="$FF_PG_HOME/sql-edition/$major"
# Made again when the original server changed version (a package upgrade, say).
if [ ! -x "$root$prefix/bin/postgres" ] || [ "$("$root$prefix/bin/postgres" --version)" != "$("$prefix/bin/postgres" --version)" ]; then
  rm -rf "$root"
  for t in "${trees[@]}"; do
    mkdir -p "$root$(dirname "$t")"
    cp -al "$t" "$root$t" 2>/dev/null || { rm -rf "${root:?}$t"; cp -a "$t" "$root$t"; }
  done
fi
sharedir=$("$root$prefix/bin/pg_config" --sharedir)
pkglibdir=$("$root$prefix/bin/pg_config" --pkglibdir)
case "$sharedir" in "$root"/*) ;; *) echo "sql-edition-server: the copy's pg_config reports $sharedir, not a path under $root" >&2; exit 1 ;; esac
# rm before writing: the copy's files may be hard links to the original installation's.
rm -f "$sharedir"/extension/ff_engine.control "$sharedir"/extension/ff_engine--*.sql "$pkglibdir"/ff_engine.so
out=$(mktemp -d)
bash scripts/sql-edition.sh --out "$out" >/dev/null
cp "$out"/extension/* "$sharedir/extension/"
rm -rf "$out"
chmod -R a+rX "$root"
echo "$root$prefix"
