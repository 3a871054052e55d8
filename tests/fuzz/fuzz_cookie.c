/* libFuzzer target: a session cookie value as the browser sends it, through the shape
 * check (session_cookie_valid) and session_load against an empty memory store (the HMAC
 * tag, the store key, the miss). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "adapt/secrets_file.h"
#include "compose/compose.h"
#include "flow/session.h"
#include "port/store.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct app app;

static void
setup(void)
{
    static char dir[] = "/tmp/authd-fuzz-cookie-XXXXXX";
    char path[64];

    app.clock = &clock_system;
    app.rng = &rng_system;
    pthread_mutex_init(&app.policy_mu, NULL);
    if (!mkdtemp(dir) || (size_t)snprintf(path, sizeof(path), "%s/master.key", dir) >= sizeof(path)
        || secrets_file_open(path, true, &app.secrets, NULL) != RC_OK
        || compose_store_open("memory:", NULL, &app.store, NULL) != RC_OK)
        abort();
    unlink(path);
    rmdir(dir);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct session s;
    struct arena a;
    enum rc rc;

    if (!app.store)
        setup();
    arena_init(&a, 1 << 20);
    rc = session_load(&app, &a, span_of(data, size), &s);
    if (rc != RC_NOT_FOUND
        || (session_cookie_valid(span_of(data, size)) && size != SESSION_COOKIE_LEN))
        abort(); /* nothing is stored: every cookie is a miss, never an error */
    arena_clear(&a);
    return 0;
}
