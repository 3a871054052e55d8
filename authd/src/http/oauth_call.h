/* The common start of the client-authenticated endpoints (/token, /introspect, /revoke):
 * a POST with an application/x-www-form-urlencoded body (RFC 6749 §3.2), parsed with
 * core/form (repeated parameters refused), and client authentication (flow/client_auth).
 *
 *     struct oauth_call oc;
 *     if (!oauth_call_begin(r, w, "/token", &oc))
 *         return;            // the error response is written
 *     ... oc.form, oc.p, oc.c ...
 *     oauth_call_end(&oc);
 */
#ifndef AUTHD_HTTP_OAUTH_CALL_H
#define AUTHD_HTTP_OAUTH_CALL_H

#include <stdbool.h>

#include "conf/policy.h"
#include "core/form.h"
#include "http/http.h"

struct oauth_call {
    struct form *form;             /* in the request arena */
    struct policy *p;              /* held until oauth_call_end */
    const struct policy_client *c; /* the authenticated client, owned by p */
    bool basic;                    /* the client used HTTP Basic */
    const struct kiosk_cert *cert; /* tls_client_auth (RFC 8705 §2): the certificate it
                                      authenticated with (its tokens are bound to it, §3) */
};

/* Parses, authenticates, and takes a token from the rate-limit buckets of path (per
 * address, and per client once authenticated: rate_token_* for /token, rate_introspect_*
 * otherwise). true: oc filled, the caller must call oauth_call_end. false: the error
 * response is written (400 invalid_request, 401 invalid_client with WWW-Authenticate:
 * Basic when Basic was tried, 429 too_many_requests with Retry-After, 503) and nothing is
 * held. */
bool oauth_call_begin(struct http_req *r, struct http_resp *w, const char *path,
                      struct oauth_call *oc);
/* The value of form parameter name (a span into the form), or {NULL, 0} when absent. */
struct span oauth_call_param(const struct oauth_call *oc, const char *name);
/* Releases what oauth_call_begin holds. */
void oauth_call_end(struct oauth_call *oc);

/* The challenge of an error answer to the call: Basic (RFC 7617) only when the client
 * tried it. */
#define OAUTH_CALL_CHALLENGE(oc) ((oc)->basic ? HTTP_CH_BASIC_UTF8 : HTTP_CH_NONE)

#endif
