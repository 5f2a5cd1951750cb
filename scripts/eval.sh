#!/bin/bash
# `make eval`: loads the relevance evaluation set (tests/eval) into a
# throwaway cluster and prints medqa's precision@4, nDCG@4, draft hit@3 and
# search MRR next to a plain ts_rank baseline: on the set's first version,
# on the whole set, and on the whole set posted after EVAL_DISTRACTORS
# (100000) synthetic questions, there scored with and without a refresh of
# the term statistics. Extra arguments go to eval.mjs (for example
# --assert with the EVAL_MIN_* floors).
set -uo pipefail
cd "$(dirname "$0")/.."
tmp=$(mktemp -d /tmp/medqa-eval.XXXXXX)
chmod 755 "$tmp"
port=$((20000 + RANDOM % 20000))
trap 'scripts/pg.sh stop "$tmp/pg" >/dev/null 2>&1; rm -rf "$tmp"' EXIT INT TERM
scripts/pg.sh start "$tmp/pg" "$port" &&
    scripts/pg.sh createdb "$tmp/pg" "$port" medqa_template &&
    DATABASE_URL=$(scripts/pg.sh url "$tmp/pg" "$port" medqa_template) \
        "${MEDQA_BIN:-build/medqa}" migrate 2>/dev/null || exit 1
MEDQA_BIN=${MEDQA_BIN:-$PWD/build/medqa} MEDQA_PG_SOCK=$tmp/pg/sock \
    MEDQA_PG_PORT=$port MEDQA_TMP=$tmp EVAL_DISTRACTORS=${EVAL_DISTRACTORS:-100000} \
    node tests/eval/eval.mjs --freshness "$@"
