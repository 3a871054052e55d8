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
#include "port/notify.h"

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

/* A store that is down: every call it gets is RC_UNAVAILABLE (fail closed is the flows'
 * job). Swap it in for app.store and back:  f.app.store = &fake_store_down; */
static enum rc
fake_down_put(struct store *s, struct span k, struct span v, uint32_t t, unsigned fl)
{
    (void)s, (void)k, (void)v, (void)t, (void)fl;
    return RC_UNAVAILABLE;
}

static enum rc
fake_down_get(struct store *s, struct arena *a, struct span k, struct span *o)
{
    (void)s, (void)a, (void)k, (void)o;
    return RC_UNAVAILABLE;
}

static enum rc
fake_down_key(struct store *s, struct span k)
{
    (void)s, (void)k;
    return RC_UNAVAILABLE;
}

static enum rc
fake_down_ttl(struct store *s, struct span k, int64_t *o)
{
    (void)s, (void)k, (void)o;
    return RC_UNAVAILABLE;
}

static enum rc
fake_down_expire(struct store *s, struct span k, uint32_t t)
{
    (void)s, (void)k, (void)t;
    return RC_UNAVAILABLE;
}

static enum rc
fake_down_incr(struct store *s, struct span k, int64_t by, uint32_t t, int64_t *o)
{
    (void)s, (void)k, (void)by, (void)t, (void)o;
    return RC_UNAVAILABLE;
}

static enum rc
fake_down_rec_put(struct store *s, struct span k, const struct store_field *f, size_t n, uint32_t t,
                  unsigned fl)
{
    (void)s, (void)k, (void)f, (void)n, (void)t, (void)fl;
    return RC_UNAVAILABLE;
}

static enum rc
fake_down_rec_get(struct store *s, struct arena *a, struct span k, struct store_record *o)
{
    (void)s, (void)a, (void)k, (void)o;
    return RC_UNAVAILABLE;
}

static enum rc
fake_down_set_add(struct store *s, struct span k, struct span m, uint32_t t, unsigned f)
{
    (void)s, (void)k, (void)m, (void)t, (void)f;
    return RC_UNAVAILABLE;
}

static enum rc
fake_down_set_rem(struct store *s, struct span k, struct span m)
{
    (void)s, (void)k, (void)m;
    return RC_UNAVAILABLE;
}

static enum rc
fake_down_set_members(struct store *s, struct arena *a, struct span k, struct span **o, size_t *n)
{
    (void)s, (void)a, (void)k, (void)o, (void)n;
    return RC_UNAVAILABLE;
}

static enum rc
fake_down_q_push(struct store *s, struct span q, struct span item, int64_t due)
{
    (void)s, (void)q, (void)item, (void)due;
    return RC_UNAVAILABLE;
}

static enum rc
fake_down_q_claim(struct store *s, struct arena *a, struct span q, int64_t now, uint32_t lease,
                  struct span *item)
{
    (void)s, (void)a, (void)q, (void)now, (void)lease, (void)item;
    return RC_UNAVAILABLE;
}

static enum rc
fake_down_q_done(struct store *s, struct span q, struct span item)
{
    (void)s, (void)q, (void)item;
    return RC_UNAVAILABLE;
}

static enum rc
fake_down_q_len(struct store *s, struct span q, int64_t *o)
{
    (void)s, (void)q, (void)o;
    return RC_UNAVAILABLE;
}

static enum rc
fake_down_batch(struct store *s, const struct store_op *ops, size_t n)
{
    (void)s, (void)ops, (void)n;
    return RC_UNAVAILABLE;
}

static enum rc
fake_down_limit(struct store *s, const struct store_limit *l, size_t n, int64_t now_ms,
                int64_t *retry_ms)
{
    (void)s, (void)l, (void)n, (void)now_ms, (void)retry_ms;
    return RC_UNAVAILABLE;
}

static enum rc
fake_down_swap(struct store *s, struct arena *a, struct span k, struct span v, uint32_t t,
               struct span *o)
{
    (void)s, (void)a, (void)k, (void)v, (void)t, (void)o;
    return RC_UNAVAILABLE;
}

static enum rc
fake_down_ping(struct store *s)
{
    (void)s;
    return RC_UNAVAILABLE;
}

static const struct store_ops fake_down_ops = {.name = "down",
                                               .ping = fake_down_ping,
                                               .put = fake_down_put,
                                               .get = fake_down_get,
                                               .take = fake_down_get,
                                               .del = fake_down_key,
                                               .incr = fake_down_incr,
                                               .ttl = fake_down_ttl,
                                               .expire = fake_down_expire,
                                               .rec_put = fake_down_rec_put,
                                               .rec_get = fake_down_rec_get,
                                               .set_add = fake_down_set_add,
                                               .set_rem = fake_down_set_rem,
                                               .set_members = fake_down_set_members,
                                               .q_push = fake_down_q_push,
                                               .q_claim = fake_down_q_claim,
                                               .q_done = fake_down_q_done,
                                               .q_len = fake_down_q_len,
                                               .batch = fake_down_batch,
                                               .limit = fake_down_limit,
                                               .swap = fake_down_swap};

__attribute__((unused)) static struct store fake_store_down = {.ops = &fake_down_ops};

/* A notify port that keeps the last notice and answers what the test says (rc):
 *     static struct fake_notify N;  N.n.ops = &fake_notify_ops;  app.notify = &N.n; */
struct fake_notify {
    struct notify n;
    enum rc rc;
    int calls;
    char to[32], text[600], sender[32], ref[80];
    int64_t ts;
};

static enum rc
fake_notify_send(struct notify *n, const struct notice *m)
{
    struct fake_notify *f = (struct fake_notify *)n;

    f->calls++;
    snprintf(f->to, sizeof(f->to), "%.*s", (int)m->to.len, (const char *)m->to.p);
    snprintf(f->text, sizeof(f->text), "%.*s", (int)m->text.len, (const char *)m->text.p);
    snprintf(f->sender, sizeof(f->sender), "%.*s", (int)m->sender.len, (const char *)m->sender.p);
    snprintf(f->ref, sizeof(f->ref), "%.*s", (int)m->ref.len, (const char *)m->ref.p);
    f->ts = m->ts;
    return f->rc;
}

__attribute__((unused)) static const struct notify_ops fake_notify_ops = {"fake", fake_notify_send,
                                                                          NULL};

#endif
