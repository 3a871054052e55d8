/* The HTTP population base: the provincial population service over HTTPS with mutual TLS
 * (docs/popbase-api.md has the API, docs/population.md the behaviour). Calls go through an
 * outbound client (port/outbound.h) that keeps connections alive;
 * bounded retries with jittered exponential back-off on timeouts, connection errors and
 * 5xx (never on 4xx); a circuit breaker shared by all threads; answers cached in the
 * store under a keyed hash of (number, normalized name). */
#ifndef AUTHD_ADAPT_POPBASE_HTTP_H
#define AUTHD_ADAPT_POPBASE_HTTP_H

#include <stdint.h>

#include "port/outbound.h"
#include "port/popbase.h"
#include "util/rc.h"

/* The outbound client settings this backend needs for options o (timeouts, https only,
 * the TLS files, the response cap): the composition root opens a client with them. */
void popbase_http_outbound_opts(const struct popbase_opts *o, struct outbound_opts *out);

/* Opens the service whose base URL is url ("https://host:port[/prefix]"; the API paths
 * /v1/verify and /v1/health are appended), calling it through ob, which it takes (freed
 * with the backend, or here on failure). o must name the client certificate, its key
 * and the CA of the service (o->tls_*); with o->cache set, o->name_key_path must name the
 * 32-byte name key, which keys the cache entries. Nothing is sent yet: a service that
 * cannot be reached is not an error here (calls answer unavailable until it is).
 * RC_OK: *out owned by the caller (popbase_free). RC_MALFORMED: bad URL or a missing
 * setting; RC_UNSUPPORTED: plain http://; RC_NOT_FOUND: an unreadable file; RC_NOMEM;
 * RC_INTERNAL: no client. ri names the setting. */
enum rc popbase_http_open(const char *url, const struct popbase_opts *o, struct outbound *ob,
                          struct popbase **out, struct rc_info *ri);

/* Counters since open, for operators, metrics and tests. */
struct popbase_http_stats {
    uint64_t requests;   /* HTTP attempts sent (retries included) */
    uint64_t retries;    /* attempts after the first */
    uint64_t failures;   /* attempts that failed (timeout, connection, TLS, 5xx, bad body) */
    uint64_t fast_fails; /* calls refused at once by the open breaker */
    uint64_t breaker_opens;
    uint64_t cache_hits, cache_misses;
    int breaker_open; /* 1 while the breaker is open or half-open */
};

/* Fills *out. RC_UNSUPPORTED if p is not an HTTP population base. */
enum rc popbase_http_stats(struct popbase *p, struct popbase_http_stats *out);

#endif
