#!/usr/bin/env bash
# The SQL edition's install artifacts, built from its one source: the files sql/edition/files.list
# names, in its order (the schema, the edition's files, the generated statement functions,
# sql/conditions.sql), then sql/cron.sql and sql/finalize.sql.
#   scripts/sql-edition.sh [--out DIR] [--schema NAME] [--upgrades DIR]
# Writes, under DIR (default dist/sql-edition):
#   extension/ff_engine.control, extension/ff_engine--<version>.sql   a file-based SQL-only extension,
#                                           with the update scripts of --upgrades DIR (default
#                                           sql/edition/upgrades, ff_engine--FROM--TO.sql)
#   pgtle/ff_engine--<version>.pgtle.sql    for pg_tle (RDS, Aurora, Supabase): roles, then
#                                           pgtle.install_extension (or install_extension_version_sql
#                                           when pg_tle has an earlier version) with the extension
#                                           script as its body, install_update_path per update
#                                           script, set_default_version
#   standalone/ff_engine--<version>.sql     for psql -f into schema NAME (default ff_engine), idempotent
#   standalone/ff_engine--<version>.uninstall.sql
set -euo pipefail
cd "$(dirname "$0")/.."
out=dist/sql-edition
schema=ff_engine
upgrades_dir=sql/edition/upgrades
while [ $# -gt 0 ]; do
  case "$1" in
    --out) out=$2; shift 2 ;;
    --schema) schema=$2; shift 2 ;;
    --upgrades) upgrades_dir=$2; shift 2 ;;
    *) echo "usage: $0 [--out DIR] [--schema NAME] [--upgrades DIR]" >&2; exit 2 ;;
  esac
done
[[ "$schema" =~ ^[a-z_][a-z0-9_]{0,62}$ ]] || { echo "sql-edition: --schema must be a plain lower-case identifier" >&2; exit 2; }
version=$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -1)
# The edition's files, in load order.
mapfile -t files < <(grep -v -e '^#' -e '^[[:space:]]*$' sql/edition/files.list)
[ "${#files[@]}" -gt 10 ] || { echo "sql-edition: could not read sql/edition/files.list" >&2; exit 1; }
mkdir -p "$out/extension" "$out/pgtle" "$out/standalone"
# The SQL edition's update scripts, ff_engine--FROM--TO.sql (its first release is 0.2.0, so none yet).
upgrades=()
if [ -d "$upgrades_dir" ]; then mapfile -t upgrades < <(find "$upgrades_dir" -maxdepth 1 -name 'ff_engine--*--*.sql' | sort); fi
description='ff_engine (SQL edition): durable-execution claims, leases, waitpoints and HMAC-signed signals inside PostgreSQL'
body() { # the extension script: every source file, then cron.sql and finalize.sql
  for f in "${files[@]}" sql/cron.sql sql/finalize.sql; do
    printf -- '-- ---- %s ----\n' "$f"
    cat "$f"
    printf '\n'
  done
}
ext_script="$out/extension/ff_engine--$version.sql"
{
  printf -- '-- ff_engine %s, SQL edition (PL/pgSQL, no module): CREATE EXTENSION ff_engine.\n' "$version"
  body
} >"$ext_script"
for u in "${upgrades[@]}"; do cp "$u" "$out/extension/"; done
cat >"$out/extension/ff_engine.control" <<CONTROL
comment = '$description'
default_version = '$version'
relocatable = false
superuser = true
trusted = true
CONTROL
# shellcheck disable=SC2016 # a dollar-quote tag, literally
tag='$_ff_engine_extension_body_$'
if grep -qF "$tag" "$ext_script" "${upgrades[@]}"; then echo "sql-edition: a body contains its own dollar-quote tag" >&2; exit 1; fi
{
  cat <<HEAD
-- ff_engine $version for pg_tle: run as a role that may create roles and call pgtle.install_extension
-- (rds_superuser on RDS/Aurora, postgres on Supabase), then CREATE EXTENSION ff_engine in each database.
-- Idempotent: a version pg_tle already has is left as it is.
DO \$check\$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'pg_tle') THEN
        RAISE EXCEPTION 'pg_tle is not installed in this database: CREATE EXTENSION pg_tle first (and pg_tle in shared_preload_libraries)';
    END IF;
END
\$check\$;
-- The roles the extension grants to, created here: an extension body run by pg_tle is not the place.
DO \$roles\$
DECLARE
    r text;
BEGIN
    FOREACH r IN ARRAY ARRAY['ff_engine_owner', 'ff_admin', 'ff_worker', 'ff_signaler'] LOOP
        IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = r) THEN
            EXECUTE format('CREATE ROLE %I NOLOGIN', r);
        END IF;
    END LOOP;
END
\$roles\$;
-- pg_tle runs an extension's script as the role that creates the extension, and the script hands every
-- object to ff_engine_owner, which takes a member of that role: this role becomes one. Another role that
-- is to run CREATE EXTENSION ff_engine needs the same grant.
DO \$member\$
BEGIN
    IF NOT pg_has_role(current_user, 'ff_engine_owner', 'MEMBER') THEN
        GRANT ff_engine_owner TO CURRENT_USER;
    END IF;
END
\$member\$;
-- This release: a new extension, or a new version of one pg_tle already has; nothing when it has it.
WITH body(ext) AS (SELECT
HEAD
  printf '    %s' "$tag"
  cat "$ext_script"
  printf '%s::text)\n' "$tag"
  cat <<TAIL
SELECT CASE WHEN EXISTS (SELECT 1 FROM pgtle.available_extensions() WHERE name = 'ff_engine')
            THEN pgtle.install_extension_version_sql('ff_engine', '$version', ext)
            ELSE pgtle.install_extension('ff_engine', '$version', '$description', ext) END
FROM body
WHERE NOT EXISTS (SELECT 1 FROM pgtle.available_extension_versions() WHERE name = 'ff_engine' AND version = '$version');
TAIL
  for u in "${upgrades[@]}"; do
    [[ "$(basename "$u")" =~ ^ff_engine--([0-9][0-9.]*)--([0-9][0-9.]*)\.sql$ ]] || continue
    from=${BASH_REMATCH[1]} to=${BASH_REMATCH[2]}
    printf -- '-- The update path %s -> %s (ALTER EXTENSION ff_engine UPDATE), once.\n' "$from" "$to"
    printf "SELECT pgtle.install_update_path('ff_engine', '%s', '%s', %s" "$from" "$to" "$tag"
    cat "$u"
    printf '%s)\n' "$tag"
    printf "WHERE NOT EXISTS (SELECT 1 FROM pgtle.extension_update_paths('ff_engine') WHERE source = '%s' AND target = '%s' AND path = '%s--%s');\n" \
      "$from" "$to" "$from" "$to"
  done
  printf "SELECT pgtle.set_default_version('ff_engine', '%s');\n" "$version"
} >"$out/pgtle/ff_engine--$version.pgtle.sql"
standalone_body() { # the install, to run in one transaction: every source file, then the grants of a script install
  printf 'CREATE SCHEMA IF NOT EXISTS %s;\nSET LOCAL search_path = %s;\n' "$schema" "$schema"
  for f in "${files[@]}" sql/cron.sql; do
    printf -- '-- ---- %s ----\n' "$f"
    sed "s/@extschema@/$schema/g" "$f"
    printf '\n'
  done
  printf -- '-- ---- sql/edition/standalone_own.sql ----\n'
  sed "s/@extschema@/$schema/g" sql/edition/standalone_own.sql
  printf -- '-- ---- sql/finalize.sql (after its ownership block) ----\n'
  # shellcheck disable=SC2016 # a sed address, literally
  sed '1,/^\$own\$;$/d' sql/finalize.sql | sed "s/@extschema@/$schema/g"
}
standalone_body >"$out/standalone/body.tmp"
# shellcheck disable=SC2016 # dollar-quote tags, literally
body_tag='$_ff_engine_worker_body_$' worker_tag='$_ff_engine_worker_$' worker_do_tag='$_ff_engine_worker_do_$' do_tag='$_ff_engine_citus_$'
if grep -qF -e "$body_tag" -e "$worker_tag" -e "$worker_do_tag" -e "$do_tag" "$out/standalone/body.tmp"; then
  echo "sql-edition: the body contains a dollar-quote tag of its own" >&2; exit 1
fi
{
  cat <<HEAD
-- ff_engine $version, SQL edition, for psql -f into schema $schema (providers without pg_tle):
--   psql "\$DATABASE_URL" -v ON_ERROR_STOP=1 -f ff_engine--$version.sql
-- Idempotent: when the schema already holds ff_engine, nothing is done. Built for schema $schema;
-- scripts/sql-edition.sh --schema NAME builds one for another schema.
-- On a Citus coordinator (docs/scale-out.md) it installs on each worker that lacks ff_engine first,
-- then here, with Citus's propagation of DDL off: Citus creates an extension on every node, a script's
-- objects only where they are created; then it distributes (ff_distribute, -v ff_shard_count=N).
-- Add the workers before running it.
\\set ON_ERROR_STOP on
SELECT to_regclass('$schema.ff_exec_core') IS NOT NULL AS ff_engine_installed \\gset
\\if :ff_engine_installed
\\echo ff_engine is already installed in schema $schema: nothing to do
\\quit
\\endif
SELECT EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'citus') AS ff_engine_on_citus \\gset
\\if :ff_engine_on_citus
SET citus.enable_ddl_propagation = off;
DO $do_tag
DECLARE
    todo record;
    failed text;
BEGIN
    SELECT array_agg(w.nodename ORDER BY w.nodeport) AS names, array_agg(w.nodeport ORDER BY w.nodeport) AS ports INTO todo
    FROM run_command_on_workers(\$\$SELECT to_regclass('$schema.ff_claim_start') IS NULL\$\$) w
    WHERE w.success AND w.result = 't';
    IF todo.names IS NULL THEN
        RETURN;
    END IF;
    -- One statement for each worker (Citus reads one result of a command): the install, in the
    -- transaction of that statement.
    SELECT string_agg(format('%s:%s: %s', r.node_name, r.node_port, r.result), '; ') INTO failed
    FROM master_run_on_worker(todo.names, todo.ports, array_fill($worker_tag
DO $worker_do_tag
BEGIN
    PERFORM set_config('citus.enable_ddl_propagation', 'off', true);
    PERFORM set_config('client_min_messages', 'warning', true);
    EXECUTE $body_tag
HEAD
  cat "$out/standalone/body.tmp"
  cat <<TAIL
$body_tag;
END
$worker_do_tag
$worker_tag::text, ARRAY[cardinality(todo.names)]), true) r
    WHERE NOT r.success;
    IF failed IS NOT NULL THEN
        RAISE EXCEPTION 'ff_engine could not be installed on every worker: %', failed;
    END IF;
END
$do_tag;
\\endif
BEGIN;
TAIL
  cat "$out/standalone/body.tmp"
  cat <<TAIL
COMMIT;
-- On a Citus coordinator: distributed at once (ff_distribute, with -v ff_shard_count=N, default 32),
-- then the functions and views the distribution took from the workers, created there again, which
-- can be done only once it has committed.
\\if :ff_engine_on_citus
RESET citus.enable_ddl_propagation;
\\if :{?ff_shard_count}
\\else
\\set ff_shard_count 32
\\endif
SELECT * FROM $schema.ff_distribute(:'ff_shard_count'::integer);
SELECT $schema.ff_distribute_script_objects();
\\endif
TAIL
} >"$out/standalone/ff_engine--$version.sql"
rm -f "$out/standalone/body.tmp"
cat >"$out/standalone/ff_engine--$version.uninstall.sql" <<UNINSTALL
-- Remove ff_engine $version (SQL edition) from schema $schema, with all its data. The roles
-- (ff_engine_owner, ff_admin, ff_worker, ff_signaler) are cluster-wide and are left in place. A schema
-- that holds a table or function not named ff_* is someone else's too, and is left as it is. On a
-- Citus coordinator this removes ff_engine from every node (Citus drops a schema it distributed there).
\\set ON_ERROR_STOP on
DO \$check\$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_class WHERE relnamespace = to_regnamespace('$schema') AND relname NOT LIKE 'ff\\_%')
       OR EXISTS (SELECT 1 FROM pg_proc WHERE pronamespace = to_regnamespace('$schema') AND proname NOT LIKE 'ff\\_%') THEN
        RAISE EXCEPTION 'schema $schema holds objects that are not ff_engine''s: it is not dropped';
    END IF;
END
\$check\$;
DROP SCHEMA IF EXISTS $schema CASCADE;
UNINSTALL
echo "sql-edition: wrote $out/{extension,pgtle,standalone} for ff_engine $version (schema $schema)"
