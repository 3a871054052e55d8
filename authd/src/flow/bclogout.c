#include "flow/bclogout.h"

#include <jansson.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "conf/policy.h"
#include "core/form.h"
#include "core/jose.h"
#include "flow/clients.h"
#include "flow/grant.h"
#include "log/log.h"
#include "port/keys.h"
#include "port/store.h"

#define ITEM_STR_MAX 256 /* client id, sid, sub */

/* Wakes the local worker when a logout is queued (other nodes find it on their next poll). */
static pthread_mutex_t kick_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t kick_cv = PTHREAD_COND_INITIALIZER;
static bool kicked;

struct item {
    const char *id, *client_id, *sid, *sub;
    int64_t n, t0;
};

static struct span
queue_key(struct arena *a)
{
    return store_key(a, "bcl", SPAN("q"), NULL);
}

static bool
str_ok(const char *s)
{
    size_t n = s ? strlen(s) : 0;

    return n > 0 && n <= ITEM_STR_MAX;
}

/* The item as compact JSON in a, or an empty span. */
static struct span
item_json(struct arena *a, const struct item *it)
{
    json_t *o =
        json_pack("{s:s, s:s, s:s, s:s, s:I, s:I}", "id", it->id, "c", it->client_id, "sid",
                  it->sid, "sub", it->sub, "n", (json_int_t)it->n, "t0", (json_int_t)it->t0);
    char *s = o ? json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
    char *copy = s ? arena_strndup(a, s, strlen(s)) : NULL;

    json_decref(o);
    free(s);
    return copy ? span_str(copy) : (struct span){NULL, 0};
}

static const char *
dup_member(struct arena *a, json_t *o, const char *name)
{
    const char *s = json_string_value(json_object_get(o, name));

    return s && str_ok(s) ? arena_strndup(a, s, strlen(s)) : NULL;
}

static enum rc
item_parse(struct arena *a, struct span raw, struct item *it)
{
    json_t *o = json_loadb((const char *)raw.p, raw.len, JSON_REJECT_DUPLICATES, NULL);
    enum rc rc = RC_MALFORMED;

    memset(it, 0, sizeof(*it));
    if (json_is_object(o)) {
        it->id = dup_member(a, o, "id");
        it->client_id = dup_member(a, o, "c");
        it->sid = dup_member(a, o, "sid");
        it->sub = dup_member(a, o, "sub");
        it->n = json_integer_value(json_object_get(o, "n"));
        it->t0 = json_integer_value(json_object_get(o, "t0"));
        if (it->id && it->client_id && it->sid && it->sub && it->n >= 0 && it->t0 > 0)
            rc = RC_OK;
    }
    json_decref(o);
    return rc;
}

static void
kick(void)
{
    pthread_mutex_lock(&kick_mu);
    kicked = true;
    pthread_cond_signal(&kick_cv);
    pthread_mutex_unlock(&kick_mu);
}

enum rc
bclogout_enqueue(struct app *app, struct arena *a, const char *client_id, const char *sid,
                 const char *sub)
{
    char id[GRANT_FAMILY_LEN + 1]; /* 16 random bytes, base64url */
    struct item it = {id, client_id, sid, sub, 0, clock_now(app->clock)};
    struct span key = queue_key(a), raw;
    enum rc rc;

    if (!str_ok(client_id) || !str_ok(sid) || !str_ok(sub))
        return RC_MALFORMED;
    if ((rc = grant_random_token(app, 12, id, sizeof(id))) != RC_OK)
        return rc;
    if (!key.p || !(raw = item_json(a, &it)).p)
        return RC_NOMEM;
    if ((rc = store_q_push(app->store, key, raw, it.t0)) == RC_OK)
        kick();
    return rc;
}

/* A logout token is checked by the client like an ID token (OIDC Back-Channel Logout 1.0
 * §2.6), so it is signed with the client's id_token_signed_response_alg. */
static enum jose_alg
logout_alg(struct app *app, const char *client_id)
{
    struct policy *p = app_policy_get(app);
    const struct policy_client *c = p ? client_resolve(app, p, span_str(client_id)) : NULL;
    enum jose_alg alg = c && c->id_token_alg ? c->id_token_alg : JOSE_ES256;

    app_policy_put(p);
    return alg;
}

enum rc
bclogout_token(struct app *app, struct arena *a, const char *client_id, const char *sid,
               const char *sub, struct span *out)
{
    char jti[GRANT_FAMILY_LEN + 1];
    int64_t now = clock_now(app->clock);
    struct jose_keyset *ks = NULL;
    json_t *o = NULL;
    char *s = NULL;
    enum rc rc;

    if ((rc = grant_random_token(app, 16, jti, sizeof(jti))) != RC_OK)
        return rc;
    /* OIDC Back-Channel Logout §2.4: events holds exactly our event, nonce is forbidden */
    o = json_pack("{s:s, s:s, s:I, s:I, s:s, s:s, s:s, s:{s:{}}}", "iss", app->cfg->issuer, "aud",
                  client_id, "iat", (json_int_t)now, "exp", (json_int_t)(now + BCLOGOUT_TOKEN_TTL),
                  "jti", jti, "sid", sid, "sub", sub, "events", BCLOGOUT_EVENT);
    if (!o || !(s = json_dumps(o, JSON_COMPACT))) {
        rc = RC_NOMEM;
        goto out;
    }
    if ((rc = keys_current(app->keys, &ks)) != RC_OK)
        goto out;
    rc = jose_sign(ks, logout_alg(app, client_id), "logout+jwt", span_str(s), a, out, NULL);
out:
    jose_keyset_release(ks);
    json_decref(o);
    free(s);
    return rc;
}

uint32_t
bclogout_backoff_ms(uint32_t min_ms, uint32_t max_ms, uint32_t n, double jitter01)
{
    uint64_t d = min_ms ? min_ms : 1;

    if (max_ms < d)
        max_ms = (uint32_t)d;
    for (uint32_t i = 1; i < n && d < max_ms; i++)
        d <<= 1;
    if (d > max_ms)
        d = max_ms;
    if (jitter01 < 0)
        jitter01 = 0;
    if (jitter01 > 1)
        jitter01 = 1;
    return (uint32_t)(d / 2 + (uint64_t)((double)(d - d / 2) * jitter01));
}

static void
log_outcome(enum log_level l, const struct item *it, const char *result, int status, int64_t ms)
{
    struct log_rec *lr = log_begin(l, "logout.backchannel");

    log_str(lr, "client", it->client_id);
    log_str(lr, "item", it->id);
    log_str(lr, "result", result);
    log_int(lr, "attempt", (long long)it->n + 1);
    if (status)
        log_int(lr, "status", status);
    if (ms >= 0)
        log_int(lr, "ms", (long long)ms);
    log_end(lr);
}

/* Schedules the next attempt of a failed item, or gives up on it. */
static enum rc
reschedule(struct app *app, struct arena *a, struct item *it, struct span old, int status)
{
    const struct config *c = app->cfg;
    int64_t now = clock_now(app->clock);
    struct span key = queue_key(a), raw;
    uint32_t r = 0, delay;
    enum rc rc;

    if (now - it->t0 >= (int64_t)c->backchannel_give_up_s) {
        log_outcome(LOG_ERROR, it, "gave up: the relying party never accepted the logout", status,
                    -1);
        return store_q_done(app->store, key, old);
    }
    rng_bytes(app->rng, &r, sizeof(r)); /* jitter only: a failure just means no jitter */
    delay = bclogout_backoff_ms(c->backchannel_retry_min_ms, c->backchannel_retry_max_ms,
                                (uint32_t)it->n + 1, (double)r / (double)UINT32_MAX);
    log_outcome(LOG_WARN, it, "failed; will retry", status, -1);
    it->n++;
    if (!key.p || !(raw = item_json(a, it)).p)
        return RC_NOMEM;
    /* push before done: if the store fails between the two, the old item comes back after
     * its lease (a duplicate delivery at worst, never a lost one) */
    if ((rc = store_q_push(app->store, key, raw, now + (delay + 999) / 1000)) != RC_OK)
        return rc;
    return store_q_done(app->store, key, old);
}

/* The client's back-channel URI under the current policy, copied into a, or NULL. */
static const char *
backchannel_uri(struct app *app, struct arena *a, const char *client_id)
{
    struct policy *p = app_policy_get(app);
    const struct policy_client *cl = client_resolve(app, p, span_str(client_id));
    const char *uri = cl ? cl->backchannel_logout_uri : NULL;
    const char *copy = uri ? arena_strndup(a, uri, strlen(uri)) : NULL;

    app_policy_put(p);
    return copy;
}

#define FORM_TYPE "application/x-www-form-urlencoded"

const struct outbound_opts bclogout_outbound_opts = {
    .connect_timeout_ms = 1000, .timeout_ms = 3000, .env_proxy = true, .user_agent = "authd"};

static enum rc
deliver(struct app *app, struct outbound *ob, struct arena *a, struct item *it, struct span raw)
{
    const char *uri = backchannel_uri(app, a, it->client_id);
    struct span tok;
    struct buf body;
    int64_t t = clock_mono_us(app->clock);
    struct outbound_resp resp = {0};
    enum rc rc;

    if (!uri) { /* removed from the policy, or no longer wants back-channel logouts */
        log_outcome(LOG_WARN, it, "dropped: no backchannel_logout_uri", 0, -1);
        return store_q_done(app->store, queue_key(a), raw);
    }
    if ((rc = bclogout_token(app, a, it->client_id, it->sid, it->sub, &tok)) != RC_OK)
        return reschedule(app, a, it, raw, 0);
    buf_init(&body, JOSE_MAX_COMPACT * 2);
    if ((rc = form_append(&body, "logout_token", tok)) == RC_OK)
        rc =
            outbound_send(ob, &(struct outbound_req){uri, buf_span(&body), FORM_TYPE, NULL}, &resp);
    buf_clear(&body);
    if (rc != RC_OK || resp.status < 200 || resp.status > 299)
        return reschedule(app, a, it, raw, resp.status);
    log_outcome(LOG_INFO, it, "delivered", resp.status, (clock_mono_us(app->clock) - t) / 1000);
    return store_q_done(app->store, queue_key(a), raw);
}

enum rc
bclogout_run_once(struct app *app, struct outbound *ob)
{
    struct arena a;
    struct span key, raw;
    struct item it;
    enum rc rc = RC_NOMEM;

    arena_init(&a, 1u << 20);
    if (!(key = queue_key(&a)).p)
        goto out;
    rc = store_q_claim(app->store, &a, key, clock_now(app->clock), BCLOGOUT_LEASE_S, &raw);
    if (rc != RC_OK)
        goto out;
    if (item_parse(&a, raw, &it) != RC_OK) {
        log_msg(LOG_WARN, "logout.backchannel", "result", "dropped: malformed queue item");
        store_q_done(app->store, key, raw);
        goto out;
    }
    rc = deliver(app, ob, &a, &it, raw);
    if (rc != RC_UNAVAILABLE)
        rc = RC_OK;
out:
    arena_clear(&a);
    return rc;
}

/* ---- the worker thread ------------------------------------------------------------------ */

struct bclogout_worker {
    struct app *app;
    struct outbound *ob;
    pthread_t th;
    bool stop; /* under kick_mu */
};

/* Sleeps ms or until kicked or stopped; true when stopping. */
static bool
nap(struct bclogout_worker *w, long ms)
{
    struct timespec ts;
    bool stop;

    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_sec += ms / 1000;
    ts.tv_nsec += (ms % 1000) * 1000000L;
    if (ts.tv_nsec >= 1000000000L)
        ts.tv_sec++, ts.tv_nsec -= 1000000000L;
    pthread_mutex_lock(&kick_mu);
    if (!kicked && !w->stop)
        pthread_cond_timedwait(&kick_cv, &kick_mu, &ts);
    kicked = false;
    stop = w->stop;
    pthread_mutex_unlock(&kick_mu);
    return stop;
}

static bool
stopping(struct bclogout_worker *w)
{
    bool s;

    pthread_mutex_lock(&kick_mu);
    s = w->stop;
    pthread_mutex_unlock(&kick_mu);
    return s;
}

static void *
worker_main(void *arg)
{
    struct bclogout_worker *w = arg;
    enum rc rc;

    while (!stopping(w)) {
        if ((rc = bclogout_run_once(w->app, w->ob)) == RC_OK)
            continue; /* more may be due */
        if (nap(w, rc == RC_NOT_FOUND ? 250 : 1000))
            break;
    }
    return NULL;
}

enum rc
bclogout_start(struct app *app, struct outbound *ob, struct bclogout_worker **out)
{
    struct bclogout_worker *w = calloc(1, sizeof(*w));

    if (!w)
        return RC_NOMEM;
    w->app = app;
    w->ob = ob;
    if (pthread_create(&w->th, NULL, worker_main, w) != 0) {
        free(w);
        return RC_INTERNAL;
    }
    *out = w;
    return RC_OK;
}

void
bclogout_stop(struct bclogout_worker *w)
{
    if (!w)
        return;
    pthread_mutex_lock(&kick_mu);
    w->stop = true;
    pthread_cond_broadcast(&kick_cv);
    pthread_mutex_unlock(&kick_mu);
    pthread_join(w->th, NULL);
    free(w);
}
