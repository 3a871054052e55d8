/* OpenID Federation 1.0 endpoints (docs/federation.md, docs/oidc-endpoints.md):
 *
 * GET /.well-known/openid-federation (§9): this node's entity configuration,
 *     application/entity-statement+jwt. 404 not_found when federation is off.
 * GET /federation/fetch?sub=ENTITY (§8.1): a subordinate statement about an enrolled
 *     entity, application/entity-statement+jwt. 400 invalid_request (sub missing,
 *     repeated, malformed, or an unknown parameter: unsupported_parameter), 404 not_found
 *     (not enrolled, or this node is no anchor or intermediate), 503.
 * GET /federation/list (§8.2): JSON array of the enrolled entity ids. Filters
 *     (entity_type, trust_marked, trust_mark_type, intermediate) are 400
 *     unsupported_parameter. 404 not_found on a leaf.
 * GET /federation/resolve?sub=ENTITY&trust_anchor=ANCHOR (§8.3): a signed resolve
 *     response, application/resolve-response+jwt. 400 invalid_request; 404
 *     invalid_trust_anchor (not the configured anchor); 400 invalid_trust_chain (a
 *     statement malformed, badly signed, expired, not chaining, or a required trust mark
 *     missing), 400 invalid_metadata (a policy error or constraint broken); 503
 *     temporarily_unavailable (an entity unreachable and nothing cached, the store); 429
 *     too_many_requests with Retry-After past rate_federation_resolve_per_ip (every
 *     resolution may make this node fetch from the addresses it names).
 * Errors are the §8.9 JSON {"error","error_description"} of the shared renderer. */
#include <jansson.h>
#include <string.h>

#include "core/form.h"
#include "flow/fed.h"
#include "flow/ratelimit.h"
#include "http/discovery.h"
#include "http/router.h"

static const struct http_error fed_errors[] = {
    {RC_MALFORMED, RC_WHY_PARAM, 400, "invalid_request", NULL, NULL},
    {RC_UNSUPPORTED, RC_WHY_PARAM, 400, "unsupported_parameter", NULL, NULL},
    {RC_DENIED, RC_WHY_FED_ANCHOR, 404, "invalid_trust_anchor", NULL, NULL},
    {RC_ANY, RC_WHY_FED_POLICY, 400, "invalid_metadata", NULL, NULL},
    {RC_ANY, RC_WHY_FED_CONSTRAINT, 400, "invalid_metadata", NULL, NULL},
    {RC_ANY, RC_WHY_FED_UNREACHABLE, 503, "temporarily_unavailable", NULL, NULL},
    {RC_DENIED, RC_WHY_ANY, 400, "invalid_trust_chain", NULL, NULL},
    {RC_EXPIRED, RC_WHY_ANY, 400, "invalid_trust_chain", NULL, NULL},
    {RC_MALFORMED, RC_WHY_ANY, 400, "invalid_trust_chain", NULL, NULL},
    {RC_UNSUPPORTED, RC_WHY_ANY, 400, "invalid_trust_chain", NULL, NULL},
    {RC_TOO_LARGE, RC_WHY_ANY, 400, "invalid_trust_chain", NULL, NULL},
    {RC_NOT_FOUND, RC_WHY_ANY, 404, "not_found", NULL, NULL},
    {RC_UNAVAILABLE, RC_WHY_ANY, 503, "temporarily_unavailable", NULL, NULL},
    {RC_LIMITED, RC_WHY_ANY, 429, "too_many_requests", NULL, NULL},
    {RC_ANY, RC_WHY_ANY, 500, "server_error", NULL, HTTP_DESC_NONE},
};

static void
refuse(struct http_req *r, struct http_resp *w, enum rc rc, const struct rc_info *ri)
{
    http_error_answer(r, w, HTTP_ERRORS(fed_errors), rc, ri, HTTP_CH_NONE);
}

static void
answer_jwt(struct http_resp *w, struct span jwt, const char *ctype)
{
    w->status = 200;
    w->ctype = ctype;
    w->body = jwt;
    http_add_header(w, "Cache-Control", "no-store");
}

/* Parses the query, allowing only the names in allowed (NULL-terminated). */
static enum rc
query(struct http_req *r, const char *const *allowed, struct form *f, struct rc_info *ri)
{
    enum rc rc = form_parse(&r->arena, r->query.p, r->query.len, f, ri);

    if (rc != RC_OK)
        return rc_because(ri, RC_MALFORMED, RC_WHY_PARAM);
    for (size_t i = 0; i < f->n; i++) {
        bool ok = false;
        for (size_t k = 0; allowed[k]; k++)
            ok = ok || span_eq_str(f->f[i].name, allowed[k]);
        if (!ok)
            return rc_fail(ri, RC_UNSUPPORTED, RC_WHY_PARAM, "query", "parameter not supported");
    }
    return RC_OK;
}

static const char *
required(struct http_req *r, const struct form *f, const char *name, struct rc_info *ri)
{
    const char *v = form_get_str(&r->arena, f, name);

    if (!v || !*v)
        rc_fail(ri, RC_MALFORMED, RC_WHY_PARAM, name, "missing");
    return v && *v ? v : NULL;
}

static void
route_entity_configuration(struct http_req *r, struct http_resp *w)
{
    struct rc_info ri = {0};
    struct span md, jwt;
    enum rc rc = RC_NOT_FOUND;

    if (r->app->fed && (rc = discovery_json(r, &md)) == RC_OK)
        rc = fed_entity_configuration(r->app, md, &r->arena, &jwt, &ri);
    if (rc != RC_OK) {
        refuse(r, w, rc, &ri);
        return;
    }
    answer_jwt(w, jwt, "application/entity-statement+jwt");
}

static void
route_fed_fetch(struct http_req *r, struct http_resp *w)
{
    static const char *const allowed[] = {"sub", NULL};
    struct rc_info ri = {0};
    struct form f;
    struct span jwt;
    const char *sub = NULL;
    enum rc rc = query(r, allowed, &f, &ri);

    if (rc == RC_OK && !(sub = required(r, &f, "sub", &ri)))
        rc = RC_MALFORMED;
    if (rc == RC_OK)
        rc = fed_fetch(r->app, sub, &r->arena, &jwt, &ri);
    if (rc != RC_OK) {
        refuse(r, w, rc, &ri);
        return;
    }
    answer_jwt(w, jwt, "application/entity-statement+jwt");
}

static void
route_fed_list(struct http_req *r, struct http_resp *w)
{
    static const char *const allowed[] = {NULL};
    struct rc_info ri = {0};
    struct form f;
    json_t *list = NULL;
    enum rc rc = query(r, allowed, &f, &ri);

    if (rc == RC_OK)
        rc = fed_list(r->app, &r->arena, &list, &ri);
    if (rc != RC_OK) {
        refuse(r, w, rc, &ri);
        return;
    }
    http_json(r, w, 200, list);
}

/* The per-address bucket of /federation/resolve (flow/ratelimit.h). */
static enum rc
resolve_rate(struct http_req *r, struct http_resp *w, struct rc_info *ri)
{
    struct ratelimit rl = {"fedresolve:ip", span_str(r->client_ip ? r->client_ip : ""),
                           r->app->cfg->rate_federation_resolve_per_ip};
    uint32_t retry = 0;
    enum rc rc = ratelimit_take(r->app, &r->arena, &rl, 1, &retry, ri);

    if (rc == RC_LIMITED)
        http_add_header(w, "Retry-After", arena_printf(&r->arena, "%u", retry));
    return rc;
}

static void
route_fed_resolve(struct http_req *r, struct http_resp *w)
{
    static const char *const allowed[] = {"sub", "trust_anchor", NULL};
    struct rc_info ri = {0};
    struct fed_resolved res = {0};
    struct form f;
    struct span jwt;
    const char *sub = NULL, *anchor = NULL;
    enum rc rc = query(r, allowed, &f, &ri);

    if (rc == RC_OK
        && (!(sub = required(r, &f, "sub", &ri))
            || !(anchor = required(r, &f, "trust_anchor", &ri))))
        rc = RC_MALFORMED;
    if (rc == RC_OK && !r->app->fed)
        rc = rc_set(&ri, RC_NOT_FOUND, "federation", "not configured");
    if (rc == RC_OK)
        rc = resolve_rate(r, w, &ri);
    if (rc == RC_OK && (rc = fed_resolve(r->app, sub, anchor, &r->arena, &res, &ri)) == RC_OK)
        rc = fed_resolve_response(r->app, sub, &res, &r->arena, &jwt, &ri);
    fed_resolved_clear(&res);
    if (rc != RC_OK) {
        refuse(r, w, rc, &ri);
        return;
    }
    answer_jwt(w, jwt, "application/resolve-response+jwt");
}

ROUTE(fed_configuration, "/.well-known/openid-federation", HTTP_GET, route_entity_configuration)
ROUTE(fed_fetch, "/federation/fetch", HTTP_GET, route_fed_fetch)
ROUTE(fed_list, "/federation/list", HTTP_GET, route_fed_list)
ROUTE(fed_resolve, "/federation/resolve", HTTP_GET, route_fed_resolve)
