/* /authorize (GET query or POST form, OIDC Core §3.1.2.1): parse, call
 * flow/authorize, answer with a redirect or an error page. */
#include "core/form.h"
#include "flow/authorize.h"
#include "flow/clients.h"
#include "flow/session.h"
#include "http/authz_ui.h"
#include "http/router.h"

/* The answers of /authorize's refusals: the error page before client_id and redirect_uri
 * are validated, the OAuth error sent to the client after. */
static const struct http_error authorize_errors[] = {AUTHZ_UI_ERRORS};

/* A client_id that would make us resolve an entity (automatic registration,
 * flow/clients.h) costs a token of the address's "fedclient:ip" bucket first. */
static bool
fed_rate_ok(struct http_req *r, struct http_resp *w, struct span raw, enum lang lang)
{
    const struct span *id;
    struct policy *p;
    struct form f;
    bool fetches;

    if (form_parse(&r->arena, raw.p, raw.len, &f, NULL) != RC_OK
        || !(id = form_get(&f, "client_id")))
        return true; /* the flow refuses the request without resolving anything */
    p = app_policy_get(r->app);
    fetches = client_resolve_fetches(r->app, p, *id);
    app_policy_put(p);
    return !fetches
           || authz_ui_rate_ok(r, w, "fedclient:ip", r->app->cfg->rate_federation_register_per_ip,
                               lang);
}

static void
route_authorize(struct http_req *r, struct http_resp *w)
{
    struct span raw = r->method == HTTP_POST ? r->body : r->query;
    struct ratelimit rl = {"authorize:ip", span_str(r->client_ip ? r->client_ip : ""),
                           r->app->cfg->rate_authorize_per_ip};
    struct authorize_result res;
    struct authorize_pre pre;
    enum lang lang = authz_ui_lang(r, NULL, NULL);
    uint32_t retry = 0;
    enum rc rc;

    /* before any parsing: each request may store a pending request (docs/security.md); the
     * session is read in the same store round trip, and used only once the token is taken */
    rc = authorize_begin(r->app, &r->arena, &rl, span_str(http_cookie(r, SESSION_COOKIE)), &pre,
                         &retry, NULL);
    if (!authz_ui_rate_answer(r, w, rc, retry, lang))
        return;
    if (!fed_rate_ok(r, w, raw, lang))
        return;
    rc = authorize_request_begun(r->app, &r->arena, raw, &pre, &res);
    if (res.kind == AUTHORIZE_LOGIN || res.kind == AUTHORIZE_CONSENT)
        authz_ui_bind(r, w); /* the pages' CSRF tokens are bound to it */
    authz_ui_result(r, w, &res, rc, HTTP_ERRORS(authorize_errors), lang);
}

ROUTE(authorize, "/authorize", HTTP_GET | HTTP_POST, route_authorize)
