/* POST /introspect (RFC 7662) and POST /revoke (RFC 7009), both client-authenticated.
 * A client sees and revokes only its own tokens: an access token whose client_id or aud
 * is the caller, a refresh token of the caller's family. Anything else is
 * {"active": false} (RFC 7662 §2.2) or a silent 200 (RFC 7009 §2.2). */
#include <jansson.h>
#include <string.h>

#include <openssl/crypto.h>

#include "core/mask.h"
#include "flow/account.h"
#include "flow/claims.h"
#include "flow/refresh.h"
#include "flow/subject.h"
#include "flow/token.h"
#include "http/oauth_call.h"
#include "http/router.h"
#include "log/log.h"

/* The refusals of both endpoints (RFC 6749 §5.2); a token that is not the caller's, or
 * not valid, is no refusal (RFC 7662 §2.2, RFC 7009 §2.2). */
static const struct http_error introspect_errors[] = {
    {RC_MALFORMED, RC_WHY_ANY, 400, "invalid_request", NULL, NULL},
    {RC_DENIED, RC_WHY_CLIENT_NOT_ALLOWED, 400, "unauthorized_client", NULL, NULL},
    {RC_ANY, RC_WHY_ANY, 503, "temporarily_unavailable", NULL, HTTP_DESC_NONE},
};

static void
refuse(struct http_req *r, struct http_resp *w, enum rc rc, const struct rc_info *ri)
{
    http_error_answer(r, w, HTTP_ERRORS(introspect_errors), rc, ri, HTTP_CH_NONE);
}

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

/* A module keyed by ID number (the electronic-license service) learns the citizen behind
 * a token it is the audience of, when its policy has id_number_allowed: through this
 * authenticated back channel, never in the bearer token (RFC 9068 §6). Each release is
 * logged like the claim's (docs/architecture.md, Privacy). */
static enum rc
add_id_number(struct http_req *r, const struct oauth_call *oc, const struct token_claims *tc,
              json_t *j)
{
    struct account acct;
    enum rc rc;

    if (!j || !oc->c->id_number_allowed || !tc->account_id || !tc->aud
        || strcmp(tc->aud, oc->c->id) != 0)
        return RC_OK;
    if ((rc = account_get(r->app, &r->arena, tc->account_id, &acct)) != RC_OK)
        return rc;
    rc = claims_log_idn_release(r->app, oc->c->id, tc->account_id, acct.id_number, tc->jti,
                                "introspect");
    if (rc == RC_OK) /* not audited: not released */
        json_object_set_new(j, "id_number", json_string(acct.id_number));
    OPENSSL_cleanse(acct.id_number, sizeof(acct.id_number));
    return rc;
}

static json_t *
access_info(struct http_req *r, const struct oauth_call *oc, struct span tok, enum rc *rc)
{
    struct token_claims tc;
    json_t *j;

    *rc = token_access_verify(r->app, &r->arena, oc->p, tok, &tc, NULL);
    if (*rc != RC_OK || !owns(oc->c, &tc))
        return NULL;
    j = json_pack("{s:b, s:s, s:s, s:s, s:I, s:I, s:s, s:s, s:s, s:s*, s:s*}", "active", 1,
                  "client_id", tc.client_id, "sub", tc.sub, "iss", tc.iss ? tc.iss : "", "exp",
                  (json_int_t)tc.exp, "iat", (json_int_t)tc.iat, "token_type", "Bearer", "jti",
                  tc.jti, "aud", tc.aud ? tc.aud : tc.client_id, "scope", tc.scope, "acr", tc.acr);
    if (j && tc.jkt) { /* RFC 9449 §6.2 */
        json_object_set_new(j, "token_type", json_string("DPoP"));
        json_object_set_new(j, "cnf", json_pack("{s:s}", "jkt", tc.jkt));
    }
    if (j && tc.x5t) /* RFC 8705 §3.2: the resource server compares its client's certificate */
        json_object_set_new(j, "cnf", json_pack("{s:s}", "x5t#S256", tc.x5t));
    if (j && tc.act)
        json_object_set_new(j, "act", json_loads(tc.act, 0, NULL)); /* RFC 8693 §4.1 */
    if ((*rc = add_id_number(r, oc, &tc, j)) != RC_OK) {
        json_decref(j);
        return NULL;
    }
    return j;
}

static json_t *
refresh_info(struct http_req *r, const struct oauth_call *oc, struct span tok, enum rc *rc)
{
    char sub[SUBJECT_MAX], acr[LOA_ACR_MAX];
    struct rtf f;

    *rc = rtf_lookup(r->app, &r->arena, tok, &f);
    if (*rc != RC_OK || strcmp(f.client_id, oc->c->id) != 0
        || subject_for(r->app, oc->c, f.account_id, sub) != RC_OK)
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
    oauth_call_end(oc);
    refuse(r, w, rc_fail(&ri, RC_MALFORMED, RC_WHY_PARAM, "token", "missing"), &ri);
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
        oauth_call_end(&oc);
        refuse(r, w,
               rc_fail(&ri, RC_DENIED, RC_WHY_CLIENT_NOT_ALLOWED, "client",
                       "public clients cannot introspect"),
               &ri);
        return;
    }
    if (!(t = token_param(r, w, &oc)))
        return;
    j = looks_like_jwt(*t) ? access_info(r, &oc, *t, &rc) : refresh_info(r, &oc, *t, &rc);
    oauth_call_end(&oc);
    if (!j && (rc == RC_UNAVAILABLE || rc == RC_NOMEM)) {
        refuse(r, w, rc, NULL);
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
        refuse(r, w, rc, NULL);
        return;
    }
    w->status = 200;
    w->ctype = "application/json";
    w->body = SPAN("{}");
    http_add_header(w, "Cache-Control", "no-store");
}

ROUTE(introspect, "/introspect", HTTP_POST, route_introspect)
ROUTE(revoke, "/revoke", HTTP_POST, route_revoke)
