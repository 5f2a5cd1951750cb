#!/bin/bash
# The replica's entrypoint: on first start (empty volume) it copies the
# primary with pg_basebackup (-R: standby.signal and primary_conninfo, so
# it starts as a streaming hot standby on slot replica1), then hands over
# to the postgres image's own entrypoint, which starts the server as the
# postgres user.
set -euo pipefail
: "${REPLICATION_PASSWORD:?set REPLICATION_PASSWORD}"
primary=${PRIMARY_HOST:-pg-primary}
# libpq reads the password from the environment: pg_basebackup here, and
# the server's WAL receiver later (its primary_conninfo may lack one).
export PGPASSWORD=$REPLICATION_PASSWORD
if [ ! -s "$PGDATA/PG_VERSION" ]; then
    mkdir -p "$PGDATA"
    chown postgres:postgres "$PGDATA"
    chmod 700 "$PGDATA"
    until pg_isready -q -h "$primary" -p 5432; do
        echo "replica: waiting for $primary" >&2
        sleep 1
    done
    gosu postgres pg_basebackup \
        -h "$primary" -p 5432 -U replicator -D "$PGDATA" \
        -R -X stream -S replica1 --checkpoint=fast
fi
exec docker-entrypoint.sh "$@"
