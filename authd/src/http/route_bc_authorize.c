/* POST /bc-authorize (OpenID CIBA Core 1.0 §7): a client asks for the citizen named by
 * login_hint to approve, on their phone, that it acts for them (poll mode).
 *
 * Parameters (form body): client authentication as at /token (client_secret_basic,
 * client_secret_post, private_key_jwt; confidential clients only), scope (must contain
 * openid), login_hint (the citizen's 18-character ID number) or login_hint_token (from
 * POST /hotline/lookup, flow/hotline.h: the citizen the agent looked up, the agent and the
 * purpose; the scope must stay within the purpose's), binding_message (optional,
 * at most 64 printable characters, shown on the approval page), requested_expiry
 * (optional, seconds, honoured up to ciba_max_expiry_s). id_token_hint is not supported; user_code, acr_values and request are ignored
 * (backchannel_user_code_parameter_supported is false; the tokens carry the levels of the
 * session the citizen approves from).
 *
 * 200 {"auth_req_id","expires_in","interval"} (§7.3), Cache-Control: no-store.
 * Errors (§13): 400 invalid_request (not a form POST, a repeated parameter, no hint or
 * both hints, id_token_hint, a bad requested_expiry, a login_hint_token not ours or another
 * client's or whose agent may no longer ask), 400 expired_login_hint_token, 401
 * invalid_client, 400
 * unauthorized_client (not allowed urn:openid:params:grant-type:ciba, or a public client),
 * 400 invalid_scope (no openid, or a scope not allowed), 400 unknown_user_id (login_hint is
 * not a known, usable citizen), 400 invalid_binding_message, 403 access_denied (no phone on
 * the citizen's record to ask), 429 too_many_requests with Retry-After (the SMS buckets of
 * the citizen, flow/sms.h, and the rate_introspect_* buckets of every client-authenticated
 * endpoint but /token), 503 temporarily_unavailable, 500 server_error. */
#include <jansson.h>

#include "flow/ciba.h"
#include "http/oauth_call.h"
#include "http/router.h"

static const struct http_error bc_authorize_errors[] = {
    {RC_UNAVAILABLE, RC_WHY_ANY, 503, "temporarily_unavailable", NULL, NULL},
    {RC_NOMEM, RC_WHY_ANY, 503, "temporarily_unavailable", NULL, NULL},
    {RC_FULL, RC_WHY_ANY, 503, "temporarily_unavailable", NULL, NULL},
    {RC_ANY, RC_WHY_PARAM, 400, "invalid_request", NULL, NULL},
    {RC_EXPIRED, RC_WHY_LOGIN_HINT_TOKEN, 400, "expired_login_hint_token", NULL, NULL},
    {RC_ANY, RC_WHY_LOGIN_HINT_TOKEN, 400, "invalid_request", NULL, NULL},
    {RC_ANY, RC_WHY_CLIENT_NOT_ALLOWED, 400, "unauthorized_client", NULL, NULL},
    {RC_ANY, RC_WHY_SCOPE, 400, "invalid_scope", NULL, NULL},
    {RC_ANY, RC_WHY_UNKNOWN_USER, 400, "unknown_user_id", NULL, NULL},
    {RC_ANY, RC_WHY_BINDING_MESSAGE, 400, "invalid_binding_message", NULL, NULL},
    {RC_ANY, RC_WHY_NO_PHONE, 403, "access_denied", NULL, NULL},
    {RC_LIMITED, RC_WHY_RATE, 429, "too_many_requests", NULL, NULL}, /* RFC 6585 §4 */
    {RC_ANY, RC_WHY_ANY, 500, "server_error", NULL, NULL},
};

static void
route_bc_authorize(struct http_req *r, struct http_resp *w)
{
    struct oauth_call oc;
    struct ciba_start out;
    struct rc_info ri = {0};
    uint32_t retry = 0;
    enum rc rc;
    json_t *j;

    if (!oauth_call_begin(r, w, "/bc-authorize", &oc))
        return;
    struct ciba_req req = {
        .scope = oauth_call_param(&oc, "scope"),
        .login_hint = oauth_call_param(&oc, "login_hint"),
        .login_hint_token = oauth_call_param(&oc, "login_hint_token"),
        .id_token_hint = oauth_call_param(&oc, "id_token_hint"),
        .binding_message = oauth_call_param(&oc, "binding_message"),
        .requested_expiry = oauth_call_param(&oc, "requested_expiry"),
    };
    rc = ciba_authorize(r->app, &r->arena, oc.p, oc.c, &req, &out, &retry, &ri);
    if (rc == RC_LIMITED)
        http_add_header(w, "Retry-After", arena_printf(&r->arena, "%u", retry));
    if (rc != RC_OK) {
        http_error_answer(r, w, HTTP_ERRORS(bc_authorize_errors), rc, &ri,
                          OAUTH_CALL_CHALLENGE(&oc));
        oauth_call_end(&oc);
        return;
    }
    oauth_call_end(&oc);
    j = json_pack("{s:s, s:i, s:i}", "auth_req_id", out.auth_req_id, "expires_in",
                  (int)out.expires_in, "interval", (int)out.interval);
    http_json(r, w, 200, j);
}

ROUTE(bc_authorize, "/bc-authorize", HTTP_POST, route_bc_authorize)
