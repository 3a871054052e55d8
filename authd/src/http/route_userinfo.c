/* /userinfo (OIDC Core §5.3), GET or POST, with a bearer access token (RFC 6750 §2.1
 * Authorization header, or §2.2 form body on POST; never the query). Errors per RFC 6750
 * §3: 401 with WWW-Authenticate: Bearer error="invalid_token", 400 invalid_request, 403
 * insufficient_scope (a token without `openid`). The claims released are those the token's
 * scope and its holder's policy allow: the holder is the token's audience, so a token
 * exchanged towards a module (RFC 8693) reads only what that module is registered for. */
#include <jansson.h>
#include <openssl/crypto.h>
#include <string.h>
#include <strings.h>

#include "core/authz.h"
#include "core/bearer.h"
#include "core/form.h"
#include "core/mask.h"
#include "flow/account.h"
#include "flow/claims.h"
#include "flow/kiosk.h"
#include "flow/clients.h"
#include "flow/subject.h"
#include "flow/token.h"
#include "http/dpop_http.h"
#include "http/router.h"
#include "log/log.h"

/* RFC 6750 §3.1, every answer with its Bearer challenge: no token at all is a bare 401
 * (RC_NOT_FOUND), two tokens 400, a token without `openid` 403 (RC_UNSUPPORTED). */
static const struct http_error userinfo_errors[] = {
    {RC_NOT_FOUND, RC_WHY_PARAM, 401, NULL, NULL, HTTP_DESC_NONE},
    {RC_MALFORMED, RC_WHY_PARAM, 400, "invalid_request", NULL, "one bearer token, header or body"},
    {RC_UNAVAILABLE, RC_WHY_ANY, 503, "temporarily_unavailable", NULL, HTTP_DESC_NONE},
    {RC_NOMEM, RC_WHY_ANY, 503, "temporarily_unavailable", NULL, HTTP_DESC_NONE},
    {RC_UNSUPPORTED, RC_WHY_SCOPE, 403, "insufficient_scope", NULL,
     "the token lacks the openid scope"},
    {RC_ANY, RC_WHY_DPOP_NONCE, 401, "use_dpop_nonce", NULL, NULL},
    {RC_ANY, RC_WHY_DPOP_PROOF, 401, "invalid_dpop_proof", NULL, NULL},
    {RC_ANY, RC_WHY_DPOP_BOUND, 401, "invalid_token", NULL, NULL},
    {RC_ANY, RC_WHY_CERT_BINDING, 401, "invalid_token", NULL, NULL},
    {RC_EXPIRED, RC_WHY_ANY, 401, "invalid_token", NULL, "expired"},
    {RC_ANY, RC_WHY_ANY, 401, "invalid_token", NULL, "invalid"},
};

/* Answers from the table; NULL error (no token at all): a bare challenge, {}. A DPoP
 * refusal carries the DPoP challenge (RFC 9449 §7.1), the others the Bearer one. */
static void
refuse(struct http_req *r, struct http_resp *w, enum rc rc, const struct rc_info *ri)
{
    const struct http_error *e = http_error_find(HTTP_ERRORS(userinfo_errors), rc, ri);
    enum rc_reason why = ri ? ri->why : RC_WHY_NONE;
    bool dpop = why == RC_WHY_DPOP_PROOF || why == RC_WHY_DPOP_NONCE || why == RC_WHY_DPOP_BOUND;

    http_error_json(r, w, e->status, e->error, http_error_desc(r, e, ri),
                    dpop ? HTTP_CH_DPOP : HTTP_CH_BEARER);
}

/* Sender constraint (RFC 9449 §7): a DPoP-bound token (cnf.jkt) only with the DPoP scheme
 * and a proof of its key for this request; the DPoP scheme only with a bound token. */
static enum rc
sender_check(struct http_req *r, struct http_resp *w, const struct policy *p, struct span tok,
             bool dpop, const struct token_claims *tc, struct rc_info *ri)
{
    const struct policy_client *c = client_resolve(r->app, p, span_str(tc->client_id));
    struct dpop_proof pr;
    enum rc rc;

    if (tc->x5t) { /* RFC 8705 §3: only over mutual TLS with the certificate it is bound to */
        const struct kiosk_cert *kc = http_client_cert(r, NULL);
        if (!kc || strlen(tc->x5t) != KIOSK_X5T_LEN
            || CRYPTO_memcmp(kc->x5t, tc->x5t, KIOSK_X5T_LEN) != 0)
            return rc_fail(ri, RC_DENIED, RC_WHY_CERT_BINDING, "client certificate",
                           "a certificate-bound token needs the certificate it was issued to");
    }
    if (!dpop && !tc->jkt)
        return RC_OK;
    if (!dpop)
        return rc_fail(ri, RC_DENIED, RC_WHY_DPOP_BOUND, "Authorization",
                       "a DPoP-bound token needs the DPoP scheme and a proof");
    if (!tc->jkt)
        return rc_fail(ri, RC_DENIED, RC_WHY_DPOP_BOUND, "Authorization", "not a DPoP-bound token");
    rc = dpop_http_resource(r, w, p, "/userinfo", tok, dpop_nonce_required(r->app, c), &pr, ri);
    if (rc == RC_OK && strcmp(pr.jkt, tc->jkt) != 0)
        rc = rc_fail(ri, RC_DENIED, RC_WHY_DPOP_BOUND, "DPoP",
                     "signed by another key than the token's");
    return rc;
}

/* The token from the header (Bearer, or DPoP: *dpop) or the form body. RC_NOT_FOUND: none;
 * RC_MALFORMED: both, or a body that does not parse. */
static enum rc
bearer_token(struct http_req *r, struct span *tok, bool *dpop)
{
    const char *h = http_header(r, "Authorization"), *ct = http_header(r, "Content-Type");
    const struct span *v = NULL;
    struct form *f;

    if (r->method == HTTP_POST && ct
        && strncasecmp(ct, "application/x-www-form-urlencoded", 33) == 0) {
        if (!(f = arena_alloc(&r->arena, sizeof(*f)))
            || form_parse(&r->arena, r->body.p, r->body.len, f, NULL) != RC_OK)
            return RC_MALFORMED;
        v = form_get(f, "access_token");
    }
    enum rc hr = h ? bearer_parse(span_str(h), tok) : RC_NOT_FOUND;

    *dpop = false;
    if (hr == RC_NOT_FOUND && h && (hr = bearer_parse_scheme(span_str(h), "DPoP", tok)) == RC_OK)
        *dpop = true; /* RFC 9449 §7.1 */
    switch (hr) {
    case RC_OK:
        return v ? RC_MALFORMED : RC_OK; /* RFC 6750 §2: one method only */
    case RC_NOT_FOUND:
        break;
    default:
        return RC_MALFORMED;
    }
    if (!v)
        return RC_NOT_FOUND;
    *tok = *v;
    return RC_OK;
}

/* The token's holder: its audience (an exchanged token is held by the module it was
 * exchanged towards, not by the client that asked for it). */
static const char *
holder_id(const struct token_claims *tc)
{
    return tc->aud ? tc->aud : tc->client_id;
}

/* The client the citizen logged in to, whose pairwise sector the token's sub is in: the
 * innermost act of an exchanged token (RFC 8693 §4.1: each exchange nests the previous
 * actor), else client_id. NULL for no memory. */
static const char *
login_client_id(struct arena *a, const struct token_claims *tc)
{
    json_t *act = tc->act ? json_loads(tc->act, 0, NULL) : NULL, *o = act, *in;
    const char *id = tc->client_id, *s;

    while ((in = json_object_get(o, "act")) && json_is_object(in))
        o = in;
    if ((s = json_string_value(json_object_get(o, "sub"))))
        id = arena_strndup(a, s, strlen(s));
    json_decref(act);
    return id;
}

/* Claims for a verified token, released by the policy of the token's holder (its
 * registered scopes, id_number_allowed), never by that of the client that obtained it.
 * RC_DENIED: the token stands for no usable account. */
static enum rc
user_claims(struct http_req *r, const struct policy *p, const struct token_claims *tc, json_t *o)
{
    const struct policy_client *c = client_resolve(r->app, p, span_str(holder_id(tc))), *lc;
    const char *lid = login_client_id(&r->arena, tc);
    struct account acct;
    char sub[SUBJECT_MAX];
    bool idn = false;
    enum rc rc;

    if (!lid)
        return RC_NOMEM;
    lc = client_resolve(r->app, p, span_str(lid));
    if (!c || !lc || !tc->account_id)
        return RC_DENIED;
    if ((rc = account_get(r->app, &r->arena, tc->account_id, &acct)) != RC_OK)
        return rc == RC_NOT_FOUND ? RC_DENIED : rc;
    if (acct.disabled || subject_for(r->app, lc, acct.id, sub) != RC_OK
        || strcmp(sub, tc->sub) != 0)
        rc = RC_DENIED;
    else {
        json_object_set_new(o, "sub", json_string(sub));
        claims_add_user(o, p, c, span_str(tc->scope), &acct, &idn);
        if (idn) /* not audited: not released */
            rc = claims_log_idn_release(r->app, c->id, tc->account_id, acct.id_number, tc->jti,
                                        "userinfo");
    }
    OPENSSL_cleanse(acct.id_number, sizeof(acct.id_number));
    return rc;
}

static void
route_userinfo(struct http_req *r, struct http_resp *w)
{
    struct policy *p;
    struct token_claims tc;
    struct rc_info ri = {0};
    struct span tok;
    json_t *o;
    bool dpop;
    enum rc rc = bearer_token(r, &tok, &dpop);

    if (rc != RC_OK) {
        refuse(r, w, rc_because(&ri, rc, RC_WHY_PARAM), &ri);
        return;
    }
    if (!(p = app_policy_get(r->app))) {
        refuse(r, w, RC_UNAVAILABLE, NULL);
        return;
    }
    rc = token_access_verify(r->app, &r->arena, p, tok, &tc, &ri);
    if (rc == RC_OK)
        rc = sender_check(r, w, p, tok, dpop, &tc, &ri);
    if (rc == RC_OK && !authz_list_has(span_str(tc.scope), "openid"))
        rc = rc_fail(&ri, RC_UNSUPPORTED, RC_WHY_SCOPE, "scope", "lacks openid");
    o = json_object();
    if (rc == RC_OK)
        rc = user_claims(r, p, &tc, o);
    app_policy_put(p);
    if (rc == RC_OK) {
        http_set_client(r, holder_id(&tc));
        http_json(r, w, 200, o);
        return;
    }
    json_decref(o);
    refuse(r, w, rc, &ri);
}

ROUTE(userinfo, "/userinfo", HTTP_GET | HTTP_POST, route_userinfo)
