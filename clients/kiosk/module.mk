# authd-kiosk: the kiosk agent (clients/kiosk, docs/kiosk.md "The kiosk agent"): card login
# through a reader port (PC/SC via pcscd, a card-data file, a vendor SDK shim) and the QR
# hand-over. HTTP through libauthd-client's fetch (its objects, as bench-validate links
# them), the QR through authd's core/qr.c (libauthd.a).
KIOSK_BIN  := $(BUILD)/authd-kiosk
KIOSK_SRC  := $(wildcard clients/kiosk/*.c)
KIOSK_OBJ  := $(call obj,$(KIOSK_SRC))
KIOSK_LIBS := $(shell pkg-config --libs libpcsclite 2>/dev/null) -ldl
all: $(KIOSK_BIN)
TEST_BINS += $(KIOSK_BIN)
$(KIOSK_OBJ): CPPFLAGS += $(shell pkg-config --cflags libpcsclite 2>/dev/null) -Iclients/kiosk
# clients/lib/module.mk is read after this file: its objects are named at second expansion.
.SECONDEXPANSION:
$(KIOSK_BIN): $(KIOSK_OBJ) $$(CLIENTLIB_OBJ) $(LIB)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS) $(KIOSK_LIBS)
