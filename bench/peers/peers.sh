# bench/peers/peers.sh — the `peers` case of `make bench` (issue 17 item 3),
# sourced by scripts/bench.sh once medqa serves the bench database, so it
# uses that script's settings and meters (wrk, proc_ticks, pg_ticks,
# settle, parse_wrk, median …).
#
# The peers (../shared/peers: a Go rewrite, net/http + pgx, and a Node
# rewrite, Fastify + pg) were written before main added headline,
# medical_review (issue 14) and the republishing fields, and their check
# compares strictly. So the case builds patched copies under build/peers:
# the peers are copied, bench/peers/go.patch and node.patch add those
# fields (same values, same settings, same defaults as medqa), and nothing
# under ../shared/peers is touched. It installs what they need (Debian's
# Go and pgx v4; npm ci for Node) through scripts/deps.sh and npm, starts
# both on the bench database, runs their check.sh against medqa (it must
# report differ=0), then measures medqa, Go and Node interleaved, with the
# same wrk scripts and connections: GET /questions/{id}, the first page of
# /questions, the page BENCH_DEPTH rows down and /questions/{id}/replies.
# Results go to "$res" as lines "peer-<target> <endpoint> <round> requests
# rps p50 p99 errors app_us pg_us hwm_kb".
#
# BENCH_PEERS_DIR overrides where the peers are (default ../shared/peers
# beside the repository, or beside its main worktree).

peers_dir() {
    local d
    for d in "${BENCH_PEERS_DIR:-}" "$top/../shared/peers" \
        "$(dirname "$(git rev-parse --path-format=absolute --git-common-dir 2>/dev/null)")/../shared/peers"; do
        [ -n "$d" ] && [ -f "$d/check.sh" ] && [ -d "$d/go" ] && [ -d "$d/node" ] &&
            { (cd "$d" && pwd); return 0; }
    done
    return 1
}

# utime+stime of a process and its children (Node's cluster workers).
tree_ticks() {
    nice -n -10 cat /proc/[0-9]*/stat 2>/dev/null | nice -n -10 awk -v p="$1" '{
        pid = $1; sub(/^.*\) /, "")
        if (pid == p || $2 == p) t += $12 + $13
    } END { print t + 0 }'
}
tree_hwm_kb() {
    local k=0 p
    for p in $1 $(pgrep -P "$1"); do
        k=$((k + $(awk '/^VmHWM/ { print $2 }' "/proc/$p/status" 2>/dev/null || echo 0)))
    done
    echo "$k"
}
tree_reset_hwm() {
    local p
    for p in $1 $(pgrep -P "$1"); do reset_hwm "$p"; done
}

# Builds the patched peers under build/peers; returns 1 when it cannot.
peers_build() {
    local src=$1 out=build/peers
    scripts/deps.sh golang-go golang-github-jackc-pgx-v4-dev wrk >&2 || return 1
    rm -rf "$out/go" "$out/node.new"
    mkdir -p "$out"
    cp -r "$src/go" "$out/go" && chmod -R u+w "$out/go" &&
        patch -s -d "$out/go" -p1 <bench/peers/go.patch || return 1
    # node_modules is kept between runs while package-lock.json is the same.
    cp -r "$src/node" "$out/node.new" && chmod -R u+w "$out/node.new" &&
        patch -s -d "$out/node.new" -p1 <bench/peers/node.patch || return 1
    if [ -d "$out/node/node_modules" ] && cmp -s "$out/node/package-lock.json" "$out/node.new/package-lock.json"; then
        mv "$out/node/node_modules" "$out/node.new/"
    fi
    rm -rf "$out/node" && mv "$out/node.new" "$out/node" || return 1
    (cd "$out/go" && GOCACHE=$top/build/peers/gocache ./build.sh) >&2 || return 1
    if [ ! -d "$out/node/node_modules" ]; then
        (cd "$out/node" && npm ci --no-audit --no-fund --loglevel=error) >&2 || return 1
    fi
}

# Starts peer $1 (go or node) on port $2; prints its pid.
peers_start() {
    local name=$1 port=$2 pid
    local -a envs=(PGHOST="$top/$pgdir/sock" PGPORT="$PGPORT" PGUSER=medqa PGDATABASE="$db"
        PUBLIC_BASE_URL="$base" PORT="$port" HOST=127.0.0.1)
    if [ "$name" = go ]; then
        env "${envs[@]}" build/peers/go/peer-go >"$run/peer-go.log" 2>&1 &
    else
        env "${envs[@]}" node build/peers/node/server.js >"$run/peer-node.log" 2>&1 &
    fi
    pid=$!
    for _ in $(seq 100); do
        curl -sf -o /dev/null "http://127.0.0.1:$port/questions?limit=1" && break
        sleep 0.1
    done
    curl -sf -o /dev/null "http://127.0.0.1:$port/questions?limit=1" || return 1
    echo "$pid"
}

# The cursor of the page $2 rows down at base URL $1, by walking pages
# of 100 (each target has its own cursor format).
peers_deep_cursor() {
    local url=$1 depth=$2 c=""
    for _ in $(seq $((depth / 100))); do
        c=$(curl -sf "$url/questions?limit=100${c:+&cursor=$c}" | jq -r .next_cursor)
        [ -n "$c" ] && [ "$c" != null ] || return 1
    done
    echo "$c"
}

# One wrk run of endpoint $2 against target $1 at base URL $3 (deep
# cursor $4), metering the app's process tree $5 and the cluster.
peers_wrk() {
    local target=$1 ep=$2 url=$3 deep=$4 pid=$5 a0 p0 a1 p1 res
    local -a args=(-t "$THREADS" -c "$CONNS" -d "${DUR}s" --latency --timeout 10s)
    case $ep in
    byid) args+=(-s bench/get.lua "$url") ;;
    replies) args+=(-s bench/peers/replies.lua "$url") ;;
    list) args+=("$url/questions") ;;
    deep) args+=("$url/questions?cursor=$deep") ;;
    esac
    tree_reset_hwm "$pid"
    a0=$(tree_ticks "$pid")
    p0=$(pg_ticks)
    BENCH_LUA=$top/bench BENCH_IDS=$ids timeout $((DUR + 30)) wrk "${args[@]}" >"$run/wrk.peers" 2>&1
    a1=$(tree_ticks "$pid")
    p1=$(pg_ticks)
    res=$(parse_wrk "$run/wrk.peers")
    set -- $res
    if [ "$1" -eq 0 ]; then
        echo "$res - - $(tree_hwm_kb "$pid")"
        return
    fi
    awk -v r="$1" -v a=$((a1 - a0)) -v p=$((p1 - p0)) -v hz="$hz" -v h="$(tree_hwm_kb "$pid")" \
        -v rest="$res" 'BEGIN { printf "%s %.0f %.0f %d\n", rest, a * 1e6 / hz / r, p * 1e6 / hz / r, h }'
}

# The case itself: sets PEERS_STATUS ("ran", or why it did not).
peers_case() {
    local src go_pid node_pid gport=$((PORT + 10)) nport=$((PORT + 11)) r ep t
    PEERS_STATUS=""
    if ! src=$(peers_dir); then
        PEERS_STATUS="skipped: ../shared/peers is absent (set BENCH_PEERS_DIR)"
        say "peers: $PEERS_STATUS"
        return 0
    fi
    say "peers: building patched copies of $src under build/peers"
    peers_build "$src" || die "peers: cannot build the peers"
    go_pid=$(peers_start go "$gport") || die "peers: peer-go did not start: $(tail -n 5 "$run/peer-go.log")"
    PEERS_PIDS="$go_pid"
    node_pid=$(peers_start node "$nport") || die "peers: peer-node did not start: $(tail -n 5 "$run/peer-node.log")"
    PEERS_PIDS="$go_pid $node_pid"
    declare -gA PEER_URL PEER_PID PEER_DEEP
    PEER_URL=([medqa]=$base [go]=http://127.0.0.1:$gport [node]=http://127.0.0.1:$nport)
    PEER_PID=([medqa]=$medqa_pid [go]=$go_pid [node]=$node_pid)
    PEER_DEEP[medqa]=$cursor
    for t in go node; do
        # Kept while the data lasts, like medqa's (a peer's cursor is not
        # sealed with a secret).
        local f=var/bench/peer_cursor_${t}_${N}_$depth
        PEER_DEEP[$t]=$(cat "$f" 2>/dev/null || true)
        if [ -z "${PEER_DEEP[$t]}" ] || [ "$(curl -s -o /dev/null -w '%{http_code}' \
            "${PEER_URL[$t]}/questions?cursor=${PEER_DEEP[$t]}")" != 200 ]; then
            say "peers: walking $((depth / 100)) pages of $t for its deep cursor"
            PEER_DEEP[$t]=$(peers_deep_cursor "${PEER_URL[$t]}" "$depth") || die "peers: cannot walk $t's list"
            echo "${PEER_DEEP[$t]}" >"$f"
        fi
    done
    say "peers: check.sh (medqa is the reference)"
    DATABASE_URL=$DATABASE_URL DEEP_CURSOR_medqa=${PEER_DEEP[medqa]} DEEP_CURSOR_go=${PEER_DEEP[go]} \
        DEEP_CURSOR_node=${PEER_DEEP[node]} "$src/check.sh" medqa="$base" go="${PEER_URL[go]}" \
        node="${PEER_URL[node]}" >"$run/peers-check.txt" 2>&1
    PEERS_CHECK_RC=$?
    cat "$run/peers-check.txt" >&2
    [ "$PEERS_CHECK_RC" = 0 ] || say "peers: WARNING: check.sh found differences; figures below compare unequal answers"
    for t in medqa go node; do
        for ep in byid list deep replies; do peers_wrk "$t" "$ep" "${PEER_URL[$t]}" "${PEER_DEEP[$t]}" \
            "${PEER_PID[$t]}" >/dev/null; done # warm-up (plans, pools)
    done
    for r in $(seq "$ROUNDS"); do
        for ep in byid list deep replies; do
            for t in medqa go node; do
                say "peers: round $r/$ROUNDS: $ep on $t"
                echo "peer-$t $ep $r $(peers_wrk "$t" "$ep" "${PEER_URL[$t]}" "${PEER_DEEP[$t]}" "${PEER_PID[$t]}")" >>"$res"
                settle
            done
        done
    done
    kill "$go_pid" "$node_pid" 2>/dev/null
    wait "$go_pid" "$node_pid" 2>/dev/null
    PEERS_PIDS=""
    PEERS_STATUS=ran
}

# The peers' table, from "$res".
peers_report() {
    local ep m g n
    echo
    if [ "${PEERS_STATUS:-}" != ran ]; then
        echo "Peers (issue 17): ${PEERS_STATUS:-not run}."
        return
    fi
    echo "Peers (issue 17 item 3): medqa beside patched copies of ../shared/peers (Go net/http + pgx v4;"
    echo "Node Fastify 5 + pg under node:cluster), same database, same wrk scripts and connections"
    echo "(-t$THREADS -c$CONNS -d${DUR}s), $ROUNDS rounds interleaved, medians. check.sh:" \
        "$(grep -h '^identical=' "$run/peers-check.txt" | tail -n 1)."
    echo "App and PG CPU per request from /proc (Node: the cluster's primary and workers)."
    echo
    echo "| endpoint | medqa req/s | Go req/s | Node req/s | medqa ÷ Go | medqa ÷ Node | app µs/req medqa / Go / Node | PG µs/req medqa / Go / Node | PG medqa ÷ Go | errors |"
    echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
    for ep in byid list deep replies; do
        m=$(median peer-medqa "$ep" 5)
        g=$(median peer-go "$ep" 5)
        n=$(median peer-node "$ep" 5)
        echo "| $ep | $m | $g | $n | $(ratio "$m" "$g") | $(ratio "$m" "$n") |" \
            "$(median peer-medqa "$ep" 9) / $(median peer-go "$ep" 9) / $(median peer-node "$ep" 9) |" \
            "$(median peer-medqa "$ep" 10) / $(median peer-go "$ep" 10) / $(median peer-node "$ep" 10) |" \
            "$(ratio "$(median peer-medqa "$ep" 10)" "$(median peer-go "$ep" 10)") |" \
            "$(awk -v e="$ep" '$1 ~ /^peer-/ && $2 == e { x += $8 } END { print x + 0 }' "$res") |"
    done
    echo
    echo "Peak RSS during these runs (MiB, largest median): medqa $(mib "$(median_max peer-medqa 11)")," \
        "Go $(mib "$(median_max peer-go 11)"), Node $(mib "$(median_max peer-node 11)") (all processes)."
    echo
    echo "Targets (issue 17):"
    for ep in byid list deep replies; do
        awk -v e="$ep" -v a="$(median peer-medqa "$ep" 5)" -v b="$(median peer-go "$ep" 5)" \
            -v pa="$(median peer-medqa "$ep" 10)" -v pb="$(median peer-go "$ep" 10)" 'BEGIN {
            printf "- %s: req/s %.2f× Go (target ≥ 2×) %s; PG µs/req %.2f× Go (target ≤ 0.5×) %s\n", e,
                a / b, (a / b >= 2 ? "met" : "NOT met"), pa / pb, (pa / pb <= 0.5 ? "met" : "NOT met") }'
    done
}

# The largest of the per-endpoint medians of field $2 for kind $1.
median_max() {
    local ep v best=0
    for ep in byid list deep replies; do
        v=$(median "$1" "$ep" "$2")
        [ -n "$v" ] && awk -v a="$v" -v b="$best" 'BEGIN { exit !(a > b) }' && best=$v
    done
    echo "$best"
}
