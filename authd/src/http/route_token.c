/* POST /token (RFC 6749 §3.2, §5): parse, authenticate the client, run the grant
 * (flow/token.h), answer JSON with Cache-Control: no-store. */
#include <jansson.h>

#include "flow/kiosk.h"
#include "flow/token.h"
#include "http/dpop_http.h"
#include "http/oauth_call.h"
#include "http/router.h"

/* The refusals of the grants (RFC 6749 §5.2, RFC 8693 §2.2.2), by the reason the flow
 * gives; a store or memory failure is 503, anything else a 500. */
static const struct http_error token_errors[] = {
    {RC_UNAVAILABLE, RC_WHY_ANY, 503, "temporarily_unavailable", NULL, NULL},
    {RC_NOMEM, RC_WHY_ANY, 503, "temporarily_unavailable", NULL, NULL},
    {RC_FULL, RC_WHY_ANY, 503, "temporarily_unavailable", NULL, NULL},
    {RC_ANY, RC_WHY_PARAM, 400, "invalid_request", NULL, NULL},
    {RC_ANY, RC_WHY_SUBJECT_TOKEN, 400, "invalid_request", NULL, NULL},
    {RC_ANY, RC_WHY_GRANT_TYPE, 400, "unsupported_grant_type", NULL, NULL},
    {RC_ANY, RC_WHY_CLIENT_NOT_ALLOWED, 400, "unauthorized_client", NULL, NULL},
    {RC_ANY, RC_WHY_SCOPE, 400, "invalid_scope", NULL, NULL},
    {RC_ANY, RC_WHY_TARGET, 400, "invalid_target", NULL, NULL},
    {RC_ANY, RC_WHY_GRANT, 400, "invalid_grant", NULL, NULL},
    /* RFC 8628 §3.5, CIBA Core §11: the polls of the device grant and CIBA */
    {RC_ANY, RC_WHY_AUTHZ_PENDING, 400, "authorization_pending", NULL, NULL},
    {RC_ANY, RC_WHY_SLOW_DOWN, 400, "slow_down", NULL, NULL},
    {RC_ANY, RC_WHY_DECLINED, 400, "access_denied", NULL, NULL},
    {RC_ANY, RC_WHY_DEVICE_EXPIRED, 400, "expired_token", NULL, NULL},
    {RC_ANY, RC_WHY_ANY, 500, "server_error", NULL, NULL},
};

static void
route_token(struct http_req *r, struct http_resp *w)
{
    struct oauth_call oc;
    struct token_req req;
    struct token_resp out;
    struct rc_info ri = {0};
    json_t *j;
    enum rc rc;

    if (!oauth_call_begin(r, w, "/token", &oc))
        return;
    req = (struct token_req){
        .grant_type = oauth_call_param(&oc, "grant_type"),
        .code = oauth_call_param(&oc, "code"),
        .redirect_uri = oauth_call_param(&oc, "redirect_uri"),
        .code_verifier = oauth_call_param(&oc, "code_verifier"),
        .refresh_token = oauth_call_param(&oc, "refresh_token"),
        .scope = oauth_call_param(&oc, "scope"),
        .subject_token = oauth_call_param(&oc, "subject_token"),
        .subject_token_type = oauth_call_param(&oc, "subject_token_type"),
        .actor_token = oauth_call_param(&oc, "actor_token"),
        .actor_token_type = oauth_call_param(&oc, "actor_token_type"),
        .audience = oauth_call_param(&oc, "audience"),
        .resource = oauth_call_param(&oc, "resource"),
        .requested_token_type = oauth_call_param(&oc, "requested_token_type"),
        .device_code = oauth_call_param(&oc, "device_code"),
        .auth_req_id = oauth_call_param(&oc, "auth_req_id"),
        .x5t = oc.cert ? oc.cert->x5t : NULL, /* RFC 8705 §3 */
    };
    if (!dpop_http_token(r, w, &oc, "/token", &req.dpop_jkt)) { /* RFC 9449 §5 */
        oauth_call_end(&oc);
        return;
    }
    if ((rc = token_grant(r->app, &r->arena, oc.p, oc.c, &req, &out, &ri)) != RC_OK) {
        http_error_answer(r, w, HTTP_ERRORS(token_errors), rc, &ri, OAUTH_CALL_CHALLENGE(&oc));
        oauth_call_end(&oc);
        return;
    }
    oauth_call_end(&oc);
    j = json_pack("{s:s, s:s, s:i}", "access_token", out.access_token, "token_type",
                  req.dpop_jkt ? "DPoP" : "Bearer", "expires_in", (int)out.expires_in);
    if (j && out.scope && *out.scope)
        json_object_set_new(j, "scope", json_string(out.scope));
    if (j && out.id_token)
        json_object_set_new(j, "id_token", json_string(out.id_token));
    if (j && out.issued_token_type) /* RFC 8693 §2.2.1 */
        json_object_set_new(j, "issued_token_type", json_string(out.issued_token_type));
    if (j && out.refresh_token)
        json_object_set_new(j, "refresh_token", json_string(out.refresh_token));
    http_json(r, w, 200, j);
}

ROUTE(token, "/token", HTTP_POST, route_token)
