#include "http/router.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log/metrics.h"

struct route {
    const char *name, *path;
    unsigned methods;
    bool metrics; /* metrics listener only */
    route_fn fn;
    char allow[48];
};

static struct route routes[METRICS_MAX_ROUTES];
static unsigned nroutes = 1; /* index 0 is "unmatched" */

void
router_register(const char *name, const char *path, unsigned methods, route_fn fn)
{
    struct route *rt;

    if (nroutes == METRICS_MAX_ROUTES)
        abort(); /* programmer error: raise METRICS_MAX_ROUTES */
    rt = &routes[nroutes++];
    rt->name = name;
    rt->path = path;
    rt->metrics = (methods & ROUTE_METRICS) != 0;
    methods &= ~ROUTE_METRICS;
    rt->methods = methods | ((methods & HTTP_GET) ? HTTP_HEAD : 0);
    rt->fn = fn;
    snprintf(rt->allow, sizeof(rt->allow), "%s%s%s", (methods & HTTP_GET) ? "GET, HEAD" : "",
             (methods & HTTP_GET) && (methods & HTTP_POST) ? ", " : "",
             (methods & HTTP_POST) ? "POST" : "");
}

void
router_init(void)
{
    metrics_route_name(0, "unmatched");
    for (unsigned i = 1; i < nroutes; i++)
        metrics_route_name(i, routes[i].name);
}

void
router_dispatch(struct http_req *r, struct http_resp *w, unsigned *route_index)
{
    *route_index = 0;
    for (unsigned i = 1; i < nroutes; i++) {
        if (routes[i].metrics != r->metrics_listener || !span_eq_str(r->path, routes[i].path))
            continue;
        *route_index = i;
        if (!(routes[i].methods & r->method)) {
            http_add_header(w, "Allow", routes[i].allow);
            http_oauth_error(r, w, 405, "invalid_request", "method not allowed");
            return;
        }
        routes[i].fn(r, w);
        return;
    }
    http_oauth_error(r, w, 404, "not_found", "no such endpoint");
}
