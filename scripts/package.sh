#!/usr/bin/env bash
# Debian packages of the Rust edition: dist/postgresql-<major>-ff-engine_<version>_amd64.deb for each
# major, built with `cargo pgrx package` and laid out in the server's own Debian paths
# (/usr/lib/postgresql/<major>/lib, /usr/share/postgresql/<major>/extension), plus dist/SHA256SUMS.
#   scripts/package.sh [--dev] [MAJOR ...]    majors default to 15 16 18; --dev: a debug build (the
#                                              package test uses it to save a release compile)
# 16 and 18 are compiled against the PyPI builds' headers (scripts/majors.sh); their packages target
# Debian's postgresql-16 / -18 layout, which this machine cannot install to test.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/majors.sh
source scripts/majors.sh
profile=()
if [ "${1:-}" = --dev ]; then profile=(--debug); shift; fi
majors=("$@")
[ ${#majors[@]} -gt 0 ] || majors=("${FF_TESTED_MAJORS[@]}")
version=$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -1)
mkdir -p dist
for major in "${majors[@]}"; do
  pg_config="$(pg_prefix "$major")/bin/pg_config"
  name="postgresql-$major-ff-engine"
  echo "== $name $version: cargo pgrx package ${profile[*]:-(release)}"
  out=$(mktemp -d)
  log=$(mktemp)
  if ! cargo pgrx package "${profile[@]}" --pg-config "$pg_config" --no-default-features --features "pg$major" --out-dir "$out" >"$log" 2>&1; then
    cat "$log"; echo "package: cargo pgrx package failed" >&2; exit 1
  fi
  rm -f "$log"
  stage=$(mktemp -d)
  lib="$stage/usr/lib/postgresql/$major/lib"
  ext="$stage/usr/share/postgresql/$major/extension"
  doc="$stage/usr/share/doc/$name"
  mkdir -p "$lib" "$ext" "$doc" "$stage/DEBIAN"
  find "$out" -name 'ff_engine.so' -exec cp {} "$lib/" \;
  find "$out" \( -name 'ff_engine.control' -o -name 'ff_engine--*.sql' \) -exec cp {} "$ext/" \;
  cp sql/releases/ff_engine--*.sql "$ext/"
  cp CHANGELOG.md "$doc/changelog"
  cat >"$doc/copyright" <<COPYRIGHT
Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/
Upstream-Name: ff_engine
Files: *
License: Apache-2.0
 On Debian systems the full text is in /usr/share/common-licenses/Apache-2.0.
COPYRIGHT
  cat >"$stage/DEBIAN/control" <<CONTROL
Package: $name
Version: $version
Architecture: amd64
Maintainer: ff_engine maintainers <ff-engine@localhost>
Depends: postgresql-$major, libc6
Section: database
Priority: optional
Description: ff_engine durable-execution engine for PostgreSQL $major
 Claims under fenced leases, waitpoints guarded by HMAC-SHA256 tokens and composite resume
 conditions, as SQL functions (CREATE EXTENSION ff_engine).
CONTROL
  chmod -R u=rwX,go=rX "$stage"
  dpkg-deb --root-owner-group --build "$stage" "dist/${name}_${version}_amd64.deb" >/dev/null
  rm -rf "$out" "$stage"
  echo "   dist/${name}_${version}_amd64.deb"
done
(cd dist && sha256sum ./*.deb >SHA256SUMS)
echo "== dist/SHA256SUMS"
