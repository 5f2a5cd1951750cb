#!/bin/bash
# `make test`: a throwaway PostgreSQL cluster in a temporary folder (never
# the one `make run` uses), the unit tests, then the integration tests that
# start the real ASan+UBSan binary and speak HTTP to it. Everything started
# here is stopped on exit, pass or fail. The last line is
# "N passed, N failed".
set -uo pipefail
cd "$(dirname "$0")/.."
top=$(pwd)

tmp=$(mktemp -d /tmp/medqa-test.XXXXXX)
chmod 755 "$tmp"
pgport=$((20000 + RANDOM % 20000))
cleanup() {
    scripts/pg.sh stop "$tmp/pg" >/dev/null 2>&1
    rm -rf "$tmp"
}
trap cleanup EXIT INT TERM

mkdir -p tests/out
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=0:halt_on_error=1:detect_stack_use_after_return=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
export LSAN_OPTIONS=suppressions=$top/tests/lsan.supp:print_suppressions=0
# Every suite talks to medqa from 127.0.0.1, far faster than the default
# rate limits allow; the suites about limits set their own.
export RATE_LIMIT_ANON=1000000/1s RATE_LIMIT_PARTNER=1000000/1s \
    RATE_LIMIT_APP=1000000/1s RATE_LIMIT_DOCTOR=1000000/1s \
    RATE_LIMIT_EDITOR=1000000/1s

passed=0
failed=0

echo "== spec lint (Redocly CLI, rules in redocly.yaml)"
if REDOCLY_TELEMETRY=off REDOCLY_SUPPRESS_UPDATE_NOTICE=true \
    node_modules/.bin/redocly lint openapi/openapi.yaml --config redocly.yaml \
    --format=stylish >"$tmp/lint.out" 2>&1; then
    passed=$((passed + 1))
    echo "lint-spec: passed"
else
    failed=$((failed + 1))
    echo "lint-spec: failed"
fi
# From "validating" on: Redocly's banners before it say nothing of the spec.
sed -n '/^validating/,$p' "$tmp/lint.out"

echo "== unit tests"
for t in build/asan/tests/test_*; do
    [ -x "$t" ] || continue
    out=$(CMOCKA_MESSAGE_OUTPUT=TAP "$t" 2>&1)
    rc=$?
    p=$(grep -c '^ok ' <<<"$out")
    f=$(grep -c '^not ok ' <<<"$out")
    if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then f=1; fi
    echo "$(basename "$t"): $p passed, $f failed"
    if [ "$f" -ne 0 ]; then grep -v '^ok ' <<<"$out" | head -40; fi
    passed=$((passed + p))
    failed=$((failed + f))
done

echo "== integration tests"
if scripts/pg.sh start "$tmp/pg" "$pgport" &&
    scripts/pg.sh createdb "$tmp/pg" "$pgport" medqa_template &&
    DATABASE_URL=$(scripts/pg.sh url "$tmp/pg" "$pgport" medqa_template) \
        build/asan/medqa migrate 2>"$tmp/migrate.log"; then
    export MEDQA_BIN=$top/build/asan/medqa
    export MEDQA_PG_SOCK=$tmp/pg/sock MEDQA_PG_PORT=$pgport
    export MEDQA_TMP=$tmp
    export CURSOR_SECRET=test-secret-0123456789abcdef0123456789abcdef
    node tests/integration/run.mjs >"$tmp/integration.out"
    rc=$?
    cat "$tmp/integration.out"
    counts=$(tail -n 1 "$tmp/integration.out")
    if [[ "$counts" =~ ^integration:\ ([0-9]+)\ passed,\ ([0-9]+)\ failed$ ]]; then
        passed=$((passed + BASH_REMATCH[1]))
        failed=$((failed + BASH_REMATCH[2]))
    else
        echo "integration runner did not report (exit $rc)"
        failed=$((failed + 1))
    fi
else
    cat "$tmp/migrate.log" 2>/dev/null
    echo "could not prepare the test database"
    failed=$((failed + 1))
fi

echo "== relevance floors (tests/eval)"
# Floors guard what has been reached, just below it (see
# tests/eval/README.md).
if EVAL_MIN_P4_EN=0.86 EVAL_MIN_P4_ZH=0.90 EVAL_MIN_HIT3=0.97 \
    EVAL_MIN_MRR=0.82 MEDQA_BIN=$top/build/asan/medqa \
    MEDQA_PG_SOCK=$tmp/pg/sock MEDQA_PG_PORT=$pgport MEDQA_TMP=$tmp \
    node tests/eval/eval.mjs --assert >"$tmp/eval.out" 2>&1; then
    passed=$((passed + 1))
    echo "eval: floors met"
else
    failed=$((failed + 1))
    echo "eval: below a floor"
fi
cat "$tmp/eval.out"

echo "== fuzz smoke (each libFuzzer target, FUZZ_SMOKE_SECONDS over its seed corpus)"
# One test per target: `make fuzz` is the long run.
while IFS= read -r line; do
    echo "$line"
    case "$line" in
    fuzz_*": ok,"*) passed=$((passed + 1)) ;;
    fuzz_*": FAILED"*) failed=$((failed + 1)) ;;
    esac
done < <(scripts/fuzz.sh --smoke "${FUZZ_SMOKE_SECONDS:-10}" 2>&1)
if ! ls build/fuzz/fuzz_* >/dev/null 2>&1; then
    echo "fuzz: no targets built (make fuzz-bins)"
    failed=$((failed + 1))
fi

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
