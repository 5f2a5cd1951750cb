#!/bin/bash
# Runs every libFuzzer target in build/fuzz for SECONDS each (default 600),
# starting from its committed seed corpus tests/fuzz/corpus/<target>.
# New inputs go to build/fuzz/work/<target> (not committed); a crash leaves
# its input in build/fuzz/crashes/ and fails the run. One line per target:
#   fuzz_x: ok, N executions in S s (corpus C inputs)
# `scripts/fuzz.sh --smoke SECONDS` is the short run of `make test`: the
# same, but from the seed corpus only, so it is repeatable.
set -uo pipefail
cd "$(dirname "$0")/.."

smoke=0
if [ "${1:-}" = "--smoke" ]; then smoke=1; shift; fi
secs=${1:-600}
mkdir -p build/fuzz/crashes build/fuzz/logs
failed=0
for bin in build/fuzz/fuzz_*; do
    [ -x "$bin" ] || continue
    t=$(basename "$bin")
    seeds=tests/fuzz/corpus/$t
    mkdir -p "$seeds"
    if [ "$smoke" -eq 1 ]; then
        work=$(mktemp -d)
    else
        work=build/fuzz/work/$t
        mkdir -p "$work"
    fi
    log=build/fuzz/logs/$t.log
    # -timeout: a unit of these pure functions takes milliseconds; 30 s
    # only catches real hangs, not a busy machine (seen: 13 s in ASan's
    # free() on a loaded host, 0.4 s when run again alone).
    ASAN_OPTIONS=detect_leaks=1:halt_on_error=1 \
    UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
        "$bin" -max_total_time="$secs" -print_final_stats=1 -timeout=30 \
        -rss_limit_mb=2048 -max_len=8192 \
        -artifact_prefix=build/fuzz/crashes/"$t"- "$work" "$seeds" \
        >"$log" 2>&1
    rc=$?
    execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" |
        grep -o '[0-9]*$' | tail -n 1)
    ninputs=$(find "$work" -type f | wc -l)
    [ "$smoke" -eq 1 ] && rm -rf "$work"
    if [ "$rc" -eq 0 ]; then
        echo "$t: ok, ${execs:-?} executions in $secs s (corpus $ninputs new inputs)"
    else
        echo "$t: FAILED (exit $rc) after ${execs:-?} executions; see $log"
        grep -E 'ERROR|runtime error|SUMMARY|Test unit written' "$log" | head -n 8
        failed=$((failed + 1))
    fi
done
[ "$failed" -eq 0 ]
