/* The HTTP population base: the outbound port over mutual TLS, retries, circuit breaker, answer
 * cache (see popbase_http.h; the API is docs/popbase-api.md). */
#include "adapt/popbase_http.h"

#include <errno.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "adapt/popbase_file_int.h"
#include "adapt/popbase_http_int.h"
#include "core/idnum.h"
#include "core/name.h"
#include "port/outbound.h"
#include "port/store.h"
#include "util/arena.h"

#define BACKOFF_BASE_MS 20
#define BACKOFF_CAP_MS  400
#define CACHE_TAG_BYTES 16 /* 128 bits of HMAC name the entry */

struct popbase_http {
    struct popbase base; /* first: the port's view */
    char verify_url[POPHTTP_MAX_URL + 16], health_url[POPHTTP_MAX_URL + 16];
    uint32_t retries, match_ttl_s, miss_ttl_s;
    struct breaker br;
    struct store *cache; /* NULL: no cache */
    struct popidx_hasher hasher;
    struct outbound *ob; /* owned: mutual TLS, timeouts, the response cap */
    atomic_ullong requests, retried, failures, fast_fails, hits, misses;
};

/* What one attempt came to. */
enum outcome {
    OUT_OK,      /* 200 with a body we understand */
    OUT_RETRY,   /* timeout, connection trouble, 5xx: worth another attempt */
    OUT_FAIL,    /* TLS verification, 3xx/403/404, a body we do not understand: no retry */
    OUT_REFUSED, /* 400/413/422: the service is up but refuses this request; no retry */
};

static int64_t
now_ms(void)
{
    struct timespec t;

    clock_gettime(CLOCK_MONOTONIC, &t);
    return (int64_t)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

static void
sleep_ms(uint32_t ms)
{
    struct timespec t = {ms / 1000, (long)(ms % 1000) * 1000000L};

    while (nanosleep(&t, &t) != 0 && errno == EINTR)
        ;
}

/* Back-off jitter: not a secret. */
static uint32_t
jitter(void)
{
    uint32_t r;

    if (RAND_bytes((unsigned char *)&r, sizeof(r)) != 1)
        r = (uint32_t)now_ms();
    return r;
}

static enum outcome
classify(enum rc rc, int status)
{
    if (rc == RC_OK) {
        if (status == 200)
            return OUT_OK;
        if (status >= 500 && status <= 599)
            return OUT_RETRY;
        if (status == 400 || status == 413 || status == 422)
            return OUT_REFUSED;
        return OUT_FAIL; /* 403: our certificate refused; 404/405/3xx: wrong URL */
    }
    /* no answer: retry what may pass (timeout, connection); not peer verification, our key
     * unusable, an answer over the cap */
    return rc == RC_UNAVAILABLE ? OUT_RETRY : OUT_FAIL;
}

/* One HTTP exchange: POST body to url, or GET url when body is NULL. On OUT_OK with ans
 * non-NULL the body was parsed into *ans and *at. */
static enum outcome
attempt(struct popbase_http *h, const char *url, const char *body, enum pop_answer *ans,
        struct pop_attrs *at)
{
    uint8_t buf[POPHTTP_MAX_RESPONSE];
    struct outbound_req req = {.url = url, .accept = "application/json"};
    struct outbound_resp resp = {.buf = buf, .cap = sizeof(buf)};
    enum outcome out;
    enum rc rc;

    if (body) {
        req.body = span_str(body);
        req.content_type = "application/json";
    }
    atomic_fetch_add(&h->requests, 1);
    rc = outbound_send(h->ob, &req, &resp);
    out = classify(rc, resp.status);
    if (out == OUT_OK && ans && pophttp_parse_answer(span_of(buf, resp.len), ans, at) != RC_OK)
        out = OUT_FAIL;
    OPENSSL_cleanse(buf, resp.len); /* an answer about a person */
    return out;
}

/* Asks the service with bounded retries, through the breaker. RC_OK (and, for a verify,
 * *ans and *at) or RC_UNAVAILABLE. */
static enum rc
call(struct popbase_http *h, const char *url, const char *body, enum pop_answer *ans,
     struct pop_attrs *at)
{
    enum outcome out = OUT_FAIL;

    if (!breaker_allow(&h->br, now_ms())) {
        atomic_fetch_add(&h->fast_fails, 1);
        return RC_UNAVAILABLE;
    }
    for (uint32_t n = 0;; n++) {
        out = attempt(h, url, body, ans, at);
        if (out == OUT_OK || out == OUT_REFUSED) {
            breaker_success(&h->br); /* it answered: it is up */
            break;
        }
        atomic_fetch_add(&h->failures, 1);
        breaker_failure(&h->br, now_ms());
        if (out == OUT_FAIL || n >= h->retries)
            break;
        sleep_ms(pophttp_backoff_ms(n + 1, BACKOFF_BASE_MS, BACKOFF_CAP_MS, jitter()));
        if (!breaker_allow(&h->br, now_ms())) /* opened meanwhile: stop here */
            break;
        atomic_fetch_add(&h->retried, 1);
    }
    return out == OUT_OK ? RC_OK : RC_UNAVAILABLE;
}

/* The cache key "authd:pop:{hex}" where hex is the first CACHE_TAG_BYTES of
 * HMAC-SHA-256(name key, 0x02 || id18 || 0x00 || normalized name) (0x00 and 0x01 prefix
 * the index's fingerprint and name hashes): no number or name in the store. */
static enum rc
cache_key(struct popbase_http *h, struct arena *a, const struct idnum *id,
          const struct name_norm *n, struct span *key)
{
    static const uint8_t dom = 0x02, zero = 0x00;
    static const char hexd[] = "0123456789abcdef";
    uint8_t mac[32];
    char hex[2 * CACHE_TAG_BYTES];
    size_t len = 0;
    EVP_MAC_CTX *c = EVP_MAC_CTX_dup(h->hasher.ctx);
    int ok = c && EVP_MAC_update(c, &dom, 1)
             && EVP_MAC_update(c, (const uint8_t *)id->text, IDNUM_LEN)
             && EVP_MAC_update(c, &zero, 1) && EVP_MAC_update(c, n->p, n->len)
             && EVP_MAC_final(c, mac, &len, sizeof(mac));

    EVP_MAC_CTX_free(c);
    if (!ok || len != sizeof(mac))
        return RC_INTERNAL;
    for (size_t i = 0; i < CACHE_TAG_BYTES; i++) {
        hex[2 * i] = hexd[mac[i] >> 4];
        hex[2 * i + 1] = hexd[mac[i] & 15];
    }
    *key = store_key(a, "pop", span_of(hex, sizeof(hex)), "");
    return key->p ? RC_OK : RC_NOMEM;
}

/* RC_OK: a cached answer in *ans, *at. Anything else: ask the service (a store that is
 * down only costs the cache). */
static enum rc
cache_get(struct popbase_http *h, struct arena *a, struct span key, enum pop_answer *ans,
          struct pop_attrs *at)
{
    struct span v;
    struct pop_attrs got = {0};

    if (store_get(h->cache, a, key, &v) != RC_OK || pophttp_cache_decode(v, ans, &got) != RC_OK) {
        atomic_fetch_add(&h->misses, 1);
        return RC_NOT_FOUND;
    }
    if (at && *ans == POP_MATCH)
        *at = got;
    atomic_fetch_add(&h->hits, 1);
    return RC_OK;
}

/* Caches a definite answer: match, mismatch and cancelled for match_ttl_s, not_found for
 * miss_ttl_s (a TTL of 0 caches nothing). Never unavailable (pophttp_cache_encode gives 0). */
static void
cache_put(struct popbase_http *h, struct span key, enum pop_answer ans, const struct pop_attrs *at)
{
    char v[POPHTTP_CACHE_VALUE];
    uint32_t ttl = ans == POP_NOT_FOUND ? h->miss_ttl_s : h->match_ttl_s;
    size_t n = pophttp_cache_encode(ans, at, v);

    if (n && ttl)
        (void)store_put(h->cache, key, span_of(v, n), ttl, 0); /* best effort */
}

static enum rc
http_verify(struct popbase *p, struct span id18, struct span name, enum pop_answer *ans,
            struct pop_attrs *attrs)
{
    struct popbase_http *h = (struct popbase_http *)p;
    struct pop_attrs at = {0};
    struct idnum id;
    struct name_norm n;
    struct arena a;
    struct span key = {0};
    char *body = NULL;
    enum rc rc;

    *ans = POP_UNAVAILABLE;
    if (idnum_parse(id18, &id, NULL) != RC_OK)
        return RC_MALFORMED;
    /* A name that cannot be normalized matches nobody: the service is asked with an empty
     * name, which it answers mismatch or not_found, as the file backend would. */
    if (name_normalize(name, &n, NULL) != RC_OK)
        n.len = 0;
    arena_init(&a, 4096);
    if (h->cache && n.len && cache_key(h, &a, &id, &n, &key) == RC_OK
        && cache_get(h, &a, key, ans, &at) == RC_OK) {
        rc = RC_OK;
        goto out;
    }
    if ((rc = pophttp_request_body(span_of(id.text, IDNUM_LEN), span_of(n.p, n.len), &body))
        != RC_OK)
        goto out;
    if ((rc = call(h, h->verify_url, body, ans, &at)) == RC_OK && key.p)
        cache_put(h, key, *ans, &at);
out:
    if (rc == RC_OK && attrs && *ans == POP_MATCH)
        *attrs = at;
    if (body)
        OPENSSL_cleanse(body, strlen(body));
    free(body);
    OPENSSL_cleanse(&n, sizeof(n));
    arena_clear(&a);
    return rc == RC_OK ? RC_OK : RC_UNAVAILABLE;
}

static enum rc
http_ping(struct popbase *p)
{
    struct popbase_http *h = (struct popbase_http *)p;

    return call(h, h->health_url, NULL, NULL, NULL);
}

static void
http_free(struct popbase *p)
{
    struct popbase_http *h = (struct popbase_http *)p;

    outbound_free(h->ob);
    popidx_hasher_clear(&h->hasher);
    breaker_clear(&h->br);
    free(h);
}

static const struct popbase_ops http_ops = {"http", http_verify, http_ping, http_free};

/* A required, readable file setting. */
static enum rc
check_path(const char *v, const char *field, struct rc_info *ri)
{
    if (!v || !*v)
        return rc_set(ri, RC_MALFORMED, field, "required for an https:// population service");
    if (access(v, R_OK) != 0)
        return rc_set(ri, RC_NOT_FOUND, field, "cannot read the file");
    return RC_OK;
}

void
popbase_http_outbound_opts(const struct popbase_opts *o, struct outbound_opts *out)
{
    *out = (struct outbound_opts){
        .connect_timeout_ms = o && o->connect_timeout_ms ? o->connect_timeout_ms : 300,
        .timeout_ms = o && o->timeout_ms ? o->timeout_ms : 1000,
        .https_only = true,
        .tls_cert = o ? o->tls_cert : NULL,
        .tls_key = o ? o->tls_key : NULL,
        .tls_ca = o ? o->tls_ca : NULL,
        .max_response = POPHTTP_MAX_RESPONSE,
    };
}

/* URLs, retries, breaker, TLS files, the cache key. */
static enum rc
configure(struct popbase_http *h, const char *url, const struct popbase_opts *o, struct rc_info *ri)
{
    size_t n = strlen(url);
    enum rc rc;

    while (n > 8 && url[n - 1] == '/')
        n--;
    snprintf(h->verify_url, sizeof(h->verify_url), "%.*s/v1/verify", (int)n, url);
    snprintf(h->health_url, sizeof(h->health_url), "%.*s/v1/health", (int)n, url);
    h->retries = o->retries;
    h->match_ttl_s = o->cache_match_ttl_s;
    h->miss_ttl_s = o->cache_miss_ttl_s;
    breaker_init(&h->br, o->breaker_failures ? o->breaker_failures : 5,
                 o->breaker_open_ms ? o->breaker_open_ms : 5000);
    if ((rc = check_path(o->tls_cert, "popbase_tls_cert", ri)) != RC_OK
        || (rc = check_path(o->tls_key, "popbase_tls_key", ri)) != RC_OK
        || (rc = check_path(o->tls_ca, "popbase_tls_ca", ri)) != RC_OK)
        return rc;
    if ((h->cache = o->cache)) {
        if (!o->name_key_path)
            return rc_set(ri, RC_MALFORMED, "popbase_name_key",
                          "required for the answer cache of an https:// population service");
        if ((rc = popidx_hasher_load(&h->hasher, o->name_key_path, ri)) != RC_OK)
            return rc;
    }
    return RC_OK;
}

enum rc
popbase_http_open(const char *url, const struct popbase_opts *o, struct outbound *ob,
                  struct popbase **out, struct rc_info *ri)
{
    static const struct popbase_opts none = {0};
    struct popbase_http *h;
    enum rc rc;

    if ((rc = pophttp_url_check(url, ri)) != RC_OK) {
        outbound_free(ob);
        return rc;
    }
    if (!ob)
        return rc_set(ri, RC_INTERNAL, "popbase", "no outbound HTTP client");
    if (!(h = calloc(1, sizeof(*h)))) {
        outbound_free(ob);
        return rc_set(ri, RC_NOMEM, "popbase", "out of memory");
    }
    h->base.ops = &http_ops;
    h->ob = ob;
    if ((rc = configure(h, url, o ? o : &none, ri)) != RC_OK) {
        http_free(&h->base);
        return rc;
    }
    *out = &h->base;
    return RC_OK;
}

enum rc
popbase_http_stats(struct popbase *p, struct popbase_http_stats *out)
{
    struct popbase_http *h = (struct popbase_http *)p;

    if (!p || p->ops != &http_ops)
        return RC_UNSUPPORTED;
    *out = (struct popbase_http_stats){
        .requests = atomic_load(&h->requests),
        .retries = atomic_load(&h->retried),
        .failures = atomic_load(&h->failures),
        .fast_fails = atomic_load(&h->fast_fails),
        .breaker_opens = breaker_opens(&h->br),
        .cache_hits = atomic_load(&h->hits),
        .cache_misses = atomic_load(&h->misses),
        .breaker_open = breaker_state(&h->br) != BREAKER_CLOSED,
    };
    return RC_OK;
}
