# authd-workflow: the application service (clients/workflow/workflow.c), on
# libauthd-client and the modules' shared plumbing (clients/svc).
WORKFLOW_BIN := $(BUILD)/authd-workflow
WORKFLOW_OBJ := $(call obj,clients/workflow/workflow.c clients/svc/svc.c)
all: $(WORKFLOW_BIN)
TEST_BINS += $(WORKFLOW_BIN)
$(WORKFLOW_BIN): $(WORKFLOW_OBJ) $(CLIENTLIB_A)
	$(CC) $(LDFLAGS) -o $@ $^ $(shell pkg-config --libs libmicrohttpd libcurl jansson cjose \
	    libcrypto 2>/dev/null) -lpthread -lm

# make demo: authd, the license and workflow services, one citizen's journey (scripts/demo).
demo: all
	@scripts/demo
