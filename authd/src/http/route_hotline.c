/* The hotline's staff endpoints (flow/hotline.h, docs/hotline.md), called by the console
 * with the staff member's access token (Authorization: Bearer; the token of a staff login
 * at aal2, flow/staff.h).
 *
 * POST /hotline/lookup (form): purpose (a code of the member's role), and id_number or
 * phone. 200 {"purpose", "candidates": [{"name": "张*三", "id_number":
 * "110101********123X", "channels": ["password", "totp", "sms"], "ial": 3,
 * "login_hint_token": "...", "login_hint_token_expires_in": 300}]} (an empty list when
 * nothing matches; at most 3 for a phone number), Cache-Control: no-store.
 * POST /hotline/quota (form): emp, daily (0-100000; 0: the role's): a supervisor sets an
 * agent's daily lookup quota. 200 {"emp", "daily"}.
 *
 * Errors: 401 invalid_token (no, a bad, an expired or a revoked token), 401
 * insufficient_user_authentication (RFC 9470: the member's login is below aal2), 403
 * access_denied (not a staff member's token: a citizen's, a disabled member's), 403
 * insufficient_scope (the role does not allow it), 400 invalid_request (no or an unknown
 * purpose, neither or both of id_number and phone, a malformed one, a bad emp or daily),
 * 404 invalid_request (quota: no such member), 429 too_many_requests with Retry-After (the
 * member's per-minute limit or daily quota), 503 temporarily_unavailable (the store or the
 * audit chain: a lookup that cannot be recorded is not answered). */
#include <jansson.h>
#include <string.h>

#include "core/bearer.h"
#include "core/form.h"
#include "flow/hotline.h"
#include "http/router.h"
#include "util/num.h"

static const struct http_error hotline_errors[] = {
    {RC_UNAVAILABLE, RC_WHY_ANY, 503, "temporarily_unavailable", NULL, NULL},
    {RC_NOMEM, RC_WHY_ANY, 503, "temporarily_unavailable", NULL, NULL},
    {RC_ANY, RC_WHY_ACCESS_TOKEN, 401, "invalid_token", NULL, NULL},
    {RC_ANY, RC_WHY_LEVEL, 401, "insufficient_user_authentication", NULL, NULL},
    {RC_ANY, RC_WHY_NOT_STAFF, 403, "access_denied", NULL, NULL},
    {RC_ANY, RC_WHY_ROLE, 403, "insufficient_scope", NULL, NULL},
    {RC_ANY, RC_WHY_PURPOSE, 400, "invalid_request", NULL, NULL},
    {RC_NOT_FOUND, RC_WHY_PARAM, 404, "invalid_request", NULL, NULL},
    {RC_ANY, RC_WHY_PARAM, 400, "invalid_request", NULL, NULL},
    {RC_LIMITED, RC_WHY_QUOTA, 429, "too_many_requests", NULL, NULL},
    {RC_LIMITED, RC_WHY_RATE, 429, "too_many_requests", NULL, NULL},
    {RC_ANY, RC_WHY_ANY, 500, "server_error", NULL, NULL},
};

/* The bearer token, verified, and the form. RC_OK or a refusal in ri. */
static enum rc
begin(struct http_req *r, const struct policy *p, struct token_claims *tc, struct form *f,
      struct rc_info *ri)
{
    const char *h = http_header(r, "Authorization");
    struct span tok;
    enum rc rc;

    if (!h || bearer_parse(span_str(h), &tok) != RC_OK)
        return rc_fail(ri, RC_DENIED, RC_WHY_ACCESS_TOKEN, "Authorization", "a Bearer token");
    rc = token_access_verify(r->app, &r->arena, p, tok, tc, ri);
    if (rc == RC_UNAVAILABLE || rc == RC_NOMEM)
        return rc_because(ri, rc, RC_WHY_NONE);
    if (rc != RC_OK)
        return rc_because(ri, rc, RC_WHY_ACCESS_TOKEN);
    if (tc->jkt) /* a DPoP-bound token needs its proof; the console's tokens are not bound */
        return rc_fail(ri, RC_DENIED, RC_WHY_ACCESS_TOKEN, "Authorization", "DPoP-bound");
    if (form_parse(&r->arena, r->body.p, r->body.len, f, NULL) != RC_OK)
        return rc_fail(ri, RC_MALFORMED, RC_WHY_PARAM, "body", "not a form");
    return RC_OK;
}

static struct span
param(const struct form *f, const char *name)
{
    const struct span *v = form_get(f, name);

    return v ? *v : (struct span){NULL, 0};
}

static json_t *
candidates_json(const struct hotline_lookup_res *res)
{
    json_t *arr = json_array();

    for (size_t i = 0; arr && i < res->n; i++) {
        const struct hotline_candidate *c = &res->c[i];
        json_t *ch = json_array();
        for (size_t k = 0; ch && k < c->nchannels; k++)
            json_array_append_new(ch, json_string(c->channels[k]));
        json_array_append_new(arr, json_pack("{s:s, s:s, s:o, s:i, s:s, s:i}", "name", c->name,
                                             "id_number", c->id_number, "channels", ch, "ial",
                                             (int)c->ial, "login_hint_token", c->login_hint_token,
                                             "login_hint_token_expires_in", HOTLINE_LHT_TTL_S));
    }
    return arr;
}

static void
route_hotline_lookup(struct http_req *r, struct http_resp *w)
{
    struct hotline_lookup_res res;
    struct token_claims tc;
    struct rc_info ri = {0};
    uint32_t retry = 0;
    struct policy *p;
    struct form f;
    enum rc rc = RC_UNAVAILABLE;

    if ((p = app_policy_get(r->app)) && (rc = begin(r, p, &tc, &f, &ri)) == RC_OK) {
        struct hotline_lookup_req req = {param(&f, "purpose"), param(&f, "id_number"),
                                         param(&f, "phone")};
        rc = hotline_lookup(r->app, &r->arena, p, &tc, &req, &res, &retry, &ri);
    }
    app_policy_put(p);
    if (rc == RC_LIMITED)
        http_add_header(w, "Retry-After", arena_printf(&r->arena, "%u", retry ? retry : 1));
    if (rc != RC_OK) {
        http_error_answer(r, w, HTTP_ERRORS(hotline_errors), rc, &ri, HTTP_CH_BEARER);
        return;
    }
    http_json(r, w, 200,
              json_pack("{s:s, s:o}", "purpose", res.purpose, "candidates", candidates_json(&res)));
}

static void
route_hotline_quota(struct http_req *r, struct http_resp *w)
{
    struct token_claims tc;
    struct rc_info ri = {0};
    struct policy *p;
    struct form f;
    uint64_t q = 0;
    enum rc rc = RC_UNAVAILABLE;

    if ((p = app_policy_get(r->app)) && (rc = begin(r, p, &tc, &f, &ri)) == RC_OK) {
        if (num_parse_u64(param(&f, "daily"), 0, 100000, &q) != RC_OK)
            rc = rc_fail(&ri, RC_MALFORMED, RC_WHY_PARAM, "daily", "a whole number 0-100000");
        else
            rc = hotline_set_quota(r->app, &r->arena, p, &tc, param(&f, "emp"), (uint32_t)q, &ri);
    }
    app_policy_put(p);
    if (rc != RC_OK) {
        http_error_answer(r, w, HTTP_ERRORS(hotline_errors), rc, &ri, HTTP_CH_BEARER);
        return;
    }
    http_json(r, w, 200,
              json_pack("{s:s%, s:I}", "emp", (const char *)param(&f, "emp").p,
                        param(&f, "emp").len, "daily", (json_int_t)q));
}

ROUTE(hotline_lookup, "/hotline/lookup", HTTP_POST, route_hotline_lookup)
ROUTE(hotline_quota, "/hotline/quota", HTTP_POST, route_hotline_quota)
