#!/usr/bin/env bash
# Idempotent machine setup: system packages, cargo-pgrx 0.18.0, pgrx's pg15 config.
# Quick when everything is already there. Runs as root (as on CI and developer machines).
set -euo pipefail

PG_CONFIG=/usr/lib/postgresql/15/bin/pg_config
PGRX_VERSION=0.18.0

need_pkgs=()
for p in postgresql-15 postgresql-server-dev-15 postgresql-15-cron libclang-dev clang sudo shellcheck; do
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

if ! grep -qs "pg15" "${PGRX_HOME:-$HOME/.pgrx}/config.toml"; then
  echo "setup: cargo pgrx init --pg15"
  cargo pgrx init --pg15 "$PG_CONFIG"
fi

# The postgres OS user must be able to read the build tree (cargo pgrx test --runas postgres).
id postgres >/dev/null 2>&1 || { echo "setup: no postgres user (postgresql-15 not installed?)"; exit 1; }
echo "setup: ok"
