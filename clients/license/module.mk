# authd-license: the electronic-license service (clients/license/license.c), on
# libauthd-client and the modules' shared plumbing (clients/svc).
LICENSE_BIN  := $(BUILD)/authd-license
LICENSE_OBJ  := $(call obj,clients/license/license.c clients/svc/svc.c)
MODULE_LIBS  := $(shell pkg-config --libs libmicrohttpd libcurl jansson cjose libcrypto 2>/dev/null) \
                -lpthread -lm
all: $(LICENSE_BIN)
TEST_BINS += $(LICENSE_BIN)
$(LICENSE_BIN): $(LICENSE_OBJ) $(CLIENTLIB_A)
	$(CC) $(LDFLAGS) -o $@ $^ $(MODULE_LIBS)
