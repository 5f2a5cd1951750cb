#!/bin/bash
# The test entry points; each ends with "N passed, N failed".
#   scripts/test.sh            `make test`: spec lint, C lint, unit tests,
#                              every integration suite, relevance floors,
#                              fuzz smoke
#   scripts/test.sh unit       `make unit`: the unit tests only
#   scripts/test.sh suite NAME `make test T=NAME`: one integration suite,
#                              tests/integration/NAME.test.mjs, with the
#                              set-up it needs (cluster, template, env)
# The integration tests run against a throwaway PostgreSQL cluster in a
# temporary folder (never the one `make run` uses) and start the real
# ASan+UBSan binary. Everything started here is stopped on exit, pass or
# fail.
set -uo pipefail
cd "$(dirname "$0")/.."
top=$(pwd)

mode=${1:-all}
suite=
case "$mode" in
all | unit) ;;
suite)
    # NAME, NAME.test.mjs or a path to it all name the same suite.
    suite=$(basename "${2:-}" .mjs)
    suite=${suite%.test}
    if [ -z "$suite" ] || [ ! -f "tests/integration/$suite.test.mjs" ]; then
        echo "no integration suite '${2:-}'; the suites are:" >&2
        (cd tests/integration && ls -- *.test.mjs | sed 's/\.test\.mjs$//;s/^/  /') >&2
        exit 2
    fi
    ;;
*)
    echo "usage: scripts/test.sh [unit | suite NAME]" >&2
    exit 2
    ;;
esac

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

lint_spec() {
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
    # From "validating" on: Redocly's banners before it say nothing of the
    # spec.
    sed -n '/^validating/,$p' "$tmp/lint.out"
}

# `make lint`: clang-format's check (.clang-format) and cppcheck, as one
# test.
lint_c() {
    echo "== C lint (make lint: clang-format check, cppcheck)"
    if make --no-print-directory -s lint >"$tmp/lint-c.out" 2>&1; then
        passed=$((passed + 1))
        echo "lint: passed"
    else
        failed=$((failed + 1))
        echo "lint: failed (\`make format\` fixes the layout)"
        head -60 "$tmp/lint-c.out"
    fi
}

unit() {
    echo "== unit tests"
    local t out rc p f found=0
    for t in build/asan/tests/test_*; do
        [ -x "$t" ] || continue
        found=1
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
    if [ "$found" -eq 0 ]; then
        echo "unit: no test binaries in build/asan/tests (make unit builds them)"
        failed=$((failed + 1))
    fi
}

# The cluster and the migrated medqa_template database every suite clones,
# and the environment lib/medqa.mjs reads. Returns non-zero (and counts a
# failure) when it cannot.
prepare_db() {
    if scripts/pg.sh start "$tmp/pg" "$pgport" &&
        scripts/pg.sh createdb "$tmp/pg" "$pgport" medqa_template &&
        DATABASE_URL=$(scripts/pg.sh url "$tmp/pg" "$pgport" medqa_template) \
            build/asan/medqa migrate 2>"$tmp/migrate.log"; then
        export MEDQA_BIN=$top/build/asan/medqa
        export MEDQA_PG_SOCK=$tmp/pg/sock MEDQA_PG_PORT=$pgport
        export MEDQA_TMP=$tmp
        export CURSOR_SECRET=test-secret-0123456789abcdef0123456789abcdef
        return 0
    fi
    cat "$tmp/migrate.log" 2>/dev/null
    echo "could not prepare the test database"
    failed=$((failed + 1))
    return 1
}

# Every suite, or the ones named (exact suite names, see run.mjs).
integration() {
    echo "== integration tests${1:+: $*}"
    local rc counts
    node tests/integration/run.mjs "$@" >"$tmp/integration.out"
    rc=$?
    cat "$tmp/integration.out"
    counts=$(tail -n 1 "$tmp/integration.out")
    if [[ "$counts" =~ ^integration:\ ([0-9]+)\ passed,\ ([0-9]+)\ failed$ ]]; then
        passed=$((passed + BASH_REMATCH[1]))
        failed=$((failed + BASH_REMATCH[2]))
        if [ "${BASH_REMATCH[1]}" -eq 0 ] && [ "${BASH_REMATCH[2]}" -eq 0 ]; then
            echo "integration: no test ran"
            failed=$((failed + 1))
        fi
    else
        echo "integration runner did not report (exit $rc)"
        failed=$((failed + 1))
    fi
}

eval_floors() {
    echo "== relevance floors (tests/eval)"
    # Floors guard what has been reached, just below it (see
    # tests/eval/README.md): the set's first version (its floors as they
    # were), the whole set (_ALL), and the whole set posted after
    # EVAL_DISTRACTORS synthetic questions (_X), whose figures must not move
    # more than EVAL_MAX_FRESH_DELTA without a refresh of the statistics.
    if EVAL_MIN_P4_EN=0.90 EVAL_MIN_P4_ZH=0.94 EVAL_MIN_HIT3=0.99 \
        EVAL_MIN_MRR=0.86 \
        EVAL_MIN_P4_EN_ALL=0.88 EVAL_MIN_P4_ZH_ALL=0.86 EVAL_MIN_HIT3_ALL=0.97 \
        EVAL_MIN_HIT3_HARD_ALL=0.91 EVAL_MIN_MRR_ALL=0.88 \
        EVAL_MIN_P4_EN_X=0.86 EVAL_MIN_P4_ZH_X=0.85 EVAL_MIN_HIT3_X=0.93 \
        EVAL_MIN_HIT3_HARD_X=0.90 EVAL_MIN_MRR_X=0.87 EVAL_MIN_MRR_EN_X=0.85 \
        EVAL_MIN_MRR_ZH_X=0.84 EVAL_MAX_FRESH_DELTA=0.02 \
        EVAL_DISTRACTORS=${EVAL_DISTRACTORS:-100000} \
        MEDQA_BIN=$top/build/asan/medqa \
        MEDQA_PG_SOCK=$tmp/pg/sock MEDQA_PG_PORT=$pgport MEDQA_TMP=$tmp \
        node tests/eval/eval.mjs --assert --freshness >"$tmp/eval.out" 2>&1; then
        passed=$((passed + 1))
        echo "eval: floors met"
    else
        failed=$((failed + 1))
        echo "eval: below a floor"
    fi
    cat "$tmp/eval.out"
}

fuzz_smoke() {
    echo "== fuzz smoke (each libFuzzer target, FUZZ_SMOKE_SECONDS over its seed corpus)"
    # One test per target: `make fuzz` is the long run.
    local line
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
}

case "$mode" in
all)
    lint_spec
    lint_c
    unit
    prepare_db && integration
    eval_floors
    fuzz_smoke
    ;;
unit)
    unit
    ;;
suite)
    prepare_db && integration "$suite"
    ;;
esac

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
