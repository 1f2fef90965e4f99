#!/usr/bin/env bash
# First command of the README: set up everything that is missing, build and install ff_engine, start a
# throwaway cluster under /tmp/ff_engine_demo, and walk through the demo in psql.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bash scripts/install.sh
DEMO=/tmp/ff_engine_demo
SOCK=$(bash scripts/cluster.sh start "$DEMO")
export PGHOST=$SOCK PGPORT=5432 PGUSER=postgres
psql -q -X -d postgres -c 'DROP DATABASE IF EXISTS ff_demo WITH (FORCE)' -c 'CREATE DATABASE ff_demo'
echo "== ff_engine demo (psql session; the cluster keeps running: PGHOST=$SOCK psql -U postgres ff_demo)"
psql -X -a -d ff_demo -f pgrx-tests/regress/sql/demo.sql
echo "== stop it with: bash scripts/cluster.sh stop $DEMO"
