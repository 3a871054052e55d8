/* Process-wide counters for /metrics (Prometheus text exposition format 0.0.4). Updates
 * are relaxed atomics: no locks on the request path. Routes are identified by the small
 * index the router assigns; statuses are folded into a fixed set. */
#ifndef AUTHD_LOG_METRICS_H
#define AUTHD_LOG_METRICS_H

#include <stdint.h>

#include "util/span.h"

#define METRICS_MAX_ROUTES 64

/* Names route index i (called once per route at start; "unmatched" is index 0). */
void metrics_route_name(unsigned i, const char *name);
/* Counts one finished request: route index, HTTP status, latency in microseconds. */
void metrics_request(unsigned route, unsigned status, uint64_t latency_us);
/* In-flight requests gauge. */
void metrics_inflight(int delta);
long metrics_inflight_now(void);
/* A connection closed for a request head not complete in time (request_head_timeout_s). */
void metrics_head_timeout(void);

/* Extra lines supplied at render time by the wiring (store errors, population answers). */
typedef void (*metrics_extra_fn)(struct buf *out, void *ctx);

/* Renders every metric into out. RC_OK or RC_NOMEM/RC_TOO_LARGE. */
enum rc metrics_render(struct buf *out, metrics_extra_fn extra, void *ctx);

#endif
