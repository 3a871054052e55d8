# authd-hotline: the 12345 hotline console for agents (clients/hotline, docs/hotline.md "The
# console"): the agent's login (code + PKCE, loopback redirect through libmicrohttpd), the
# masked lookup, the caller's consent (CIBA poll mode), acting for the caller (token exchange
# to the workflow and license services). HTTP through libcurl and libauthd-client's objects
# (as the kiosk agent links them), base64url through authd's core/jose (libauthd.a).
HOTLINE_BIN  := $(BUILD)/authd-hotline
HOTLINE_SRC  := $(wildcard clients/hotline/*.c)
HOTLINE_OBJ  := $(call obj,$(HOTLINE_SRC))
all: $(HOTLINE_BIN)
TEST_BINS += $(HOTLINE_BIN)
# clients/lib/module.mk is read after this file: its objects are named at second expansion.
.SECONDEXPANSION:
$(HOTLINE_BIN): $(HOTLINE_OBJ) $$(CLIENTLIB_OBJ) $(LIB)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)
