/* The outbound port: authd calling other servers over HTTP (back-channel logout
 * deliveries to relying parties). Backend: adapt/outbound_curl.c (libcurl). No library type
 * crosses this header. */
#ifndef AUTHD_PORT_OUTBOUND_H
#define AUTHD_PORT_OUTBOUND_H

#include <stdint.h>

#include "util/rc.h"
#include "util/span.h"

struct outbound;

struct outbound_opts {
    uint32_t connect_timeout_ms; /* 0: 1000 */
    uint32_t timeout_ms;         /* whole exchange; 0: 3000 */
};

struct outbound_ops {
    const char *name; /* "curl" */
    /* POSTs body as application/x-www-form-urlencoded to url (http or https only, no
     * redirects followed, response body discarded). RC_OK: *status is the HTTP status the
     * server answered (any, the caller judges it). RC_UNAVAILABLE: no answer (refused,
     * timed out, TLS failure); RC_MALFORMED: url refused; RC_NOMEM. */
    enum rc (*post_form)(struct outbound *o, const char *url, struct span body,
                         const struct outbound_opts *opts, int *status);
    void (*free)(struct outbound *o);
};

/* Every backend struct starts with this. */
struct outbound {
    const struct outbound_ops *ops;
};

/* Opens the libcurl backend (calls curl_global_init: call it from the main thread before
 * other threads start). RC_OK: *out owned by the caller (outbound_free). RC_INTERNAL. */
enum rc outbound_curl_open(struct outbound **out);

static inline enum rc
outbound_post_form(struct outbound *o, const char *url, struct span body,
                   const struct outbound_opts *opts, int *status)
{
    return o->ops->post_form(o, url, body, opts, status);
}

/* Frees the backend. NULL is fine. */
static inline void
outbound_free(struct outbound *o)
{
    if (o)
        o->ops->free(o);
}

#endif
