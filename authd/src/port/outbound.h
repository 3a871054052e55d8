/* The outbound port: authd calling other servers over HTTP(S). One client per use, each with
 * its fixed settings (timeouts, TLS files, response cap): the population-service client
 * (adapt/popbase_http.c), the notice gateway (adapt/notify_http.c) and back-channel logout
 * deliveries (flow/bclogout.c). Backend: adapt/outbound_curl.c (libcurl), opened by the
 * composition root (compose/compose.c). No library type crosses this header. */
#ifndef AUTHD_PORT_OUTBOUND_H
#define AUTHD_PORT_OUTBOUND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/rc.h"
#include "util/span.h"

/* A client's settings, fixed when it is opened. Every client: no redirects followed, TLS 1.2
 * at least, certificates and host names verified, signals off, TCP keep-alive, connections
 * kept between calls. */
struct outbound_opts {
    uint32_t connect_timeout_ms; /* 0: 1000 */
    uint32_t timeout_ms;         /* whole exchange; 0: 3000 */
    bool https_only;             /* refuse http:// URLs */
    bool env_proxy;              /* go through the proxy the environment names (http_proxy) */
    const char *tls_cert;        /* client certificate (PEM) for mutual TLS, or NULL */
    const char *tls_key;         /* its key */
    const char *tls_ca;          /* trust only this CA file; NULL: the system's CAs */
    size_t max_response;         /* body bytes a call may keep; a longer body fails */
    const char *user_agent;      /* NULL: "authd/VERSION"; "": no User-Agent header */
};

struct outbound_req {
    const char *url;
    struct span body;         /* p NULL: a GET; else a POST of these bytes */
    const char *content_type; /* of the body ("application/json") */
    const char *accept;       /* Accept header, or NULL for none */
};

struct outbound_resp {
    uint8_t *buf; /* where the body goes (at most cap bytes); NULL: the body is discarded */
    size_t cap;
    size_t len; /* out: body bytes received */
    int status; /* out: the HTTP status the server answered */
};

struct outbound;

struct outbound_ops {
    const char *name; /* "curl" */
    /* Makes one exchange. RC_OK: the server answered, resp->status is its status (any: the
     * caller judges it). RC_UNAVAILABLE: no answer, worth another attempt (cannot resolve or
     * connect, timed out, reset during the handshake or the exchange). RC_DENIED: no answer
     * and no point retrying (the server's certificate failed verification, our certificate or
     * key is unusable, any other failure). RC_TOO_LARGE: the body exceeded resp->cap or the
     * client's max_response. RC_MALFORMED: url refused. RC_NOMEM. */
    enum rc (*send)(struct outbound *o, const struct outbound_req *req, struct outbound_resp *resp);
    void (*free)(struct outbound *o);
};

/* Every backend struct starts with this. */
struct outbound {
    const struct outbound_ops *ops;
};

static inline enum rc
outbound_send(struct outbound *o, const struct outbound_req *req, struct outbound_resp *resp)
{
    return o->ops->send(o, req, resp);
}

/* Frees the client. NULL is fine. */
static inline void
outbound_free(struct outbound *o)
{
    if (o)
        o->ops->free(o);
}

#endif
