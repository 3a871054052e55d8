/* The HTTP population base: libcurl over mutual TLS, retries, circuit breaker, answer
 * cache (see popbase_http.h; the API is docs/popbase-api.md). */
#include "adapt/popbase_http.h"

#include <curl/curl.h>
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
#include "port/store.h"
#include "util/arena.h"

#define BACKOFF_BASE_MS 20
#define BACKOFF_CAP_MS  400
#define CACHE_TAG_BYTES 16 /* 128 bits of HMAC name the entry */

/* One easy handle per concurrent caller: it keeps its connection (and TLS session) alive
 * between calls. Handles wait in a free list; popbase_free frees them all. */
struct handle {
    struct handle *next;
    CURL *curl;
    uint8_t resp[POPHTTP_MAX_RESPONSE];
    size_t len;
    unsigned seed; /* back-off jitter, not a secret */
};

struct popbase_http {
    struct popbase base; /* first: the port's view */
    char verify_url[POPHTTP_MAX_URL + 16], health_url[POPHTTP_MAX_URL + 16];
    char *tls_cert, *tls_key, *tls_ca;
    uint32_t connect_ms, timeout_ms, retries, match_ttl_s, miss_ttl_s;
    struct breaker br;
    struct store *cache; /* NULL: no cache */
    struct popidx_hasher hasher;
    struct curl_slist *headers;
    pthread_mutex_t pool_mu;
    struct handle *pool;
    atomic_ullong requests, retried, failures, fast_fails, hits, misses;
};

/* What one attempt came to. */
enum outcome {
    OUT_OK,      /* 200 with a body we understand */
    OUT_RETRY,   /* timeout, connection trouble, 5xx: worth another attempt */
    OUT_FAIL,    /* TLS verification, 3xx/403/404, a body we do not understand: no retry */
    OUT_REFUSED, /* 400/413/422: the service is up but refuses this request; no retry */
};

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_init_rc = CURLE_FAILED_INIT;

static void
curl_start(void)
{
    curl_init_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

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

static size_t
on_body(char *p, size_t size, size_t n, void *arg)
{
    struct handle *e = arg;

    if (n && size > (sizeof(e->resp) - e->len) / n)
        return 0; /* over the cap: curl aborts with CURLE_WRITE_ERROR */
    memcpy(e->resp + e->len, p, size * n);
    e->len += size * n;
    return size * n;
}

/* The options every request of this backend shares. RC_OK or RC_INTERNAL. */
static enum rc
handle_setup(struct popbase_http *h, struct handle *e)
{
    CURL *c = e->curl;
    CURLcode bad = CURLE_OK;

    bad |= curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L); /* threads: no SIGALRM */
    bad |= curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "https");
    bad |= curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
    bad |= curl_easy_setopt(c, CURLOPT_PROXY, ""); /* never through an environment proxy */
    bad |= curl_easy_setopt(c, CURLOPT_SSLVERSION, (long)CURL_SSLVERSION_TLSv1_2);
    bad |= curl_easy_setopt(c, CURLOPT_SSLCERT, h->tls_cert);
    bad |= curl_easy_setopt(c, CURLOPT_SSLKEY, h->tls_key);
    bad |= curl_easy_setopt(c, CURLOPT_CAINFO, h->tls_ca);
    bad |= curl_easy_setopt(c, CURLOPT_CAPATH, NULL); /* only our CA, not the system's */
    bad |= curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L);
    bad |= curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L);
    bad |= curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, (long)h->connect_ms);
    bad |= curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)h->timeout_ms);
    bad |= curl_easy_setopt(c, CURLOPT_HTTPHEADER, h->headers);
    bad |= curl_easy_setopt(c, CURLOPT_USERAGENT, "authd/" AUTHD_VERSION);
    bad |= curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    bad |= curl_easy_setopt(c, CURLOPT_WRITEDATA, e);
    bad |= curl_easy_setopt(c, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)POPHTTP_MAX_RESPONSE);
    bad |= curl_easy_setopt(c, CURLOPT_TCP_KEEPALIVE, 1L);
    return bad == CURLE_OK ? RC_OK : RC_INTERNAL;
}

/* A handle from the free list, or a new one. NULL when out of memory. */
static struct handle *
handle_get(struct popbase_http *h)
{
    struct handle *e;

    pthread_mutex_lock(&h->pool_mu);
    if ((e = h->pool))
        h->pool = e->next;
    pthread_mutex_unlock(&h->pool_mu);
    if (e)
        return e;
    if (!(e = calloc(1, sizeof(*e))))
        return NULL;
    if (RAND_bytes((unsigned char *)&e->seed, sizeof(e->seed)) != 1)
        e->seed = (unsigned)now_ms();
    if (!(e->curl = curl_easy_init()) || handle_setup(h, e) != RC_OK) {
        if (e->curl)
            curl_easy_cleanup(e->curl);
        free(e);
        return NULL;
    }
    return e;
}

static void
handle_put(struct popbase_http *h, struct handle *e)
{
    OPENSSL_cleanse(e->resp, e->len); /* an answer about a person */
    e->len = 0;
    pthread_mutex_lock(&h->pool_mu);
    e->next = h->pool;
    h->pool = e;
    pthread_mutex_unlock(&h->pool_mu);
}

static enum outcome
classify(CURLcode cc, long status)
{
    if (cc == CURLE_OK) {
        if (status == 200)
            return OUT_OK;
        if (status >= 500 && status <= 599)
            return OUT_RETRY;
        if (status == 400 || status == 413 || status == 422)
            return OUT_REFUSED;
        return OUT_FAIL; /* 403: our certificate refused; 404/405/3xx: wrong URL */
    }
    switch (cc) {
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_CONNECT:
    case CURLE_OPERATION_TIMEDOUT:
    case CURLE_SSL_CONNECT_ERROR: /* reset during the handshake */
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_PARTIAL_FILE:
        return OUT_RETRY;
    default:
        return OUT_FAIL; /* peer verification, our key unusable, answer over the cap */
    }
}

/* One HTTP exchange: POST body to url, or GET url when body is NULL. On OUT_OK with ans
 * non-NULL the body was parsed into *ans and *at. */
static enum outcome
attempt(struct popbase_http *h, struct handle *e, const char *url, const char *body,
        enum pop_answer *ans, struct pop_attrs *at)
{
    long status = 0;
    CURLcode cc;
    enum outcome out;

    e->len = 0;
    curl_easy_setopt(e->curl, CURLOPT_URL, url);
    if (body) {
        curl_easy_setopt(e->curl, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(e->curl, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
    } else {
        curl_easy_setopt(e->curl, CURLOPT_HTTPGET, 1L);
    }
    atomic_fetch_add(&h->requests, 1);
    cc = curl_easy_perform(e->curl);
    if (cc == CURLE_OK)
        curl_easy_getinfo(e->curl, CURLINFO_RESPONSE_CODE, &status);
    out = classify(cc, status);
    if (out == OUT_OK && ans && pophttp_parse_answer(span_of(e->resp, e->len), ans, at) != RC_OK)
        out = OUT_FAIL;
    return out;
}

/* Asks the service with bounded retries, through the breaker. RC_OK (and, for a verify,
 * *ans and *at) or RC_UNAVAILABLE. */
static enum rc
call(struct popbase_http *h, const char *url, const char *body, enum pop_answer *ans,
     struct pop_attrs *at)
{
    struct handle *e;
    enum outcome out = OUT_FAIL;

    if (!breaker_allow(&h->br, now_ms())) {
        atomic_fetch_add(&h->fast_fails, 1);
        return RC_UNAVAILABLE;
    }
    if (!(e = handle_get(h)))
        return RC_UNAVAILABLE; /* a probe lost here is replaced after open_ms */
    for (uint32_t n = 0;; n++) {
        out = attempt(h, e, url, body, ans, at);
        if (out == OUT_OK || out == OUT_REFUSED) {
            breaker_success(&h->br); /* it answered: it is up */
            break;
        }
        atomic_fetch_add(&h->failures, 1);
        breaker_failure(&h->br, now_ms());
        if (out == OUT_FAIL || n >= h->retries)
            break;
        sleep_ms(pophttp_backoff_ms(n + 1, BACKOFF_BASE_MS, BACKOFF_CAP_MS, rand_r(&e->seed)));
        if (!breaker_allow(&h->br, now_ms())) /* opened meanwhile: stop here */
            break;
        atomic_fetch_add(&h->retried, 1);
    }
    handle_put(h, e);
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
    struct handle *e;

    while ((e = h->pool)) {
        h->pool = e->next;
        curl_easy_cleanup(e->curl);
        free(e);
    }
    curl_slist_free_all(h->headers);
    popidx_hasher_clear(&h->hasher);
    breaker_clear(&h->br);
    pthread_mutex_destroy(&h->pool_mu);
    free(h->tls_cert);
    free(h->tls_key);
    free(h->tls_ca);
    free(h);
}

static const struct popbase_ops http_ops = {"http", http_verify, http_ping, http_free};

/* Copies a required, readable file setting. */
static enum rc
take_path(const char *v, const char *field, char **out, struct rc_info *ri)
{
    if (!v || !*v)
        return rc_set(ri, RC_MALFORMED, field, "required for an https:// population service");
    if (access(v, R_OK) != 0)
        return rc_set(ri, RC_NOT_FOUND, field, "cannot read the file");
    if (!(*out = strdup(v)))
        return rc_set(ri, RC_NOMEM, field, "out of memory");
    return RC_OK;
}

/* URLs, timeouts, headers, TLS files, the cache key. */
static enum rc
configure(struct popbase_http *h, const char *url, const struct popbase_opts *o, struct rc_info *ri)
{
    size_t n = strlen(url);
    enum rc rc;

    while (n > 8 && url[n - 1] == '/')
        n--;
    snprintf(h->verify_url, sizeof(h->verify_url), "%.*s/v1/verify", (int)n, url);
    snprintf(h->health_url, sizeof(h->health_url), "%.*s/v1/health", (int)n, url);
    h->connect_ms = o->connect_timeout_ms ? o->connect_timeout_ms : 300;
    h->timeout_ms = o->timeout_ms ? o->timeout_ms : 1000;
    h->retries = o->retries;
    h->match_ttl_s = o->cache_match_ttl_s;
    h->miss_ttl_s = o->cache_miss_ttl_s;
    breaker_init(&h->br, o->breaker_failures ? o->breaker_failures : 5,
                 o->breaker_open_ms ? o->breaker_open_ms : 5000);
    if ((rc = take_path(o->tls_cert, "popbase_tls_cert", &h->tls_cert, ri)) != RC_OK
        || (rc = take_path(o->tls_key, "popbase_tls_key", &h->tls_key, ri)) != RC_OK
        || (rc = take_path(o->tls_ca, "popbase_tls_ca", &h->tls_ca, ri)) != RC_OK)
        return rc;
    if (!(h->headers = curl_slist_append(NULL, "Content-Type: application/json"))
        || !(h->headers = curl_slist_append(h->headers, "Accept: application/json"))
        || !(h->headers = curl_slist_append(h->headers, "Expect:")))
        return rc_set(ri, RC_NOMEM, "popbase", "out of memory");
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
popbase_http_open(const char *url, const struct popbase_opts *o, struct popbase **out,
                  struct rc_info *ri)
{
    static const struct popbase_opts none = {0};
    struct popbase_http *h;
    enum rc rc;

    if ((rc = pophttp_url_check(url, ri)) != RC_OK)
        return rc;
    pthread_once(&curl_once, curl_start);
    if (curl_init_rc != CURLE_OK)
        return rc_set(ri, RC_INTERNAL, "popbase", "libcurl did not initialise");
    if (!(h = calloc(1, sizeof(*h))))
        return rc_set(ri, RC_NOMEM, "popbase", "out of memory");
    h->base.ops = &http_ops;
    pthread_mutex_init(&h->pool_mu, NULL);
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
