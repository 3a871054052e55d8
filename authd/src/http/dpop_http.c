#include "http/dpop_http.h"

#include <string.h>

/* The token endpoint's DPoP refusals (RFC 9449 §5, §8). */
static const struct http_error dpop_token_errors[] = {
    {RC_UNAVAILABLE, RC_WHY_ANY, 503, "temporarily_unavailable", NULL, HTTP_DESC_NONE},
    {RC_NOMEM, RC_WHY_ANY, 503, "temporarily_unavailable", NULL, HTTP_DESC_NONE},
    {RC_ANY, RC_WHY_DPOP_NONCE, 400, "use_dpop_nonce", NULL, NULL},
    {RC_ANY, RC_WHY_ANY, 400, "invalid_dpop_proof", NULL, NULL},
};

/* The request's method as htm. */
static const char *
method_name(const struct http_req *r)
{
    return r->method == HTTP_GET ? "GET" : r->method == HTTP_POST ? "POST" : "";
}

static enum rc
check(struct http_req *r, struct http_resp *w, const struct policy *p, const char *path,
      struct span tok, bool nonce, struct dpop_proof *out, struct rc_info *ri)
{
    const char *h = http_header(r, "DPoP");
    struct dpop_call c = {h ? span_str(h) : (struct span){NULL, 0}, method_name(r),
                          arena_printf(&r->arena, "%s%s", r->app->cfg->issuer, path), tok, nonce};
    const char *fresh;
    enum rc rc;

    if (!c.htu)
        return RC_NOMEM;
    if (h && http_header_count(r, "DPoP") > 1) /* RFC 9449 §4.3 point 1 */
        return rc_fail(ri, RC_MALFORMED, RC_WHY_DPOP_PROOF, "DPoP", "more than one header");
    rc = dpop_check(r->app, &r->arena, p, &c, out, ri);
    if ((rc == RC_OK && nonce) || (rc != RC_OK && ri->why == RC_WHY_DPOP_NONCE)) {
        if ((fresh = dpop_nonce(r->app, &r->arena))) /* §8.2: a new one with any answer */
            http_add_header(w, "DPoP-Nonce", fresh);
    }
    return rc;
}

bool
dpop_http_token(struct http_req *r, struct http_resp *w, const struct oauth_call *oc,
                const char *path, const char **jkt)
{
    bool required = oc->c->dpop_bound && strcmp(path, "/token") == 0;
    struct dpop_proof pr;
    struct rc_info ri = {0};
    enum rc rc;

    *jkt = NULL;
    if (!http_header(r, "DPoP") && !required)
        return true;
    rc = check(r, w, oc->p, path, (struct span){NULL, 0}, dpop_nonce_required(r->app, oc->c), &pr,
               &ri);
    if (rc == RC_OK && (*jkt = arena_strndup(&r->arena, pr.jkt, DPOP_JKT_LEN)))
        return true;
    http_error_answer(r, w, HTTP_ERRORS(dpop_token_errors), rc == RC_OK ? RC_NOMEM : rc, &ri,
                      HTTP_CH_NONE);
    return false;
}

enum rc
dpop_http_resource(struct http_req *r, struct http_resp *w, const struct policy *p,
                   const char *path, struct span access_token, bool nonce_required,
                   struct dpop_proof *out, struct rc_info *ri)
{
    return check(r, w, p, path, access_token, nonce_required, out, ri);
}
