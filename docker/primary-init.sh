#!/bin/bash
# Run once by the postgres image's entrypoint when it creates the primary's
# cluster (/docker-entrypoint-initdb.d): a replication role, a physical
# slot for the replica, and the pg_hba.conf line that lets it stream.
set -euo pipefail
: "${REPLICATION_PASSWORD:?set REPLICATION_PASSWORD}"
# The password goes in as a psql variable, quoted by psql (:'...'), never
# pasted into the SQL text.
psql -v ON_ERROR_STOP=1 -v pw="$REPLICATION_PASSWORD" \
    --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" <<'SQL'
CREATE ROLE replicator WITH REPLICATION LOGIN PASSWORD :'pw';
SELECT pg_create_physical_replication_slot('replica1');
SQL
# "all" in the database column does not cover replication connections;
# they need their own line. Read when the server starts for real, after
# this script.
echo "host replication replicator all scram-sha-256" >>"$PGDATA/pg_hba.conf"
