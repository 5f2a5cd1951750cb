#!/bin/bash
# `make scale-test`: the topology of docker/compose.yaml built from plain
# processes on loopback, then a load that loses one medqa instance half-way.
#
#   PostgreSQL primary  127.0.0.1:18701   var/scale/primary
#   streaming replica   127.0.0.1:18702   var/scale/replica (pg_basebackup)
#   PgBouncer           127.0.0.1:18703   transaction pooling; databases
#                                         medqa (primary), medqa_read (replica)
#   medqa ×2            127.0.0.1:18711, :18712   DATABASE_POOL_MODE=transaction,
#                                         DATABASE_READ_URL -> medqa_read
#   nginx               127.0.0.1:18720   docker/nginx.conf, addresses rewritten
#
# wrk drives nginx with tests/scale/mix.lua (90 % anonymous GET
# /questions/{id}, 10 % POST /questions with an app key, half of those with
# an Idempotency-Key) for SCALE_DURATION seconds and
# medqa 1 gets SIGKILL at SCALE_KILL_AT. The report: requests, failures
# (non-2xx and socket errors), requests nginx retried on the other
# instance, requests in flight on the killed instance (nginx's error log),
# per-second throughput around the kill, and transactions each PostgreSQL
# served (pg_stat_database). Fails when a request failed beyond those in
# flight at the kill, when a POST with an Idempotency-Key failed at all,
# or when the replica served no reads. Everything
# started here is stopped on exit, pass or fail.
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1
top=$(pwd)

DURATION=${SCALE_DURATION:-20}
KILL_AT=${SCALE_KILL_AT:-10}
CONNS=${SCALE_CONNECTIONS:-32}
N=${SCALE_N:-5000}
BASE=${SCALE_PORT_BASE:-187}
P_PRIMARY=${BASE}01 P_REPLICA=${BASE}02 P_BOUNCER=${BASE}03
P_MEDQA1=${BASE}11 P_MEDQA2=${BASE}12 P_NGINX=${BASE}20
dir=var/scale
T0=$(date +%s)
say() { echo "scale: [$(($(date +%s) - T0)) s] $*" >&2; }
die() {
    say "$*"
    exit 1
}

# ---------------------------------------------------------------- clean-up
bindir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
as_pg() { if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
medqa_pids=()
nginx_pid=""
stop_all() {
    [ -n "$nginx_pid" ] && kill "$nginx_pid" 2>/dev/null && wait "$nginx_pid" 2>/dev/null
    for p in "${medqa_pids[@]}"; do
        kill "$p" 2>/dev/null && wait "$p" 2>/dev/null
    done
    if [ -f "$dir/pgbouncer/pgbouncer.pid" ]; then
        kill "$(cat "$dir/pgbouncer/pgbouncer.pid")" 2>/dev/null
        for _ in $(seq 50); do
            [ -f "$dir/pgbouncer/pgbouncer.pid" ] || break
            sleep 0.1
        done
    fi
    for c in replica primary; do
        [ -d "$dir/$c/data" ] && as_pg "$bindir/pg_ctl" -D "$dir/$c/data" \
            -m fast -w stop >/dev/null 2>&1
    done
}
trap stop_all EXIT
trap 'exit 130' INT TERM

# ---------------------------------------------------------------- tools
scripts/deps.sh nginx wrk || exit 1
[ -x "$bindir/pg_basebackup" ] || die "PostgreSQL server binaries not found"
make -s build/medqa >&2 || die "cannot build build/medqa"
medqa=$top/build/medqa

# A run starts from nothing: the clusters are rebuilt (a few seconds).
stop_all
rm -rf "$dir"
mkdir -p "$dir"/{logs,nginx,pgbouncer}
dir=$(cd "$dir" && pwd)
if [ "$(id -u)" -eq 0 ]; then chown postgres: "$dir" "$dir/pgbouncer" "$dir/logs"; fi
chmod 755 "$dir"

psqlp() { psql -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -U medqa "$@"; }

# ---------------------------------------------------------------- primary
pg_start() { # name port [extra -c settings]
    local name=$1 port=$2
    shift 2
    as_pg "$bindir/pg_ctl" -D "$dir/$name/data" -l "$dir/logs/$name.log" \
        -w -t 60 -o "-p $port -c listen_addresses=127.0.0.1 \
        -c unix_socket_directories='$dir/$name' -c fsync=on \
        -c max_connections=100 -c shared_buffers=64MB $*" start >/dev/null ||
        { tail -n 20 "$dir/logs/$name.log" >&2; die "cannot start $name"; }
}
as_pg mkdir -p "$dir/primary/data"
as_pg "$bindir/initdb" -D "$dir/primary/data" -U medqa --auth=trust -E UTF8 \
    --locale=C.UTF-8 >"$dir/logs/initdb.log" 2>&1 ||
    { cat "$dir/logs/initdb.log" >&2; die "initdb failed"; }
# initdb's pg_hba.conf trusts local and loopback connections, replication
# included; wal_level=replica and max_wal_senders=10 are the defaults.
pg_start primary "$P_PRIMARY"
say "primary on 127.0.0.1:$P_PRIMARY"
psqlp -p "$P_PRIMARY" -d postgres -c "CREATE DATABASE medqa" || die "createdb failed"
primary_url="postgresql://medqa@127.0.0.1:$P_PRIMARY/medqa"
# Migrations take a session advisory lock: straight to the primary, never
# through PgBouncer's transaction pooling.
DATABASE_URL=$primary_url "$medqa" migrate 2>"$dir/logs/migrate.log" ||
    { cat "$dir/logs/migrate.log" >&2; die "migrate failed"; }
if ! DATABASE_URL=$primary_url "$medqa" seed --demo >/dev/null 2>"$dir/logs/seed.log" ||
    ! DATABASE_URL=$primary_url "$medqa" seed --synthetic "$N" >/dev/null 2>>"$dir/logs/seed.log"; then
    cat "$dir/logs/seed.log" >&2
    die "seed failed"
fi
app_key=$(DATABASE_URL=$primary_url "$medqa" keys create --role app \
    --name scale-test 2>/dev/null | tail -n 1)
[ -n "$app_key" ] || die "cannot create an app key"
psqlp -p "$P_PRIMARY" -d medqa -tAc "SELECT id FROM questions WHERE deleted_at IS NULL" \
    >"$dir/ids.txt" || die "cannot list question ids"
say "loaded the demo data and $N synthetic questions ($(wc -l <"$dir/ids.txt") ids)"

# ---------------------------------------------------------------- replica
# -R writes standby.signal and primary_conninfo; -C -S a physical slot, so
# the primary keeps the WAL the replica has not received yet.
as_pg "$bindir/pg_basebackup" -h 127.0.0.1 -p "$P_PRIMARY" -U medqa \
    -D "$dir/replica/data" -R -X stream -C -S scale_replica -c fast \
    >"$dir/logs/basebackup.log" 2>&1 ||
    { cat "$dir/logs/basebackup.log" >&2; die "pg_basebackup failed"; }
pg_start replica "$P_REPLICA" -c hot_standby_feedback=on
[ "$(psqlp -p "$P_REPLICA" -d medqa -tAc 'SELECT pg_is_in_recovery()')" = t ] ||
    die "the replica is not in recovery"
state=""
for _ in $(seq 50); do
    state=$(psqlp -p "$P_PRIMARY" -d postgres -tAc \
        "SELECT state FROM pg_stat_replication LIMIT 1")
    [ "$state" = streaming ] && break
    sleep 0.1
done
say "replica on 127.0.0.1:$P_REPLICA (streaming: ${state:-none})"
[ "$state" = streaming ] || die "the replica does not stream from the primary"

# ---------------------------------------------------------------- PgBouncer
# docker/pgbouncer.ini with loopback addresses and trust (no passwords on
# a loopback test).
sed -e "s|^medqa *=.*|medqa = host=127.0.0.1 port=$P_PRIMARY dbname=medqa|" \
    -e "s|^medqa_read *=.*|medqa_read = host=127.0.0.1 port=$P_REPLICA dbname=medqa|" \
    -e "s|^listen_addr *=.*|listen_addr = 127.0.0.1|" \
    -e "s|^listen_port *=.*|listen_port = $P_BOUNCER|" \
    -e "s|^auth_type *=.*|auth_type = trust|" \
    -e "s|^auth_file *=.*|auth_file = $dir/pgbouncer/userlist.txt|" \
    -e "s|^logfile *=.*|logfile = $dir/logs/pgbouncer.log|" \
    -e "s|^pidfile *=.*|pidfile = $dir/pgbouncer/pgbouncer.pid|" \
    docker/pgbouncer.ini >"$dir/pgbouncer/pgbouncer.ini"
echo '"medqa" ""' >"$dir/pgbouncer/userlist.txt"
chmod 644 "$dir/pgbouncer/"*
as_pg pgbouncer -d "$dir/pgbouncer/pgbouncer.ini" 2>>"$dir/logs/pgbouncer-start.log" ||
    { cat "$dir/logs/pgbouncer-start.log" >&2; die "PgBouncer did not start"; }
say "PgBouncer on 127.0.0.1:$P_BOUNCER (pool_mode=$(sed -n 's/^pool_mode = //p' "$dir/pgbouncer/pgbouncer.ini"))"

# ---------------------------------------------------------------- medqa ×2
secret=$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')
start_medqa() { # port
    DATABASE_URL="postgresql://medqa@127.0.0.1:$P_BOUNCER/medqa" \
        DATABASE_READ_URL="postgresql://medqa@127.0.0.1:$P_BOUNCER/medqa_read" \
        DATABASE_POOL_MODE=transaction PORT=$1 HOST=127.0.0.1 WORKERS=4 \
        LOG_LEVEL=warn CURSOR_SECRET=$secret TRUSTED_PROXIES=127.0.0.1 \
        PUBLIC_BASE_URL="http://127.0.0.1:$P_NGINX" MAX_CONNECTIONS_PER_IP=0 \
        RATE_LIMIT_ANON=off RATE_LIMIT_PARTNER=off RATE_LIMIT_APP=off \
        RATE_LIMIT_DOCTOR=off RATE_LIMIT_EDITOR=off \
        "$medqa" serve 2>>"$dir/logs/medqa-$1.log" &
    medqa_pids+=($!)
}
start_medqa "$P_MEDQA1"
start_medqa "$P_MEDQA2"
for port in "$P_MEDQA1" "$P_MEDQA2"; do
    ok=""
    for _ in $(seq 100); do
        if curl -fsS "http://127.0.0.1:$port/readyz" >"$dir/readyz-$port.json" 2>/dev/null; then
            ok=1
            break
        fi
        sleep 0.1
    done
    [ -n "$ok" ] || { cat "$dir/logs/medqa-$port.log" >&2; die "medqa on :$port is not ready"; }
    grep -q '"read_database":"ok"' "$dir/readyz-$port.json" ||
        die "medqa on :$port cannot reach the replica: $(cat "$dir/readyz-$port.json")"
done
say "medqa on :$P_MEDQA1 (pid ${medqa_pids[0]}) and :$P_MEDQA2 (pid ${medqa_pids[1]}): $(cat "$dir/readyz-$P_MEDQA1.json")"

# ---------------------------------------------------------------- nginx
# docker/nginx.conf with loopback addresses, one worker, and its files
# under var/scale (the temporary paths too, so no root is needed).
sed -e "s|server medqa1:8080 \(.*\); # scale.sh: upstream 1|server 127.0.0.1:$P_MEDQA1 \1;|" \
    -e "s|server medqa2:8080 \(.*\); # scale.sh: upstream 2|server 127.0.0.1:$P_MEDQA2 \1;|" \
    -e "s|listen 8080; # scale.sh: listen|listen 127.0.0.1:$P_NGINX;|" \
    -e "s|access_log .*; # scale.sh: access log|access_log $dir/logs/nginx-access.log upstreams;|" \
    -e "s|^worker_processes .*;|worker_processes 1;|" \
    -e "s|^http {|http {\n    client_body_temp_path $dir/nginx/body;\n    proxy_temp_path $dir/nginx/proxy;\n    fastcgi_temp_path $dir/nginx/fastcgi;\n    uwsgi_temp_path $dir/nginx/uwsgi;\n    scgi_temp_path $dir/nginx/scgi;|" \
    docker/nginx.conf >"$dir/nginx/nginx.conf"
grep -q "127.0.0.1:$P_MEDQA2" "$dir/nginx/nginx.conf" || die "docker/nginx.conf lost its scale.sh markers"
ngx_args=(-p "$dir/nginx/" -c "$dir/nginx/nginx.conf" -e "$dir/logs/nginx-error.log")
nginx "${ngx_args[@]}" -t -g "pid $dir/nginx/nginx.pid;" >"$dir/logs/nginx-t.log" 2>&1 ||
    { cat "$dir/logs/nginx-t.log" >&2; die "nginx -t failed"; }
# In the foreground of a background job, so that $! is nginx's master.
nginx "${ngx_args[@]}" -g "pid $dir/nginx/nginx.pid; daemon off;" &
nginx_pid=$!
for _ in $(seq 50); do
    curl -fsS "http://127.0.0.1:$P_NGINX/healthz" >/dev/null 2>&1 && break
    sleep 0.1
done
curl -fsS "http://127.0.0.1:$P_NGINX/healthz" >/dev/null || die "nginx does not answer"
say "nginx on 127.0.0.1:$P_NGINX in front of both"

# ---------------------------------------------------------------- load
xacts() { # port: committed transactions in database medqa
    psqlp -p "$1" -d postgres -tAc \
        "SELECT xact_commit + xact_rollback FROM pg_stat_database WHERE datname = 'medqa'"
}
# pg_stat_database is updated when a backend reports (at most every
# ~0.5 s while busy, always at idle); give it a moment on each side.
sleep 1
x_primary0=$(xacts "$P_PRIMARY")
x_replica0=$(xacts "$P_REPLICA")
: >"$dir/logs/nginx-access.log"
load_before=$(cut -d' ' -f1-3 /proc/loadavg)
say "load: wrk -t2 -c$CONNS -d${DURATION}s, tests/scale/mix.lua (90 % GET, 10 % POST, half of them with an Idempotency-Key); SIGKILL to medqa :$P_MEDQA1 at ${KILL_AT}s"
BENCH_LUA=$top/bench BENCH_IDS=$dir/ids.txt BENCH_KEY=$app_key \
    wrk -t2 -c"$CONNS" -d"${DURATION}s" --latency -s tests/scale/mix.lua \
    "http://127.0.0.1:$P_NGINX" >"$dir/wrk.out" 2>&1 &
wrk_pid=$!
sleep "$KILL_AT"
kill_time=$(date +%s.%N)
kill -KILL "${medqa_pids[0]}"
wait "${medqa_pids[0]}" 2>/dev/null
say "killed medqa :$P_MEDQA1 (pid ${medqa_pids[0]})"
medqa_pids=("${medqa_pids[1]}")
wait "$wrk_pid"
wrk_rc=$?
load_after=$(cut -d' ' -f1-3 /proc/loadavg)
sleep 1
x_primary1=$(xacts "$P_PRIMARY")
x_replica1=$(xacts "$P_REPLICA")
[ "$wrk_rc" -eq 0 ] || { cat "$dir/wrk.out" >&2; die "wrk failed"; }

# ---------------------------------------------------------------- report
total=$(sed -n 's/^ *\([0-9]*\) requests in .*/\1/p' "$dir/wrk.out")
non2xx=$(sed -n 's/^ *Non-2xx or 3xx responses: *\([0-9]*\)/\1/p' "$dir/wrk.out")
sockerr=$(sed -n 's/^ *Socket errors: connect \([0-9]*\), read \([0-9]*\), write \([0-9]*\), timeout \([0-9]*\)/\1 \2 \3 \4/p' "$dir/wrk.out" |
    awk '{print $1 + $2 + $3 + $4}')
rps=$(sed -n 's/^Requests\/sec: *//p' "$dir/wrk.out")
non2xx=${non2xx:-0}
sockerr=${sockerr:-0}
failed=$((non2xx + sockerr))
log=$dir/logs/nginx-access.log
# Requests medqa 1 had taken and not answered when it died: nginx logs one
# error for each (reset, or closed before the response header).
lost=$(grep -E "prematurely closed|reset by peer|Broken pipe" "$dir/logs/nginx-error.log" |
    grep -c "127.0.0.1:$P_MEDQA1")
refused=$(grep "Connection refused" "$dir/logs/nginx-error.log" | grep -c "127.0.0.1:$P_MEDQA1")
# Fields: msec status method replayable request_time "upstream_status"
# upstream_addr... (see log_format in docker/nginx.conf).
retried=$(grep -c ', ' "$log")
retried_ok=$(grep ', ' "$log" | awk '$2 ~ /^2/' | wc -l)
replayed=$(grep -c ' : ' "$log")
replayed_ok=$(grep ' : ' "$log" | awk '$2 ~ /^2/' | wc -l)
fail_keyed=$(awk '$3 == "POST" && $4 == 1 && $2 !~ /^(2|499)/' "$log" | wc -l)
fail_unkeyed=$(awk '$3 == "POST" && $4 == 0 && $2 !~ /^(2|499)/' "$log" | wc -l)
posts_keyed=$(awk '$3 == "POST" && $4 == 1' "$log" | wc -l)
by_status=$(awk '{n[$2" "$3]++} END {for (k in n) printf "%s:%d ", k, n[k]}' "$log")
served1=$(awk -v a="127.0.0.1:$P_MEDQA1" '$NF == a' "$log" | wc -l)
served2=$(awk -v a="127.0.0.1:$P_MEDQA2" '$NF == a' "$log" | wc -l)
# 2xx answers per second, counted from the second of the kill (0).
persec=$(awk -v k="$kill_time" '$2 ~ /^2/ {s = $1 - k; s = (s < 0 ? -int(-s) - 1 : int(s)); n[s]++
        if (!seen || s < lo) lo = s; if (!seen || s > hi) hi = s; seen = 1}
    END {printf "from %+ds:", lo; for (i = lo; i <= hi; i++) printf " %d", n[i]}' "$log")
reads_replica=$((x_replica1 - x_replica0))
xacts_primary=$((x_primary1 - x_primary0))

cat <<EOF

scale-test report ($(date -u +%FT%TZ), $(git describe --always --dirty 2>/dev/null))
  topology: nginx :$P_NGINX -> medqa :$P_MEDQA1, :$P_MEDQA2 (WORKERS=4 each, DATABASE_POOL_MODE=transaction)
            -> PgBouncer :$P_BOUNCER (transaction pooling) -> primary :$P_PRIMARY, streaming replica :$P_REPLICA
  data: demo + $N synthetic questions
  load: wrk -t2 -c$CONNS -d${DURATION}s, 90 % anonymous GET /questions/{id}, 10 % POST /questions (app key;
        ${SCALE_IDEMPOTENT_PERCENT:-50} % of them with an Idempotency-Key)
  medqa :$P_MEDQA1 killed (SIGKILL) at ${KILL_AT}s
  load average: $load_before before, $load_after after (other work on the machine slows every figure)
  requests: $total ($rps req/s)
  failed: $failed (non-2xx $non2xx, socket errors $sockerr)
  in flight on the killed instance: $lost (nginx: reset or closed before the answer); new connections refused: $refused
  retried by nginx on the other instance: $retried ($retried_ok of them answered 2xx)
  POSTs with an Idempotency-Key: $posts_keyed; sent again to the other instance after a 502: $replayed ($replayed_ok answered 2xx)
  failed POSTs: $fail_keyed with an Idempotency-Key, $fail_unkeyed without
  answered by medqa :$P_MEDQA1 / :$P_MEDQA2: $served1 / $served2
  by status and method: $by_status
    (499: wrk closed the connection when its time was up; 502 POST: a POST
     without an Idempotency-Key the killed instance had received, which
     nginx does not resend)
  2xx answers per second (the kill in second 0), $persec
  PostgreSQL transactions in database medqa during the load: primary $xacts_primary, replica $reads_replica
EOF
echo "  (logs: $dir/logs; wrk output: $dir/wrk.out)"

verdict=0
if [ "$failed" -gt "$lost" ]; then
    echo "FAIL: $failed failed requests, more than the $lost in flight on the killed instance"
    verdict=1
fi
if [ "$fail_keyed" -gt 0 ]; then
    echo "FAIL: $fail_keyed POSTs with an Idempotency-Key failed; nginx should have sent them again"
    verdict=1
fi
if [ "$reads_replica" -le 0 ]; then
    echo "FAIL: the replica served no reads"
    verdict=1
fi
if [ "$served2" -le 0 ] || [ -z "$total" ] || [ "$total" -le 0 ]; then
    echo "FAIL: no load was carried"
    verdict=1
fi
# After the kill the surviving instance must keep answering.
after=$(awk -v k="$kill_time" '$1 > k + 1 && $2 ~ /^2/' "$log" | wc -l)
if [ "$after" -le 0 ]; then
    echo "FAIL: nothing was answered after the kill"
    verdict=1
fi
[ "$verdict" -eq 0 ] && echo "PASS: the load carried on through the kill ($failed failed, $lost in flight); the replica served $reads_replica transactions"
exit "$verdict"
