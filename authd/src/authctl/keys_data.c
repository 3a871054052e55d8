/* authctl keys rotate-data: starts the next generation of the keys that seal personal data
 * at rest (flow/atrest.h, docs/crypto.md "Data at rest"). Every authd node seals new
 * values under it at once (the generation is read from the store at each seal) and keeps
 * opening the older ones; a record is re-sealed under it when the citizen next logs in.
 * Needs the master key and the shared store (Redis); prints the new key id. */
#include <stdio.h>
#include <string.h>

#include "authctl/authctl.h"
#include "compose/compose.h"
#include "conf/config.h"
#include "flow/atrest.h"
#include "log/log.h"
#include "port/store.h"

int keys_rotate_data(struct authctl *ctl, int argc, char **argv);

int
keys_rotate_data(struct authctl *ctl, int argc, char **argv)
{
    const struct config *c = ctl->config(ctl);
    struct app app;
    struct store_opts so;
    struct rc_info ri = {0};
    struct arena a;
    char kid[ATREST_KID_MAX];
    uint32_t gen = 0;
    enum rc rc;
    int code = 0;

    (void)argc, (void)argv;
    if (!c)
        return 2;
    app = (struct app){.cfg = c, .clock = &clock_system, .rng = &rng_system};
    log_setup(LOG_WARN, 2);
    compose_store_opts(c, &so);
    if (compose_store_open(c->store, &so, &app.store, &ri) != RC_OK) {
        fprintf(stderr, "authctl keys rotate-data: store: %s\n", ri.msg ? ri.msg : "unavailable");
        return 3;
    }
    if (strcmp(app.store->ops->name, "memory") == 0) {
        fprintf(stderr, "authctl keys rotate-data: store = memory is private to each process: "
                        "nothing to rotate (use Redis)\n");
        store_free(app.store);
        return 2;
    }
    arena_init(&a, 0);
    rc = atrest_rotate(&app, &a, &gen);
    if (rc == RC_OK) {
        atrest_kid(gen, kid);
        printf("data key generation %u (key id %s): new values are sealed under it; records "
               "under older keys are re-sealed when next written (a login)\n",
               (unsigned)gen, kid);
    } else {
        fprintf(stderr, "authctl keys rotate-data: %s\n", rc_name(rc));
        code = rc == RC_UNAVAILABLE ? 3 : 2;
    }
    arena_clear(&a);
    store_free(app.store);
    return code;
}
