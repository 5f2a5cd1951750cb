# medqa — `make run` to start it, `make test` to test it.
# Everything a fresh Debian machine lacks is installed by `make deps`.

SHELL    := /bin/bash
PORT     ?= 8080
PGPORT   ?= 5433
VERSION  := $(shell git describe --always --dirty 2>/dev/null || echo dev)

PKGS     := libmicrohttpd jansson libpq uuid yaml-0.1 zlib libcrypto libpcre2-8
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
GEN_SRC  := build/gen/assets.c
MIGRATIONS := $(sort $(wildcard migrations/*.sql))
HDRS     := $(wildcard include/medqa/*.h internal/*/*.h)
UNIT_SRCS := $(sort $(wildcard tests/unit/test_*.c))

REL_OBJS  := $(patsubst %.c,build/obj/%.o,$(LIB_SRCS) $(GEN_SRC))
ASAN_OBJS := $(patsubst %.c,build/asan/obj/%.o,$(LIB_SRCS) $(GEN_SRC))
UNIT_BINS := $(patsubst tests/unit/%.c,build/asan/tests/%,$(UNIT_SRCS))

.PHONY: all deps run test stop clean format lint asan unit
.DEFAULT_GOAL := all

all: deps build/medqa

deps:
	@scripts/deps.sh

$(GEN_SRC): openapi/openapi.yaml internal/seed/demo.json $(MIGRATIONS) scripts/embed.sh
	@mkdir -p $(@D)
	$(Q)scripts/embed.sh $@ openapi/openapi.yaml internal/seed/demo.json $(MIGRATIONS)

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

# The whole suite on a throwaway cluster: unit tests, then integration tests
# against the ASan+UBSan binary. Ends with "N passed, N failed".
test: asan
	@scripts/test.sh

stop:
	@scripts/pg.sh stop var/pg

clean:
	rm -rf build

format:
	clang-format -i $(LIB_SRCS) $(MAIN_SRC) $(HDRS) $(UNIT_SRCS)

lint:
	clang-format --dry-run -Werror $(LIB_SRCS) $(MAIN_SRC) $(HDRS) $(UNIT_SRCS)
	cppcheck --quiet --error-exitcode=1 --enable=warning,performance,portability \
	  --inline-suppr --suppress=missingIncludeSystem -Iinclude \
	  $(LIB_SRCS) $(MAIN_SRC)
