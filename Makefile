# authd: one non-recursive Makefile. Sources are found by wildcard, so adding a file to a
# folder needs no edit here; folders with special needs add a module.mk.
#   make            build build/authd, build/authctl and the test binaries
#   make run        dev-setup, then run authd in the foreground on PORT (default 8080)
#   make test       the whole suite; ends with `N passed, N failed`
#   make asan       unit + contract tests under AddressSanitizer + UBSan
#   make fuzz       every libFuzzer target for FUZZ_SECONDS (default 30) each
#   make bench      benchmarks (scripts/bench); QUICK=1 for the short run
#   make install    PREFIX=/usr/local DESTDIR=

BUILD    ?= build
PREFIX   ?= /usr/local
PORT     ?= 8080
STATE_DIR ?= ./state
PKGS     := openssl cjose libcurl hiredis libmicrohttpd jansson libargon2 icu-uc liboath \
            libqrencode
VERSION  := $(shell git describe --always --dirty 2>/dev/null || echo 0.1.0)

PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null)

CC       ?= cc
CFLAGS   ?= -O2 -g
WARN     := -std=c11 -Wall -Wextra -Werror -Wshadow -Wformat=2 -Wstrict-prototypes \
            -Wno-missing-field-initializers
CPPFLAGS += -D_DEFAULT_SOURCE -D_GNU_SOURCE -include $(BUILD)/gen/version.h \
            -Iauthd/src -Itests/harness -Iclients/lib
HARDEN   := -fstack-protector-strong -D_FORTIFY_SOURCE=2 -fPIE
ALL_CFLAGS = $(WARN) $(CFLAGS) $(HARDEN) -MMD -MP $(PKG_CFLAGS)
LDFLAGS  += -pie -Wl,-z,relro,-z,now
LDLIBS   += $(PKG_LIBS) -lpthread -lm

LIB_DIRS    := util core port flow adapt compose http conf log
LIB_SRC     := $(foreach d,$(LIB_DIRS),$(wildcard authd/src/$(d)/*.c))
AUTHD_SRC   := authd/src/main.c
AUTHCTL_SRC := $(wildcard authd/src/authctl/*.c)
UNIT_SRC    := $(shell find tests/unit -name 'test_*.c' 2>/dev/null | sort) tests/harness/main.c
CONTRACT_SRC := $(wildcard tests/contract/*.c) tests/harness/main.c
FUZZ_SRC    := $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_NAMES  := $(patsubst tests/fuzz/fuzz_%.c,%,$(FUZZ_SRC))

obj = $(patsubst %.c,$(BUILD)/obj/%.o,$(1))

# The version, rewritten only when it changes (so objects rebuild exactly then).
$(shell mkdir -p $(BUILD)/gen; v='#define AUTHD_VERSION "$(VERSION)"'; \
    [ "$$(cat $(BUILD)/gen/version.h 2>/dev/null)" = "$$v" ] || echo "$$v" > $(BUILD)/gen/version.h)

# Pages and strings are compiled into the daemon (scripts/embed-templates).
TMPL_C   := $(BUILD)/gen/templates.c
TMPL_OBJ := $(BUILD)/gen/templates.o
$(TMPL_C): $(wildcard authd/templates/*) scripts/embed-templates
	@mkdir -p $(dir $@)
	scripts/embed-templates $@ authd/templates
$(TMPL_OBJ): $(TMPL_C)
	$(CC) $(CPPFLAGS) $(ALL_CFLAGS) -c -o $@ $<

LIB      := $(BUILD)/libauthd.a
AUTHD    := $(BUILD)/authd
AUTHCTL  := $(BUILD)/authctl
UNIT     := $(BUILD)/unit_tests
CONTRACT := $(BUILD)/contract_tests
REPLAYS  := $(patsubst %,$(BUILD)/fuzz_replay_%,$(FUZZ_NAMES))

.DEFAULT_GOAL := all
.PHONY: all deps dev-setup run test asan fuzz bench install uninstall clean format demo
all: $(AUTHD) $(AUTHCTL) $(UNIT) $(CONTRACT) $(REPLAYS)

-include $(wildcard */module.mk clients/*/module.mk)

# Everything tests/run executes; module.mk files add theirs to TEST_BINS.
.PHONY: test-bins
test-bins: $(AUTHD) $(AUTHCTL) $(UNIT) $(CONTRACT) $(REPLAYS) $(TEST_BINS)

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(ALL_CFLAGS) -c -o $@ $<

$(LIB): $(call obj,$(LIB_SRC)) $(TMPL_OBJ)
	@mkdir -p $(dir $@)
	rm -f $@ && ar rcs $@ $^

# whole-archive: routes register themselves from constructors nothing else references
$(AUTHD): $(call obj,$(AUTHD_SRC)) $(LIB)
	$(CC) $(LDFLAGS) -o $@ $(call obj,$(AUTHD_SRC)) -Wl,--whole-archive $(LIB) \
	    -Wl,--no-whole-archive $(LDLIBS)

$(AUTHCTL): $(call obj,$(AUTHCTL_SRC)) $(LIB)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(UNIT): $(call obj,$(UNIT_SRC)) $(LIB)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(CONTRACT): $(call obj,$(CONTRACT_SRC)) $(LIB)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

# Corpus replay: each fuzz target linked with a plain driver, run by `make test`.
$(BUILD)/fuzz_replay_%: $(BUILD)/obj/tests/fuzz/fuzz_%.o $(BUILD)/obj/tests/fuzz/replay.o $(LIB)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

deps:
	@scripts/install-deps

dev-setup: deps
	@$(MAKE) --no-print-directory all
	@scripts/dev-setup --port $(PORT) --state-dir $(STATE_DIR)

run: dev-setup
	@scripts/run-dev --state-dir $(STATE_DIR)

test: deps
	@$(MAKE) --no-print-directory all
	@tests/run

# Sanitizer build: everything under build/asan, then the unit and contract tests.
asan: deps
	@$(MAKE) --no-print-directory $(CLIENTLIB_SO)
	@$(MAKE) --no-print-directory BUILD=$(BUILD)/asan CC=clang \
	    CFLAGS='-O1 -g -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer' \
	    LDFLAGS='-fsanitize=address,undefined' HARDEN='' \
	    test-bins
	@BUILD=$(BUILD)/asan tests/run --asan

FUZZ_SECONDS ?= 30
fuzz: deps
	@$(MAKE) --no-print-directory BUILD=$(BUILD)/fuzz CC=clang \
	    CFLAGS='-O1 -g -fsanitize=fuzzer-no-link,address,undefined -fno-omit-frame-pointer' \
	    HARDEN='' $(BUILD)/fuzz/libauthd.a $(patsubst %,$(BUILD)/fuzz/obj/tests/fuzz/fuzz_%.o,$(FUZZ_NAMES))
	@for n in $(FUZZ_NAMES); do \
	    clang -fsanitize=fuzzer,address,undefined -o $(BUILD)/fuzz/fuzz_$$n \
	        $(BUILD)/fuzz/obj/tests/fuzz/fuzz_$$n.o $(BUILD)/fuzz/libauthd.a $(LDLIBS) || exit 1; \
	done
	@scripts/run-fuzz $(BUILD)/fuzz $(FUZZ_SECONDS) $(FUZZ_NAMES)

bench: deps all
	@scripts/bench/run $(if $(QUICK),--quick)

install: $(AUTHD) $(AUTHCTL) install-client
	install -d $(DESTDIR)$(PREFIX)/sbin $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/etc/authd \
	    $(DESTDIR)$(PREFIX)/share/authd
	install -m 0755 $(AUTHD) $(DESTDIR)$(PREFIX)/sbin/authd
	install -m 0755 $(AUTHCTL) $(DESTDIR)$(PREFIX)/bin/authctl
	cp -r authd/data/gbt2260 $(DESTDIR)$(PREFIX)/share/authd/
	@for f in docs/examples/authd.conf; do \
	    [ -e $(DESTDIR)$(PREFIX)/etc/authd/$$(basename $$f) ] || \
	        install -m 0644 $$f $(DESTDIR)$(PREFIX)/etc/authd/; done

uninstall: uninstall-client
	rm -f $(DESTDIR)$(PREFIX)/sbin/authd $(DESTDIR)$(PREFIX)/bin/authctl
	rm -rf $(DESTDIR)$(PREFIX)/share/authd

clean:
	rm -rf $(BUILD)

format:
	clang-format -i $$(git ls-files '*.c' '*.h')

# make demo-federation: an anchor and two provinces on loopback; a citizen of 11 signs in
# to a client of 31 by brokered login (scripts/demo-federation, docs/federation.md).
.PHONY: demo-federation
demo-federation: all
	@scripts/demo-federation

-include $(shell find $(BUILD)/obj -name '*.d' 2>/dev/null)
