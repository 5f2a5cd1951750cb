#!/bin/bash
# `make bench`: medqa under wrk beside its two ceilings, on this machine.
#
#   * builds build/medqa (-O2, no sanitizers) and bench/static_server.c;
#   * a private cluster under var/bench/pg (port BENCH_PGPORT, unix socket
#     only), database bench_N loaded once by `medqa seed --synthetic N` and
#     reused while it holds N questions;
#   * medqa on 127.0.0.1, driven by wrk with the Lua scripts in bench/,
#     case by case, BENCH_ROUNDS rounds interleaved; after each medqa run of
#     a read case, its ceilings: pgbench running medqa's own SQL
#     (bench/pgbench/*.sql, -M prepared, same connections and threads) and
#     bench/static_server answering a body of the same size;
#   * CPU per request from /proc (medqa's process; the postmaster, its
#     reaped children and every live child), peak RSS from VmHWM (reset
#     before each run through /proc/PID/clear_refs);
#   * a markdown table of medians on stdout and in bench/last-run.md.
#
# Everything it starts is stopped on exit, pass or fail. Settings (env):
#   BENCH_N=100000  BENCH_DURATION=8  BENCH_CEIL_DURATION=4  BENCH_ROUNDS=3
#   BENCH_CEIL_WARMUP=2 (pgbench seconds not counted)  BENCH_STATIC_DURATION=2
#   BENCH_PGBENCH_CONNS=$BENCH_CONNS (pgbench clients)
#   BENCH_CONNS=64  BENCH_THREADS=2    BENCH_WORKERS=4        BENCH_RSS_CONNS=256
#   BENCH_CASES="get replies list deep related page search post mix"
#     (add "peers" for the Go and Node peers beside medqa: bench/peers/)
#   BENCH_PAGE_IDS=2000 (the page case's sample: ids whose stored Similar
#   Q&A medqa's refresh worker warms first, at a rate the report gives)
#   BENCH_DEPTH=50000 (rows before the deep page)  BENCH_MAX_IDS=200000
#   BENCH_C1_CASES="related search" (extra 1-connection latency runs)
#   BENCH_PGPORT=5434  BENCH_PORT=18080  BENCH_STATIC_PORT=18081
#   BENCH_OUT=bench/last-run.md  BENCH_MEDQA=build/medqa (another build to run)
#   BENCH_DELIVERY=1 (0 skips the webhook delivery case: POST /questions
#   with 0 and with BENCH_ENDPOINTS=10 matching endpoints, and deliveries
#   per second to a local receiver)
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1
top=$(pwd)

N=${BENCH_N:-100000}
DUR=${BENCH_DURATION:-8}
CDUR=${BENCH_CEIL_DURATION:-4}
CWARM=${BENCH_CEIL_WARMUP:-2}
SDUR=${BENCH_STATIC_DURATION:-2}
PGB_CONNS=${BENCH_PGBENCH_CONNS:-${BENCH_CONNS:-64}}
ROUNDS=${BENCH_ROUNDS:-3}
CONNS=${BENCH_CONNS:-64}
THREADS=${BENCH_THREADS:-2}
WORKERS=${BENCH_WORKERS:-4}
RSS_CONNS=${BENCH_RSS_CONNS:-256}
CASES=${BENCH_CASES:-get replies list deep related page search post mix}
PAGE_IDS=${BENCH_PAGE_IDS:-2000}
C1_CASES=${BENCH_C1_CASES:-related search}
DEPTH=${BENCH_DEPTH:-50000}
MAX_IDS=${BENCH_MAX_IDS:-200000}
PGPORT=${BENCH_PGPORT:-5434}
PORT=${BENCH_PORT:-18080}
SPORT=${BENCH_STATIC_PORT:-18081}
OUT=${BENCH_OUT:-bench/last-run.md}
# The code measured is the code at the start: a commit made during a long
# run must not be credited with it.
rev=$(git describe --always --dirty 2>/dev/null)
LIMIT=20

pgdir=var/bench/pg
db=bench_$N
run=var/bench/run
base=http://127.0.0.1:$PORT
hz=$(getconf CLK_TCK)
medqa_pid=""
static_pid=""

T0=$(date +%s)
say() { echo "bench: [$(($(date +%s) - T0)) s] $*" >&2; }
die() {
    say "$*"
    exit 1
}

PEERS_PIDS=""
cleanup() {
    # shellcheck disable=SC2086 # a list of pids
    [ -n "$PEERS_PIDS" ] && kill $PEERS_PIDS 2>/dev/null
    [ -n "$static_pid" ] && kill "$static_pid" 2>/dev/null && wait "$static_pid" 2>/dev/null
    [ -n "$medqa_pid" ] && kill "$medqa_pid" 2>/dev/null && wait "$medqa_pid" 2>/dev/null
    scripts/pg.sh stop "$pgdir" >/dev/null 2>&1
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---------------------------------------------------------------- build
scripts/deps.sh wrk jq || exit 1
bindir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
[ -x "$bindir/pgbench" ] || die "pgbench not found under /usr/lib/postgresql/*/bin"
# BENCH_MEDQA runs another build (say, the one before a change) instead.
medqa=${BENCH_MEDQA:-build/medqa}
if [ -z "${BENCH_MEDQA:-}" ]; then
    make -s build/medqa >&2 || die "cannot build build/medqa"
fi
[ -x "$medqa" ] || die "$medqa is not an executable"
mkdir -p build/bench "$run"
rm -f "$run"/*
# shellcheck disable=SC2046 # pkg-config's flags are words
cc -O2 -std=c17 -D_GNU_SOURCE -Wall -Wextra -o build/bench/static_server \
    bench/static_server.c $(pkg-config --cflags --libs libmicrohttpd) ||
    die "cannot build bench/static_server.c"

# ---------------------------------------------------------------- data
psqlc() { psql -X -q -v ON_ERROR_STOP=1 -h "$top/$pgdir/sock" -p "$PGPORT" -U medqa "$@"; }
sql() { psqlc -d "$db" -tAc "$1"; }

scripts/pg.sh start "$pgdir" "$PGPORT" || die "cannot start the cluster in $pgdir"
scripts/pg.sh createdb "$pgdir" "$PGPORT" "$db" || die "cannot create $db"
DATABASE_URL=$(scripts/pg.sh url "$pgdir" "$PGPORT" "$db")
export DATABASE_URL
"$medqa" migrate >"$run/migrate.log" 2>&1 || {
    cat "$run/migrate.log" >&2
    die "migrate failed"
}

# The benchmark's own writes (asker "bench-writer") are removed after each
# round, so every round sees the same N questions; the VACUUM (slow: two GIN
# indexes) waits for the end of the run ("purge quick" skips it).
purge() {
    sql "DELETE FROM changes c USING questions q
         WHERE q.asker_name = 'bench-writer' AND c.entity_id = q.id::text;
         DELETE FROM questions WHERE asker_name = 'bench-writer';" >/dev/null || return 1
    [ "${1:-}" = quick ] || sql "VACUUM ANALYZE questions, question_topics, changes" >/dev/null
}
purge || die "cannot purge earlier benchmark writes"

have=$(sql "SELECT count(*) FROM questions") || die "cannot count questions"
if [ "$have" != "$N" ]; then
    if [ "$have" != 0 ]; then
        say "$db holds $have questions, not $N: loading it again"
        psqlc -d postgres -c "DROP DATABASE $db" || die "cannot drop $db"
        scripts/pg.sh createdb "$pgdir" "$PGPORT" "$db" || die "cannot create $db"
        "$medqa" migrate >"$run/migrate.log" 2>&1 || die "migrate failed"
    fi
    # Not grep -q: it would stop reading early, and under pipefail
    # medqa's SIGPIPE fails the test.
    "$medqa" --help 2>&1 | grep -- '--synthetic' >/dev/null ||
        die "$medqa has no 'seed --synthetic' yet"
    say "loading $N synthetic questions into $db"
    t0=$(date +%s)
    "$medqa" seed --synthetic "$N" >&2 || die "seed --synthetic failed"
    say "loaded in $(($(date +%s) - t0)) s"
    have=$(sql "SELECT count(*) FROM questions")
    [ "$have" = "$N" ] || die "after the load $db holds $have questions, not $N"
fi
# IDF weights for /related: the load does not refresh them.
if [ "$(sql "SELECT coalesce((SELECT docs FROM term_df_total), -1)")" != "$N" ]; then
    say "refreshing term_df (mq_refresh_df) and vacuuming"
    sql "SELECT mq_refresh_df()" >/dev/null || die "mq_refresh_df failed"
    sql "VACUUM ANALYZE" >/dev/null || die "VACUUM failed"
fi
# The ids both wrk and pgbench draw from: all of them, or a random sample
# of BENCH_MAX_IDS, numbered 1..n for pgbench's random().
nids=$(sql "SELECT count(*) FROM bench_ids" 2>/dev/null || echo 0)
want=$((N < MAX_IDS ? N : MAX_IDS))
if [ "$nids" != "$want" ]; then
    sql "DROP TABLE IF EXISTS bench_ids;
         CREATE TABLE bench_ids AS
           SELECT row_number() OVER ()::int AS n, id FROM
             (SELECT id FROM questions WHERE deleted_at IS NULL
              ORDER BY random() LIMIT $want) s;
         ALTER TABLE bench_ids ADD PRIMARY KEY (n);
         ANALYZE bench_ids;" >/dev/null || die "cannot make bench_ids"
    nids=$want
fi
ids=$top/var/bench/ids_$N.txt
if [ ! -s "$ids" ] || [ "$(wc -l <"$ids")" != "$nids" ]; then
    sql "SELECT id FROM bench_ids ORDER BY n" >"$ids" || die "cannot dump ids"
fi

# The page case (issue 17) reads the first BENCH_PAGE_IDS of bench_ids,
# whose stored Similar Q&A is warmed once medqa is up. A bench database
# migrated after its load queues every question for the worker's
# backfill; only the sample is kept stored here (RELATED_BACKFILL=0
# below), or the worker would spend every case on the rest.
pids=$((nids < PAGE_IDS ? nids : PAGE_IDS))
page_ids=$top/var/bench/page_ids_${N}_$pids.txt
if [ ! -s "$page_ids" ] || [ "$(wc -l <"$page_ids")" != "$pids" ]; then
    sql "SELECT id FROM bench_ids WHERE n <= $pids ORDER BY n" >"$page_ids" || die "cannot dump page ids"
fi
sql "DELETE FROM related_queue WHERE due_at = 'infinity'" >/dev/null 2>&1 || true

# ---------------------------------------------------------------- medqa
if [ -z "${CURSOR_SECRET:-}" ]; then
    [ -s var/cursor_secret ] ||
        (umask 077 && od -An -v -tx1 -N32 /dev/urandom | tr -d ' \n' >var/cursor_secret)
    CURSOR_SECRET=$(cat var/cursor_secret)
fi
export CURSOR_SECRET

keyfile=var/bench/app_key_$N
key=$(cat "$keyfile" 2>/dev/null || true)
# The saved key's prefix goes to psql as a variable (:'prefix'), never
# spliced into the SQL text: the file could hold anything.
live_key() {
    printf '%s\n' "SELECT count(*) FROM api_keys WHERE revoked_at IS NULL AND prefix = :'prefix'" |
        psqlc -d "$db" -tA -v prefix="$(printf '%s' "$1" | cut -c4-15)"
}
if [ -z "$key" ] || [ "$(live_key "$key")" != 1 ]; then
    key=$("$medqa" keys create --role app --name bench 2>/dev/null | tail -n 1)
    [ -n "$key" ] || die "cannot create an app key"
    (umask 077 && echo "$key" >"$keyfile")
fi

# All the load comes from one address and one key: the rate limiter stays
# on (its cost is part of a request's) with limits no run reaches, and the
# per-address connection cap is lifted for the 256-connection run.
# webhooks: the delivery case's receiver is the static server on loopback.
PORT=$PORT HOST=127.0.0.1 WORKERS=$WORKERS LOG_LEVEL=warn PUBLIC_BASE_URL=$base \
    RATE_LIMIT_ANON=1000000/1s RATE_LIMIT_APP=1000000/1s MAX_CONNECTIONS_PER_IP=0 \
    RATE_LIMIT_PARTNER=1000000/1s WEBHOOK_SECRET_KEY=$(openssl rand -base64 32) \
    WEBHOOK_ALLOW_HTTP=1 WEBHOOK_ALLOW_PRIVATE=1 RELATED_BACKFILL=0 \
    "$medqa" serve >"$run/medqa.log" 2>&1 &
medqa_pid=$!
for _ in $(seq 100); do
    curl -sf -o /dev/null "$base/healthz" && break
    kill -0 "$medqa_pid" 2>/dev/null || {
        cat "$run/medqa.log" >&2
        die "medqa exited"
    }
    sleep 0.1
done
curl -sf -o /dev/null "$base/healthz" || die "medqa did not answer /healthz"

# The cursor of the page BENCH_DEPTH rows down, obtained from medqa by
# walking pages of 100 once, and kept while this secret and data last.
depth=$((DEPTH < N / 2 ? DEPTH : N / 2 / 100 * 100))
curfile=var/bench/cursor_${N}_$depth
cursor=$(cat "$curfile" 2>/dev/null || true)
secret_tag=$(printf %s "$CURSOR_SECRET" | sha256sum | cut -c1-16)
if [ -n "$cursor" ] && [ "$secret_tag" != "$(cat "$curfile.secret" 2>/dev/null)" ]; then
    cursor=""
fi
if [ -z "$cursor" ] ||
    [ "$(curl -s -o /dev/null -w '%{http_code}' "$base/questions?cursor=$cursor")" != 200 ]; then
    say "walking $((depth / 100)) pages of 100 for the cursor $depth rows deep"
    cursor=""
    for _ in $(seq $((depth / 100))); do
        cursor=$(curl -sf "$base/questions?limit=100${cursor:+&cursor=$cursor}" | jq -r .next_cursor)
        [ -n "$cursor" ] && [ "$cursor" != null ] || die "walking the list failed"
    done
    echo "$cursor" >"$curfile"
    echo "$secret_tag" >"$curfile.secret"
fi
# pgbench needs the keys behind that cursor: the last row of the walk.
IFS='|' read -r deep_ts deep_id < <(sql "SELECT to_char(asked_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"'), id FROM questions WHERE deleted_at IS NULL ORDER BY asked_at DESC, id DESC OFFSET $((depth - 1)) LIMIT 1")

# ---------------------------------------------------------------- cases
# For each case: the wrk target (a Lua script or a path), and for read
# cases the pgbench scripts and variables of its ceiling.
declare -A WRK PGB PGD
WRK[get]=lua:get.lua
WRK[replies]=lua:replies.lua
WRK[list]=path:/questions
WRK[deep]="path:/questions?cursor=$cursor"
WRK[related]=lua:related.lua
WRK[page]=lua:page.lua
WRK[search]=lua:search.lua
WRK[post]=lua:post.lua
WRK[mix]=lua:mix.lua
common_d=(-D "base=$base" -D "nids=$nids" -D "pids=$pids" -D "lim=$((LIMIT + 1))")
PGB[get]="-f bench/pgbench/get.sql"
PGB[replies]="-f bench/pgbench/replies.sql"
PGB[list]="-f bench/pgbench/list.sql"
PGB[deep]="-f bench/pgbench/deep.sql"
PGD[deep]="ts=$deep_ts cid=$deep_id"
PGB[related]="-f bench/pgbench/related.sql"
PGD[related]="rlim=4"
PGB[page]="-f bench/pgbench/page.sql"
i=0
search_d=()
while IFS= read -r term; do
    [ -n "$term" ] || continue
    i=$((i + 1))
    sed "s/:q\\b/:q$i/g" bench/pgbench/search.sql >"$run/search_$i.sql"
    PGB[search]="${PGB[search]:-} -f $run/search_$i.sql"
    search_d+=(-D "q$i=$term")
done <bench/search_terms.txt

# "peers" is not a medqa case of its own: bench/peers/peers.sh runs it.
PEERS=0
if [[ " $CASES " == *" peers "* ]]; then
    PEERS=1
    CASES=$(echo " $CASES " | sed 's/ peers / /; s/^ *//; s/ *$//')
    # shellcheck source=bench/peers/peers.sh
    . bench/peers/peers.sh
fi
for c in $CASES; do
    [ -n "${WRK[$c]:-}" ] || die "unknown case '$c' (know: ${!WRK[*]} peers)"
done

# pgbench's connection, variables and scripts for case $1, in PGARGS.
pgbench_args() {
    local v
    PGARGS=(-h "$top/$pgdir/sock" -p "$PGPORT" -U medqa "${common_d[@]}" "${search_d[@]}")
    for v in ${PGD[$1]:-}; do PGARGS+=(-D "$v"); done
    for v in ${PGB[$1]}; do PGARGS+=("$v"); done
    PGARGS+=("$db")
}

# One sample URL of a case (a random id for the id cases), for checks and
# body sizes.
sample_url() {
    local id
    id=$(shuf -n 1 "$ids")
    case $1 in
    get) echo "$base/questions/$id" ;;
    replies) echo "$base/questions/$id?include=replies" ;;
    related) echo "$base/related?question_id=$id" ;;
    page) echo "$base/questions/$(shuf -n 1 "$page_ids")?include=replies,related" ;;
    search) echo "$base/questions?q=$(shuf -n 1 bench/search_terms.txt | jq -sRr '.[:-1]|@uri')&sort=relevance" ;;
    list | deep) echo "$base${WRK[$1]#path:}" ;;
    esac
}

# Checks every case answers as it should before timing anything, and
# measures the mean body of each read case for the static ceiling.
declare -A SIZE
for c in $CASES; do
    case $c in
    post | mix)
        code=$(curl -s -o "$run/check.out" -w '%{http_code}' -X POST \
            -H "Authorization: Bearer $key" -H 'Content-Type: application/json' \
            --data "{\"title\":\"Bench check\",\"body\":\"A check.\",\"asker\":{\"name\":\"bench-writer\",\"age_band\":\"30-39\",\"gender\":\"female\"},\"department\":\"neurology\",\"topics\":[\"eyelid-muscle-twitching\"]}" \
            "$base/questions")
        [ "$code" = 201 ] || die "POST /questions answered $code: $(head -c 400 "$run/check.out")"
        ;;
    *)
        total=0
        for _ in $(seq 5); do
            url=$(sample_url "$c")
            rm -f "$run/check.out"
            read -r code bytes < <(curl -sS -o "$run/check.out" -w '%{http_code} %{size_download}\n' "$url")
            if [ "$code" != 200 ]; then
                kill -0 "$medqa_pid" 2>/dev/null || say "medqa is gone: $(tail -n 5 "$run/medqa.log")"
                die "$url answered $code: $(head -c 400 "$run/check.out")"
            fi
            total=$((total + bytes))
        done
        SIZE[$c]=$((total / 5))
        # pgbench's copy of the SQL must run, once, without errors.
        pgbench_args "$c"
        "$bindir/pgbench" -n -M prepared -t 1 -c 1 "${PGARGS[@]}" \
            >"$run/pgbench.check" 2>&1 || {
            cat "$run/pgbench.check" >&2
            die "the pgbench script of '$c' fails"
        }
        ;;
    esac
done
# What medqa builds in C must be what mq_question_json gives (same keys,
# order and values; jq keeps the order), besides the republishing fields.
if [[ " $CASES " == *" get "* ]]; then
    id=$(head -n 1 "$ids")
    a=$(curl -s "$base/questions/$id" | jq -c 'del(.canonical_url, .license, .attribution, .disclaimer)')
    b=$(sql "SELECT mq_question_json(q, '$base')::text FROM questions q WHERE q.id = '$id'" | jq -c .)
    [ "$a" = "$b" ] || say "warning: GET /questions/$id differs from what mq_question_json gives"
fi

# ---------------------------------------------------------------- meters
# utime+stime of one process, in clock ticks.
proc_ticks() { nice -n -10 awk '{ sub(/^.*\) /, ""); print $12 + $13 }' "/proc/$1/stat"; }
# The cluster: the postmaster (with the time of children it reaped) and
# every live child.
pg_ticks() {
    local pm
    pm=$(head -n 1 "$pgdir/data/postmaster.pid")
    nice -n -10 cat /proc/[0-9]*/stat 2>/dev/null | nice -n -10 awk -v pm="$pm" '{
        pid = $1; sub(/^.*\) /, "")
        if (pid == pm) t += $12 + $13 + $14 + $15
        else if ($2 == pm) t += $12 + $13
    } END { print t + 0 }'
}
reset_hwm() { echo 5 >"/proc/$1/clear_refs" 2>/dev/null; }
hwm_kb() { awk '/^VmHWM/ { print $2 }' "/proc/$1/status"; }

# wrk's --latency output -> "requests rps p50_ms p99_ms errors"
parse_wrk() {
    awk '
    function ms(v) {
        if (v ~ /us$/) return v / 1000
        if (v ~ /ms$/) return v + 0
        if (v ~ /s$/) return v * 1000
        return v
    }
    / requests in / { req = $1 }
    /^Requests\/sec:/ { rps = $2 }
    /^ +50% / { p50 = ms($2) }
    /^ +99% / { p99 = ms($2) }
    /Non-2xx or 3xx responses:/ { err += $NF }
    /Socket errors:/ { gsub(/,/, ""); err += $4 + $6 + $8 + $10 }
    END { printf "%d %.1f %.2f %.2f %d\n", req, rps, p50, p99, err }' "$1"
}

# Runs wrk against medqa for case $1 with $2 connections for $3 seconds;
# prints "requests rps p50 p99 errors medqa_us pg_us hwm_kb".
wrk_medqa() {
    local c=$1 conns=$2 secs=$3 target=${WRK[$1]} m0 p0 m1 p1 res
    local -a args=(-t "$THREADS" -c "$conns" -d "${secs}s" --latency --timeout 10s)
    if [ "$conns" -lt "$THREADS" ]; then args[1]=$conns; fi
    if [[ $target == lua:* ]]; then
        args+=(-s "bench/${target#lua:}" "$base")
    else
        args+=("$base${target#path:}")
    fi
    reset_hwm "$medqa_pid"
    m0=$(proc_ticks "$medqa_pid")
    p0=$(pg_ticks)
    BENCH_LUA=$top/bench BENCH_IDS=$ids BENCH_PAGE_IDS_FILE=$page_ids BENCH_KEY=$key \
        timeout $((secs + 30)) wrk "${args[@]}" >"$run/wrk.out" 2>&1
    m1=$(proc_ticks "$medqa_pid")
    p1=$(pg_ticks)
    settle
    res=$(parse_wrk "$run/wrk.out")
    set -- $res
    if [ "$1" -eq 0 ]; then
        # Too slow to answer within wrk's timeout: say so, and go on.
        say "warning: no request of '$c' completed in ${secs} s ($(grep -h 'Socket errors' "$run/wrk.out"))"
        echo "$res - - $(hwm_kb "$medqa_pid")"
        return
    fi
    awk -v r="$1" -v m=$((m1 - m0)) -v p=$((p1 - p0)) -v hz="$hz" -v h="$(hwm_kb "$medqa_pid")" \
        -v rest="$res" 'BEGIN { printf "%s %.0f %.0f %d\n", rest, m * 1e6 / hz / r, p * 1e6 / hz / r, h }'
}

# pgbench for case $1: prints "tps pg_us". Its backends start cold
# (connection, catalog caches, first plans) while medqa's are warm, so the
# first BENCH_CEIL_WARMUP seconds do not count; the next BENCH_CEIL_DURATION
# seconds do, measured by CPU snapshots at both ends and pgbench's
# per-second progress lines in between. Then pgbench is stopped and its
# backends, which would finish their statements into the next run, ended.
pgbench_ceiling() {
    local c=$1 p0 p1 pid t0 tw te tps
    pgbench_args "$c"
    "$bindir/pgbench" -n -M prepared -c "$PGB_CONNS" -j "$THREADS" -T $((CWARM + CDUR + 30)) -P 1 \
        "${PGARGS[@]}" >"$run/pgbench.out" 2>&1 &
    pid=$!
    t0=$(date +%s.%N)
    # Reading /proc under full load takes a while: each snapshot's time is
    # the middle of its reading.
    sleep "$CWARM"
    tw=$(date +%s.%N)
    p0=$(pg_ticks)
    tw=$(awk -v a="$tw" -v b="$(date +%s.%N)" 'BEGIN { printf "%.3f", (a + b) / 2 }')
    sleep "$CDUR"
    te=$(date +%s.%N)
    p1=$(pg_ticks)
    te=$(awk -v a="$te" -v b="$(date +%s.%N)" 'BEGIN { printf "%.3f", (a + b) / 2 }')
    kill -KILL "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
    stop_statements terminate
    # "progress: 7.0 s, 1234.5 tps, lat …": the rate since the line before.
    tps=$(awk -v w="$(awk -v a="$t0" -v b="$tw" 'BEGIN { print b - a }')" \
        -v e="$(awk -v a="$t0" -v b="$te" 'BEGIN { print b - a }')" '
        /^progress: / { t = $2 + 0; if (t > w && t <= e + 0.5) { n += $4 * (t - prev); d += t - prev }; prev = t }
        END { if (d > 0) printf "%.1f\n", n / d; else print 0 }' "$run/pgbench.out")
    if awk -v t="$tps" 'BEGIN { exit !(t <= 0) }'; then
        say "warning: pgbench completed nothing for '$c' in its window"
        grep -v '^progress' "$run/pgbench.out" | tail -n 3 >&2
        echo "- -"
        return
    fi
    awk -v t="$tps" -v p=$((p1 - p0)) -v hz="$hz" -v secs="$(awk -v a="$tw" -v b="$te" 'BEGIN { print b - a }')" \
        'BEGIN { printf "%.1f %.0f\n", t, p * 1e6 / hz / (t * secs) }'
}

# Cancels (or with "terminate", ends) every statement running in the
# benchmark database, over and over, until none has run for 0.1 s; at most
# 30 s. One session does it all: under load, starting psql is slow.
stop_statements() {
    local fn=pg_cancel_backend
    [ "${1:-}" = terminate ] && fn=pg_terminate_backend
    sql "DO \$\$ DECLARE quiet int := 0; BEGIN
           FOR i IN 1..1500 LOOP
             PERFORM pg_stat_clear_snapshot();
             IF EXISTS (SELECT 1 FROM pg_stat_activity WHERE datname = current_database()
                        AND pid <> pg_backend_pid() AND (state = 'active' OR '$fn' = 'pg_terminate_backend')
                        AND backend_type = 'client backend'
                        AND query !~ 'mq_related_(refresh|claim|backfill|configure)[(]'
                        AND ('$fn' = 'pg_cancel_backend' OR application_name = 'pgbench')) THEN
               PERFORM $fn(pid) FROM pg_stat_activity WHERE datname = current_database()
                 AND pid <> pg_backend_pid() AND backend_type = 'client backend'
                 AND (state = 'active' OR '$fn' = 'pg_terminate_backend')
                 AND query !~ 'mq_related_(refresh|claim|backfill|configure)[(]'
                 AND ('$fn' = 'pg_cancel_backend' OR application_name = 'pgbench');
               quiet := 0;
             ELSE
               quiet := quiet + 1;
               EXIT WHEN quiet >= 5;
             END IF;
             PERFORM pg_sleep(0.02);
           END LOOP;
         END \$\$" >/dev/null
}

# Waits until medqa and the cluster are idle: requests still queued in
# medqa when wrk stopped would otherwise run into the next measurement.
# Their statements are cancelled as they start (medqa answers those
# requests 500, to clients that are gone) until nothing moves.
settle() {
    local m0 p0 m1 p1
    for _ in $(seq 20); do
        stop_statements
        m0=$(proc_ticks "$medqa_pid")
        p0=$(pg_ticks)
        sleep 0.2
        m1=$(proc_ticks "$medqa_pid")
        p1=$(pg_ticks)
        [ $((m1 - m0 + p1 - p0)) -le 1 ] && return
    done
    say "warning: medqa or PostgreSQL still busy"
}

# The static server with a body of $2 bytes, for case $1: prints
# "rps static_us".
static_ceiling() {
    local size=$2 s0 s1
    build/bench/static_server "$SPORT" "$WORKERS" "$size" &
    static_pid=$!
    for _ in $(seq 50); do
        curl -sf -o /dev/null "http://127.0.0.1:$SPORT/" && break
        sleep 0.05
    done
    s0=$(proc_ticks "$static_pid")
    timeout $((SDUR + 30)) wrk -t "$THREADS" -c "$CONNS" -d "${SDUR}s" --latency \
        "http://127.0.0.1:$SPORT/" >"$run/wrk.static" 2>&1
    s1=$(proc_ticks "$static_pid")
    kill "$static_pid"
    wait "$static_pid" 2>/dev/null
    static_pid=""
    # shellcheck disable=SC2046 # five numbers
    set -- $(parse_wrk "$run/wrk.static")
    [ "$1" -gt 0 ] || die "the static server answered nothing"
    awk -v r="$1" -v rps="$2" -v s=$((s1 - s0)) -v hz="$hz" 'BEGIN { printf "%s %.1f\n", rps, s * 1e6 / hz / r }'
}

is_read() { [ "$1" != post ] && [ "$1" != mix ]; }

# ------------------------------------------------- stored Similar Q&A
# Warms the page sample through medqa's own refresh worker (one thread):
# the sample's missing results (or those of another ranking, which are
# never served) are queued due now and the worker's rate
# is what it takes to drain them. Already warm (a later run), 200 of them
# are queued again at the lowest priority (still served stored
# meanwhile), just to measure the rate.
page_queued() { sql "SELECT count(*) FROM related_queue r JOIN bench_ids b ON b.id = r.question_id AND b.n <= $pids"; }
warm_n=0
warm_s=0
if [[ " $CASES " == *" page "* ]]; then
    sql "INSERT INTO related_queue (question_id, due_at)
         SELECT b.id, now() FROM bench_ids b WHERE b.n <= $pids
           AND NOT EXISTS (SELECT 1 FROM related_store s WHERE s.question_id = b.id
                             AND s.ranking = mq__related_ranking())
         ON CONFLICT (question_id) DO UPDATE SET due_at = now()" >/dev/null || die "cannot queue the page sample"
    if [ "$(page_queued)" = 0 ]; then
        sql "INSERT INTO related_queue (question_id, due_at)
             SELECT b.id, 'infinity' FROM bench_ids b WHERE b.n <= least($pids, 200)" >/dev/null
    fi
    warm_n=$(page_queued)
    say "warming the stored Similar Q&A of $warm_n page ids (medqa's refresh worker)"
    w0=$(date +%s.%N)
    while left=$(page_queued) && [ "$left" -gt 0 ]; do
        sleep 1
        [ $(($(date +%s) % 30)) = 0 ] && say "  $left to go"
    done
    warm_s=$(awk -v a="$w0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
    say "warmed in $warm_s s"
fi
# While a write case runs: the worker's queue once a second ("queued
# overdue oldest_s"), and after it the results it stored meanwhile.
sampler_pid=""
sample_start() {
    stored0=$(sql "SELECT now()")
    t_s0=$(date +%s.%N)
    (while :; do
        sql "SELECT queued, overdue, round(oldest_s::numeric, 1) FROM mq_related_queue_stats()" | tr '|' ' '
        sleep 1
    done) >>"$run/stale_$1_$2.txt" 2>/dev/null &
    sampler_pid=$!
}
sample_stop() {
    kill "$sampler_pid" 2>/dev/null
    wait "$sampler_pid" 2>/dev/null
    sampler_pid=""
    local n secs
    n=$(sql "SELECT count(*) FROM related_store WHERE computed_at >= '$stored0'")
    secs=$(awk -v a="$t_s0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
    awk -v n="$n" -v s="$secs" -v f="$run/stale_$1_$2.txt" -v c="$1" -v r="$2" 'BEGIN {
        while ((getline l < f) > 0) { split(l, x, " "); if (x[1] > q) q = x[1]; if (x[2] > o) o = x[2]; if (x[3] > a) a = x[3] }
        printf "stale %s %s %d %.1f %d %d %.1f\n", c, r, n, n / s, q, o, a }' >>"$res"
}

# ---------------------------------------------------------------- runs
load0=$(cut -d' ' -f1-3 /proc/loadavg)
started=$(date +%s)
# Every worker opens its connection and prepares its statements; a few
# connections suffice, and a backlog of slow requests would only be
# cancelled.
say "warming up every case (2 s each)"
for c in $CASES; do wrk_medqa "$c" $((WORKERS * 2)) 2 >/dev/null; done
purge quick
res="$run/results.tsv"
: >"$res"
for r in $(seq "$ROUNDS"); do
    for c in $CASES; do
        say "round $r/$ROUNDS: $c"
        is_read "$c" || sample_start "$c" "$r"
        echo "medqa $c $r $(wrk_medqa "$c" "$CONNS" "$DUR")" >>"$res"
        is_read "$c" || sample_stop "$c" "$r"
        if is_read "$c"; then
            echo "pgbench $c $r $(pgbench_ceiling "$c")" >>"$res"
            echo "static $c $r $(static_ceiling "$c" "${SIZE[$c]}")" >>"$res"
        fi
    done
    purge quick
done
[ "$PEERS" = 1 ] && peers_case
say "RSS run: get at $RSS_CONNS connections"
echo "rss get 1 $(wrk_medqa get "$RSS_CONNS" "$DUR")" >>"$res"
# One connection, BENCH_ROUNDS rounds of 5 s interleaved like the others:
# one 5 s window (~200 requests) moved its p50 by a third between two runs
# of the same build on this shared machine (18.9 and 26.2 ms at 1M).
for r in $(seq "$ROUNDS"); do
    for c in $C1_CASES; do
        [[ " $CASES " == *" $c "* ]] || continue
        say "one connection, round $r/$ROUNDS: $c"
        echo "c1 $c $r $(wrk_medqa "$c" 1 5)" >>"$res"
    done
done

# ------------------------------------------------------ webhook delivery
# POST /questions with no endpoint, then with BENCH_ENDPOINTS endpoints
# matching every question.created, BENCH_ROUNDS rounds interleaved. The
# write path is the HTTP threads' CPU per request: the fan-out and the
# deliveries happen in the worker thread ("mq-webhooks"), counted apart
# per delivery, never in the writing request. Then the deliveries per
# second the worker makes to the static server on loopback while its
# queue is full.
DELIVERY=${BENCH_DELIVERY:-1}
ENDPOINTS=${BENCH_ENDPOINTS:-10}
# CPU ticks of medqa's threads: "req" all but the webhook worker, "wh" it.
thread_ticks() {
    nice -n -10 awk -v want="$2" '{
        comm = $0; sub(/^[^(]*\(/, "", comm); sub(/\).*$/, "", comm)
        sub(/^.*\) /, "")
        if ((comm == "mq-webhooks") == (want == "wh")) t += $12 + $13
    } END { print t + 0 }' /proc/"$1"/task/*/stat 2>/dev/null
}
delivered() { sql "SELECT count(*) FROM webhook_deliveries WHERE status = 'succeeded'"; }
# One POST run with whatever endpoints exist: prints "requests rps req_us wh_ticks".
delivery_post() {
    local r0 w0 r1 w1 res
    r0=$(thread_ticks "$medqa_pid" req)
    w0=$(thread_ticks "$medqa_pid" wh)
    BENCH_LUA=$top/bench BENCH_IDS=$ids BENCH_PAGE_IDS_FILE=$page_ids BENCH_KEY=$key \
        timeout $((DUR + 30)) wrk -t "$THREADS" -c "$CONNS" -d "${DUR}s" --latency \
        -s bench/post.lua "$base" >"$run/wrk.out" 2>&1
    r1=$(thread_ticks "$medqa_pid" req)
    w1=$(thread_ticks "$medqa_pid" wh)
    set -- $(parse_wrk "$run/wrk.out")
    awk -v n="$1" -v rps="$2" -v r=$((r1 - r0)) -v hz="$hz" -v w=$((w1 - w0)) \
        'BEGIN { printf "%d %s %.0f %d\n", n, rps, (n > 0 ? r * 1e6 / hz / n : 0), w }'
}
if [ "$DELIVERY" != 0 ] && [[ " $CASES " == *" post "* ]]; then
    build/bench/static_server "$SPORT" 2 2 &
    static_pid=$!
    wkey=$("$medqa" keys create --role partner --name bench-webhooks 2>/dev/null | tail -n 1)
    [ -n "$wkey" ] || die "cannot create a partner key"
    for r in $(seq "$ROUNDS"); do
        say "round $r/$ROUNDS: delivery (POST with 0 endpoints)"
        sql "DELETE FROM webhook_endpoints" >/dev/null
        echo "wh0 post $r $(delivery_post)" >>"$res"
        purge quick
        for _ in $(seq "$ENDPOINTS"); do
            curl -sf -o /dev/null -X POST "$base/webhooks" -H "authorization: Bearer $wkey" \
                -H 'content-type: application/json' \
                -d "{\"url\": \"http://127.0.0.1:$SPORT/hook\", \"events\": [\"question.created\"]}" ||
                die "cannot create a webhook endpoint"
        done
        say "round $r/$ROUNDS: delivery (POST with $ENDPOINTS endpoints)"
        d0=$(delivered)
        set -- $(delivery_post)
        post=("$@")
        # The worker drains the queue the run filled: deliveries per second
        # over BENCH_DURATION seconds (or until the queue is empty).
        t0=$(date +%s.%N)
        w0=$(thread_ticks "$medqa_pid" wh)
        n0=$(delivered)
        for _ in $(seq $((DUR * 10))); do
            [ "$(sql "SELECT count(*) FROM webhook_deliveries WHERE status = 'pending'")" = 0 ] && break
            sleep 0.1
        done
        n1=$(delivered)
        w1=$(thread_ticks "$medqa_pid" wh)
        t1=$(date +%s.%N)
        echo "wh10 post $r ${post[*]} $((n1 - d0)) $(awk -v n=$((n1 - n0)) -v a="$t0" -v b="$t1" \
            'BEGIN { printf "%.1f", n / (b - a) }') $(awk -v n=$((n1 - n0)) -v w=$((w1 - w0)) -v hz="$hz" \
            'BEGIN { printf "%.0f", (n > 0 ? w * 1e6 / hz / n : 0) }')" >>"$res"
        sql "DELETE FROM webhook_endpoints" >/dev/null
        purge quick
    done
    kill "$static_pid"
    wait "$static_pid" 2>/dev/null
    static_pid=""
fi
purge
load1=$(cut -d' ' -f1-3 /proc/loadavg)

# ---------------------------------------------------------------- report
# median KIND CASE FIELD: the median of a column over the rounds.
median() {
    awk -v k="$1" -v c="$2" -v f="$3" '$1 == k && $2 == c && $f != "-" { print $f }' "$res" | sort -g |
        awk '{ v[NR] = $1 } END { if (NR) print (NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2) }'
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0 && a != "") printf "%.2f×", a / b; else print "—" }'; }
mib() { awk -v k="$1" 'BEGIN { printf "%.1f", k / 1024 }'; }

report() {
    local c
    echo "## make bench — $(date -u '+%Y-%m-%d %H:%M UTC'), $rev"
    echo
    echo "N = $N questions; wrk -t$THREADS -c$CONNS -d${DUR}s, $ROUNDS rounds interleaved, medians;" \
        "ceilings each round: pgbench -c$PGB_CONNS -j$THREADS -M prepared ${CDUR} s after ${CWARM} s of warm-up, static server ${SDUR} s; medqa WORKERS=$WORKERS, LOG_LEVEL=warn," \
        "rate limits 1000000/1s, no per-address connection cap;" \
        "PostgreSQL $("$bindir/postgres" --version | awk '{ print $3 }') (fsync=${PG_FSYNC:-on}," \
        "shared_buffers=${PG_SHARED_BUFFERS:-256MB}); $(nproc) CPUs shared by wrk, medqa and PostgreSQL;" \
        "load average $load0 before, $load1 after; $(($(date +%s) - started)) s of runs."
    echo
    echo "| case | req/s | p50 ms | p99 ms | medqa µs/req | PG µs/req | peak RSS MiB | errors | pgbench tps | × pgbench | PG µs/txn pgbench | static req/s | × static | static µs/req | body B |"
    echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
    for c in $CASES; do
        local rps p50 p99 app pg hwm err tps pgt srps sus
        rps=$(median medqa "$c" 5)
        # Work on requests still in flight when wrk stops is counted but
        # they are not: with few requests per connection that skews.
        [ "$(median medqa "$c" 4 | cut -d. -f1)" -lt $((CONNS * 20)) ] 2>/dev/null && rps="$rps ⁽¹⁾"
        p50=$(median medqa "$c" 6)
        p99=$(median medqa "$c" 7)
        err=$(awk -v c="$c" '$1 == "medqa" && $2 == c { e += $8 } END { print e + 0 }' "$res")
        app=$(median medqa "$c" 9)
        pg=$(median medqa "$c" 10)
        hwm=$(median medqa "$c" 11)
        if is_read "$c"; then
            tps=$(median pgbench "$c" 4)
            pgt=$(median pgbench "$c" 5)
            srps=$(median static "$c" 4)
            sus=$(median static "$c" 5)
            echo "| $c | $rps | $p50 | $p99 | $app | $pg | $(mib "$hwm") | $err | $tps | $(ratio "$rps" "$tps") | $pgt | $srps | $(ratio "$rps" "$srps") | $sus | ${SIZE[$c]} |"
        else
            echo "| $c | $rps | $p50 | $p99 | $app | $pg | $(mib "$hwm") | $err | — | — | — | — | — | — | — |"
        fi
    done
    echo
    echo "⁽¹⁾ fewer than 20 requests per connection: CPU per request is overstated by the work on requests"
    echo "still in flight when wrk stopped, and the latencies are mostly queueing."
    echo
    echo "Peak RSS at $RSS_CONNS connections (get): $(mib "$(median rss get 11)") MiB;" \
        "$(median rss get 5) req/s, p50 $(median rss get 6) ms, p99 $(median rss get 7) ms," \
        "errors $(median rss get 8)."
    for c in $C1_CASES; do
        [[ " $CASES " == *" $c "* ]] || continue
        echo "One connection, $c: p50 $(median c1 "$c" 6) ms, p99 $(median c1 "$c" 7) ms, $(median c1 "$c" 5) req/s" \
            "(medians of $ROUNDS rounds of 5 s; p50 of each: $(awk -v c="$c" '$1 == "c1" && $2 == c { printf "%s%s", sep, $6; sep = ", " }' "$res") ms)."
    done
    if grep -q '^stale ' "$res" || [ "$warm_n" -gt 0 ]; then
        echo
        echo "Stored Similar Q&A (issue 17): the page case reads $pids ids whose stored result was warm;" \
            "medqa's refresh worker (one thread) stored $warm_n in $warm_s s" \
            "($(awk -v n="$warm_n" -v s="$warm_s" 'BEGIN { printf "%.1f", (s > 0 ? n / s : 0) }') questions/s) before the runs."
        echo "While the write cases ran (medians of the rounds; RELATED_MAX_STALENESS 60 s):"
        echo
        echo "| case | results stored | stored/s | queue max | overdue max (served live) | oldest change waiting, max s |"
        echo "|---|---:|---:|---:|---:|---:|"
        for c in post mix; do
            grep -q "^stale $c " "$res" || continue
            echo "| $c | $(median stale "$c" 4) | $(median stale "$c" 5) | $(median stale "$c" 6) | $(median stale "$c" 7) | $(median stale "$c" 8) |"
        done
    fi
    if grep -q '^wh10 ' "$res"; then
        local a0 a10
        a0=$(median wh0 post 6)
        a10=$(median wh10 post 6)
        echo
        echo "Webhook delivery (issue 13): POST /questions, wrk -c$CONNS ${DUR}s, with 0 and with $ENDPOINTS endpoints" \
            "matching every question.created; HTTP threads' CPU per request (the webhook worker thread apart)."
        echo
        echo "| endpoints | req/s | HTTP threads µs/req | deliveries/s to a local receiver | worker µs/delivery |"
        echo "|---:|---:|---:|---:|---:|"
        echo "| 0 | $(median wh0 post 5) | $a0 | — | — |"
        echo "| $ENDPOINTS | $(median wh10 post 5) | $a10 | $(median wh10 post 9) | $(median wh10 post 10) |"
        echo
        awk -v a="$a10" -v b="$a0" -v n="$ENDPOINTS" 'BEGIN { printf "- write path with %d endpoints vs 0: %.2f× (target ≤ 1.2×) %s\n", n, a / b, (a / b <= 1.2 ? "met" : "NOT met") }'
    fi
    echo
    echo "Targets (issue 6):"
    target() { awk -v v="$2" -v lim="$3" -v name="$1" 'BEGIN { if (v == "") print "- " name ": not measured"; else printf "- %s: %s (target %s) %s\n", name, v, lim, (v + 0 <= lim + 0 ? "met" : "NOT met") }'; }
    if [[ " $CASES " == *" get "* ]]; then
        target "get medqa µs/req" "$(median medqa get 9)" 60
        target "get PG µs/req" "$(median medqa get 10)" 200
        awk -v a="$(median medqa get 5)" -v b="$(median pgbench get 4)" 'BEGIN { printf "- get vs pgbench: %.2f× (target ≥ 0.80×) %s\n", a / b, (a / b >= 0.8 ? "met" : "NOT met") }'
    fi
    if [[ " $CASES " == *" list "* ]]; then
        target "list medqa µs/req" "$(median medqa list 9)" 100
        target "list PG µs/req" "$(median medqa list 10)" 350
        if [[ " $CASES " == *" deep "* ]]; then
            awk -v a="$(median medqa deep 6)" -v b="$(median medqa list 6)" -v d="$depth" 'BEGIN { printf "- page %d rows deep vs first, p50: %.2f× (target ≤ 1.2×) %s\n", d, a / b, (a / b <= 1.2 ? "met" : "NOT met") }'
        fi
    fi
    target "peak RSS MiB at $RSS_CONNS connections" "$(mib "$(median rss get 11)")" 24
    [ "$PEERS" = 1 ] && peers_report
    for c in related search; do
        [[ " $C1_CASES " == *" $c "* ]] && [[ " $CASES " == *" $c "* ]] || continue
        lim=20
        [ "$c" = search ] && lim=50
        target "$c p50 ms at 1 connection (target is for N = 1,000,000; this is N = $N)" "$(median c1 "$c" 6)" "$lim"
    done
}
mkdir -p "$(dirname "$OUT")"
report | tee "$OUT"
