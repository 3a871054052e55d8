/* Routes register themselves, one file per endpoint:
 *
 *     static void route_token(struct http_req *r, struct http_resp *w);
 *     ROUTE(token, "/token", HTTP_POST, route_token)
 *
 * Paths match exactly. The name ("token") labels logs and metrics. A route whose methods
 * include ROUTE_METRICS is served only on the metrics listener (config metrics_listen), and
 * that listener serves no other route. */
#ifndef AUTHD_HTTP_ROUTER_H
#define AUTHD_HTTP_ROUTER_H

#include "http/http.h"

#define ROUTE_METRICS (1u << 8)

void router_register(const char *name, const char *path, unsigned methods, route_fn fn);

#define ROUTE(name, path, methods, fn)                                                             \
    __attribute__((constructor)) static void route_reg_##name(void)                                \
    {                                                                                              \
        router_register(#name, path, methods, fn);                                                 \
    }

/* Names every route in the metrics module; call once at start. */
void router_init(void);
/* Handles r: 404 for unknown paths, 405 (with Allow) for a method the route lacks.
 * *route_index is set to the metrics index of the route (0: unmatched). */
void router_dispatch(struct http_req *r, struct http_resp *w, unsigned *route_index);

#endif
