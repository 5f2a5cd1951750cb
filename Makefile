# medqa — `make run` to start it, `make test` to test it.
# Everything a fresh Debian machine lacks is installed by `make deps`.

SHELL    := /bin/bash
PORT     ?= 8080
PGPORT   ?= 5433
VERSION  := $(shell git describe --always --dirty 2>/dev/null || echo dev)

PKGS     := libmicrohttpd jansson libpq uuid yaml-0.1 zlib libcrypto libpcre2-8 \
            libcurl \
            libxml-2.0
CC       ?= cc
WARN     := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes \
            -Wmissing-prototypes -Wpointer-arith -Wcast-qual
BASE_CFLAGS = -std=c17 -D_GNU_SOURCE $(WARN) -Iinclude \
            -DMEDQA_VERSION='"$(VERSION)"' \
            $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
LDLIBS   = $(shell pkg-config --libs $(PKGS) 2>/dev/null) -lpthread -lm

REL_CFLAGS  = $(BASE_CFLAGS) -O2 -g
ASAN_FLAGS  = -fsanitize=address,undefined -fno-sanitize-recover=all \
              -fno-omit-frame-pointer
ASAN_CFLAGS = $(BASE_CFLAGS) -O1 -g $(ASAN_FLAGS)

LIB_SRCS := $(sort $(wildcard internal/*/*.c))
MAIN_SRC := cmd/medqa/main.c
GEN_SRC  := build/gen/assets.c build/gen/docs_assets.c build/gen/seed_assets.c
NPM_STAMP := node_modules/.package-lock.json
MIGRATIONS := $(sort $(wildcard migrations/*.sql))
SQL_FILES  := $(sort $(wildcard sql/*.sql))
HDRS     := $(wildcard include/medqa/*.h internal/*/*.h)
UNIT_SRCS := $(sort $(wildcard tests/unit/test_*.c))

REL_OBJS  := $(patsubst %.c,build/obj/%.o,$(LIB_SRCS) $(GEN_SRC))
ASAN_OBJS := $(patsubst %.c,build/asan/obj/%.o,$(LIB_SRCS) $(GEN_SRC))
UNIT_BINS := $(patsubst tests/unit/%.c,build/asan/tests/%,$(UNIT_SRCS))

.PHONY: all deps run test stop clean format lint asan unit eval npm lint-spec
.DEFAULT_GOAL := all

all: deps build/medqa

deps:
	@scripts/deps.sh

build/gen/assets.c: openapi/openapi.yaml internal/seed/demo.json $(MIGRATIONS) \
                    $(SQL_FILES) scripts/embed.sh
	@mkdir -p $(@D)
	$(Q)scripts/embed.sh $@ openapi/openapi.yaml internal/seed/demo.json \
	  $(MIGRATIONS) -- $(SQL_FILES)

# The synthetic generator's vocabulary (internal/seed/vocab.c parses it).
build/gen/seed_assets.c: internal/seed/vocabulary.json scripts/embed.sh
	@mkdir -p $(@D)
	$(Q)scripts/embed.sh --named $@ vocabulary_json=internal/seed/vocabulary.json

# The /docs page and its scripts; Redoc's standalone bundle comes from npm,
# with its side menu's logo (always fetched from Redocly's CDN, which our
# CSP refuses, and no option turns it off) pointed at an empty data: URL:
# the image fails, and Redoc's own onError handler removes it.
REDOC_NPM := node_modules/redoc/bundles/redoc.standalone.js
REDOC_JS := build/gen/redoc.standalone.js
$(REDOC_JS): $(NPM_STAMP)
	@mkdir -p $(@D)
	$(Q)sed 's|"https://cdn.redoc.ly/redoc/logo-mini.svg"|"data:,"|' $(REDOC_NPM) >$@.tmp
	$(Q)grep -q '"data:,"' $@.tmp && mv $@.tmp $@
build/gen/docs_assets.c: internal/assets/docs.html internal/assets/docs-init.js \
                         $(REDOC_JS) scripts/embed.sh
	@mkdir -p $(@D)
	$(Q)scripts/embed.sh --named $@ docs_html=internal/assets/docs.html \
	  docs_init_js=internal/assets/docs-init.js redoc_js=$(REDOC_JS)

# node_modules (linter, Redoc, browser driver, contract validator) exactly
# as package-lock.json says; again whenever package*.json change.
npm: $(NPM_STAMP)
$(NPM_STAMP): package.json package-lock.json
	@echo "  NPM     ci"
	$(Q)npm ci --no-audit --no-fund --loglevel=error
	@touch $@

# The spec against the ruleset in redocly.yaml (Redocly CLI, from npm).
REDOCLY := REDOCLY_TELEMETRY=off REDOCLY_SUPPRESS_UPDATE_NOTICE=true \
           node_modules/.bin/redocly
lint-spec: $(NPM_STAMP)
	@$(REDOCLY) lint openapi/openapi.yaml --config redocly.yaml

# V=1 shows the full compiler command lines.
Q := $(if $(V),,@)

build/obj/%.o: %.c $(HDRS)
	@mkdir -p $(@D)
	@$(if $(V),,echo "  CC      $<")
	$(Q)$(CC) $(REL_CFLAGS) -c $< -o $@

build/asan/obj/%.o: %.c $(HDRS)
	@mkdir -p $(@D)
	@$(if $(V),,echo "  CC asan $<")
	$(Q)$(CC) $(ASAN_CFLAGS) -c $< -o $@

build/medqa: $(REL_OBJS) build/obj/$(MAIN_SRC:.c=.o)
	@$(if $(V),,echo "  LD      $@")
	$(Q)$(CC) $(REL_CFLAGS) $^ -o $@ $(LDLIBS)

build/asan/medqa: $(ASAN_OBJS) build/asan/obj/$(MAIN_SRC:.c=.o)
	@$(if $(V),,echo "  LD      $@")
	$(Q)$(CC) $(ASAN_CFLAGS) $^ -o $@ $(LDLIBS)

build/asan/tests/%: tests/unit/%.c $(ASAN_OBJS) $(HDRS)
	@mkdir -p $(@D)
	@$(if $(V),,echo "  LD      $@")
	$(Q)$(CC) $(ASAN_CFLAGS) -Itests/unit $< $(ASAN_OBJS) -o $@ $(LDLIBS) -lcmocka

asan: deps build/asan/medqa $(UNIT_BINS)

# Starts a local cluster under var/pg when DATABASE_URL is unset, migrates,
# loads the demo data and serves in the foreground. Ctrl-C stops medqa;
# `make stop` stops the cluster.
run: all
	@PORT=$(PORT) PGPORT=$(PGPORT) scripts/run.sh

# The whole suite on a throwaway cluster: spec lint, `make lint`, unit
# tests, integration tests against the ASan+UBSan binary, relevance floors,
# fuzz smoke. Ends with "N passed, N failed".
# `make test T=questions`: only tests/integration/questions.test.mjs, with
# what it needs (the ASan binary, a throwaway cluster, the migrated
# template, the environment); no lint, unit, eval or fuzz.
ifdef T
test: deps build/asan/medqa
	@scripts/test.sh suite '$(T)'
else
test: asan fuzz-bins
	@scripts/test.sh
endif

# The unit tests (tests/unit, cmocka) under ASan+UBSan, nothing else. Ends
# with "N passed, N failed".
unit: deps $(UNIT_BINS)
	@scripts/test.sh unit

# Relevance figures of /related and search on tests/eval, beside a plain
# ts_rank baseline: alone, and posted after EVAL_DISTRACTORS (100000)
# synthetic questions.
eval: all
	@scripts/eval.sh

# Throughput, latency and CPU per request of each endpoint beside its
# ceilings (pgbench on the same SQL, a static libmicrohttpd server); see
# scripts/bench.sh for the settings (BENCH_N=1000000 for the run at scale).
.PHONY: bench
bench: build/medqa
	@scripts/bench.sh

# A database built by an earlier main (UPGRADE_FROM, default 4c54c03: its
# migrations, demo data, a synthetic load) upgraded by this tree: every
# table's rows and the responses to a fixed set of requests stay the same;
# when this tree declares a new ranking (the checksums of sql/related.sql,
# terms.sql, vocabulary.sql differ), what the ranking derives is compared
# with a copy rebuilt from the content instead (scripts/upgrade-test.sh).
.PHONY: upgrade-test
upgrade-test:
	@scripts/upgrade-test.sh

# docker/compose.yaml's topology from processes on loopback: PostgreSQL
# primary and streaming replica, PgBouncer (transaction pooling), two medqa
# and nginx; a read/write load that loses one medqa half-way (SIGKILL), and
# a report of failed requests and reads served by the replica. Ports 187xx
# (SCALE_PORT_BASE); see scripts/scale.sh for the other settings.
.PHONY: scale-test
scale-test: all
	@scripts/scale.sh

# docker/ha/compose.yaml's topology from processes on loopback: etcd, two
# PostgreSQL under Patroni (synchronous replication), two medqa following
# the primary, nginx; a read/write load through a kill -9 of the primary,
# a switchover and the loss of the primary's node (its return by
# pg_rewind), and a report per scenario. Ports 188xx, data under
# var/failover; see scripts/failover.sh.
.PHONY: failover-test
failover-test: all
	@scripts/failover.sh

# libFuzzer targets (tests/fuzz/fuzz_*.c) over the library built with
# clang, ASan and UBSan. `make fuzz` runs each for FUZZ_SECONDS from its
# seed corpus in tests/fuzz/corpus/<target>; `make test` runs each briefly.
.PHONY: fuzz fuzz-bins
FUZZ_SECONDS ?= 600
FUZZ_CC     := clang
# -Wno-error: warnings are the gcc build's job (-Werror there); a warning
# only clang has must not stop the fuzz build, nor with it `make test`.
FUZZ_CFLAGS  = $(BASE_CFLAGS) -O1 -g -fno-omit-frame-pointer \
               -fsanitize=fuzzer-no-link,address,undefined \
               -fno-sanitize-recover=all -Wno-error
FUZZ_OBJS   := $(patsubst %.c,build/fuzz/obj/%.o,$(LIB_SRCS) $(GEN_SRC))
FUZZ_BINS   := $(patsubst tests/fuzz/%.c,build/fuzz/%,\
                 $(sort $(wildcard tests/fuzz/fuzz_*.c)))

build/fuzz/obj/%.o: %.c $(HDRS)
	@mkdir -p $(@D)
	@$(if $(V),,echo "  CC fuzz $<")
	$(Q)$(FUZZ_CC) $(FUZZ_CFLAGS) -c $< -o $@

build/fuzz/fuzz_%: tests/fuzz/fuzz_%.c tests/fuzz/fuzz_common.h $(FUZZ_OBJS) $(HDRS)
	@$(if $(V),,echo "  LD fuzz $@")
	$(Q)$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer $< $(FUZZ_OBJS) -o $@ $(LDLIBS)

# Reached only through the pattern rule above: keep them between builds.
.SECONDARY: $(FUZZ_OBJS)

fuzz-bins: deps $(FUZZ_BINS)

fuzz: fuzz-bins
	@scripts/fuzz.sh $(FUZZ_SECONDS)

stop:
	@scripts/pg.sh stop var/pg

clean:
	rm -rf build

# Every C file of ours (bench/'s stand-in server aside) in .clang-format's
# layout; `make lint` checks it, with cppcheck (a false positive is silenced
# where it stands: `// cppcheck-suppress <id>` and why).
FORMAT_SRCS = $(LIB_SRCS) $(MAIN_SRC) $(HDRS) $(UNIT_SRCS) \
              $(wildcard tests/unit/*.h tests/fuzz/*.c tests/fuzz/*.h)
CHECK_SRCS  = $(LIB_SRCS) $(MAIN_SRC) $(UNIT_SRCS) $(wildcard tests/fuzz/*.c)

format:
	clang-format -i $(FORMAT_SRCS)

lint:
	@echo "  LINT    clang-format --dry-run ($(words $(FORMAT_SRCS)) files)"
	$(Q)clang-format --dry-run -Werror $(FORMAT_SRCS)
	@echo "  LINT    cppcheck ($(words $(CHECK_SRCS)) files)"
	$(Q)cppcheck --quiet --error-exitcode=1 \
	  --enable=warning,performance,portability \
	  --inline-suppr --suppress=missingIncludeSystem -Iinclude -Itests/unit \
	  $(CHECK_SRCS)
	@echo "  LINT    sql/vocabulary.sql is current (scripts/vocabulary.mjs)"
	$(Q)node scripts/vocabulary.mjs --check

# sql/vocabulary.sql from data/vocabulary/*.tsv (needs PostgreSQL's server
# binaries, as make test does); `make vocabulary-wordnet` regrows
# data/vocabulary/wordnet.tsv from WordNet 3.0 first (Debian's
# wordnet-base, installed here if missing).
.PHONY: vocabulary vocabulary-wordnet
vocabulary:
	@node scripts/vocabulary.mjs
vocabulary-wordnet:
	@test -f /usr/share/wordnet/data.noun || apt-get install -y wordnet-base
	@node scripts/vocabulary.mjs --wordnet

# SOAK_MINUTES (10) of mixed load (reads, writes, 4xx, slow clients)
# against build/medqa, sampling RSS, fds, database connections and status
# classes; fails on RSS growth of 5 % or more or on any 5xx. Report in
# var/soak/report.md; settings in scripts/soak.sh.
.PHONY: soak soak-leak
soak: build/medqa
	@scripts/soak.sh

# The same load for SOAK_MINUTES=1 against medqa under valgrind memcheck
# (SOAK_LEAK=asan: the ASan+LSan build instead); fails on a definite or
# indirect leak.
soak-leak: build/medqa
	@SOAK_LEAK=$${SOAK_LEAK:-valgrind} SOAK_MINUTES=$${SOAK_MINUTES:-1} scripts/soak.sh
