/* The JWKS cache: authd's public keys, fetched with libcurl and kept as an immutable,
 * refcounted core/jose key set that validating threads retain for one token each.
 *
 * Rules (issue 6, RFC 9111 for the cache time):
 * - fresh for max-age from Cache-Control, bounded by [min_cache, max_cache]; the minimum
 *   without max-age or with no-cache / no-store;
 * - every fetch after the first (stale keys, unknown kid, retry after a failure) happens at
 *   most once per refetch interval, and only one thread fetches at a time;
 * - a failed fetch keeps the old keys, usable until their cache time plus the grace;
 * - a validating thread that still has usable keys never waits for a fetch. */
#include <string.h>

#include "client_int.h"
#include "core/jose.h"

void
jwks_cache_init(struct jwks_cache *j)
{
    memset(j, 0, sizeof(*j));
    pthread_mutex_init(&j->fetch_mu, NULL);
    pthread_mutex_init(&j->mu, NULL);
}

void
jwks_cache_clear(struct jwks_cache *j)
{
    jose_keyset_release(j->ks);
    j->ks = NULL;
    pthread_mutex_destroy(&j->mu);
    pthread_mutex_destroy(&j->fetch_mu);
}

/* The cache time of a fetched JWKS. */
static int64_t
cache_time(const struct authd_client *c, const char *cache_control)
{
    int64_t age = 0;

    if (cachectl_max_age(span_str(cache_control), &age) != RC_OK)
        age = c->min_cache;
    if (age < c->min_cache)
        age = c->min_cache;
    if (age > c->max_cache)
        age = c->max_cache;
    return age;
}

/* GETs and parses the JWKS. AUTHD_OK: *out is a new sealed key set with a key in it. */
static enum authd_status
fetch(struct authd_client *c, struct jose_keyset **out, int64_t *ttl)
{
    struct fetch_answer a;
    enum authd_status st;

    atomic_fetch_add(&c->jwks.fetches, 1);
    st = fetch_get(c, c->jwks_uri, JOSE_MAX_JWKS, &a);
    if (st == AUTHD_OK && a.status != 200)
        st = AUTHD_ERR_UNAVAILABLE;
    if (st == AUTHD_OK && jose_keyset_parse_jwks(buf_span(&a.body), out, NULL) != RC_OK)
        st = AUTHD_ERR_PROTOCOL;
    if (st == AUTHD_OK && jose_keyset_count(*out) == 0) {
        jose_keyset_release(*out);
        st = AUTHD_ERR_PROTOCOL; /* nothing to verify with: keep what we have */
    }
    if (st == AUTHD_OK)
        *ttl = cache_time(c, a.cache_control);
    else
        atomic_fetch_add(&c->jwks.failures, 1);
    fetch_answer_clear(&a);
    return st;
}

/* Fetches and swaps in the result. Called with fetch_mu held and mu not held. */
static enum authd_status
fetch_and_swap(struct authd_client *c, int64_t now)
{
    struct jose_keyset *ks = NULL, *old;
    int64_t ttl = 0;
    enum authd_status st = fetch(c, &ks, &ttl);

    if (st != AUTHD_OK)
        return st;
    now = client_now(c); /* the fetch took time */
    pthread_mutex_lock(&c->jwks.mu);
    old = c->jwks.ks;
    c->jwks.ks = ks;
    c->jwks.fresh_until = now + ttl;
    c->jwks.usable_until = now + ttl + c->grace;
    c->jwks.generation++;
    pthread_mutex_unlock(&c->jwks.mu);
    jose_keyset_release(old); /* freed when the last validating thread lets go */
    return AUTHD_OK;
}

enum fetch_mode {
    FETCH_IF_DUE,  /* only if the interval passed and nobody swapped since gen */
    FETCH_NO_WAIT, /* as FETCH_IF_DUE, but give up at once if another thread is fetching */
    FETCH_FORCE,   /* now */
};

/* One fetch if mode allows it. AUTHD_OK: the generation is newer than gen (by us or by
 * another thread). AUTHD_ERR_UNAVAILABLE: not allowed now or failed. */
static enum authd_status
maybe_fetch(struct authd_client *c, uint64_t gen, enum fetch_mode mode)
{
    struct jwks_cache *j = &c->jwks;
    enum authd_status st = AUTHD_ERR_UNAVAILABLE;
    int64_t now;

    if (mode == FETCH_NO_WAIT) {
        if (pthread_mutex_trylock(&j->fetch_mu) != 0)
            return AUTHD_ERR_UNAVAILABLE;
    } else {
        pthread_mutex_lock(&j->fetch_mu);
    }
    now = client_now(c);
    pthread_mutex_lock(&j->mu);
    if (mode != FETCH_FORCE && j->generation != gen) {
        st = AUTHD_OK; /* another thread fetched while we waited */
    } else if (mode != FETCH_FORCE && j->attempted && now - j->last_attempt < c->refetch) {
        st = AUTHD_ERR_UNAVAILABLE; /* too soon */
    } else {
        j->attempted = true;
        j->last_attempt = now;
        st = AUTHD_ERR_INTERNAL; /* meaning: fetch below */
    }
    pthread_mutex_unlock(&j->mu);
    if (st == AUTHD_ERR_INTERNAL)
        st = fetch_and_swap(c, now);
    pthread_mutex_unlock(&j->fetch_mu);
    return st;
}

/* Retains the current snapshot and says whether it is fresh / usable at now. */
static struct jose_keyset *
snapshot(struct authd_client *c, int64_t now, uint64_t *gen, bool *fresh, bool *usable)
{
    struct jose_keyset *ks;

    pthread_mutex_lock(&c->jwks.mu);
    ks = jose_keyset_retain(c->jwks.ks);
    *gen = c->jwks.generation;
    *fresh = ks && now < c->jwks.fresh_until;
    *usable = ks && now < c->jwks.usable_until;
    pthread_mutex_unlock(&c->jwks.mu);
    return ks;
}

enum authd_status
jwks_cache_get(struct authd_client *c, struct jose_keyset **out, uint64_t *gen)
{
    int64_t now = client_now(c);
    bool fresh, usable;
    struct jose_keyset *ks = snapshot(c, now, gen, &fresh, &usable);

    if (fresh) {
        *out = ks;
        return AUTHD_OK;
    }
    /* Stale: refresh, but a thread holding usable keys does not wait for the network. */
    if (maybe_fetch(c, *gen, usable ? FETCH_NO_WAIT : FETCH_IF_DUE) == AUTHD_OK) {
        jose_keyset_release(ks);
        ks = snapshot(c, client_now(c), gen, &fresh, &usable);
    }
    if (!usable) {
        jose_keyset_release(ks);
        return AUTHD_ERR_KEYS_UNAVAILABLE;
    }
    *out = ks;
    return AUTHD_OK;
}

enum authd_status
jwks_cache_unknown_kid(struct authd_client *c, uint64_t gen)
{
    atomic_fetch_add(&c->jwks.unknown_kid, 1);
    return maybe_fetch(c, gen, FETCH_IF_DUE) == AUTHD_OK ? AUTHD_OK : AUTHD_ERR_UNKNOWN_KEY;
}

enum authd_status
jwks_cache_refresh(struct authd_client *c)
{
    return maybe_fetch(c, 0, FETCH_FORCE);
}

enum authd_status
authd_client_refresh_keys(struct authd_client *c)
{
    return jwks_cache_refresh(c);
}
