/* Stand-ins for unit tests of flows, header-only (each test file gets its own copy):
 * a clock the test moves by setting fake_now, and a keys port over one fixed key set.
 *
 *     fake_now = 1740787200;
 *     app.clock = &fake_clock;
 *     struct fake_keys fk = FAKE_KEYS(ks);  app.keys = &fk.k;
 */
#ifndef AUTHD_TEST_FAKES_H
#define AUTHD_TEST_FAKES_H

#include "core/jose.h"
#include "port/clock.h"
#include "port/keys.h"

static int64_t fake_now;

static int64_t
fake_clock_now(const struct clock *c)
{
    (void)c;
    return fake_now;
}

static int64_t
fake_clock_mono(const struct clock *c)
{
    (void)c;
    return 0;
}

static const struct clock fake_clock = {fake_clock_now, fake_clock_mono, NULL};

/* A keys port whose current snapshot is always ks. */
struct fake_keys {
    struct keys k;
    struct jose_keyset *ks;
};

static enum rc
fake_keys_current(struct keys *k, struct jose_keyset **out)
{
    *out = jose_keyset_retain(((struct fake_keys *)k)->ks);
    return RC_OK;
}

static const struct keys_ops fake_keys_ops = {"test", fake_keys_current, NULL, NULL, NULL};

/* An app for flow tests (add #include "fakes.h" and call fake_app_up in each test): the
 * memory store, a master key in a fresh directory under /tmp, one generated ES256 signing
 * key behind the keys port (fa->keys.ks, to verify what the flow signed), the fake clock
 * at `now`, and the policy parsed from policy_text installed as the policy in force (also
 * fa->p). cfg holds the issuer FAKE_ISSUER and cheap argon2 settings; a test may change it
 * before use. fake_app_down frees everything and removes the directory. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "adapt/secrets_file.h"
#include "compose/compose.h"
#include "conf/policy.h"
#include "flow/app.h"
#include "port/store.h"

#define FAKE_ISSUER "https://id.example"

struct fake_app {
    char dir[64], master[96];
    struct config cfg;
    struct app app;
    struct fake_keys keys;
    struct policy *p; /* borrowed from app.policy */
    struct arena a;
};

__attribute__((unused)) static void
fake_app_down(struct fake_app *f)
{
    char cmd[128];

    policy_release(f->app.policy);
    jose_keyset_release(f->keys.ks);
    store_free(f->app.store);
    secrets_free(f->app.secrets);
    arena_clear(&f->a);
    if (f->dir[0]) {
        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
        if (system(cmd) != 0)
            fprintf(stderr, "cannot remove %s\n", f->dir);
    }
    memset(f, 0, sizeof(*f));
}

/* 0, or -1 (with everything freed) when a part cannot be built. */
__attribute__((unused)) static int
fake_app_up(struct fake_app *f, const char *policy_text, int64_t now)
{
    struct config_error err = {0};
    struct buf jwk;
    enum rc rc;

    memset(f, 0, sizeof(*f));
    fake_now = now;
    snprintf(f->dir, sizeof(f->dir), "/tmp/authd-unit-XXXXXX");
    if (!mkdtemp(f->dir)) {
        f->dir[0] = 0;
        return -1;
    }
    snprintf(f->master, sizeof(f->master), "%s/master.key", f->dir);
    f->cfg = (struct config){.issuer = FAKE_ISSUER,
                             .argon2_memory_kib = 64,
                             .argon2_iterations = 1,
                             .argon2_parallelism = 1,
                             .password_min_length = 8,
                             .lockout_failures = 5,
                             .lockout_seconds = 900,
                             .rate_window_s = 60,
                             .backchannel_retry_min_ms = 1000,
                             .backchannel_retry_max_ms = 4000,
                             .backchannel_give_up_s = 60};
    f->app = (struct app){.cfg = &f->cfg, .clock = &fake_clock, .rng = &rng_system};
    pthread_mutex_init(&f->app.policy_mu, NULL);
    f->keys.k.ops = &fake_keys_ops;
    f->app.keys = &f->keys.k;
    arena_init(&f->a, 0);
    buf_init(&jwk, 0);
    rc = secrets_file_open(f->master, true, &f->app.secrets, NULL);
    if (rc == RC_OK)
        rc = compose_store_open("memory:", NULL, &f->app.store, NULL);
    if (rc == RC_OK && (rc = jose_key_generate(JOSE_ES256, &jwk)) == RC_OK
        && (rc = jose_keyset_new(&f->keys.ks)) == RC_OK
        && (rc = jose_keyset_add_jwk(f->keys.ks, buf_span(&jwk), JOSE_KEY_SIGN, NULL)) == RC_OK)
        rc = jose_keyset_seal(f->keys.ks);
    buf_clear(&jwk);
    if (rc == RC_OK
        && (rc = policy_parse("test.conf", policy_text, strlen(policy_text), &f->app.policy, &err))
               != RC_OK)
        fprintf(stderr, "%s\n", err.text);
    if (rc != RC_OK) {
        fake_app_down(f);
        return -1;
    }
    f->p = f->app.policy;
    return 0;
}

#endif
