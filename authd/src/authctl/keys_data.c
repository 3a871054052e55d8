/* authctl keys rotate-data: the keys that seal personal data at rest (flow/atrest.h,
 * docs/keys.md "Personal data keys").
 *
 *   keys rotate-data [--no-walk] [--rate N] [--batch N]
 *       starts the next data key generation (every authd node seals new values under it at
 *       once and keeps opening the older ones), then walks the store re-sealing every record
 *       under it (flow/rewrap.h), N records a second at most (default 200), --batch keys a
 *       scan page (default 100). authd keeps serving throughout.
 *   keys rotate-data walk [--rate N] [--batch N]
 *       the walk alone: goes on from where an interrupted one stopped (Ctrl-C, a crash), or
 *       walks again.
 *   keys rotate-data status
 *       the current key id and the saved progress of the last walk.
 *   keys rotate-data check [--batch N]
 *       walks without writing and counts the records not under the current key id: exit 0
 *       when there are none (the older key ids open nothing any more), 1 when there are.
 *
 * Needs the master key and the shared store (Redis). Ctrl-C stops after the page under way
 * (its progress saved). */
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "authctl/authctl.h"
#include "compose/compose.h"
#include "conf/config.h"
#include "flow/atrest.h"
#include "flow/rewrap.h"
#include "log/log.h"
#include "port/secrets.h"
#include "port/store.h"

#define DEFAULT_RATE  200 /* records a second */
#define DEFAULT_BATCH 100 /* keys a scan page */
#define PROGRESS_S    2   /* a progress line this often */

int keys_rotate_data(struct authctl *ctl, int argc, char **argv);

static volatile sig_atomic_t interrupted;

static void
on_signal(int sig)
{
    (void)sig;
    interrupted = 1;
}

/* Monotonic seconds, from the clock port. */
static double
mono_s(const struct app *app)
{
    return (double)clock_mono_us(app->clock) / 1e6;
}

static void
sleep_s(double s)
{
    struct timespec ts = {(time_t)s, (long)((s - (double)(time_t)s) * 1e9)};

    while (s > 0 && nanosleep(&ts, &ts) == -1 && errno == EINTR && !interrupted)
        ;
}

/* --name N as a number in 1..max, or def; 0 on a bad value (said on stderr). */
static uint32_t
num_opt(int argc, char **argv, const char *name, uint32_t def, uint32_t max)
{
    const char *v = authctl_opt(argc, argv, name);
    char *end = NULL;
    unsigned long n;

    if (!v)
        return def;
    n = strtoul(v, &end, 10);
    if (!*v || *end || n < 1 || n > max) {
        fprintf(stderr, "authctl keys rotate-data: %s must be 1..%u\n", name, (unsigned)max);
        return 0;
    }
    return (uint32_t)n;
}

static void
print_state(FILE *f, const char *what, const struct rewrap_state *st)
{
    fprintf(f,
            "%s %s: %" PRIu64 " records (%" PRIu64 " re-sealed, %" PRIu64 " current, %" PRIu64
            " failed, %" PRIu64 " retried after a live write), %" PRIu64 " keys scanned%s\n",
            what, st->kid, st->records, st->resealed, st->current, st->failed, st->retried,
            st->keys, st->done ? ", done" : "");
}

/* Walks (or checks) to the end or to Ctrl-C. Exit code. */
static int
walk(struct app *app, struct arena *a, bool check, uint32_t rate, uint32_t batch)
{
    struct rewrap_state st;
    double t0 = mono_s(app), last = t0;
    uint64_t paced = 0;
    bool resumed = false;
    enum rc rc = check ? rewrap_fresh(app, a, &st) : rewrap_begin(app, a, &st, &resumed);
    struct sigaction sa = {.sa_handler = on_signal};

    if (rc != RC_OK) {
        fprintf(stderr, "authctl keys rotate-data: %s\n", rc_name(rc));
        return rc == RC_UNAVAILABLE ? 3 : 2;
    }
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    if (resumed)
        print_state(stderr, "resuming the walk to", &st);
    while (!st.done && !interrupted) {
        uint32_t seen = 0;
        arena_clear(a);
        if ((rc = rewrap_step(app, a, &st, batch, check, &seen)) != RC_OK) {
            fprintf(stderr,
                    "authctl keys rotate-data: %s (progress saved; run `authctl keys "
                    "rotate-data walk` to go on)\n",
                    rc_name(rc));
            return rc == RC_UNAVAILABLE ? 3 : 2;
        }
        paced += seen;
        if (!check && rate) /* hold the rate: records so far take paced / rate seconds */
            sleep_s((double)paced / rate - (mono_s(app) - t0));
        if (mono_s(app) - last >= PROGRESS_S) {
            print_state(stderr, check ? "checking" : "re-sealing under", &st);
            last = mono_s(app);
        }
    }
    if (interrupted) {
        print_state(stderr,
                    "interrupted: progress saved; `authctl keys rotate-data walk` goes on "
                    "to",
                    &st);
        return 4;
    }
    if (check) {
        printf("data key %s: %" PRIu64 " records, %" PRIu64 " under an older key id or in "
               "plaintext, %" PRIu64 " that do not open\n",
               st.kid, st.records, st.resealed, st.failed);
        return st.resealed || st.failed ? 1 : 0;
    }
    print_state(stdout, "walk done: every record re-sealed under", &st);
    return st.failed ? 1 : 0;
}

static int
status(struct app *app, struct arena *a)
{
    struct rewrap_state st;
    char kid[ATREST_KID_MAX];
    uint32_t gen = 0;
    enum rc rc = atrest_generation(app, a, &gen);

    if (rc != RC_OK) {
        fprintf(stderr, "authctl keys rotate-data: %s\n", rc_name(rc));
        return 3;
    }
    atrest_kid(gen, kid);
    printf("current data key: %s (generation %u)\n", kid, (unsigned)gen);
    rc = rewrap_load(app, a, &st);
    if (rc == RC_NOT_FOUND) {
        printf("no walk yet\n");
        return 0;
    }
    if (rc != RC_OK) {
        fprintf(stderr, "authctl keys rotate-data: %s\n", rc_name(rc));
        return 3;
    }
    print_state(stdout, "walk to", &st);
    printf("walk started %" PRId64 ", last progress %" PRId64 " (unix s)%s\n", st.started,
           st.updated,
           strcmp(st.kid, kid) != 0 ? "; it was for an older key id: run `authctl keys "
                                      "rotate-data walk`"
           : !st.done               ? "; not finished: `authctl keys rotate-data walk` goes on"
                                    : "");
    return 0;
}

static int
open_app(const struct config *c, bool need_secrets, struct app *app)
{
    struct store_opts so;
    struct rc_info ri = {0};

    *app = (struct app){.cfg = c, .clock = &clock_system, .rng = &rng_system};
    if (need_secrets && compose_secrets_open(c, false, &app->secrets, &ri) != RC_OK) {
        fprintf(stderr, "authctl keys rotate-data: master key: %s\n",
                ri.msg ? ri.msg : "cannot be read");
        return 2;
    }
    compose_store_opts(c, &so);
    if (compose_store_open(c->store, &so, &app->store, &ri) != RC_OK) {
        fprintf(stderr, "authctl keys rotate-data: store: %s\n", ri.msg ? ri.msg : "unavailable");
        return 3;
    }
    if (strcmp(app->store->ops->name, "memory") == 0) {
        fprintf(stderr, "authctl keys rotate-data: store = memory is private to each process: "
                        "nothing to rotate (use Redis)\n");
        return 2;
    }
    return 0;
}

static int
rotate(struct app *app, struct arena *a)
{
    char kid[ATREST_KID_MAX];
    uint32_t gen = 0;
    enum rc rc = atrest_rotate(app, a, &gen);

    if (rc != RC_OK) {
        fprintf(stderr, "authctl keys rotate-data: %s\n", rc_name(rc));
        return rc == RC_UNAVAILABLE ? 3 : 2;
    }
    atrest_kid(gen, kid);
    printf("data key generation %u (key id %s): new values are sealed under it\n", (unsigned)gen,
           kid);
    fflush(stdout);
    return 0;
}

int
keys_rotate_data(struct authctl *ctl, int argc, char **argv)
{
    const struct config *c = ctl->config(ctl);
    const char *sub = argc > 2 && argv[2][0] != '-' ? argv[2] : "";
    uint32_t rate = num_opt(argc, argv, "--rate", DEFAULT_RATE, 1000000);
    uint32_t batch = num_opt(argc, argv, "--batch", DEFAULT_BATCH, STORE_SCAN_MAX);
    bool is_status = strcmp(sub, "status") == 0, is_check = strcmp(sub, "check") == 0;
    struct app app = {0};
    struct arena a;
    int code;

    if (!c || !rate || !batch)
        return 2;
    if (sub[0] && !is_status && !is_check && strcmp(sub, "walk") != 0) {
        fprintf(stderr, "usage: authctl -c CONFIG keys rotate-data [--no-walk] [--rate N] "
                        "[--batch N]\n"
                        "       authctl -c CONFIG keys rotate-data walk|status|check\n");
        return 2;
    }
    log_setup(LOG_WARN, 2);
    arena_init(&a, 0);
    code = open_app(c, !is_status, &app);
    if (code == 0 && !sub[0])
        code = rotate(&app, &a);
    if (code == 0 && is_status)
        code = status(&app, &a);
    else if (code == 0 && !(sub[0] == 0 && authctl_flag(argc, argv, "--no-walk")))
        code = walk(&app, &a, is_check, rate, batch);
    if (code == 0 && !sub[0] && authctl_flag(argc, argv, "--no-walk"))
        printf("records under older keys are re-sealed when next written (a login), or by "
               "`authctl keys rotate-data walk`\n");
    arena_clear(&a);
    store_free(app.store);
    secrets_free(app.secrets);
    return code;
}
