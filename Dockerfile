# PostgreSQL 15 with ff_engine from the Debian package (scripts/package.sh 15 -> dist/).
# Not built here: base images cannot be pulled on the machines this project is developed on; the
# package itself is tested by scripts/test-package.sh.
FROM postgres:15-bookworm
COPY dist/postgresql-15-ff-engine_*_amd64.deb /tmp/
RUN apt-get update && apt-get install -y --no-install-recommends /tmp/postgresql-15-ff-engine_*_amd64.deb \
    && rm -rf /var/lib/apt/lists/* /tmp/*.deb
