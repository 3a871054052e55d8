/* POST /introspect (RFC 7662) and POST /revoke (RFC 7009), both client-authenticated.
 * A client sees and revokes only its own tokens: an access token whose client_id or aud
 * is the caller, a refresh token of the caller's family. Anything else is
 * {"active": false} (RFC 7662 §2.2) or a silent 200 (RFC 7009 §2.2). */
#include <jansson.h>
#include <string.h>

#include "flow/refresh.h"
#include "flow/subject.h"
#include "flow/token.h"
#include "http/oauth_call.h"
#include "http/router.h"
#include "log/log.h"

/* JWTs have two dots; our refresh tokens none. */
static bool
looks_like_jwt(struct span t)
{
    return memchr(t.p, '.', t.len) != NULL;
}

static bool
owns(const struct policy_client *c, const struct token_claims *tc)
{
    return strcmp(tc->client_id, c->id) == 0 || (tc->aud && strcmp(tc->aud, c->id) == 0);
}

static json_t *
access_info(struct http_req *r, const struct oauth_call *oc, struct span tok, enum rc *rc)
{
    struct token_claims tc;

    *rc = token_access_verify(r->app, &r->arena, oc->p, tok, &tc, NULL);
    if (*rc != RC_OK || !owns(oc->c, &tc))
        return NULL;
    return json_pack("{s:b, s:s, s:s, s:s, s:I, s:I, s:s, s:s, s:s, s:s*, s:s*}", "active", 1,
                     "client_id", tc.client_id, "sub", tc.sub, "iss", tc.iss ? tc.iss : "", "exp",
                     (json_int_t)tc.exp, "iat", (json_int_t)tc.iat, "token_type", "Bearer", "jti",
                     tc.jti, "aud", tc.aud ? tc.aud : tc.client_id, "scope", tc.scope, "acr",
                     tc.acr);
}

static json_t *
refresh_info(struct http_req *r, const struct oauth_call *oc, struct span tok, enum rc *rc)
{
    char sub[SUBJECT_MAX], acr[LOA_ACR_MAX];
    struct rtf f;

    *rc = rtf_lookup(r->app, &r->arena, tok, &f);
    if (*rc != RC_OK || strcmp(f.client_id, oc->c->id) != 0
        || subject_for(oc->c, f.account_id, sub) != RC_OK)
        return NULL;
    loa_format(f.loa, acr);
    return json_pack("{s:b, s:s, s:s, s:s, s:I, s:I, s:s, s:s, s:s}", "active", 1, "client_id",
                     f.client_id, "sub", sub, "iss", r->app->cfg->issuer, "exp",
                     (json_int_t)(f.idle_exp < f.abs_exp ? f.idle_exp : f.abs_exp), "iat",
                     (json_int_t)f.created, "token_type", "refresh_token", "scope", f.scope, "acr",
                     acr);
}

static const struct span *
token_param(struct http_req *r, struct http_resp *w, struct oauth_call *oc)
{
    const struct span *t = form_get(oc->form, "token");
    struct rc_info ri = {0};

    if (t && t->len > 0)
        return t;
    rc_set(&ri, RC_MALFORMED, "token", "missing");
    oauth_error(r, w, 400, "invalid_request", &ri, false);
    oauth_call_end(oc);
    return NULL;
}

static void
route_introspect(struct http_req *r, struct http_resp *w)
{
    struct oauth_call oc;
    const struct span *t;
    struct rc_info ri = {0};
    json_t *j;
    enum rc rc;

    if (!oauth_call_begin(r, w, "/introspect", &oc))
        return;
    if (oc.c->type == CLIENT_PUBLIC) {
        rc_set(&ri, RC_DENIED, "client", "public clients cannot introspect");
        oauth_error(r, w, 400, "unauthorized_client", &ri, false);
        oauth_call_end(&oc);
        return;
    }
    if (!(t = token_param(r, w, &oc)))
        return;
    j = looks_like_jwt(*t) ? access_info(r, &oc, *t, &rc) : refresh_info(r, &oc, *t, &rc);
    oauth_call_end(&oc);
    if (!j && (rc == RC_UNAVAILABLE || rc == RC_NOMEM)) {
        oauth_error(r, w, 503, "temporarily_unavailable", NULL, false);
        return;
    }
    http_json(r, w, 200, j ? j : json_pack("{s:b}", "active", 0));
}

/* Revokes t if it is the caller's; RC_OK also when there was nothing to revoke. */
static enum rc
revoke(struct http_req *r, const struct oauth_call *oc, struct span t)
{
    struct token_claims tc;
    struct rtf f;
    enum rc rc;

    if (looks_like_jwt(t)) {
        rc = token_access_verify(r->app, &r->arena, oc->p, t, &tc, NULL);
        if (rc == RC_OK && owns(oc->c, &tc))
            return token_access_revoke(r->app, &r->arena, &tc);
    } else {
        rc = rtf_lookup(r->app, &r->arena, t, &f);
        if (rc == RC_OK && strcmp(f.client_id, oc->c->id) == 0)
            return rtf_revoke(r->app, &r->arena, oc->p, span_of(f.id, RTF_ID_LEN));
    }
    return rc == RC_UNAVAILABLE || rc == RC_NOMEM ? rc : RC_OK;
}

static void
route_revoke(struct http_req *r, struct http_resp *w)
{
    struct oauth_call oc;
    const struct span *t;
    enum rc rc;

    if (!oauth_call_begin(r, w, "/revoke", &oc))
        return;
    if (!(t = token_param(r, w, &oc)))
        return;
    rc = revoke(r, &oc, *t);
    oauth_call_end(&oc);
    if (rc == RC_NOT_FOUND)
        rc = RC_OK;
    if (rc != RC_OK) {
        oauth_error(r, w, 503, "temporarily_unavailable", NULL, false);
        return;
    }
    w->status = 200;
    w->ctype = "application/json";
    w->body = SPAN("{}");
    http_add_header(w, "Cache-Control", "no-store");
}

ROUTE(introspect, "/introspect", HTTP_POST, route_introspect)
ROUTE(revoke, "/revoke", HTTP_POST, route_revoke)
