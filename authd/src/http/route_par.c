/* POST /par: pushed authorization requests (RFC 9126).
 *
 * Parameters: every /authorize parameter (response_type, redirect_uri, scope, state, nonce,
 * code_challenge, ...) in an application/x-www-form-urlencoded body, with the client's
 * authentication as at /token (every method its policy may register, http/oauth_call.h).
 * The request is validated exactly as /authorize validates it (flow/authorize.c). A DPoP
 * proof (htu issuer + /par) binds the code to its key (RFC 9449 §10.1), as dpop_jkt does.
 *
 * Answers (§2.2): 201 {"request_uri": "urn:ietf:params:oauth:request_uri:<id>",
 * "expires_in": 60}, no-store. The request_uri is usable once, by this client, at
 * /authorize?client_id=ID&request_uri=... within expires_in.
 *
 * Errors (§2.3, on the shared renderer): 400 invalid_request (not a form, a repeated
 * parameter, a request_uri among the parameters, a client_id other than the authenticated
 * client, a redirect_uri not registered, any refusal /authorize answers invalid_request),
 * 400 unsupported_response_type, unauthorized_client, invalid_scope as /authorize; 401
 * invalid_client; 405 another method (router); 413 a body too large; 429
 * too_many_requests (the /token buckets); 503 temporarily_unavailable. */
#include <jansson.h>

#include "flow/authorize.h"
#include "http/authz_ui.h"
#include "http/dpop_http.h"
#include "http/oauth_call.h"
#include "http/router.h"

/* /authorize's refusals, as JSON: a pushed request_uri here is invalid_request (§2.1), and a
 * client_id differing from the authenticated one too. */
static const struct http_error par_errors[] = {
    {RC_ANY, RC_WHY_REQUEST_URI, 400, "invalid_request", NULL, NULL},
    {RC_ANY, RC_WHY_DPOP_PROOF, 400, "invalid_dpop_proof", NULL, NULL},
    {RC_FULL, RC_WHY_ANY, 503, "temporarily_unavailable", NULL, HTTP_DESC_NONE},
    {RC_NOMEM, RC_WHY_ANY, 500, "server_error", NULL, HTTP_DESC_NONE},
    AUTHZ_UI_ERRORS,
};

static void
route_par(struct http_req *r, struct http_resp *w)
{
    struct oauth_call oc;
    struct rc_info ri = {0};
    const char *uri = NULL, *jkt;
    enum rc rc;

    if (!oauth_call_begin(r, w, "/par", &oc))
        return;
    if (!dpop_http_token(r, w, &oc, "/par", &jkt)) { /* RFC 9449 §10.1 */
        oauth_call_end(&oc);
        return;
    }
    rc = authorize_push(r->app, &r->arena, oc.p, oc.c, oc.form, jkt, &uri, &ri);
    if (rc != RC_OK) {
        http_error_answer(r, w, HTTP_ERRORS(par_errors), rc, &ri, OAUTH_CALL_CHALLENGE(&oc));
    } else {
        json_t *j = json_pack("{s:s, s:i}", "request_uri", uri, "expires_in", AUTHZ_PAR_TTL);
        if (j)
            http_json(r, w, 201, j);
        else
            http_rc_error(r, w, RC_NOMEM, NULL);
    }
    oauth_call_end(&oc);
}

ROUTE(par, "/par", HTTP_POST, route_par)
