#!/bin/sh
# A private PostgreSQL cluster inside a folder: initdb once, a unix socket
# inside the folder, no TCP port unless asked, no system service touched.
#   scripts/pg.sh start DIR PORT   start (initdb first when DIR is new)
#   scripts/pg.sh stop DIR         stop it if it runs
#   scripts/pg.sh url DIR PORT DB  print the DATABASE_URL for database DB
# PostgreSQL refuses to run as root, so as root the cluster belongs to the
# unprivileged 'postgres' user and every server command runs as that user.
set -eu
cmd=$1; dir=$2
bindir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
[ -n "$bindir" ] || { echo "pg.sh: PostgreSQL server not installed" >&2; exit 1; }

as_owner() {
    if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

case "$cmd" in
start)
    port=$3
    mkdir -p "$dir"
    dir=$(cd "$dir" && pwd)
    if [ "$(id -u)" -eq 0 ]; then chown postgres: "$dir"; fi
    if [ ! -f "$dir/data/PG_VERSION" ]; then
        as_owner mkdir -p "$dir/data" "$dir/sock"
        as_owner "$bindir/initdb" -D "$dir/data" -U medqa --auth=trust \
            -E UTF8 --locale=C.UTF-8 >"$dir/initdb.log" 2>&1 || {
            cat "$dir/initdb.log" >&2; exit 1; }
    fi
    if as_owner "$bindir/pg_ctl" -D "$dir/data" status >/dev/null 2>&1; then
        exit 0
    fi
    # wal_level=minimal: these clusters have no standby, and it lets the
    # first synthetic load write its rows without WAL (see
    # internal/seed/synthetic.c); a larger max_wal_size keeps later bulk
    # writes from checkpointing every few seconds. PG_WAL_LEVEL=replica
    # for a cluster that will have a standby.
    wal="-c wal_level=${PG_WAL_LEVEL:-minimal} -c max_wal_size=${PG_MAX_WAL_SIZE:-2GB}"
    if [ "${PG_WAL_LEVEL:-minimal}" = minimal ]; then
        wal="$wal -c max_wal_senders=0"
    fi
    as_owner "$bindir/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 30 \
        -o "-k $dir/sock -p $port -c listen_addresses='' -c fsync=${PG_FSYNC:-on} -c max_connections=${PG_MAX_CONNECTIONS:-200} -c shared_buffers=${PG_SHARED_BUFFERS:-256MB} $wal" \
        start >/dev/null || { tail -n 20 "$dir/server.log" >&2; exit 1; }
    ;;
stop)
    [ -d "$dir/data" ] || exit 0
    dir=$(cd "$dir" && pwd)
    if as_owner "$bindir/pg_ctl" -D "$dir/data" status >/dev/null 2>&1; then
        as_owner "$bindir/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null
    fi
    ;;
url)
    dir=$(cd "$dir" && pwd)
    echo "postgresql:///$4?host=$dir/sock&port=$3&user=medqa"
    ;;
createdb)
    # scripts/pg.sh createdb DIR PORT DB
    dir=$(cd "$dir" && pwd)
    psql -X -q -h "$dir/sock" -p "$3" -U medqa -d postgres -tAc \
        "SELECT 1 FROM pg_database WHERE datname = '$4'" | grep -q 1 ||
        createdb -h "$dir/sock" -p "$3" -U medqa "$4"
    ;;
*)
    echo "usage: pg.sh start|stop|url|createdb DIR [PORT] [DB]" >&2; exit 2 ;;
esac
