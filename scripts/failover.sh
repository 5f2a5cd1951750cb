#!/bin/bash
# `make failover-test`: the topology of docker/ha/compose.yaml built from
# plain processes on loopback, then a read/write load through three events
# of the database tier.
#
#   etcd                 127.0.0.1:18801   var/failover/etcd (peer :18802)
#   PostgreSQL pg1, pg2  127.0.0.1:18811, :18812   each under Patroni
#                        (REST API :18821, :18822), docker/ha/patroni.yml:
#                        synchronous_mode, use_pg_rewind
#   medqa ×2             127.0.0.1:18831, :18832   DATABASE_URL naming both
#                        nodes (target_session_attrs=read-write),
#                        DATABASE_READ_URL both (prefer-standby)
#   nginx                127.0.0.1:18840   docker/nginx.conf, addresses
#                        rewritten as scripts/scale.sh does
#
# wrk drives nginx with tests/failover/mix.lua (70 % anonymous GET
# /questions/{id}, 30 % POST /questions with an app key, half of them with
# an Idempotency-Key), which writes down every acknowledged write (201)
# with its id. The events, one per phase of load:
#   scenario 1  kill -9 of the primary's postmaster: its Patroni gives up
#               the leader key, the synchronous standby is promoted, medqa
#               follows; Patroni then starts the old primary again as a
#               standby (pg_rewind if its WAL went past the new primary's).
#   scenario 2  `patronictl switchover` back to it.
#   scenario 3  the primary's node is lost (Patroni and PostgreSQL killed
#               together): the standby is promoted when the leader key
#               expires; the old primary comes back, rewinds (pg_rewind)
#               onto the new timeline and rejoins as the standby.
# Report per scenario: seconds with 503s, non-2xx by status, acknowledged
# writes found afterwards out of those made, and when writes succeeded
# again. Fails when an acknowledged write is missing, when any status
# other than 2xx or 503 with Retry-After (or a client timeout) is seen,
# when writes are not back within 30 s of a kill or 5 s of the
# switchover, when the old primary of scenario 3 rejoined without
# pg_rewind, or when fewer than 2,000 writes were acknowledged.
#
# `scripts/failover.sh --sync-cost` builds the same cluster and measures
# instead what synchronous replication costs a write: wrk's post case
# (bench/post.lua) against one medqa, rounds with synchronous_mode on and
# off, POST p50 and CPU µs per request of medqa and of each PostgreSQL.
#
# Everything started here is stopped on exit, by PID, pass or fail.
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1
top=$(pwd)

MODE=scenarios
[ "${1:-}" = --sync-cost ] && MODE=sync-cost
CONNS=${FAILOVER_CONNECTIONS:-16}
PHASE1=${FAILOVER_PHASE1:-30}       # seconds of load around the kill
PHASE2=${FAILOVER_PHASE2:-20}       # seconds of load around the switchover
PHASE3=${FAILOVER_PHASE3:-45}       # seconds of load around the node loss
EVENT_AT=${FAILOVER_EVENT_AT:-8}    # second of each phase the event happens
N=${FAILOVER_N:-2000}
SYNC_SECONDS=${SYNC_SECONDS:-12}
SYNC_ROUNDS=${SYNC_ROUNDS:-3}
# Few connections: a commit's latency, not the queue in front of medqa's
# workers, is what synchronous replication changes.
SYNC_CONNECTIONS=${SYNC_CONNECTIONS:-2}
BASE=${FAILOVER_PORT_BASE:-188}
P_ETCD=${BASE}01 P_ETCD_PEER=${BASE}02
P_PG1=${BASE}11 P_PG2=${BASE}12 P_API1=${BASE}21 P_API2=${BASE}22
P_MEDQA1=${BASE}31 P_MEDQA2=${BASE}32 P_NGINX=${BASE}40
dir=var/failover
T0=$(date +%s)
say() { echo "failover: [$(($(date +%s) - T0)) s] $*" >&2; }
die() {
    say "$*"
    exit 1
}

# ---------------------------------------------------------------- clean-up
bindir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
# PostgreSQL refuses root, so as root Patroni (and with it PostgreSQL)
# runs as 'postgres' (start_patroni below).
etcd_pid="" nginx_pid="" wrk_pid="" mon_pid=""
patroni_pids=() medqa_pids=()
stop_pid() { # pid: SIGTERM, then SIGKILL after 30 s
    local p=$1
    kill "$p" 2>/dev/null || return 0
    for _ in $(seq 300); do
        kill -0 "$p" 2>/dev/null || break
        sleep 0.1
    done
    kill -KILL "$p" 2>/dev/null
    wait "$p" 2>/dev/null
}
stop_all() {
    for p in "$wrk_pid" "$mon_pid" "$nginx_pid" "${medqa_pids[@]}"; do
        [ -n "$p" ] && stop_pid "$p"
    done
    # Patroni stops its PostgreSQL on SIGTERM; the standby first, so the
    # primary does not fail over to it on the way out.
    for ((i = ${#patroni_pids[@]} - 1; i >= 0; i--)); do
        stop_pid "${patroni_pids[$i]}"
    done
    # A PostgreSQL left behind (its Patroni killed): stopped by its PID.
    for n in pg1 pg2; do
        local pidf=$dir/$n/data/postmaster.pid
        [ -f "$pidf" ] && stop_pid "$(head -n 1 "$pidf")"
    done
    [ -n "$etcd_pid" ] && stop_pid "$etcd_pid"
    etcd_pid="" nginx_pid="" wrk_pid="" mon_pid=""
    patroni_pids=() medqa_pids=()
}
trap stop_all EXIT
trap 'exit 130' INT TERM

# ---------------------------------------------------------------- tools
scripts/deps.sh nginx wrk patroni etcd-server python3-etcd jq || exit 1
[ -x "$bindir/pg_rewind" ] || die "PostgreSQL server binaries not found"
make -s build/medqa >&2 || die "cannot build build/medqa"
medqa=$top/build/medqa

# A run starts from nothing.
rm -rf "$dir"
mkdir -p "$dir"/{logs,nginx,pg1,pg2,etcd,sock}
dir=$(cd "$dir" && pwd)
[ "$(id -u)" -eq 0 ] && chown postgres: "$dir/pg1" "$dir/pg2" "$dir/logs" "$dir/sock"
chmod 755 "$dir" "$dir/logs"

# Loopback passwords, new each run; they reach processes only through
# their environment and files readable by their owner.
rand() { head -c 18 /dev/urandom | od -An -tx1 | tr -d ' \n'; }
SUPER_PW=$(rand) REPL_PW=$(rand) MEDQA_PW=$(rand)

# ---------------------------------------------------------------- etcd
etcd --name failover --data-dir "$dir/etcd" \
    --listen-client-urls "http://127.0.0.1:$P_ETCD" \
    --advertise-client-urls "http://127.0.0.1:$P_ETCD" \
    --listen-peer-urls "http://127.0.0.1:$P_ETCD_PEER" \
    --initial-advertise-peer-urls "http://127.0.0.1:$P_ETCD_PEER" \
    --initial-cluster "failover=http://127.0.0.1:$P_ETCD_PEER" \
    >"$dir/logs/etcd.log" 2>&1 &
etcd_pid=$!
for _ in $(seq 100); do
    curl -fsS "http://127.0.0.1:$P_ETCD/health" 2>/dev/null | grep -q true && break
    sleep 0.1
done
curl -fsS "http://127.0.0.1:$P_ETCD/health" 2>/dev/null | grep -q true ||
    { tail "$dir/logs/etcd.log" >&2; die "etcd does not answer"; }
say "etcd on 127.0.0.1:$P_ETCD (pid $etcd_pid)"

# ---------------------------------------------------------------- Patroni
# docker/ha/patroni.yml as it is, but for the paths that differ outside a
# container; the addresses come from the environment (see its header).
sed -e "s|^  post_bootstrap: .*|  post_bootstrap: $top/docker/ha/post-bootstrap.sh|" \
    -e "s|^  bin_dir: .*|  bin_dir: $bindir|" \
    -e "s|^    unix_socket_directories: .*|    unix_socket_directories: $dir/sock|" \
    docker/ha/patroni.yml >"$dir/patroni.yml"
grep -q "post_bootstrap: $top/" "$dir/patroni.yml" || die "docker/ha/patroni.yml changed shape"
chmod 644 "$dir/patroni.yml"
printf 'scope: medqa\nnamespace: /service/\netcd3:\n  hosts: 127.0.0.1:%s\n' "$P_ETCD" \
    >"$dir/patronictl.yml"
ctl() { patronictl -c "$dir/patronictl.yml" "$@"; }
start_patroni() { # name pg-port api-port
    local name=$1 user=()
    [ "$(id -u)" -eq 0 ] && user=(setpriv --reuid=postgres --regid=postgres --init-groups --)
    # exec all the way down: $! is Patroni's own PID.
    (exec env PATRONI_NAME="$name" \
        PATRONI_RESTAPI_LISTEN="127.0.0.1:$3" PATRONI_RESTAPI_CONNECT_ADDRESS="127.0.0.1:$3" \
        PATRONI_POSTGRESQL_LISTEN="127.0.0.1:$2" PATRONI_POSTGRESQL_CONNECT_ADDRESS="127.0.0.1:$2" \
        PATRONI_POSTGRESQL_DATA_DIR="$dir/$name/data" PATRONI_POSTGRESQL_PGPASS="$dir/$name/pgpass" \
        PATRONI_ETCD3_HOSTS="127.0.0.1:$P_ETCD" \
        PATRONI_SUPERUSER_PASSWORD="$SUPER_PW" PATRONI_REPLICATION_PASSWORD="$REPL_PW" \
        MEDQA_DB_PASSWORD="$MEDQA_PW" HOME="$dir/$name" \
        "${user[@]}" patroni "$dir/patroni.yml") >>"$dir/logs/patroni-$name.log" 2>&1 &
    patroni_pids+=($!)
}
api() { curl -s -m 2 "http://127.0.0.1:$1$2"; }
api_ok() { curl -fs -m 2 -o /dev/null "http://127.0.0.1:$1$2"; }
wait_for() { # seconds command...: until the command succeeds
    local t=$1
    shift
    for _ in $(seq $((t * 5))); do
        "$@" && return 0
        sleep 0.2
    done
    return 1
}
start_patroni pg1 "$P_PG1" "$P_API1"
wait_for 90 api_ok "$P_API1" /primary ||
    { tail -n 30 "$dir/logs/patroni-pg1.log" >&2; die "pg1 did not become the primary"; }
say "pg1 (Patroni pid ${patroni_pids[0]}) is the primary on 127.0.0.1:$P_PG1"
start_patroni pg2 "$P_PG2" "$P_API2"
wait_for 90 api_ok "$P_API2" /sync ||
    { tail -n 30 "$dir/logs/patroni-pg2.log" >&2; die "pg2 did not become the synchronous standby"; }
say "pg2 (Patroni pid ${patroni_pids[1]}) is the synchronous standby on 127.0.0.1:$P_PG2"

# ---------------------------------------------------------------- data
hosts="127.0.0.1:$P_PG1,127.0.0.1:$P_PG2"
url="postgresql://medqa:$MEDQA_PW@$hosts/medqa?target_session_attrs=read-write"
read_url="postgresql://medqa:$MEDQA_PW@$hosts/medqa?target_session_attrs=prefer-standby"
# The synthetic load sets session_replication_role: superuser only.
super_url="postgresql://postgres:$SUPER_PW@$hosts/medqa?target_session_attrs=read-write"
psql_leader() { psql -X -q -v ON_ERROR_STOP=1 -tA "$url" "$@"; }
DATABASE_URL=$url "$medqa" migrate 2>"$dir/logs/migrate.log" ||
    { cat "$dir/logs/migrate.log" >&2; die "migrate failed"; }
if ! DATABASE_URL=$url "$medqa" seed --demo >/dev/null 2>"$dir/logs/seed.log" ||
    ! DATABASE_URL=$super_url "$medqa" seed --synthetic "$N" >/dev/null 2>>"$dir/logs/seed.log"; then
    cat "$dir/logs/seed.log" >&2
    die "seed failed"
fi
app_key=$(DATABASE_URL=$url "$medqa" keys create --role app --name failover-test 2>/dev/null | tail -n 1)
[ -n "$app_key" ] || die "cannot create an app key"
psql_leader -c "SELECT id FROM questions WHERE deleted_at IS NULL" >"$dir/ids.txt" ||
    die "cannot list question ids"
say "loaded the demo data and $N synthetic questions"

# ---------------------------------------------------------------- medqa ×2
secret=$(rand)$(rand)
start_medqa() { # port
    DATABASE_URL=$url DATABASE_READ_URL=$read_url \
        DATABASE_FAILOVER_TIMEOUT=${FAILOVER_MEDQA_WAIT:-5} \
        PORT=$1 HOST=127.0.0.1 WORKERS=4 \
        LOG_LEVEL=info CURSOR_SECRET=$secret TRUSTED_PROXIES=127.0.0.1 \
        PUBLIC_BASE_URL="http://127.0.0.1:$P_NGINX" MAX_CONNECTIONS_PER_IP=0 \
        RATE_LIMIT_ANON=off RATE_LIMIT_PARTNER=off RATE_LIMIT_APP=off \
        RATE_LIMIT_DOCTOR=off RATE_LIMIT_EDITOR=off \
        "$medqa" serve 2>>"$dir/logs/medqa-$1.log" &
    medqa_pids+=($!)
}
start_medqa "$P_MEDQA1"
start_medqa "$P_MEDQA2"
for port in "$P_MEDQA1" "$P_MEDQA2"; do
    wait_for 20 curl -fs -o "$dir/readyz-$port.json" "http://127.0.0.1:$port/readyz" ||
        { tail "$dir/logs/medqa-$port.log" >&2; die "medqa on :$port is not ready"; }
done
ready=$(cat "$dir/readyz-$P_MEDQA1.json")
[ "$(jq -r '.primary.port' <<<"$ready")" = "$P_PG1" ] ||
    die "medqa does not see pg1 as the primary: $ready"
[ "$(jq -r '.primary.replicas[0].sync_state' <<<"$ready")" = sync ] ||
    die "medqa does not see a synchronous standby: $ready"
say "medqa on :$P_MEDQA1 and :$P_MEDQA2: $ready"

# ---------------------------------------------------------------- CPU use
ticks_of() { # pid...: utime + stime of each, summed (clock ticks)
    local sum=0 p t
    for p in "$@"; do
        t=$(awk '{ sub(/^.*\) /, ""); print $12 + $13 }' "/proc/$p/stat" 2>/dev/null)
        sum=$((sum + ${t:-0}))
    done
    echo "$sum"
}
pg_pids() { # node: its postmaster and every child of it
    local pm
    pm=$(head -n 1 "$dir/$1/data/postmaster.pid" 2>/dev/null) || return
    echo "$pm" $(pgrep -P "$pm")
}
hz=$(getconf CLK_TCK)

if [ "$MODE" = sync-cost ]; then
    # ------------------------------------------------------------ sync cost
    set_sync() { # true|false: Patroni sets synchronous_standby_names
        ctl edit-config --force -s "synchronous_mode=$1" >/dev/null 2>&1 ||
            die "patronictl edit-config failed"
        local want=$([ "$1" = true ] && echo nonempty || echo empty) v
        for _ in $(seq 100); do
            v=$(psql_leader -c "SHOW synchronous_standby_names")
            { [ "$want" = empty ] && [ -z "$v" ]; } ||
                { [ "$want" = nonempty ] && [ -n "$v" ]; } && break
            sleep 0.2
        done
        echo "$v"
    }
    results=()
    for round in $(seq "$SYNC_ROUNDS"); do
        for mode in true false; do
            names=$(set_sync $mode)
            sleep 1
            m0=$(ticks_of "${medqa_pids[0]}")
            p0=$(ticks_of $(pg_pids pg1))
            s0=$(ticks_of $(pg_pids pg2))
            BENCH_LUA=$top/bench BENCH_KEY=$app_key wrk -t"$SYNC_CONNECTIONS" -c"$SYNC_CONNECTIONS" -d"${SYNC_SECONDS}s" \
                --latency -s bench/post.lua "http://127.0.0.1:$P_MEDQA1" >"$dir/sync-$round-$mode.out" 2>&1 ||
                die "wrk failed"
            m1=$(ticks_of "${medqa_pids[0]}")
            p1=$(ticks_of $(pg_pids pg1))
            s1=$(ticks_of $(pg_pids pg2))
            reqs=$(sed -n 's/^ *\([0-9]*\) requests in .*/\1/p' "$dir/sync-$round-$mode.out")
            non2xx=$(sed -n 's/^ *Non-2xx or 3xx responses: *\([0-9]*\)/\1/p' "$dir/sync-$round-$mode.out")
            p50=$(awk '$1 == "50%" {print $2}' "$dir/sync-$round-$mode.out")
            rps=$(sed -n 's/^Requests\/sec: *//p' "$dir/sync-$round-$mode.out")
            us() { awk -v t="$1" -v n="$reqs" -v hz="$hz" 'BEGIN {printf "%.0f", t / hz * 1e6 / n}'; }
            label=$([ $mode = true ] && echo "synchronous (synchronous_standby_names=$names)" ||
                echo "asynchronous (synchronous_standby_names empty)")
            # For the summary: mode p50(ms) medqa-µs primary-µs standby-µs.
            echo "$mode $(awk -v v="$p50" 'BEGIN { if (v ~ /us$/) v = v / 1000; else if (v ~ /ms$/) v = v + 0; else if (v ~ /s$/) v = v * 1000; print v }') $(us $((m1 - m0))) $(us $((p1 - p0))) $(us $((s1 - s0)))" >>"$dir/sync-summary.txt"
            results+=("round $round, $label: $reqs POSTs, ${rps} req/s, p50 $p50, non-2xx ${non2xx:-0}; CPU µs per request: medqa $(us $((m1 - m0))), primary PostgreSQL $(us $((p1 - p0))), standby PostgreSQL $(us $((s1 - s0)))")
            say "${results[-1]}"
        done
    done
    cat <<EOF

synchronous replication cost ($(date -u +%FT%TZ), $(git describe --always --dirty 2>/dev/null))
  cluster: Patroni, pg1 primary :$P_PG1, pg2 standby :$P_PG2 (streaming; synchronous_mode toggled with patronictl edit-config)
  load: wrk -t$SYNC_CONNECTIONS -c$SYNC_CONNECTIONS -d${SYNC_SECONDS}s bench/post.lua straight at medqa :$P_MEDQA1 (WORKERS=4), fsync on, $SYNC_ROUNDS rounds of each, alternating
  load average: $(cut -d' ' -f1-3 /proc/loadavg)
EOF
    printf '  %s\n' "${results[@]}"
    # Medians over the rounds.
    for mode in true false; do
        awk -v m=$mode '$1 == m' "$dir/sync-summary.txt" | awk -v m=$mode '
            { for (i = 2; i <= 5; i++) v[i, NR] = $i }
            END {
                for (i = 2; i <= 5; i++) {
                    for (a = 1; a <= NR; a++) x[a] = v[i, a]
                    for (a = 2; a <= NR; a++) for (b = a; b > 1 && x[b-1] > x[b]; b--) { t = x[b]; x[b] = x[b-1]; x[b-1] = t }
                    med[i] = NR % 2 ? x[(NR + 1) / 2] : (x[NR / 2] + x[NR / 2 + 1]) / 2
                }
                printf "  median, %s: POST p50 %.2f ms; CPU µs per request: medqa %d, primary PostgreSQL %d, standby PostgreSQL %d\n",
                    (m == "true" ? "synchronous " : "asynchronous"), med[2], med[3], med[4], med[5]
            }'
    done
    exit 0
fi

# ---------------------------------------------------------------- nginx
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
nginx "${ngx_args[@]}" -g "pid $dir/nginx/nginx.pid; daemon off;" &
nginx_pid=$!
wait_for 10 curl -fsS -o /dev/null "http://127.0.0.1:$P_NGINX/healthz" || die "nginx does not answer"
say "nginx on 127.0.0.1:$P_NGINX in front of both"

# ---------------------------------------------------------------- monitor
# The cluster as Patroni sees it, every 0.25 s: "<unix time> <name>
# <role> <state> <timeline>" per member (from whichever node answers).
monitor() {
    while :; do
        local now c
        now=$(date +%s.%N)
        c=$(api "$P_API2" /cluster || api "$P_API1" /cluster)
        [ -n "$c" ] && jq -r --arg t "$now" \
            '.members[] | "\($t) \(.name) \(.role) \(.state) \(.timeline // "-")"' <<<"$c" 2>/dev/null
        sleep 0.25
    done >>"$dir/cluster.log"
}
monitor &
mon_pid=$!
leader() { # the leader's name, as whichever node answers sees it
    local c
    c=$(api "$P_API2" /cluster || api "$P_API1" /cluster)
    jq -r '.members[] | select(.role == "leader") | .name' <<<"$c" 2>/dev/null
}
port_of() { [ "$1" = pg1 ] && echo "$P_PG1" || echo "$P_PG2"; }
api_of() { [ "$1" = pg1 ] && echo "$P_API1" || echo "$P_API2"; }

run_load() { # phase seconds
    : >"$dir/wrk-$1.started"
    FAILOVER_ACKED=$dir/acked-$1 BENCH_LUA=$top/bench BENCH_IDS=$dir/ids.txt BENCH_KEY=$app_key \
        wrk -t2 -c"$CONNS" -d"${2}s" --timeout 10s --latency -s tests/failover/mix.lua \
        "http://127.0.0.1:$P_NGINX" >"$dir/wrk-$1.out" 2>&1 &
    wrk_pid=$!
}
finish_load() { # phase
    wait "$wrk_pid"
    local rc=$?
    wrk_pid=""
    [ "$rc" -eq 0 ] || { cat "$dir/wrk-$1.out" >&2; die "wrk failed"; }
}

# ---------------------------------------------------------------- phases
: >"$dir/logs/nginx-access.log"
phase_start=() phase_end=() event_time=()
standby_back() { # seconds node: until it is the synchronous standby
    wait_for "$1" api_ok "$(api_of "$2")" /sync
}

# Scenario 1: the primary's postmaster dies. Its Patroni sees it, gives
# up the leader key at once (primary_start_timeout 0) and pg2, the
# synchronous standby, is promoted; then Patroni starts pg1 again as a
# standby of pg2 (pg_rewind first if its WAL went past pg2's).
[ "$(leader)" = pg1 ] || die "pg1 should lead at the start, not '$(leader)'"
say "scenario 1: wrk -t2 -c$CONNS -d${PHASE1}s through nginx; kill -9 of pg1's postmaster at ${EVENT_AT}s"
phase_start[1]=$(date +%s.%N)
run_load 1 "$PHASE1"
sleep "$EVENT_AT"
pm=$(head -n 1 "$dir/pg1/data/postmaster.pid")
event_time[1]=$(date +%s.%N)
kill -KILL "$pm"
say "killed pg1's postmaster (pid $pm)"
finish_load 1
phase_end[1]=$(date +%s.%N)
standby_back 90 pg1 || die "pg1 did not come back as the synchronous standby"
[ "$(leader)" = pg2 ] || die "pg2 should lead after scenario 1, not '$(leader)'"

# Scenario 2: a planned switchover back to pg1.
say "scenario 2: wrk -t2 -c$CONNS -d${PHASE2}s; patronictl switchover pg2 -> pg1 at ${EVENT_AT}s"
phase_start[2]=$(date +%s.%N)
run_load 2 "$PHASE2"
sleep "$EVENT_AT"
event_time[2]=$(date +%s.%N)
ctl switchover --leader pg2 --candidate pg1 --force >"$dir/logs/switchover.log" 2>&1 ||
    { cat "$dir/logs/switchover.log" >&2; die "patronictl switchover failed"; }
finish_load 2
phase_end[2]=$(date +%s.%N)
standby_back 90 pg2 || die "pg2 did not come back as the synchronous standby"
[ "$(leader)" = pg1 ] || die "pg1 should lead after the switchover, not '$(leader)'"

# Scenario 3: the primary's whole node goes (Patroni and PostgreSQL killed
# together), so nothing gives up the leader key: pg2 is promoted when it
# expires (ttl). Then pg1's Patroni starts again on the crashed data
# directory: its crash recovery writes WAL pg2 never had, so pg1 rewinds
# (pg_rewind) onto pg2's timeline and rejoins as its standby.
say "scenario 3: wrk -t2 -c$CONNS -d${PHASE3}s; kill -9 of pg1's Patroni and postmaster at ${EVENT_AT}s, pg1 started again once pg2 leads"
phase_start[3]=$(date +%s.%N)
run_load 3 "$PHASE3"
sleep "$EVENT_AT"
pm=$(head -n 1 "$dir/pg1/data/postmaster.pid")
event_time[3]=$(date +%s.%N)
kill -KILL "${patroni_pids[0]}" "$pm"
wait "${patroni_pids[0]}" 2>/dev/null
patroni_pids=("${patroni_pids[1]}")
say "killed pg1's Patroni and postmaster (pid $pm)"
wait_for 60 api_ok "$P_API2" /primary || die "pg2 was not promoted"
sleep 1
restart_time=$(date +%s.%N)
mv "$dir/logs/patroni-pg1.log" "$dir/logs/patroni-pg1-before.log"
start_patroni pg1 "$P_PG1" "$P_API1"
say "pg2 leads; pg1's Patroni started again (pid ${patroni_pids[-1]})"
finish_load 3
phase_end[3]=$(date +%s.%N)
standby_back 120 pg1 || die "pg1 did not rejoin as the synchronous standby"
final=$(leader)
kill "$mon_pid" 2>/dev/null && wait "$mon_pid" 2>/dev/null
mon_pid=""

# ---------------------------------------------------------------- checks
log=$dir/logs/nginx-access.log
rel() { awk -v a="$1" -v b="$2" 'BEGIN { if (a == "" || b == "") print "n/a"; else printf "%+.1f s", a - b }'; }
first_state() { # after name role...: first time <name> ran in one of <roles>
    local after=$1 name=$2
    shift 2
    awk -v k="$after" -v n="$name" -v r=" $* " '$1 > k && $2 == n && index(r, " " $3 " ") &&
        ($4 == "running" || $4 == "streaming") {print $1; exit}' "$dir/cluster.log"
}
# Every acknowledged write, looked for on the primary there is now.
found_ids() { # file of "<time> <id>" -> how many of the ids exist
    awk '{print $2}' "$1" | grep -E '^[0-9a-f-]{36}$' >"$1.ids"
    psql_leader -c "CREATE TEMP TABLE acked (id uuid)" \
        -c "\\copy acked FROM '$1.ids'" \
        -c "SELECT count(DISTINCT a.id) FROM acked a JOIN questions q USING (id)" | tail -n 1
}
verdict=0
fail() {
    echo "FAIL: $*"
    verdict=1
}
acked_total=0 found_total=0
# One scenario's lines of the report, from nginx's log (msec status method
# replayable request_time ...: log_format upstreams in docker/nginx.conf)
# and from what the client wrote down.
report() { # n title limit
    local n=$1 title=$2 limit=$3 from=${phase_start[$1]} to=${phase_end[$1]} ev=${event_time[$1]}
    local f=$dir/wrk-$n.out made found total c r w tmo stats nsec secs nbad classes nend back how
    cat "$dir"/acked-"$n"-* | awk '$2 == 201 {print $1, $3}' >"$dir/acked-$n.txt"
    made=$(wc -l <"$dir/acked-$n.txt")
    found=$(found_ids "$dir/acked-$n.txt")
    acked_total=$((acked_total + made)) found_total=$((found_total + found))
    total=$(sed -n 's/^ *\([0-9]*\) requests in .*/\1/p' "$f")
    read -r c r w tmo < <(sed -n 's/^ *Socket errors: connect \([0-9]*\), read \([0-9]*\), write \([0-9]*\), timeout \([0-9]*\)/\1 \2 \3 \4/p' "$f")
    # Seconds (from the event) in which a 503 was answered; non-2xx by
    # status and method (but 499 in the last 2 s: wrk closing its
    # connections when its time is up); the first acknowledged POST after
    # the last failed one or, with none failed, the end of the longest
    # pause between acknowledged POSTs after the event.
    stats=$(awk -v a="$from" -v b="$to" -v e="$ev" '
        $1 >= a && $1 < b + 1 {
            if ($2 == 499 && $1 >= b - 2) { nend++; next }
            if ($2 == 503) sec[int($1 - e + 1000) - 1000] = 1
            if ($2 !~ /^2/) { bad[$2 "/" $3]++; nbad++ }
            if ($3 == "POST") {
                if ($2 ~ /^2/) t[++n] = $1
                else if ($1 > lastfail) lastfail = $1
            }
        }
        END {
            # The seconds in order, runs written as ranges: " +0..+3 +7".
            ns = 0
            for (k in sec) { ns++; ks[ns] = k + 0 }
            for (i = 2; i <= ns; i++) for (j = i; j > 1 && ks[j-1] > ks[j]; j--) { x = ks[j]; ks[j] = ks[j-1]; ks[j-1] = x }
            s = ""
            for (i = 1; i <= ns; i = j + 1) {
                for (j = i; j < ns && ks[j+1] == ks[j] + 1; j++) ;
                s = s " " sprintf("%+d", ks[i]) (j > i ? ".." sprintf("%+d", ks[j]) : "")
            }
            c = ""; for (k in bad) c = c " " k ":" bad[k]
            back = -1
            if (lastfail > 0) {
                for (i = 1; i <= n; i++) if (t[i] > lastfail) { back = t[i] - e; break }
                how = "the first acknowledged POST after the last failed one"
            } else {
                g = 0; ge = 0
                for (i = 2; i <= n; i++) if (t[i] >= e && t[i] - t[i-1] > g) { g = t[i] - t[i-1]; ge = t[i] }
                back = (ge > e ? ge - e : 0)
                how = sprintf("no POST failed; the longest pause between acknowledged POSTs, %.2f s, ended then", g)
            }
            printf "%d|%s|%d|%s|%d|%.2f|%s\n", ns, s, nbad, c, nend, back, how
        }' "$log")
    IFS='|' read -r nsec secs nbad classes nend back how <<<"$stats"
    echo "  $title"
    echo "    load: ${total:-0} requests; client timeouts ${tmo:-0}, other socket errors $((${c:-0} + ${r:-0} + ${w:-0})); closed by wrk at its end (499): ${nend:-0}"
    echo "    seconds with 503s: $nsec${secs:+ (from the event:$secs)}"
    echo "    non-2xx answers: $nbad${classes:+ (status/method:$classes)}"
    echo "    acknowledged writes found afterwards: $found of $made"
    echo "    writes succeed again: $(printf '%+.2f' "$back") s after the event ($how; limit $limit s)"
    [ "$found" -eq "$made" ] || fail "scenario $n: $((made - found)) acknowledged writes are missing"
    awk -v b="$back" -v l="$limit" 'BEGIN {exit !(b < 0 || b > l)}' &&
        fail "scenario $n: writes were not back within $limit s"
    for k in $classes; do
        [[ "$k" == 503/* ]] || fail "scenario $n: a status other than 503: $k"
    done
    [ "$((${c:-0} + ${r:-0} + ${w:-0}))" -eq 0 ] || fail "scenario $n: socket errors other than timeouts"
}
promoted1=$(first_state "${event_time[1]}" pg2 leader)
back1=$(first_state "${event_time[1]}" pg1 replica sync_standby)
sync1=$(first_state "${event_time[1]}" pg1 sync_standby)
led2=$(first_state "${event_time[2]}" pg1 leader)
promoted3=$(first_state "${event_time[3]}" pg2 leader)
back3=$(first_state "$restart_time" pg1 replica sync_standby)
sync3=$(first_state "$restart_time" pg1 sync_standby)
# pg_rewind's own account: "servers diverged at WAL location ...", then
# "pg_rewind exit code=0" from Patroni.
rewound() { # log: pg_rewind's summary, or nothing when it did not run
    grep -q "pg_rewind exit code=0" "$1" &&
        grep -o "servers diverged at WAL location [^ ]* on timeline [0-9]*" "$1" | head -n 1
}
rewind_text() { # summary: the report's words for it
    if [ -n "$1" ]; then echo "pg_rewind: $1"; else echo "pg_rewind not run (no WAL beyond what pg2 had)"; fi
}
rewind1=$(rewound "$dir/logs/patroni-pg1-before.log")
rewind3=$(rewound "$dir/logs/patroni-pg1.log")
# 503s without a Retry-After, and any other status, as the client saw them.
no_retry_after=$(cat "$dir"/acked-[123]-* | awk '$2 == 503 && $3 == "-"' | wc -l)
other_status=$(cat "$dir"/acked-[123]-* | awk '$2 != 201 && $2 != 503 {print $2}' | sort | uniq -c | awk '{printf " %s:%s", $2, $1}')

cat <<EOF

failover-test report ($(date -u +%FT%TZ), $(git describe --always --dirty 2>/dev/null))
  topology: nginx :$P_NGINX -> medqa :$P_MEDQA1, :$P_MEDQA2 (WORKERS=4, DATABASE_FAILOVER_TIMEOUT=${FAILOVER_MEDQA_WAIT:-5})
            -> Patroni pg1 :$P_PG1 / pg2 :$P_PG2 (synchronous_mode, use_pg_rewind, primary_start_timeout 0, ttl 20), etcd :$P_ETCD
  load: wrk -t2 -c$CONNS --timeout 10s through nginx, 70 % anonymous GET /questions/{id},
        30 % POST /questions with an app key (half with an Idempotency-Key); every 201 written down with its id
  load average at the end: $(cut -d' ' -f1-3 /proc/loadavg) (2 vCPUs shared by everything, other work included)
EOF
report 1 "scenario 1: kill -9 of the primary's (pg1) postmaster at +0; pg2 promoted at $(rel "$promoted1" "${event_time[1]}"); pg1 back as a standby at $(rel "$back1" "${event_time[1]}"), synchronous at $(rel "$sync1" "${event_time[1]}"), $(rewind_text "$rewind1")" 30
report 2 "scenario 2: patronictl switchover pg2 -> pg1 at +0; pg1 leading at $(rel "$led2" "${event_time[2]}")" 5
report 3 "scenario 3: kill -9 of pg1's Patroni and postmaster at +0 (node lost); pg2 promoted at $(rel "$promoted3" "${event_time[3]}") (leader key expired); pg1 started again at $(rel "$restart_time" "${event_time[3]}"), back as a standby at $(rel "$back3" "${event_time[3]}"), synchronous at $(rel "$sync3" "${event_time[3]}"); $(rewind_text "$rewind3")" 30
cat <<EOF
  all scenarios: acknowledged writes found $found_total of $acked_total made; 503s without Retry-After: $no_retry_after; other statuses the client saw:${other_status:- none}
  the cluster at the end: $(ctl list -f json 2>/dev/null | jq -c '[.[] | {Member, Role, State, TL}]')
  (logs: $dir/logs; wrk: $dir/wrk-N.out; cluster states every 0.25 s: $dir/cluster.log)
EOF
[ "$found_total" -eq "$acked_total" ] || fail "$((acked_total - found_total)) acknowledged writes are missing"
[ "$acked_total" -ge 2000 ] || fail "only $acked_total writes acknowledged (at least 2000 wanted)"
[ "$no_retry_after" -eq 0 ] || fail "$no_retry_after 503 answers without Retry-After"
[ -z "$other_status" ] || fail "statuses other than 201 and 503 reached the client:$other_status"
[ -n "$rewind3" ] || fail "scenario 3: pg1 rejoined without pg_rewind"
[ "$final" = pg2 ] || fail "pg2 should lead at the end, not '$final'"
[ "$verdict" -eq 0 ] && echo "PASS: $found_total of $acked_total acknowledged writes found, only 503s with Retry-After, writes back within the limits"
exit "$verdict"
