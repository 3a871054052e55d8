/* /healthz (the process answers), /readyz (its dependencies answer), /metrics
 * (Prometheus text format 0.0.4, on the metrics listener only: docs/operations.md). */
#include <jansson.h>

#include "http/router.h"
#include "log/metrics.h"
#include "port/popbase.h"
#include "port/store.h"

static void
route_healthz(struct http_req *r, struct http_resp *w)
{
    (void)r;
    http_text(w, 200, "ok\n");
}

static void
route_readyz(struct http_req *r, struct http_resp *w)
{
    struct app *app = r->app;
    json_t *j = json_object();
    const char *reason = NULL, *degraded = NULL;

    /* Without the store nothing works: not ready. Without the population base only
     * registration stops (it fails closed) while logins go on, so by default a node stays
     * in the load balancer and says it is degraded; ready_requires_popbase makes it a
     * hard dependency. */
    if (app->store && store_ping(app->store) != RC_OK)
        reason = "store unavailable";
    else if (atomic_load(&app->stopping))
        reason = "shutting down";
    else if (app->pop && popbase_ping(app->pop) != RC_OK) {
        if (app->cfg->ready_requires_popbase)
            reason = "population base unavailable";
        else
            degraded = "population base unavailable: registration is refused";
    }
    json_object_set_new(j, "status",
                        json_string(reason ? "unavailable" : degraded ? "degraded" : "ready"));
    if (reason || degraded)
        json_object_set_new(j, "reason", json_string(reason ? reason : degraded));
    http_json(r, w, reason ? 503 : 200, j);
}

static void
extra_metrics(struct buf *o, void *ctx)
{
    struct app *app = ctx;

    if (app->store)
        buf_printf(o,
                   "# HELP authd_store_errors_total Store calls that failed (unavailable).\n"
                   "# TYPE authd_store_errors_total counter\n"
                   "authd_store_errors_total{backend=\"%s\"} %llu\n",
                   app->store->ops->name, (unsigned long long)atomic_load(&app->store->errors));
    if (app->pop) {
        /* mismatch, not_found and cancelled are one outcome: /api/register answers all three
         * with the same 403, and a counter telling them apart would tell a stranger whether
         * a number belongs to a real (or a cancelled) person. */
        unsigned long long n[POP__COUNT];
        for (int a = 0; a < POP__COUNT; a++)
            n[a] = atomic_load(&app->pop->answers[a]);
        buf_printf(o,
                   "# HELP authd_popbase_answers_total Population-base answers by outcome.\n"
                   "# TYPE authd_popbase_answers_total counter\n"
                   "authd_popbase_answers_total{outcome=\"match\"} %llu\n"
                   "authd_popbase_answers_total{outcome=\"refused\"} %llu\n"
                   "authd_popbase_answers_total{outcome=\"unavailable\"} %llu\n",
                   n[POP_MATCH], n[POP_MISMATCH] + n[POP_NOT_FOUND] + n[POP_CANCELLED],
                   n[POP_UNAVAILABLE]);
    }
}

static void
route_metrics(struct http_req *r, struct http_resp *w)
{
    struct buf b;

    buf_init(&b, 1u << 20);
    if (metrics_render(&b, extra_metrics, r->app) != RC_OK) {
        buf_clear(&b);
        http_text(w, 500, "metrics too large\n");
        return;
    }
    w->status = 200;
    w->ctype = "text/plain; version=0.0.4; charset=utf-8";
    http_body_buf(r, w, &b);
}

ROUTE(healthz, "/healthz", HTTP_GET, route_healthz)
ROUTE(readyz, "/readyz", HTTP_GET, route_readyz)
ROUTE(metrics, "/metrics", HTTP_GET | ROUTE_METRICS, route_metrics)
