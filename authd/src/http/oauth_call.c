#include "http/oauth_call.h"

#include <jansson.h>
#include <string.h>
#include <strings.h>

#include "flow/client_auth.h"
#include "flow/clients.h"
#include "flow/ratelimit.h"

/* The failures of the common start (RFC 6749 §5.2; 429: RFC 6585 §4, docs/security.md). */
static const struct http_error call_errors[] = {
    {RC_ANY, RC_WHY_CLIENT_AUTH, 401, "invalid_client", NULL, NULL},
    {RC_TOO_LARGE, RC_WHY_ANY, 413, "invalid_request", NULL, NULL},
    {RC_MALFORMED, RC_WHY_ANY, 400, "invalid_request", NULL, NULL},
    {RC_LIMITED, RC_WHY_ANY, 429, "too_many_requests", NULL, NULL},
    {RC_ANY, RC_WHY_ANY, 0, NULL, NULL, HTTP_DESC_NONE},
};

/* Answers a failure of the common start; false. basic: the client tried HTTP Basic. */
static bool
call_failed(struct http_req *r, struct http_resp *w, enum rc rc, const struct rc_info *ri,
            bool basic)
{
    http_error_answer(r, w, HTTP_ERRORS(call_errors), rc, ri,
                      basic ? HTTP_CH_BASIC_UTF8 : HTTP_CH_NONE);
    return false;
}

static bool
is_form(const char *ctype)
{
    static const char want[] = "application/x-www-form-urlencoded";
    size_t n = sizeof(want) - 1;

    return ctype && strncasecmp(ctype, want, n) == 0 && (ctype[n] == 0 || ctype[n] == ';');
}

/* The token buckets of path: per address always, per client once authenticated (so that
 * nobody can spend another client's budget by naming it). One store call. true: go on;
 * false: answered 429 with Retry-After, or 503 when the store cannot answer. */
static bool
rate_ok(struct http_req *r, struct http_resp *w, const char *path, const char *client)
{
    const struct config *c = r->app->cfg;
    bool token = strcmp(path, "/token") == 0 || strcmp(path, "/par") == 0; /* a /token prelude */
    struct ratelimit rl[2] = {
        {token ? "token:ip" : "introspect:ip", span_str(r->client_ip ? r->client_ip : ""),
         token ? c->rate_token_per_ip : c->rate_introspect_per_ip},
        {token ? "token:client" : "introspect:client", span_str(client ? client : ""),
         token ? c->rate_token_per_client : c->rate_introspect_per_client},
    };
    struct rc_info ri = {0};
    uint32_t retry = 0;
    enum rc rc = ratelimit_take(r->app, &r->arena, rl, 2, &retry, &ri);

    if (rc == RC_OK)
        return true;
    if (rc != RC_LIMITED)
        return call_failed(r, w, RC_UNAVAILABLE, NULL, false);
    http_add_header(w, "Retry-After", arena_printf(&r->arena, "%u", retry));
    return call_failed(r, w, RC_LIMITED, &ri, false);
}

/* An id that would make us resolve an entity (automatic registration, flow/clients.h):
 * one token of the address's "fedclient:ip" bucket. true: go on; false: answered 429 with
 * Retry-After, or 503. */
static bool
fed_rate_ok(struct http_req *r, struct http_resp *w, const struct policy *p, struct span id)
{
    struct ratelimit rl = {"fedclient:ip", span_str(r->client_ip ? r->client_ip : ""),
                           r->app->cfg->rate_federation_register_per_ip};
    struct rc_info ri = {0};
    uint32_t retry = 0;
    enum rc rc;

    if (!client_resolve_fetches(r->app, p, id))
        return true;
    if ((rc = ratelimit_take(r->app, &r->arena, &rl, 1, &retry, &ri)) == RC_OK)
        return true;
    if (rc != RC_LIMITED)
        return call_failed(r, w, RC_UNAVAILABLE, NULL, false);
    http_add_header(w, "Retry-After", arena_printf(&r->arena, "%u", retry));
    return call_failed(r, w, RC_LIMITED, &ri, false);
}

bool
oauth_call_begin(struct http_req *r, struct http_resp *w, const char *path, struct oauth_call *oc)
{
    struct rc_info ri = {0};
    struct client_creds cr;
    const char *url;
    enum rc rc;

    memset(oc, 0, sizeof(*oc));
    if (!is_form(http_header(r, "Content-Type")))
        return call_failed(r, w,
                           rc_fail(&ri, RC_MALFORMED, RC_WHY_PARAM, "Content-Type",
                                   "must be application/x-www-form-urlencoded"),
                           &ri, false);
    if (!(oc->form = arena_alloc(&r->arena, sizeof(*oc->form))))
        return call_failed(r, w, RC_NOMEM, NULL, false);
    if ((rc = form_parse(&r->arena, r->body.p, r->body.len, oc->form, &ri)) != RC_OK)
        return call_failed(r, w, rc == RC_TOO_LARGE ? rc : RC_MALFORMED, &ri, false);
    if ((rc = client_auth_parse(&r->arena, http_header(r, "Authorization"), oc->form, &cr, &ri))
        != RC_OK)
        return call_failed(
            r, w, rc_because(&ri, rc, rc == RC_MALFORMED ? RC_WHY_PARAM : RC_WHY_CLIENT_AUTH), &ri,
            cr.basic || rc == RC_DENIED);
    oc->basic = cr.basic;
    if (!(oc->p = app_policy_get(r->app)))
        return call_failed(r, w, RC_UNAVAILABLE, NULL, false);
    if (!fed_rate_ok(r, w, oc->p, client_auth_claimed_id(&r->arena, &cr))) {
        oauth_call_end(oc);
        return false;
    }
    url = arena_printf(&r->arena, "%s%s", r->app->cfg->issuer, path);
    cr.cert = http_client_cert(r, NULL); /* RFC 8705 §2: tls_client_auth */
    rc = client_auth_verify(r->app, &r->arena, oc->p, &cr, url, &oc->c, &ri);
    if (rc == RC_DENIED && ri.why == RC_WHY_KIOSK_CERT && !cr.cert)
        ri = r->cert_ri; /* why the certificate was refused: revoked, another CA, ... */
    if (!rate_ok(r, w, path, rc == RC_OK ? oc->c->id : NULL)) {
        oauth_call_end(oc);
        return false;
    }
    if (rc != RC_OK) {
        oauth_call_end(oc);
        if (rc != RC_DENIED) /* the store or memory: no description */
            return call_failed(r, w, rc, NULL, false);
        return call_failed(r, w, rc_because(&ri, rc, RC_WHY_CLIENT_AUTH), &ri, cr.basic);
    }
    http_set_client(r, oc->c->id);
    if (oc->c->auth == AUTH_TLS_CLIENT_AUTH)
        oc->cert = cr.cert;
    return true;
}

struct span
oauth_call_param(const struct oauth_call *oc, const char *name)
{
    const struct span *s = form_get(oc->form, name);

    return s ? *s : (struct span){NULL, 0};
}

void
oauth_call_end(struct oauth_call *oc)
{
    app_policy_put(oc->p);
    oc->p = NULL;
    oc->c = NULL;
}
