#!/bin/bash
# `make upgrade-test`: a database built by an earlier medqa is migrated by
# this tree's medqa, and nothing a client can see changes.
#
#   scripts/upgrade-test.sh [REV]     (default REV: $UPGRADE_FROM or 4c54c03,
#                                      main before issue 17's reads, whose
#                                      bodies PostgreSQL wrote)
#
# 1. Builds REV's medqa (from `git archive`, in a temporary folder) and this
#    tree's build/medqa.
# 2. On a throwaway cluster, REV's binary migrates a database, loads the
#    demo data and UPGRADE_QUESTIONS (default 3000) synthetic questions, and
#    serves it; a few writes through the API (a question, a reply, a topic
#    edit, a deletion) fill the /changes feed and hide some of it.
# 3. A fixed list of GET requests is made (lists are followed through their
#    cursors, with REV's server): questions with include=replies,related,
#    questions, a question's replies, /related by id and by text, search,
#    every list with its filters, topics, doctors, departments, replies,
#    /changes pages. REV's server answers all of them; every table's rows
#    are checksummed (md5 of the rows in order, schema_migrations aside,
#    over the columns REV's schema has).
# 4. This tree's binary migrates the same database; the checksums are taken
#    again, and this tree's server answers the same requests.
# 5. Responses are compared byte for byte, status line, headers and body,
#    except Date and X-Request-Id (new on every response) and
#    RateLimit-Remaining and RateLimit-Reset (they count requests within a
#    one-second window, so they depend on timing, not on the code; the
#    limits are huge so that no request is refused). A pair that differs
#    in bytes is equal when its JSON bodies are (jq -S: the JSON reads
#    write compact separators now, issue 17) and its heads are but for
#    Content-Length, ETag and Vary: Accept-Encoding (which follow the
#    bytes), after taking out of
#    the new questions and replies the republishing fields issue 14 added
#    (canonical_url, license, attribution, disclaimer) where the old
#    object lacks them. The report says how many pairs were equal byte for
#    byte and how many only as JSON. The upgraded schema is
#    also compared with a new database migrated by this tree (pg_dump -s).
#
# 6. The ranking. "Similar Q&A" (a page's `related`, /related) and the
#    questions a search's words match are derived from the content by the
#    ranking: sql/related.sql, sql/terms.sql and sql/vocabulary.sql, whose
#    checksums schema_migrations records (mq__related_ranking). When those
#    checksums differ between REV's database and the upgraded one, the
#    tree declares a new ranking (issue 16 did: vocabulary, field weights,
#    near-duplicate collapse), and what it derives may rightly differ from
#    REV's. Then, and only then:
#    - a derived response (/related, /questions?q=..., the `related` member
#      of a page) must instead be the same, byte for byte, from two copies
#      of the database as this tree migrated it: one as it is, one whose
#      derived state was thrown away and rebuilt from the content by this
#      tree's write path (every question's terms recomputed by an update,
#      reply terms, document frequencies, no stored related results), which
#      is what a new install of this tree holding the same content serves.
#      Both copies' questions are put in one physical order first (see
#      step 6 below). That catches an upgrade that leaves terms,
#      frequencies or stored results of the old ranking behind. The
#      upgraded database's own derived responses must have REV's status;
#    - the rest of a page (the question, its replies) must still equal
#      REV's, and every other response too;
#    - tables are compared with REV's over their content columns, and the
#      derived ones (questions.related_terms and reply_terms, term_df,
#      term_df_total's count, term_df_pending) with the rebuilt copy's.
#    With an unchanged ranking every response and table must equal REV's,
#    as in step 5, and derived responses must also equal the rebuilt
#    copy's.
#
# Prints "tables equal N/N", "responses equal N/N" and the first
# differences; exits non-zero on any difference. Everything it starts (the
# cluster, the servers) is stopped on exit, pass or fail.
set -uo pipefail
cd "$(dirname "$0")/.."
top=$(pwd)
rev=${1:-${UPGRADE_FROM:-4c54c03}}
nq=${UPGRADE_QUESTIONS:-3000}
par=${UPGRADE_PARALLEL:-4}

tmp=$(mktemp -d /tmp/medqa-upgrade.XXXXXX)
chmod 755 "$tmp"
pgport=$((20000 + RANDOM % 20000))
port=$((40000 + RANDOM % 10000))
server_pid=
stop_server() {
    if [ -n "$server_pid" ]; then
        kill "$server_pid" 2>/dev/null
        wait "$server_pid" 2>/dev/null
        server_pid=
    fi
}
cleanup() {
    stop_server
    scripts/pg.sh stop "$tmp/pg" >/dev/null 2>&1
    rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
die() { echo "upgrade-test: $*" >&2; exit 1; }

# ---- 1. the two binaries ---------------------------------------------------
echo "== building $rev and this tree"
old_sha=$(git rev-parse --verify --quiet "$rev^{commit}") ||
    die "no such revision: $rev"
mkdir -p "$tmp/old"
git archive "$old_sha" | tar -x -C "$tmp/old" || die "git archive $rev failed"
# The old tree embeds Redoc's bundle from node_modules; give it this tree's
# (npm is not run: the stamp is newer than package*.json).
mkdir -p "$tmp/old/node_modules/redoc/bundles"
cp node_modules/redoc/bundles/redoc.standalone.js \
    "$tmp/old/node_modules/redoc/bundles/" || die "node_modules: run make npm"
touch "$tmp/old/node_modules/.package-lock.json"
make -s -C "$tmp/old" -j2 build/medqa >"$tmp/build-old.log" 2>&1 ||
    { tail -n 20 "$tmp/build-old.log"; die "building $rev failed"; }
make -s -j2 build/medqa >"$tmp/build-new.log" 2>&1 ||
    { tail -n 20 "$tmp/build-new.log"; die "building this tree failed"; }
old_bin=$tmp/old/build/medqa
new_bin=$top/build/medqa

# ---- 2. the database, as REV made it -----------------------------------------
scripts/pg.sh start "$tmp/pg" "$pgport" || die "cannot start PostgreSQL"
scripts/pg.sh createdb "$tmp/pg" "$pgport" medqa || die "createdb"
scripts/pg.sh createdb "$tmp/pg" "$pgport" fresh || die "createdb"
export DATABASE_URL
DATABASE_URL=$(scripts/pg.sh url "$tmp/pg" "$pgport" medqa)
sql() {
    psql -X -q -t -A -v ON_ERROR_STOP=1 -h "$tmp/pg/sock" -p "$pgport" \
        -U medqa -d "${2:-medqa}" -c "$1"
}

# No autovacuum: the planner's statistics are taken once, by the ANALYZE
# after the writes below, and both servers plan with the same ones. The
# related questions of a page depend on them: with autovacuum on, an
# autoanalyze after the writes landed between the two runs once and 4 of
# 900 question pages listed other related questions (the same 4 in a
# second run, while the old server against itself matched 3466/3466);
# with the statistics held, every response matches. That is a property of
# mq_related's plans, not of the upgrade.
sql "ALTER SYSTEM SET autovacuum = off" postgres >/dev/null &&
    sql "SELECT pg_reload_conf()" postgres >/dev/null || die "autovacuum off"

echo "== $rev: migrate, demo data, $nq synthetic questions"
"$old_bin" migrate 2>"$tmp/old-migrate.log" || die "old migrate failed"
"$old_bin" seed --demo >/dev/null 2>&1 || die "old seed --demo failed"
"$old_bin" seed --synthetic "$nq" --seed 12 >/dev/null 2>&1 ||
    die "old seed --synthetic failed"
key() { # role [--doctor ID]
    "$old_bin" keys create --role "$1" --name "upgrade-$1" "${@:2}" 2>/dev/null |
        tail -n 1
}
doctor=$(sql "SELECT id FROM doctors ORDER BY id LIMIT 1")
partner_key=$(key partner)
editor_key=$(key editor)
app_key=$(key app)
doctor_key=$(key doctor --doctor "$doctor")
[ -n "$partner_key" ] && [ -n "$doctor_key" ] || die "keys create failed"

export HOST=127.0.0.1 PORT=$port PUBLIC_BASE_URL=http://127.0.0.1:$port
export CURSOR_SECRET=upgrade-secret-0123456789abcdef0123456789abcdef
export RATE_LIMIT_ANON=1000000/1s RATE_LIMIT_PARTNER=1000000/1s \
    RATE_LIMIT_APP=1000000/1s RATE_LIMIT_DOCTOR=1000000/1s \
    RATE_LIMIT_EDITOR=1000000/1s LOG_LEVEL=warn
base=http://127.0.0.1:$port
start_server() { # binary log
    "$1" serve >"$2" 2>&1 &
    server_pid=$!
    # 60 s: a loaded machine starts an older binary slowly.
    for _ in $(seq 600); do
        curl -sf -o /dev/null "$base/readyz" && return 0
        kill -0 "$server_pid" 2>/dev/null || break
        sleep 0.1
    done
    tail -n 5 "$2"
    die "$1 serve did not become ready"
}
write() { # expected-status method path key [json]
    local got
    got=$(curl -sS -o "$tmp/write.out" -w '%{http_code}' -X "$2" \
        -H "Authorization: Bearer $4" -H 'Content-Type: application/json' \
        ${5:+--data "$5"} "$base$3")
    [ "$got" = "$1" ] || { cat "$tmp/write.out"; die "$2 $3: $got, not $1"; }
}

start_server "$old_bin" "$tmp/serve-old.log"
echo "== $rev: writes through the API"
topic=$(sql "SELECT slug FROM topics ORDER BY slug LIMIT 1")
write 201 POST /questions "$app_key" \
    '{"title":"Eyelid keeps jumping after late nights","body":"For two weeks my lower left eyelid has flickered several times an hour. Should I worry?","language":"en","asker":{"name":"K. Lin","age_band":"30-39","gender":"male"},"department":"neurology","topics":["'"$topic"'"]}'
new_q=$(jq -r .id "$tmp/write.out")
write 201 POST /questions "$app_key" \
    '{"title":"眼皮一直跳","body":"最近兩個星期左眼皮一直跳，晚上睡不好的時候更明顯，需要看醫生嗎？","language":"zh-TW","asker":{"name":"林小姐","age_band":"20-29","gender":"female"},"department":"neurology"}'
write 201 POST "/questions/$new_q/replies" "$doctor_key" \
    '{"body":"Eyelid myokymia is common with fatigue and caffeine; it settles with rest. See a doctor if it spreads to the face."}'
write 200 PATCH "/topics/$topic" "$editor_key" \
    '{"description":"Involuntary movements of a muscle, edited by the upgrade test."}'
gone=$(sql "SELECT id FROM questions WHERE deleted_at IS NULL
            AND id IN (SELECT entity_id::uuid FROM changes
                       WHERE type = 'question.created')
            ORDER BY id LIMIT 1")
write 204 DELETE "/questions/$gone" "$editor_key"
sql "ANALYZE" || die "analyze"

# ---- 3. the requests -------------------------------------------------------
echo "== the request list"
list=$tmp/requests
: >"$list"
add() { printf '%s %s\n' "${2:--}" "$1" >>"$list"; } # path [partner]
uri() { jq -rR @uri | sed "s/'/%27/g"; }
# follow path max [partner]: the list and its next pages, up to max pages.
follow() {
    local path=$1 n=0 hdr=()
    [ "${3:-}" = partner ] && hdr=(-H "Authorization: Bearer $partner_key")
    while [ -n "$path" ] && [ "$n" -lt "$2" ]; do
        add "$path" "${3:-}"
        n=$((n + 1))
        path=$(curl -sS -o /dev/null -D - "${hdr[@]}" "$base$path" | tr -d '\r' |
            sed -n 's|^Link: <http://[^/]*\(/[^>]*\)>; rel="next".*|\1|Ip')
    done
}
ids() { sql "SELECT id FROM questions ORDER BY md5(id::text) $1"; }

for id in $(ids "LIMIT 900"); do add "/questions/$id?include=replies,related"; done
for id in $(ids "OFFSET 900 LIMIT 300"); do add "/questions/$id"; done
for id in $(sql "SELECT DISTINCT question_id FROM replies ORDER BY 1 LIMIT 250"); do
    add "/questions/$id/replies"
done
for id in $(ids "OFFSET 1200 LIMIT 400"); do add "/related?question_id=$id"; done
for id in $(ids "OFFSET 1600 LIMIT 30"); do add "/related?question_id=$id&limit=3"; done
sql "SELECT title FROM questions ORDER BY md5(title) LIMIT 120" | uri |
    while read -r t; do add "/related?text=$t"; done
sql "SELECT department_slug || '|' || replace(left(body, 300), E'\n', ' ')
     FROM questions ORDER BY md5(body) LIMIT 40" |
    while IFS='|' read -r d b; do
        add "/related?department=$d&text=$(printf '%s' "$b" | uri)"
    done
# Search: the synonym map's words, words of titles, Chinese fragments.
{
    printf '%s\n' jump flicker spasm belly dizzy itchy rash tummy
    sql "SELECT w FROM (SELECT DISTINCT lower(w) AS w FROM questions,
                        regexp_split_to_table(title, '[^A-Za-z]+') AS w
                        WHERE length(w) > 3) x ORDER BY md5(w) LIMIT 200"
    sql "SELECT substr(title, 1 + (abs(hashtext(title)) % 4), 2) FROM questions
         WHERE language = 'zh-TW' ORDER BY md5(title) LIMIT 40"
    sql "SELECT substr(title, 1, 8) FROM questions WHERE language = 'zh-TW'
         ORDER BY md5(title) LIMIT 10"
    echo 'eyelid jumping'; echo 'eye twitching for two weeks'
    echo 'headache 頭痛'; echo 'stomach ache after meals'
} | uri | while read -r w; do
    add "/questions?q=$w"
    add "/questions?q=$w&sort=relevance&limit=5"
done
for p in "/questions?limit=100" "/questions?sort=oldest&limit=100" \
    "/questions?sort=updated&limit=100" "/questions?state=answered&limit=100" \
    "/questions?state=open&limit=50" "/questions?language=zh-TW&limit=20" \
    "/questions?q=pain&sort=relevance&limit=20" "/questions?q=twitch&limit=10"; do
    follow "$p" 40
done
for d in $(sql "SELECT slug FROM departments ORDER BY slug"); do
    follow "/questions?department=$d&limit=50" 4
    follow "/topics?department=$d" 3
    follow "/doctors?department=$d" 3
    follow "/replies?department=$d&limit=50" 2
done
for t in $(sql "SELECT slug FROM topics ORDER BY slug"); do
    add "/topics/$t"
    add "/questions?topic=$t&limit=20"
done
for p in a b c d e h m p s; do follow "/topics?prefix=$p&limit=5" 3; done
for d in $(sql "SELECT id FROM doctors ORDER BY id"); do add "/doctors/$d"; done
for d in $(sql "SELECT doctor_id FROM replies WHERE doctor_id IS NOT NULL
                GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT 40"); do
    add "/questions?doctor=$d&limit=20"
    add "/replies?doctor=$d&limit=20"
done
follow "/topics?limit=20" 20
follow "/doctors?limit=50" 20
follow "/replies?limit=100" 15
follow "/replies?sort=updated&limit=100" 15
add /departments
add "/questions/$gone"
add "/questions/$gone?include=replies,related"
add "/related?question_id=$gone"
follow "/changes?limit=10" 50 partner
follow "/changes" 5 partner
follow "/changes?limit=3" 5 partner
total=$(wc -l <"$list")
echo "$total requests"
[ "$total" -ge 3000 ] || die "only $total requests (want at least 3000)"

cat >"$tmp/fetch.sh" <<EOF
#!/bin/sh
# fetch.sh OUTDIR "N KIND PATH": one response, headers and body, less the
# headers that differ on every response (see upgrade-test.sh).
out=\$1; set -f; set -- \$2; set +f
out=\$out/\$1; path=\$3
if [ "\$2" = partner ]; then set -- -H "Authorization: Bearer $partner_key"
else set --; fi
curl -sS -D - "\$@" "$base\$path" |
    sed '1,/^\r\$/{/^Date:/Id;/^X-Request-Id:/Id;/^RateLimit-Remaining:/Id;/^RateLimit-Reset:/Id}' >"\$out"
EOF
chmod +x "$tmp/fetch.sh"
fetch_all() { # outdir [list: blank lines are skipped, numbering kept]
    mkdir -p "$1"
    nl -ba -w1 -s' ' "${2:-$list}" | grep -v '^[0-9]* *$' |
        xargs -d '\n' -P "$par" -n 1 "$tmp/fetch.sh" "$1"
}
# Each table's rows over the columns REV's schema had (recorded by the
# first call in $tmp/columns): a column or table a newer migration adds is
# that migration's doing, and has no old value to compare with.
# derived PATH: what of the response the ranking derives (step 6): all of
# it, the page's related member, or none.
derived() {
    case $1 in
    /related\?*) echo all ;;
    /questions\?q=* | /questions\?*\&q=*) echo all ;;
    /questions/*\?*include=*related*) echo member ;;
    *) echo none ;;
    esac
}
# The columns the ranking derives from the content (step 6).
# term_df_total's refreshed_at says when the count was taken, not what.
derived_cols() { # table cols
    case $1 in
    term_df | term_df_pending) echo "$2" ;;
    term_df_total) echo "one, docs" ;;
    questions) echo "id, related_terms, reply_terms" ;;
    esac
}
content_cols() { # table cols
    case $1 in
    term_df | term_df_total | term_df_pending) ;;
    questions)
        echo "$2" | tr -d ' ' | tr ',' '\n' |
            grep -vx -e related_terms -e reply_terms | paste -sd, | sed 's/,/, /g'
        ;;
    *) echo "$2" ;;
    esac
}
checksums() { # out [db [all|content|derived]]
    local t cols c
    if [ ! -f "$tmp/columns" ]; then
        for t in $(sql "SELECT tablename FROM pg_tables WHERE schemaname = 'public'
                        AND tablename <> 'schema_migrations' ORDER BY 1"); do
            printf '%s %s\n' "$t" "$(sql "SELECT string_agg(quote_ident(attname),
                ', ' ORDER BY attnum) FROM pg_attribute WHERE attrelid =
                'public.$t'::regclass AND attnum > 0 AND NOT attisdropped")"
        done >"$tmp/columns"
    fi
    while read -r t cols; do
        case ${3:-all} in
        content) c=$(content_cols "$t" "$cols") ;;
        derived) c=$(derived_cols "$t" "$cols") ;;
        *) c=$cols ;;
        esac
        [ -n "$c" ] || continue
        printf '%s %s\n' "$t" "$(sql "SELECT count(*) || ' ' ||
            md5(coalesce(string_agg(ROW($c)::text, E'\n'
                                    ORDER BY ROW($c)::text), ''))
            FROM $t x" "${2:-medqa}")"
    done <"$tmp/columns" >"$1"
}
# The ranking in force (step 6): the checksums of the files it is made of.
ranking() {
    sql "SELECT coalesce(string_agg(version || '=' || coalesce(checksum, ''),
                                    ',' ORDER BY version), '')
         FROM schema_migrations WHERE version IN
           ('sql/related.sql', 'sql/terms.sql', 'sql/vocabulary.sql')"
}

echo "== $rev serves them"
fetch_all "$tmp/old-out"
if [ "${UPGRADE_CONTROL:-0}" = 1 ]; then
    # The same server twice: what differs here is not the upgrade's doing.
    fetch_all "$tmp/old-again"
    echo "control: $rev against itself, $(cd "$tmp/old-out" && for f in *; do
        cmp -s "$f" "../old-again/$f" && echo; done | wc -l)/$total identical"
fi
stop_server
checksums "$tmp/tables-old"
checksums "$tmp/content-old" medqa content
ranking_old=$(ranking) || die "reading REV's ranking"

# ---- 4. the same database, upgraded ----------------------------------------
echo "== this tree: migrate"
"$new_bin" migrate 2>"$tmp/new-migrate.log" ||
    { cat "$tmp/new-migrate.log"; die "new migrate failed"; }
tail -n 1 "$tmp/new-migrate.log"
checksums "$tmp/tables-new"
checksums "$tmp/content-new" medqa content
checksums "$tmp/derived-new" medqa derived
ranking_new=$(ranking) || die "reading this tree's ranking"

# ---- 6. two copies of it: as upgraded, and rebuilt from the content ---------
# Made before this tree's server stores any result. Both copies' questions
# are then put in the same physical order (CLUSTER by id): a page's
# candidates are the first matches the index finds in the table's order
# (mq__related_candidates), so two tables holding the same rows in another
# order may score other candidates, and the copies would differ by the
# rebuild's rewriting of every row, not by what they hold.
echo "== two copies: as upgraded, and its derived state rebuilt from the content"
sql "CREATE DATABASE upgraded TEMPLATE medqa" postgres || die "copy"
sql "CREATE DATABASE rebuilt TEMPLATE medqa" postgres || die "copy"
# Terms by the generated column's own update, reply terms for every
# question, the frequencies counted afresh, no stored or queued result.
sql "BEGIN;
     UPDATE questions SET title = title;
     UPDATE questions SET reply_terms = mq_reply_terms(id);
     SELECT mq_refresh_df();
     DELETE FROM related_store;
     DELETE FROM related_queue;
     COMMIT" rebuilt >/dev/null || die "rebuilding the copy's derived state"
for db in upgraded rebuilt; do
    sql "CLUSTER questions USING questions_pkey" "$db" || die "cluster $db"
done
checksums "$tmp/derived-rebuilt" rebuilt derived
checksums "$tmp/content-rebuilt" rebuilt content
# Only the responses the ranking derives (step 6) are asked of them.
while read -r kind path; do
    case $(derived "$path") in none) echo ;; *) echo "$kind $path" ;; esac
done <"$list" >"$tmp/derived-list"
upgraded_url=$DATABASE_URL
for db in upgraded rebuilt; do
    DATABASE_URL=$(scripts/pg.sh url "$tmp/pg" "$pgport" "$db")
    start_server "$new_bin" "$tmp/serve-$db.log"
    fetch_all "$tmp/$db-out" "$tmp/derived-list"
    stop_server
done
DATABASE_URL=$upgraded_url

start_server "$new_bin" "$tmp/serve-new.log"
echo "== this tree serves them"
fetch_all "$tmp/new-out"
stop_server

# ---- compare (steps 5 and 6) -----------------------------------------------
fail=0
if [ "$ranking_old" = "$ranking_new" ]; then
    ranked=0
    echo "ranking: unchanged (every response and table must equal $rev's)"
else
    ranked=1
    echo "ranking: changed by this tree (sql/related.sql, terms.sql or vocabulary.sql" \
        "differ from $rev's): derived responses and columns are compared with the rebuilt copy"
fi
# same_tables A B label: every line of A in B, and as many.
same_tables() {
    local n same
    n=$(wc -l <"$1")
    same=$(comm -12 <(sort "$1") <(sort "$2") | wc -l)
    echo "tables equal $same/$n ($3)"
    if [ "$same" -ne "$n" ] || [ "$(wc -l <"$2")" -ne "$n" ]; then
        diff "$1" "$2"
        fail=1
    fi
}
if [ "$ranked" = 0 ]; then
    same_tables "$tmp/tables-old" "$tmp/tables-new" "every column, $rev and upgraded"
else
    same_tables "$tmp/content-old" "$tmp/content-new" "content columns, $rev and upgraded"
fi
same_tables "$tmp/derived-new" "$tmp/derived-rebuilt" "derived columns, upgraded and rebuilt"
same_tables "$tmp/content-new" "$tmp/content-rebuilt" "content columns, upgraded and rebuilt"
# as_json OLD NEW [JQ]: equal as described in step 5 (not byte for byte),
# after JQ (a filter both bodies go through: step 6's del(.related)).
# Content-Length and ETag follow the bytes, and so does Vary:
# Accept-Encoding (respond.c adds it from 1,024 bytes, which the added
# fields carry some bodies past).
skip_head='^(Content-Length|ETag):|^Vary: Accept-Encoding'$'\r''?$'
jq_norm='walk(if type == "object" and has("id") and (has("asked_at") or has("replied_at"))
               then del(.canonical_url, .license, .attribution, .disclaimer) else . end)'
as_json() {
    local ho hn
    ho=$(sed '/^\r$/q' "$1" | grep -viE "$skip_head")
    hn=$(sed '/^\r$/q' "$2" | grep -viE "$skip_head")
    [ "$ho" = "$hn" ] || return 1
    cmp -s <(sed '1,/^\r$/d' "$1" | jq -S "$jq_norm | ${3:-.}" 2>/dev/null) \
        <(sed '1,/^\r$/d' "$2" | jq -S "$jq_norm | ${3:-.}" 2>/dev/null) &&
        [ -n "$(sed '1,/^\r$/d' "$1" | jq -c . 2>/dev/null | head -c 1)" ]
}
same_r=0 same_b=0 n_d=0 d_rebuilt=0 d_old=0 n_m=0 m_rest=0 shown=0
rm -rf var/upgrade-test
i=0
while read -r kind path; do
    i=$((i + 1))
    o=$tmp/old-out/$i n=$tmp/new-out/$i u=$tmp/upgraded-out/$i r=$tmp/rebuilt-out/$i
    d=$(derived "$path")
    ok=0 eq_old=0
    if [ -s "$o" ] && cmp -s "$o" "$n"; then
        eq_old=2
    elif [ -s "$o" ] && as_json "$o" "$n"; then
        eq_old=1
    fi
    if [ "$d" = none ]; then
        [ "$eq_old" -gt 0 ] && ok=1
    else
        n_d=$((n_d + 1))
        [ "$eq_old" -gt 0 ] && d_old=$((d_old + 1))
        rest=0
        if [ "$d" = member ]; then
            n_m=$((n_m + 1))
            if [ "$eq_old" -gt 0 ] || as_json "$o" "$n" 'del(.related)'; then
                m_rest=$((m_rest + 1))
                rest=1
            fi
        fi
        if [ -s "$u" ] && cmp -s "$u" "$r" &&
            [ "$(head -n 1 "$o")" = "$(head -n 1 "$n")" ]; then
            d_rebuilt=$((d_rebuilt + 1))
            if [ "$ranked" = 0 ]; then
                [ "$eq_old" -gt 0 ] && ok=1
            elif [ "$d" = all ] || [ "$rest" = 1 ]; then
                ok=1
            fi
        fi
    fi
    if [ "$ok" = 1 ]; then
        same_r=$((same_r + 1))
        [ "$eq_old" = 2 ] && same_b=$((same_b + 1))
        continue
    fi
    # Kept for a look after the run (the rest of $tmp goes).
    mkdir -p var/upgrade-test
    cp "$o" "var/upgrade-test/$i.old" 2>/dev/null
    cp "$n" "var/upgrade-test/$i.new" 2>/dev/null
    cp "$u" "var/upgrade-test/$i.upgraded" 2>/dev/null
    cp "$r" "var/upgrade-test/$i.rebuilt" 2>/dev/null
    [ "$shown" -lt 5 ] || continue
    shown=$((shown + 1))
    echo "-- differs: GET $path ($kind, derived: $d)"
    if [ "$d" != none ] && ! cmp -s "$u" "$r"; then
        diff <(cut -c1-300 "$u") <(cut -c1-300 "$r") | head -n 12
    else
        diff <(cut -c1-300 "$o") <(cut -c1-300 "$n") | head -n 12
    fi
done <"$list"
[ "$shown" -eq 0 ] || echo "(the differing responses are in var/upgrade-test/)"
echo "derived responses: $d_rebuilt/$n_d of the upgraded copy equal to the rebuilt copy's byte for byte;" \
    "$d_old/$n_d equal to $rev's; pages but for related equal to $rev's: $m_rest/$n_m"
echo "responses equal $same_r/$total ($same_b byte for byte to $rev's; statuses: $(head -q -n 1 "$tmp"/old-out/* |
    awk '{n[$2]++} END {for (s in n) {printf "%s%s x%d", sep, s, n[s]; sep = ", "}}'))"
[ "$same_r" -eq "$total" ] || fail=1
# A database made new by this tree has the upgraded one's schema.
DATABASE_URL=$(scripts/pg.sh url "$tmp/pg" "$pgport" fresh) "$new_bin" migrate \
    2>"$tmp/fresh-migrate.log" || { cat "$tmp/fresh-migrate.log"; die "fresh migrate failed"; }
dump() {
    pg_dump -s --no-owner -h "$tmp/pg/sock" -p "$pgport" -U medqa -d "$1" |
        grep -v -e '^\\restrict' -e '^\\unrestrict'
}
if diff <(dump medqa) <(dump fresh) >"$tmp/schema.diff"; then
    echo "schema of the upgraded database equal to a new one: yes"
else
    echo "schema of the upgraded database equal to a new one: no"
    head -n 30 "$tmp/schema.diff"
    fail=1
fi
[ "$fail" -eq 0 ] && echo "upgrade-test: passed" || echo "upgrade-test: FAILED"
exit "$fail"
