# libauthd-client: static and shared library, pkg-config file, example, benchmark and tests.
#   make build/libauthd-client.a build/libauthd-client.so    the libraries
#   make clientlib                                           everything below
#   make install-client PREFIX=/usr/local DESTDIR=           header, libraries, .pc
# The library holds the authd core it needs (core/jose, core/loa, util) and exports only
# authd_* symbols: the static archive is one relocatable object whose other globals are
# localised (objcopy), the shared one uses a version script.

CLIENTLIB_VERSION := 0.1.0
CLIENTLIB_SOMAJOR := 0
CLIENTLIB_SRC  := $(filter-out clients/lib/example.c clients/lib/bench.c,$(wildcard clients/lib/*.c))
CLIENTLIB_CORE := authd/src/core/jose.c authd/src/core/dpop.c authd/src/core/loa.c authd/src/util/arena.c \
                  authd/src/util/span.c authd/src/util/rc.c authd/src/util/num.c
CLIENTLIB_PKGS := libcurl jansson libcrypto cjose
CLIENTLIB_LIBS := $(shell pkg-config --libs $(CLIENTLIB_PKGS) 2>/dev/null) -lpthread -lm
CLIENTLIB_A    := $(BUILD)/libauthd-client.a
CLIENTLIB_SONAME := libauthd-client.so.$(CLIENTLIB_SOMAJOR)
CLIENTLIB_SO   := $(BUILD)/libauthd-client.so
CLIENTLIB_PC   := $(BUILD)/authd-client.pc
CLIENTLIB_OBJ  := $(call obj,$(CLIENTLIB_SRC))
CLIENTLIB_PIC  := $(patsubst %.c,$(BUILD)/pic/%.o,$(CLIENTLIB_SRC) $(CLIENTLIB_CORE))
CLIENTLIB_TEST_SRC := $(wildcard clients/lib/tests/test_*.c) tests/harness/main.c
CLIENTLIB_BINS := $(BUILD)/clientlib/unit_tests $(BUILD)/clientlib/authd-client-check \
                  $(BUILD)/clientlib/mint-token $(BUILD)/clientlib/example \
                  $(BUILD)/clientlib/bench-validate

.PHONY: clientlib install-client uninstall-client
all: clientlib
# what the tests run (make asan builds these, not the shared library)
TEST_BINS += $(CLIENTLIB_A) $(CLIENTLIB_BINS)
clientlib: $(CLIENTLIB_A) $(CLIENTLIB_SO) $(CLIENTLIB_PC) $(CLIENTLIB_BINS)

$(BUILD)/pic/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(filter-out -fPIE,$(ALL_CFLAGS)) -fPIC -c -o $@ $<

$(BUILD)/clientlib/libauthd-client.o: $(CLIENTLIB_OBJ) $(call obj,$(CLIENTLIB_CORE))
	@mkdir -p $(dir $@)
	$(CC) -r -nostdlib -o $@.tmp $^
	objcopy -w --keep-global-symbol='authd_*' $@.tmp $@
	rm -f $@.tmp

$(CLIENTLIB_A): $(BUILD)/clientlib/libauthd-client.o
	rm -f $@ && ar rcs $@ $^

# The version script exports authd_* only; the core inside stays private.
$(CLIENTLIB_SO).$(CLIENTLIB_VERSION): $(CLIENTLIB_PIC) clients/lib/libauthd-client.map
	$(CC) -shared -Wl,-soname,$(CLIENTLIB_SONAME) -Wl,-z,relro,-z,now -Wl,--no-undefined \
	    -Wl,--version-script=clients/lib/libauthd-client.map -o $@ $(CLIENTLIB_PIC) $(CLIENTLIB_LIBS)
$(CLIENTLIB_SO): $(CLIENTLIB_SO).$(CLIENTLIB_VERSION)
	ln -sf $(notdir $<) $(BUILD)/$(CLIENTLIB_SONAME)
	ln -sf $(notdir $<) $@

$(CLIENTLIB_PC): clients/lib/authd-client.pc.in clients/lib/module.mk
	sed -e 's|@PREFIX@|$(PREFIX)|g' -e 's|@VERSION@|$(CLIENTLIB_VERSION)|g' \
	    -e 's|@LIBS_PRIVATE@|$(CLIENTLIB_LIBS)|g' $< > $@

# Unit tests see the library's internals, so they link its objects and libauthd.a.
$(BUILD)/clientlib/unit_tests: $(call obj,$(CLIENTLIB_TEST_SRC)) $(CLIENTLIB_OBJ) $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

# Test tools: a line-driven validator for the integration test, and a token minter that
# signs with the daemon's own key files (port/keys.h) until /token is in main.
$(BUILD)/clientlib/authd-client-check: $(BUILD)/obj/clients/lib/tests/check.o $(CLIENTLIB_A)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(CLIENTLIB_LIBS)
$(BUILD)/clientlib/mint-token: $(BUILD)/obj/clients/lib/tests/mint.o $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

# What a relying module does: the installed header and the library, nothing of authd's.
$(BUILD)/clientlib/example: $(BUILD)/obj/clients/lib/example.o $(CLIENTLIB_A)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(CLIENTLIB_LIBS)

$(BUILD)/clientlib/bench-validate: $(BUILD)/obj/clients/lib/bench.o $(CLIENTLIB_OBJ) $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

install-client: $(CLIENTLIB_A) $(CLIENTLIB_SO) $(CLIENTLIB_PC)
	install -d $(DESTDIR)$(PREFIX)/include $(DESTDIR)$(PREFIX)/lib/pkgconfig
	install -m 0644 clients/lib/authd_client.h $(DESTDIR)$(PREFIX)/include/
	install -m 0644 $(CLIENTLIB_A) $(DESTDIR)$(PREFIX)/lib/
	install -m 0755 $(CLIENTLIB_SO).$(CLIENTLIB_VERSION) $(DESTDIR)$(PREFIX)/lib/
	ln -sf libauthd-client.so.$(CLIENTLIB_VERSION) $(DESTDIR)$(PREFIX)/lib/$(CLIENTLIB_SONAME)
	ln -sf libauthd-client.so.$(CLIENTLIB_VERSION) $(DESTDIR)$(PREFIX)/lib/libauthd-client.so
	install -m 0644 $(CLIENTLIB_PC) $(DESTDIR)$(PREFIX)/lib/pkgconfig/

uninstall-client:
	rm -f $(DESTDIR)$(PREFIX)/include/authd_client.h $(DESTDIR)$(PREFIX)/lib/libauthd-client.* \
	    $(DESTDIR)$(PREFIX)/lib/pkgconfig/authd-client.pc
