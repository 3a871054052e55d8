/* Internal to adapt/popbase_http*.c (and their unit tests): the circuit breaker and the
 * wire and cache codecs, kept free of libcurl and of the clock so they test exactly. */
#ifndef AUTHD_ADAPT_POPBASE_HTTP_INT_H
#define AUTHD_ADAPT_POPBASE_HTTP_INT_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "port/popbase.h"
#include "util/rc.h"
#include "util/span.h"

#define POPHTTP_MAX_URL      512  /* base URL, bytes */
#define POPHTTP_MAX_RESPONSE 4096 /* response body cap: an answer is < 100 bytes */
#define POPHTTP_CACHE_VALUE  32   /* "match 19900307 M 110105" and NUL */

/* The circuit breaker, shared by every thread using one backend.
 * closed: calls go through; `threshold` consecutive failures open it.
 * open: calls fail at once until open_ms have passed; then one caller becomes the
 * half-open probe. half-open: other callers fail at once; the probe's success closes the
 * breaker, its failure opens it again for open_ms. A probe that never reports (a caller
 * that gave up) is replaced after open_ms, so the breaker cannot wedge half-open. */
enum breaker_state { BREAKER_CLOSED = 0, BREAKER_OPEN, BREAKER_HALF_OPEN };

struct breaker {
    pthread_mutex_t mu;
    enum breaker_state state;
    uint32_t failures;  /* consecutive, while closed */
    uint32_t threshold; /* failures that open it, >= 1 */
    uint32_t open_ms;   /* time open before a probe */
    int64_t since_ms;   /* when it opened, or when the probe started */
    uint64_t opens;     /* times it opened (closed -> open) */
};

void breaker_init(struct breaker *b, uint32_t threshold, uint32_t open_ms);
void breaker_clear(struct breaker *b);
/* May a call go to the service at now_ms? true: go (and report the outcome with
 * breaker_success or breaker_failure); false: answer unavailable at once. */
bool breaker_allow(struct breaker *b, int64_t now_ms);
/* The service answered: close the breaker and forget past failures. */
void breaker_success(struct breaker *b);
/* The service failed: count it; open (or re-open) the breaker when due. */
void breaker_failure(struct breaker *b, int64_t now_ms);
enum breaker_state breaker_state(struct breaker *b);
uint64_t breaker_opens(struct breaker *b);

/* Checks a base URL: "https://" then a host, at most POPHTTP_MAX_URL bytes, no query,
 * fragment, user info, space or control character; a trailing '/' is allowed. RC_OK,
 * RC_UNSUPPORTED (http://: the service needs mutual TLS), RC_MALFORMED. */
enum rc pophttp_url_check(const char *url, struct rc_info *ri);

/* The request body {"id_number":"...","name":"..."}: id18 is a checked number, name a
 * normalized name (valid UTF-8) or empty. RC_OK: *out is a malloc'd NUL-terminated string
 * the caller frees. RC_NOMEM. */
enum rc pophttp_request_body(struct span id18, struct span name, char **out);

/* Parses a 200 response body (docs/popbase-api.md). RC_OK: *ans set, and on POP_MATCH
 * *attrs filled (attrs may be NULL). RC_MALFORMED: not the API's JSON (too long, not an
 * object, unknown result, or a match without valid attributes). */
enum rc pophttp_parse_answer(struct span body, enum pop_answer *ans, struct pop_attrs *attrs);

/* A cached answer as a short text ("match 19900307 M 110105", "not_found"). Returns the
 * length written into out (POPHTTP_CACHE_VALUE bytes), 0 for POP_UNAVAILABLE, which is
 * never cached. */
size_t pophttp_cache_encode(enum pop_answer ans, const struct pop_attrs *attrs,
                            char out[POPHTTP_CACHE_VALUE]);
/* The reverse. RC_OK or RC_MALFORMED (then the entry is ignored). */
enum rc pophttp_cache_decode(struct span v, enum pop_answer *ans, struct pop_attrs *attrs);

/* Back-off before attempt n >= 1: "equal jitter" over an exponential step,
 * base << (n - 1) capped at cap_ms; the result is in [step / 2, step]. r is any random
 * 32-bit value. */
uint32_t pophttp_backoff_ms(uint32_t n, uint32_t base_ms, uint32_t cap_ms, uint32_t r);

#endif
