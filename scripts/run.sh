#!/bin/sh
# `make run`: a local cluster under var/pg when DATABASE_URL is unset, then
# migrate, demo data, and medqa in the foreground.
set -eu
PORT=${PORT:-8080}
PGPORT=${PGPORT:-5433}
mkdir -p var
if [ -z "${DATABASE_URL:-}" ]; then
    scripts/pg.sh start var/pg "$PGPORT"
    scripts/pg.sh createdb var/pg "$PGPORT" medqa
    DATABASE_URL=$(scripts/pg.sh url var/pg "$PGPORT" medqa)
    export DATABASE_URL
    echo "medqa: using the local PostgreSQL cluster in var/pg (port $PGPORT); 'make stop' stops it" >&2
fi
export PORT
if [ -z "${CURSOR_SECRET:-}" ]; then
    # One secret per checkout, kept so cursors survive a restart.
    [ -s var/cursor_secret ] ||
        (umask 077 && od -An -v -tx1 -N32 /dev/urandom | tr -d ' \n' > var/cursor_secret)
    CURSOR_SECRET=$(cat var/cursor_secret)
    export CURSOR_SECRET
fi
build/medqa migrate
if build/medqa --help | grep -q '^  seed'; then build/medqa seed --demo; fi
echo "medqa: serving on ${PUBLIC_BASE_URL:-http://localhost:$PORT} — try: curl http://localhost:$PORT/departments ; Ctrl-C stops it" >&2
exec build/medqa serve
