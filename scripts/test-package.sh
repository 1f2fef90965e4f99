#!/usr/bin/env bash
# The Debian package, tested as a user meets it (part of test.sh): build the PostgreSQL 15 package,
# take the dev build out of the server's directories (a machine without it), dpkg -i, CREATE EXTENSION
# and a short smoke run in a throwaway cluster, dpkg -r, and check that no file of the package is left
# and the extension is gone. The dev build is put back at exit, whatever happened.
set -euo pipefail
cd "$(dirname "$0")/.."
version=$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -1)
pkg=postgresql-15-ff-engine
bash scripts/package.sh --dev 15
dir=/tmp/ff_engine_pkg_test
restore() {
  bash scripts/cluster.sh stop "$dir" || true
  dpkg -r "$pkg" >/dev/null 2>&1 || true
  bash scripts/install.sh
}
trap restore EXIT
rm -f /usr/lib/postgresql/15/lib/ff_engine.so /usr/share/postgresql/15/extension/ff_engine.control \
  /usr/share/postgresql/15/extension/ff_engine--*.sql
sock=$(bash scripts/cluster.sh start "$dir")
q() { env -u RUST_BACKTRACE psql -X -q -A -t -v ON_ERROR_STOP=1 -h "$sock" -U postgres "$@"; }
q -d postgres -c 'DROP DATABASE IF EXISTS pkg_a' -c 'DROP DATABASE IF EXISTS pkg_b' -c 'CREATE DATABASE pkg_a' -c 'CREATE DATABASE pkg_b'
if q -d pkg_a -c 'CREATE EXTENSION ff_engine' 2>/dev/null; then
  echo "package test: the dev build is still installed" >&2; exit 1
fi
echo "== dpkg -i dist/${pkg}_${version}_amd64.deb"
dpkg -i "dist/${pkg}_${version}_amd64.deb" >/dev/null
result=$(q -d pkg_a <<'SQL'
CREATE EXTENSION ff_engine;
SELECT outcome FROM ff_seed_hmac('k1') \g /dev/null
SELECT execution_id AS id FROM ff_create_execution('smoke', payload => 'in') \gset
SELECT lease_id AS l, lease_epoch AS e FROM ff_claim('smoke', 'w', 'i') \gset
SELECT outcome FROM ff_complete(:'id', :'l', :'e', convert_to('packaged', 'UTF8')) \g /dev/null
SELECT convert_from(result, 'UTF8') FROM ff_get_execution(:'id');
SQL
)
[ "$result" = packaged ] || { echo "package test: smoke run gave '$result'" >&2; exit 1; }
echo "   CREATE EXTENSION and a create / claim / complete / read-back run: ok"
mapfile -t files < <(dpkg -L "$pkg" | while read -r f; do [ -f "$f" ] && echo "$f"; done)
[ ${#files[@]} -ge 5 ] || { echo "package test: only ${#files[@]} files installed" >&2; exit 1; }
bash scripts/cluster.sh stop "$dir"
echo "== dpkg -r $pkg"
dpkg -r "$pkg" >/dev/null
for f in "${files[@]}"; do
  [ ! -e "$f" ] || { echo "package test: $f left behind" >&2; exit 1; }
done
sock=$(bash scripts/cluster.sh start "$dir")
if q -d pkg_b -c 'CREATE EXTENSION ff_engine' 2>/dev/null; then
  echo "package test: the extension is still installable after dpkg -r" >&2; exit 1
fi
echo "   ${#files[@]} files installed, none left after removal: ok"
