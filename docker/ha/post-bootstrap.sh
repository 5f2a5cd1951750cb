#!/bin/sh
# Run by Patroni once, on the node that made the cluster (post_bootstrap in
# patroni.yml), with a connection string as $1: the role medqa logs in as
# and its database. medqa owns its database (so `medqa migrate` may create
# the trusted extension it needs) and is in pg_monitor, so /readyz can read
# the replication state from pg_stat_replication.
set -eu
: "${MEDQA_DB_PASSWORD:?set MEDQA_DB_PASSWORD}"
# The password goes in as a psql variable, quoted by psql (:'...'), never
# pasted into the SQL text.
psql -X -v ON_ERROR_STOP=1 -v pw="$MEDQA_DB_PASSWORD" "$1" <<'SQL'
CREATE ROLE medqa LOGIN PASSWORD :'pw' IN ROLE pg_monitor;
CREATE DATABASE medqa OWNER medqa;
SQL
