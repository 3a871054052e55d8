#include "log/metrics.h"

#include <stdatomic.h>
#include <stdio.h>

static const unsigned statuses[] = {200, 201, 204, 302, 303, 400, 401, 403, 404, 405,
                                    409, 413, 415, 429, 431, 500, 501, 503, 0};
#define NSTATUS (sizeof(statuses) / sizeof(statuses[0])) /* last: "other" */
/* Latency buckets in microseconds (rendered in seconds). */
static const uint64_t bucket_us[] = {100,   250,    500,    1000,   2500,    5000,
                                     10000, 25000,  50000,  100000, 250000,  500000,
                                     1000000, 2500000, 5000000};
#define NBUCKET (sizeof(bucket_us) / sizeof(bucket_us[0]))

static const char *route_names[METRICS_MAX_ROUTES];
static atomic_ullong req_count[METRICS_MAX_ROUTES][NSTATUS];
static atomic_ullong lat_bucket[METRICS_MAX_ROUTES][NBUCKET];
static atomic_ullong lat_count[METRICS_MAX_ROUTES];
static atomic_ullong lat_sum_us[METRICS_MAX_ROUTES];
static atomic_long inflight;
static atomic_ullong head_timeouts;

void
metrics_route_name(unsigned i, const char *name)
{
    if (i < METRICS_MAX_ROUTES)
        route_names[i] = name;
}

static unsigned
status_slot(unsigned status)
{
    for (unsigned i = 0; i < NSTATUS - 1; i++)
        if (statuses[i] == status)
            return i;
    return NSTATUS - 1;
}

void
metrics_request(unsigned route, unsigned status, uint64_t latency_us)
{
    if (route >= METRICS_MAX_ROUTES)
        route = 0;
    atomic_fetch_add_explicit(&req_count[route][status_slot(status)], 1, memory_order_relaxed);
    for (unsigned b = 0; b < NBUCKET; b++) {
        if (latency_us <= bucket_us[b]) {
            atomic_fetch_add_explicit(&lat_bucket[route][b], 1, memory_order_relaxed);
            break;
        }
    }
    atomic_fetch_add_explicit(&lat_count[route], 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&lat_sum_us[route], latency_us, memory_order_relaxed);
}

void
metrics_inflight(int delta)
{
    atomic_fetch_add_explicit(&inflight, delta, memory_order_relaxed);
}

void
metrics_head_timeout(void)
{
    atomic_fetch_add_explicit(&head_timeouts, 1, memory_order_relaxed);
}

long
metrics_inflight_now(void)
{
    return atomic_load(&inflight);
}

static enum rc
render_requests(struct buf *o)
{
    enum rc rc = buf_append_str(o, "# HELP authd_http_requests_total HTTP requests answered, "
                                   "by route and status.\n"
                                   "# TYPE authd_http_requests_total counter\n");
    for (unsigned r = 0; rc == RC_OK && r < METRICS_MAX_ROUTES; r++) {
        if (!route_names[r])
            continue;
        for (unsigned s = 0; rc == RC_OK && s < NSTATUS; s++) {
            unsigned long long n = atomic_load(&req_count[r][s]);
            if (!n)
                continue;
            if (statuses[s])
                rc = buf_printf(o, "authd_http_requests_total{route=\"%s\",status=\"%u\"} %llu\n",
                                route_names[r], statuses[s], n);
            else
                rc = buf_printf(o,
                                "authd_http_requests_total{route=\"%s\",status=\"other\"} %llu\n",
                                route_names[r], n);
        }
    }
    return rc;
}

static enum rc
render_latency(struct buf *o)
{
    enum rc rc = buf_append_str(o, "# HELP authd_http_request_duration_seconds Time from the "
                                   "first byte of a request to its completion.\n"
                                   "# TYPE authd_http_request_duration_seconds histogram\n");
    for (unsigned r = 0; rc == RC_OK && r < METRICS_MAX_ROUTES; r++) {
        unsigned long long cum = 0, cnt = atomic_load(&lat_count[r]);
        if (!route_names[r] || !cnt)
            continue;
        for (unsigned b = 0; rc == RC_OK && b < NBUCKET; b++) {
            cum += atomic_load(&lat_bucket[r][b]);
            rc = buf_printf(o,
                            "authd_http_request_duration_seconds_bucket{route=\"%s\",le=\"%g\"} "
                            "%llu\n",
                            route_names[r], (double)bucket_us[b] / 1e6, cum);
        }
        if (rc == RC_OK)
            rc = buf_printf(o,
                            "authd_http_request_duration_seconds_bucket{route=\"%s\",le=\"+Inf\"} "
                            "%llu\n"
                            "authd_http_request_duration_seconds_sum{route=\"%s\"} %.6f\n"
                            "authd_http_request_duration_seconds_count{route=\"%s\"} %llu\n",
                            route_names[r], cnt, route_names[r],
                            (double)atomic_load(&lat_sum_us[r]) / 1e6, route_names[r], cnt);
    }
    return rc;
}

enum rc
metrics_render(struct buf *out, metrics_extra_fn extra, void *ctx)
{
    enum rc rc;

    if ((rc = buf_printf(out,
                         "# HELP authd_build_info Build of the running authd.\n"
                         "# TYPE authd_build_info gauge\n"
                         "authd_build_info{version=\"%s\"} 1\n"
                         "# HELP authd_http_requests_in_flight Requests being served now.\n"
                         "# TYPE authd_http_requests_in_flight gauge\n"
                         "authd_http_requests_in_flight %ld\n"
                         "# HELP authd_http_head_timeouts_total Connections closed because "
                         "a request head was not complete within request_head_timeout_s.\n"
                         "# TYPE authd_http_head_timeouts_total counter\n"
                         "authd_http_head_timeouts_total %llu\n",
                         AUTHD_VERSION, metrics_inflight_now(),
                         (unsigned long long)atomic_load(&head_timeouts)))
        != RC_OK)
        return rc;
    if ((rc = render_requests(out)) != RC_OK || (rc = render_latency(out)) != RC_OK)
        return rc;
    if (extra)
        extra(out, ctx);
    return RC_OK;
}
