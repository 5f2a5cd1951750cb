#!/bin/bash
# `make soak`: medqa under a steady mixed load for SOAK_MINUTES, watching
# for growth: memory, file descriptors, database connections, errors.
#
#   * builds build/medqa (-O2, no sanitizers), as `make bench` does;
#   * a private cluster under var/soak/pg (port SOAK_PGPORT, unix socket
#     only); database soak_tpl_N loaded once by `medqa seed --synthetic N`
#     and kept as a template; each run copies it into soak_run, so every
#     run starts from the same data whatever the last one wrote;
#   * medqa on 127.0.0.1:SOAK_PORT, driven by wrk with bench/soak_mix.lua
#     (reads of every kind, writes with app and doctor keys, requests that
#     must get a 4xx) and by tests/soak/slow_clients.py (connections that
#     stall or trickle bytes of a head or a body, for the connection
#     timeout and the HEADER_TIMEOUT and BODY_TIMEOUT deadlines);
#   * every SOAK_INTERVAL seconds: medqa's VmRSS, open fds, its database
#     connections (pg_stat_activity) and its request counts by status class
#     (GET /metrics);
#   * a report on stdout and in var/soak/report.md. Exits non-zero when RSS
#     grew 5 % or more from minute 2 to the end, when any 5xx was answered,
#     or when medqa did not stop cleanly.
#
# SOAK_LEAK=valgrind runs medqa under valgrind memcheck, SOAK_LEAK=asan runs
# the ASan+LSan build (build/asan/medqa); either way the verdict is the
# leak checker's (definite and indirect leaks; "still reachable" at exit
# does not count), and RSS growth is reported but not judged. `make
# soak-leak` is SOAK_LEAK=valgrind SOAK_MINUTES=1.
#
# Everything it starts is stopped on exit, pass or fail. Settings (env):
#   SOAK_MINUTES=10  SOAK_N=100000  SOAK_INTERVAL=30  SOAK_CONNS=16
#   SOAK_THREADS=2   SOAK_DELAY_MS=10 (per connection, between requests)
#   SOAK_WORKERS=4   SOAK_STALLERS=8  SOAK_TRICKLERS=8  SOAK_TRICKLE_S=5
#   SOAK_BODIES=8 (clients trickling a body, 1 byte / SOAK_TRICKLE_S)
#   SOAK_CONN_TIMEOUT=15 (medqa's CONNECTION_TIMEOUT)  SOAK_DEPARTMENT=neurology
#   SOAK_HEAD_TIMEOUT=10 SOAK_BODY_TIMEOUT=30 (medqa's HEADER_TIMEOUT and
#     BODY_TIMEOUT; a slow client of a kind held 2 s past its deadline fails
#     the soak)
#   SOAK_PGPORT=18901  SOAK_PORT=18911  SOAK_OUT=var/soak/report.md
#   SOAK_OUTAGE_AT=0 (seconds into the load; 0: no outage) SOAK_OUTAGE_S=10
#     stops PostgreSQL at that time for that long: 503s are then allowed,
#     other 5xx still fail, and no 5xx may come SOAK_OUTAGE_RECOVER_S=10
#     seconds after it is back.
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1
top=$(pwd)

MINUTES=${SOAK_MINUTES:-10}
N=${SOAK_N:-100000}
INTERVAL=${SOAK_INTERVAL:-30}
CONNS=${SOAK_CONNS:-16}
THREADS=${SOAK_THREADS:-2}
DELAY=${SOAK_DELAY_MS:-10}
WORKERS=${SOAK_WORKERS:-4}
STALLERS=${SOAK_STALLERS:-8}
TRICKLERS=${SOAK_TRICKLERS:-8}
TRICKLE_S=${SOAK_TRICKLE_S:-5}
BODIES=${SOAK_BODIES:-8}
HEAD_TIMEOUT=${SOAK_HEAD_TIMEOUT:-10}
BODY_TIMEOUT=${SOAK_BODY_TIMEOUT:-30}
CONN_TIMEOUT=${SOAK_CONN_TIMEOUT:-15}
DEPT=${SOAK_DEPARTMENT:-neurology}
PGPORT=${SOAK_PGPORT:-18901}
PORT=${SOAK_PORT:-18911}
LEAK=${SOAK_LEAK:-}
OUTAGE_AT=${SOAK_OUTAGE_AT:-0}
OUTAGE_S=${SOAK_OUTAGE_S:-10}
OUT=${SOAK_OUT:-var/soak/report.md}

pgdir=var/soak/pg
tpl=soak_tpl_$N
db=soak_run
run=var/soak/run
base=http://127.0.0.1:$PORT
secs=$((MINUTES * 60))
medqa_pid=""
wrk_pid=""
slow_pid=""

T0=$(date +%s)
say() { echo "soak: [$(($(date +%s) - T0)) s] $*" >&2; }
die() {
    say "$*"
    exit 1
}
stop_pid() {
    [ -n "$1" ] && kill "$1" 2>/dev/null && wait "$1" 2>/dev/null
}
cleanup() {
    stop_pid "$wrk_pid"
    stop_pid "$slow_pid"
    stop_pid "$medqa_pid"
    scripts/pg.sh stop "$pgdir" >/dev/null 2>&1
}
trap cleanup EXIT
trap 'exit 130' INT TERM

case $LEAK in
"" | valgrind | asan) ;;
*) die "SOAK_LEAK must be valgrind or asan, not '$LEAK'" ;;
esac
[ "$MINUTES" -ge 1 ] 2>/dev/null || die "SOAK_MINUTES must be a whole number of minutes ≥ 1"

# ---------------------------------------------------------------- build
scripts/deps.sh wrk jq python3 ${LEAK:+$([ "$LEAK" = valgrind ] && echo valgrind)} || exit 1
make -s build/medqa >&2 || die "cannot build build/medqa"
medqa=build/medqa
if [ "$LEAK" = asan ]; then
    make -s build/asan/medqa >&2 || die "cannot build build/asan/medqa"
    medqa=build/asan/medqa
fi
rm -rf "$run"
mkdir -p "$run"

# ---------------------------------------------------------------- data
psqlc() { psql -X -q -v ON_ERROR_STOP=1 -h "$top/$pgdir/sock" -p "$PGPORT" -U medqa "$@"; }
sql() { psqlc -d "$1" -tAc "$2"; }

scripts/pg.sh start "$pgdir" "$PGPORT" || die "cannot start the cluster in $pgdir"
scripts/pg.sh createdb "$pgdir" "$PGPORT" "$tpl" || die "cannot create $tpl"
export DATABASE_URL
DATABASE_URL=$(scripts/pg.sh url "$pgdir" "$PGPORT" "$tpl")
if [ "$(sql "$tpl" "SELECT count(*) FROM pg_tables WHERE tablename = 'soak_ready'")" != 1 ]; then
    say "loading $N synthetic questions into $tpl (once)"
    psqlc -d postgres -c "DROP DATABASE $tpl" >/dev/null &&
        scripts/pg.sh createdb "$pgdir" "$PGPORT" "$tpl" || die "cannot recreate $tpl"
    build/medqa migrate >"$run/migrate.log" 2>&1 || {
        cat "$run/migrate.log" >&2
        die "migrate failed"
    }
    build/medqa seed --synthetic "$N" >&2 || die "seed --synthetic failed"
    sql "$tpl" "SELECT mq_refresh_df()" >/dev/null || die "mq_refresh_df failed"
    sql "$tpl" "VACUUM ANALYZE" >/dev/null || die "VACUUM failed"
    sql "$tpl" "CREATE TABLE soak_ready ()" >/dev/null || die "cannot mark $tpl ready"
fi
# A fresh copy for this run (the template's files, copied by PostgreSQL).
psqlc -d postgres -c "DROP DATABASE IF EXISTS $db" >/dev/null || die "cannot drop $db"
psqlc -d postgres -c "CREATE DATABASE $db TEMPLATE $tpl" >/dev/null || die "cannot copy $tpl"
DATABASE_URL=$(scripts/pg.sh url "$pgdir" "$PGPORT" "$db")
build/medqa migrate >"$run/migrate.log" 2>&1 || die "migrate of $db failed"

data=$run/data
mkdir -p "$data"
sql "$db" "SELECT id FROM questions WHERE deleted_at IS NULL ORDER BY random() LIMIT 20000" >"$data/ids.txt"
sql "$db" "SELECT id FROM questions WHERE deleted_at IS NULL AND department_slug = '$DEPT'
           ORDER BY random() LIMIT 5000" >"$data/dept_ids.txt"
sql "$db" "SELECT id FROM doctors ORDER BY id" >"$data/doctors.txt"
sql "$db" "SELECT slug FROM topics WHERE deleted_at IS NULL AND department_slug = '$DEPT'" >"$data/topics.txt"
cp bench/search_terms.txt "$data/terms.txt"
doctor_id=$(sql "$db" "SELECT id FROM doctors WHERE department_slug = '$DEPT' ORDER BY id LIMIT 1")
for f in ids dept_ids doctors topics; do
    [ -s "$data/$f.txt" ] || die "no rows for $f.txt in $db (department $DEPT)"
done

newkey() { build/medqa keys create "$@" 2>/dev/null | tail -n 1; }
app_key=$(newkey --role app --name soak-app)
doctor_key=$(newkey --role doctor --doctor "$doctor_id" --name soak-doctor)
partner_key=$(newkey --role partner --name soak-partner)
[ -n "$app_key" ] && [ -n "$doctor_key" ] && [ -n "$partner_key" ] || die "cannot create API keys"

# ---------------------------------------------------------------- medqa
CURSOR_SECRET=$(od -An -v -tx1 -N32 /dev/urandom | tr -d ' \n')
export CURSOR_SECRET
wrap=()
case $LEAK in
valgrind)
    # Only definite and indirect leaks are errors: libpq, OpenSSL and
    # libmicrohttpd keep some memory reachable until exit on purpose.
    # shellcheck disable=SC2054 # the commas are in valgrind's option values
    wrap=(valgrind --tool=memcheck --leak-check=full --show-leak-kinds=definite,indirect
        --errors-for-leak-kinds=definite,indirect --num-callers=30
        --log-file="$top/$run/valgrind.log")
    ;;
asan)
    export ASAN_OPTIONS=detect_leaks=1:abort_on_error=0:halt_on_error=1
    export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
    export LSAN_OPTIONS=suppressions=$top/tests/lsan.supp:print_suppressions=0
    ;;
esac
# One address and three keys carry all the load: the rate limiter stays on
# with limits the soak never reaches.
PORT=$PORT HOST=127.0.0.1 WORKERS=$WORKERS LOG_LEVEL=warn PUBLIC_BASE_URL=$base \
    CONNECTION_TIMEOUT=$CONN_TIMEOUT HEADER_TIMEOUT=$HEAD_TIMEOUT BODY_TIMEOUT=$BODY_TIMEOUT \
    RATE_LIMIT_ANON=1000000/1s RATE_LIMIT_APP=1000000/1s \
    RATE_LIMIT_DOCTOR=1000000/1s RATE_LIMIT_PARTNER=1000000/1s \
    "${wrap[@]}" "$medqa" serve >"$run/medqa.log" 2>&1 &
medqa_pid=$!
for _ in $(seq 600); do
    curl -sf -o /dev/null "$base/healthz" && break
    kill -0 "$medqa_pid" 2>/dev/null || {
        tail -n 20 "$run/medqa.log" >&2
        die "medqa exited"
    }
    sleep 0.1
done
curl -sf -o /dev/null "$base/healthz" || die "medqa did not answer /healthz"

cursor=$(curl -sf "$base/questions?limit=20" | jq -r .next_cursor)
[ -n "$cursor" ] && [ "$cursor" != null ] || die "no next_cursor from GET /questions"
echo "$cursor" >"$data/cursor.txt"
# Entity tags of a few questions, for reads with If-None-Match (304).
: >"$data/etags.txt"
for id in $(head -n 50 "$data/ids.txt"); do
    tag=$(curl -s -D - -o /dev/null "$base/questions/$id" | awk 'tolower($1) == "etag:" { sub(/\r$/, ""); print $2 }')
    [ -n "$tag" ] && echo "$id $tag" >>"$data/etags.txt"
done
[ -s "$data/etags.txt" ] || die "GET /questions/{id} gave no ETag"
# Each kind of write answers as it should before the clock starts.
check() {
    local code
    code=$(curl -s -o "$run/check.out" -w '%{http_code}' -X POST -H "Authorization: Bearer $1" \
        -H 'Content-Type: application/json' --data "$3" "$base$2")
    [ "$code" = 201 ] || die "POST $2 answered $code: $(head -c 400 "$run/check.out")"
}
check "$app_key" /questions "{\"title\":\"Soak check\",\"body\":\"A check.\",\"asker\":{\"name\":\"soak-writer\",\"age_band\":\"30-39\",\"gender\":\"female\"},\"department\":\"$DEPT\",\"topics\":[\"$(head -n 1 "$data/topics.txt")\"]}"
check "$doctor_key" "/questions/$(head -n 1 "$data/dept_ids.txt")/replies" '{"body":"Soak check reply."}'

# ---------------------------------------------------------------- meters
rss_kb() { awk '/^VmRSS/ { print $2 }' "/proc/$medqa_pid/status" 2>/dev/null; }
fds() { find "/proc/$medqa_pid/fd" -mindepth 1 -maxdepth 1 2>/dev/null | wc -l; }
dbconns() { sql postgres "SELECT count(*) FROM pg_stat_activity WHERE datname = '$db' AND application_name = 'medqa'" 2>/dev/null || echo down; }
# GET /metrics summed over operations: "1xx 2xx 3xx 4xx 5xx".
classes() {
    curl -s --max-time 20 "$base/metrics" | awk '
        /^medqa_http_requests_total\{/ { match($0, /code="[1-5]xx"/); c = substr($0, RSTART + 6, 1); n[c] += $NF }
        END { printf "%d %d %d %d %d\n", n[1], n[2], n[3], n[4], n[5] }'
}
sample() {
    local t=$(($(date +%s) - started))
    printf '%d\t%s\t%s\t%s\t%s\n' "$t" "$(rss_kb)" "$(fds)" "$(dbconns)" "$(classes | tr ' ' '\t')" >>"$run/samples.tsv"
}

# ---------------------------------------------------------------- load
say "soak: $MINUTES min, wrk -t$THREADS -c$CONNS with ${DELAY} ms between requests per connection," \
    "$STALLERS stalling, $TRICKLERS head-trickling and $BODIES body-trickling clients${LEAK:+, medqa under $LEAK}"
load0=$(cut -d' ' -f1-3 /proc/loadavg)
started=$(date +%s)
: >"$run/samples.tsv"
sample
BENCH_LUA=$top/bench SOAK_DATA=$top/$data SOAK_APP_KEY=$app_key SOAK_DOCTOR_KEY=$doctor_key \
    SOAK_PARTNER_KEY=$partner_key SOAK_DEPARTMENT=$DEPT SOAK_DELAY_MS=$DELAY \
    wrk -t "$THREADS" -c "$CONNS" -d "${secs}s" --timeout 10s --latency \
    -s bench/soak_mix.lua "$base" >"$run/wrk.out" 2>&1 &
wrk_pid=$!
python3 tests/soak/slow_clients.py 127.0.0.1 "$PORT" "$secs" "$STALLERS" "$TRICKLERS" \
    "$TRICKLE_S" "$BODIES" >"$run/slow.out" 2>&1 &
slow_pid=$!
next=$((started + INTERVAL))
# The last sample is taken 3 s before wrk stops, so that it is still one
# under load (one at the very end catches connections closing).
last_at=$((started + secs - 3))
down_at=""
up_at=""
while kill -0 "$wrk_pid" 2>/dev/null; do
    sleep 1
    now=$(($(date +%s) - started))
    if [ "$OUTAGE_AT" -gt 0 ] && [ -z "$down_at" ] && [ "$now" -ge "$OUTAGE_AT" ]; then
        say "outage: stopping PostgreSQL for $OUTAGE_S s"
        scripts/pg.sh stop "$pgdir" || die "cannot stop the cluster"
        down_at=$(($(date +%s) - started))
    fi
    if [ -n "$down_at" ] && [ -z "$up_at" ] && [ "$now" -ge $((down_at + OUTAGE_S)) ]; then
        scripts/pg.sh start "$pgdir" "$PGPORT" || die "cannot start the cluster again"
        up_at=$(($(date +%s) - started))
        say "outage: PostgreSQL back at t=$up_at s"
    fi
    if [ "$(date +%s)" -ge "$next" ]; then
        kill -0 "$medqa_pid" 2>/dev/null || break
        sample
        say "$(tail -n 1 "$run/samples.tsv" | awk -F'\t' '{ printf "t=%ss rss=%s kB fds=%s db=%s 2xx=%s 4xx=%s 5xx=%s", $1, $2, $3, $4, $6, $8, $9 }')"
        next=$((next + INTERVAL))
        if [ "$next" -gt "$last_at" ] && [ "$(date +%s)" -lt "$last_at" ]; then
            next=$last_at
        fi
    fi
done
wait "$wrk_pid"
wrk_pid=""
wait "$slow_pid"
slow_pid=""
nload=$(wc -l <"$run/samples.tsv")
alive=yes
kill -0 "$medqa_pid" 2>/dev/null || alive=no
if [ "$alive" = yes ]; then
    sample
    curl -s --max-time 20 "$base/metrics" >"$run/metrics.txt"
    awk '
        /^medqa_http_requests_total\{/ && /code="[45]xx"/ {
            match($0, /operation="[^"]*"/); op = substr($0, RSTART + 11, RLENGTH - 12)
            match($0, /code="[45]xx"/); c = substr($0, RSTART + 6, 3)
            printf "%s%s %s %s", s, op, c, $NF; s = ", " }' "$run/metrics.txt" >"$run/ops.txt"
    # Mean time per request of each operation, slowest first.
    awk '
        /^medqa_http_requests_total\{/ { match($0, /operation="[^"]*"/); n[substr($0, RSTART + 11, RLENGTH - 12)] += $NF }
        /^medqa_http_request_duration_seconds_sum\{/ { match($0, /operation="[^"]*"/); t[substr($0, RSTART + 11, RLENGTH - 12)] += $NF }
        END { for (op in t) if (n[op] > 0) printf "%.1f %s %d\n", t[op] * 1000 / n[op], op, n[op] }' \
        "$run/metrics.txt" | sort -rn | awk '{ printf "%s%s %s ms (%s)", s, $2, $1, $3; s = ", " }' >"$run/means.txt"
fi
load1=$(cut -d' ' -f1-3 /proc/loadavg)

# A clean stop: SIGTERM, then the exit code (and the leak checker's word).
stop_rc=none
if [ "$alive" = yes ]; then
    kill -TERM "$medqa_pid"
    wait "$medqa_pid"
    stop_rc=$?
else
    wait "$medqa_pid"
    stop_rc="died ($?)"
fi
medqa_pid=""

# ---------------------------------------------------------------- report
S=$run/samples.tsv
# The sample nearest after minute 2 (or after half the run, when shorter),
# and the last one.
mark=$((secs / 2 < 120 ? secs / 2 : 120))
read -r t_a rss_a < <(awk -F'\t' -v m="$mark" '$1 >= m { print $1, $2; exit }' "$S")
# The last sample taken under load ("end"); the one after wrk stopped is
# shown in the table but idle connections have gone by then.
read -r t_b rss_b < <(awk -F'\t' -v n="$nload" 'NR == n { print $1, $2 }' "$S")
growth=$(awk -v a="${rss_a:-0}" -v b="${rss_b:-0}" 'BEGIN { if (a > 0) printf "%.2f", (b - a) * 100 / a; else print "nan" }')
# Min–max of column $1 over the samples under load: from minute 2 on, or
# (minmax_all) from the first one after the load started.
minmax() { awk -F'\t' -v c="$1" -v m="$mark" -v n="$nload" '$1 >= m && NR <= n && $c ~ /^[0-9]+$/ { if (min == "" || $c < min) min = $c; if ($c > max) max = $c } END { printf "%s–%s", min, max }' "$S"; }
minmax_all() { awk -F'\t' -v c="$1" -v n="$nload" 'NR > 1 && NR <= n && $c ~ /^[0-9]+$/ { if (min == "" || $c < min) min = $c; if ($c > max) max = $c } END { printf "%s–%s", min, max }' "$S"; }
wrk5xx=$(awk '$1 == "soak-status" && $2 >= 500 { n += $3 } END { print n + 0 }' "$run/wrk.out")
wrk4xx=$(awk '$1 == "soak-status" && $2 >= 400 && $2 < 500 { n += $3 } END { print n + 0 }' "$run/wrk.out")
met5xx=$(tail -n 1 "$S" | cut -f9)
requests=$(awk '/ requests in / { print $1 }' "$run/wrk.out")
sockerr=$(grep -h 'Socket errors' "$run/wrk.out" | sed 's/^ *//' || true)
[ -n "$sockerr" ] || sockerr="Socket errors: none"

wrk503=$(awk '$1 == "soak-status" && $2 == 503 { n += $3 } END { print n + 0 }' "$run/wrk.out")
# The 5xx counter from the first sample taken OUTAGE_RECOVER_S after the
# database came back: it must not move after that.
recover_s=${SOAK_OUTAGE_RECOVER_S:-10}
late5xx=0
if [ -n "$up_at" ]; then
    late5xx=$(awk -F'\t' -v t="$((up_at + recover_s))" -v n="$nload" '
        $1 >= t && NR <= n { if (first == "") first = $9; last = $9 } END { print last - first + 0 }' "$S")
fi

verdict=0
reasons=()
if [ -z "$down_at" ] && { [ "${wrk5xx:-0}" -gt 0 ] || [ "${met5xx:-0}" -gt 0 ]; }; then
    verdict=1
    reasons+=("5xx answered (wrk $wrk5xx, /metrics $met5xx)")
fi
if [ -n "$down_at" ]; then
    if [ "$wrk5xx" != "$wrk503" ]; then
        verdict=1
        reasons+=("5xx other than 503 during a soak with an outage (wrk: $wrk5xx 5xx, $wrk503 of them 503)")
    fi
    if [ "$late5xx" -gt 0 ]; then
        verdict=1
        reasons+=("$late5xx 5xx more than $recover_s s after the database came back")
    fi
    if [ -z "$up_at" ]; then
        verdict=1
        reasons+=("the outage did not end before the load did")
    fi
fi
# Each kind of slow client is let go by its deadline: held no longer than
# it (plus the sweeper's period and a margin), and none left open longer.
while read -r _ kind _ opened _ closed _ _ _ _ _ held_max _ open_end _ longest; do
    case $kind in
    stall) limit=$CONN_TIMEOUT ;;
    trickle) limit=$HEAD_TIMEOUT ;;
    body) limit=$BODY_TIMEOUT ;;
    *) continue ;;
    esac
    if [ "$closed" -eq 0 ] && [ "$opened" -gt 0 ] && [ "$secs" -gt $((limit + 5)) ]; then
        verdict=1
        reasons+=("no $kind client was closed by medqa in ${secs} s (its deadline: $limit s)")
    elif awk -v a="$held_max" -v b="$longest" -v l="$limit" 'BEGIN { exit !(a > l + 2 || b > l + 2) }'; then
        verdict=1
        reasons+=("a $kind client was held ${held_max} s (open at the end: ${longest} s), past its $limit s deadline")
    fi
done < <(grep '^slow ' "$run/slow.out")
if [ "$stop_rc" != 0 ]; then
    verdict=1
    reasons+=("medqa did not stop cleanly on SIGTERM (exit $stop_rc)")
fi
leak_lines=""
case $LEAK in
"")
    if [ "$growth" = nan ] || awk -v g="$growth" 'BEGIN { exit !(g >= 5) }'; then
        verdict=1
        reasons+=("RSS grew $growth % from t=${t_a} s to t=${t_b} s (limit 5 %)")
    fi
    ;;
valgrind)
    leak_lines=$(grep -E 'in use at exit:|total heap usage:|definitely lost:|indirectly lost:|possibly lost:|still reachable:|ERROR SUMMARY:|All heap blocks were freed' \
        "$run/valgrind.log" | sed 's/^==[0-9]*== *//')
    if ! grep -qE 'LEAK SUMMARY|All heap blocks were freed' "$run/valgrind.log"; then
        verdict=1
        reasons+=("valgrind printed no leak summary (see $run/valgrind.log)")
    elif grep -E '(definitely|indirectly) lost:' <<<"$leak_lines" | grep -qv ' 0 bytes in 0 blocks'; then
        verdict=1
        reasons+=("valgrind reports definite or indirect leaks (see $run/valgrind.log)")
    fi
    ;;
asan)
    leak_lines=$(grep -E 'LeakSanitizer|AddressSanitizer|runtime error:|^SUMMARY:' "$run/medqa.log")
    if [ -n "$leak_lines" ]; then
        verdict=1
        reasons+=("ASan/LSan reported at exit (see $run/medqa.log)")
    else
        leak_lines="LeakSanitizer: no report at exit (exit code $stop_rc; LSan exits 23 when it finds a leak)"
    fi
    ;;
esac

report() {
    echo "## make soak — $(date -u '+%Y-%m-%d %H:%M UTC'), $(git describe --always --dirty 2>/dev/null)"
    echo
    echo "$MINUTES min against ${LEAK:-build/medqa (-O2)}${LEAK:+ ($medqa)}, N = $N questions" \
        "(a fresh copy of $tpl); medqa WORKERS=$WORKERS, CONNECTION_TIMEOUT=$CONN_TIMEOUT s, LOG_LEVEL=warn," \
        "rate limits 1000000/1s. Load: wrk -t$THREADS -c$CONNS, ${DELAY} ms between requests per" \
        "connection, bench/soak_mix.lua; $STALLERS stalling, $TRICKLERS head-trickling and $BODIES" \
        "body-trickling (1 byte / ${TRICKLE_S} s) slow clients; HEADER_TIMEOUT=$HEAD_TIMEOUT s," \
        "BODY_TIMEOUT=$BODY_TIMEOUT s. $(nproc) CPUs shared with other work; load average $load0 before, $load1 after."
    echo
    echo "| t s | VmRSS kB | fds | DB conns | 2xx | 3xx | 4xx | 5xx |"
    echo "|---:|---:|---:|---:|---:|---:|---:|---:|"
    awk -F'\t' '{ printf "| %s | %s | %s | %s | %s | %s | %s | %s |\n", $1, $2, $3, $4, $6, $7, $8, $9 }' "$S"
    echo
    echo "- RSS: $rss_a kB at t=${t_a} s, $rss_b kB at t=${t_b} s: growth **$growth %**" \
        "$([ -z "$LEAK" ] && echo "(limit 5 %)" || echo "(not judged under $LEAK)")."
    echo "- Under load, open fds from t=${mark} s: $(minmax 3) (from t=${INTERVAL} s: $(minmax_all 3));" \
        "medqa's DB connections: $(minmax 4) (from t=${INTERVAL} s: $(minmax_all 4)). The last row is after wrk stopped."
    echo "- wrk: ${requests:-0} requests; $(awk '/^Requests\/sec:/ { print $2 }' "$run/wrk.out") req/s;" \
        "latency p50 $(awk '/^ +50% / { print $2 }' "$run/wrk.out"), p99 $(awk '/^ +99% / { print $2 }' "$run/wrk.out"); $sockerr."
    echo "- Status codes seen by wrk: $(awk '$1 == "soak-status" { printf "%s%s×%s", s, $2, $3; s = ", " }' <(sort -k2n "$run/wrk.out" | grep '^soak-status'))."
    echo "- 4xx (all from requests built to be refused): wrk $wrk4xx, /metrics $(tail -n 1 "$S" | cut -f8)." \
        "**5xx: wrk $wrk5xx ($wrk503 of them 503), /metrics ${met5xx:-?}.**"
    if [ -n "$down_at" ]; then
        echo "- Outage: PostgreSQL stopped at t=$down_at s, started again at t=${up_at:-never} s;" \
            "5xx counted from t=$((${up_at:-0} + recover_s)) s on: $late5xx."
    fi
    echo "- Requests by kind: $(grep '^soak-kind' "$run/wrk.out" | sort -k2 | awk '{ printf "%s%s %s", s, $2, $3; s = ", " }')."
    echo "- 4xx and 5xx by operation (/metrics at the end): $(cat "$run/ops.txt" 2>/dev/null)."
    echo "- Mean time in medqa by operation (/metrics; requests): $(cat "$run/means.txt" 2>/dev/null)."
    echo "- Slow clients (closed_by_server: medqa closed the connection; held: seconds it stayed open):"
    sed 's/^/  - /' "$run/slow.out"
    echo "- SIGTERM at the end: exit $stop_rc."
    if [ -n "$LEAK" ]; then
        echo "- Leak check ($LEAK):"
        sed 's/^/  - /' <<<"$leak_lines"
    fi
    echo
    if [ "$verdict" = 0 ]; then
        echo "Verdict: **pass**${LEAK:+ — no leak}."
    else
        echo "Verdict: **FAIL** — $(
            IFS=';'
            echo "${reasons[*]}"
        )."
    fi
}
mkdir -p "$(dirname "$OUT")"
report | tee "$OUT"
exit "$verdict"
