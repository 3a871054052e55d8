/* POST /device_authorization (RFC 8628 §3.1, §3.2): a kiosk asks for a device code.
 *
 * Parameters (form body): client_id (public clients) or client authentication as at
 * /token (confidential clients), scope (optional: every scope the client is registered
 * for). The client must be allowed urn:ietf:params:oauth:grant-type:device_code.
 *
 * 200 {"device_code","user_code","verification_uri","verification_uri_complete",
 *      "expires_in","interval"}, Cache-Control: no-store.
 * Errors (RFC 8628 §3.2 refers to RFC 6749 §5.2): 400 invalid_request (not a form POST, a
 * repeated parameter), 401 invalid_client, 400 unauthorized_client (not allowed the grant),
 * 400 invalid_scope, 429 too_many_requests with Retry-After (the rate_introspect_* buckets of
 * every client-authenticated endpoint but /token, and rate_device_authorization_per_ip:
 * each request stores an interaction), 503 temporarily_unavailable, 500 server_error. */
#include <jansson.h>

#include "flow/device.h"
#include "http/oauth_call.h"
#include "http/router.h"

static const struct http_error device_authorization_errors[] = {
    {RC_UNAVAILABLE, RC_WHY_ANY, 503, "temporarily_unavailable", NULL, NULL},
    {RC_NOMEM, RC_WHY_ANY, 503, "temporarily_unavailable", NULL, NULL},
    {RC_FULL, RC_WHY_ANY, 503, "temporarily_unavailable", NULL, NULL},
    {RC_ANY, RC_WHY_CLIENT_NOT_ALLOWED, 400, "unauthorized_client", NULL, NULL},
    {RC_ANY, RC_WHY_SCOPE, 400, "invalid_scope", NULL, NULL},
    {RC_LIMITED, RC_WHY_RATE, 429, "too_many_requests", NULL, NULL}, /* RFC 6585 §4 */
    {RC_ANY, RC_WHY_ANY, 500, "server_error", NULL, NULL},
};

static void
route_device_authorization(struct http_req *r, struct http_resp *w)
{
    struct oauth_call oc;
    struct device_start out;
    struct rc_info ri = {0};
    uint32_t retry = 0;
    enum rc rc;
    json_t *j;

    if (!oauth_call_begin(r, w, "/device_authorization", &oc))
        return;
    rc = device_authorize(r->app, &r->arena, oc.p, oc.c, oauth_call_param(&oc, "scope"),
                          span_str(r->client_ip ? r->client_ip : ""), &out, &retry, &ri);
    if (rc == RC_LIMITED)
        http_add_header(w, "Retry-After", arena_printf(&r->arena, "%u", retry));
    if (rc != RC_OK) {
        http_error_answer(r, w, HTTP_ERRORS(device_authorization_errors), rc, &ri,
                          OAUTH_CALL_CHALLENGE(&oc));
        oauth_call_end(&oc);
        return;
    }
    oauth_call_end(&oc);
    j = json_pack("{s:s, s:s, s:s, s:s, s:i, s:i}", "device_code", out.device_code, "user_code",
                  out.user_code, "verification_uri", out.verification_uri,
                  "verification_uri_complete", out.verification_uri_complete, "expires_in",
                  (int)out.expires_in, "interval", (int)out.interval);
    http_json(r, w, 200, j);
}

ROUTE(device_authorization, "/device_authorization", HTTP_POST, route_device_authorization)
