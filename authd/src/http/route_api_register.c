/* POST /api/register: registration for apps, as JSON.
 *   request  {"id_number": "...", "name": "...", "phone": "..." (optional), "password": "..."}
 *   201      {"status": "registered"}
 *   400 invalid_request (error_description names the field), 403 access_denied (the
 *   population base did not confirm), 409 already_registered, 413 invalid_request (body
 *   over ACCOUNT_JSON_MAX), 415 invalid_request (not application/json), 429 too_many_requests
 *   with Retry-After, 503 temporarily_unavailable.
 * Only application/json is taken: a cross-site HTML form cannot send it without a CORS
 * preflight, which authd never grants, so the API needs no CSRF token. */
#include <jansson.h>
#include <string.h>
#include <strings.h>

#include "flow/account_json.h"
#include "http/router.h"

static bool
is_json(const char *ctype)
{
    size_t n = strlen("application/json");

    return ctype && strncasecmp(ctype, "application/json", n) == 0
           && (ctype[n] == 0 || ctype[n] == ';' || ctype[n] == ' ');
}

/* Parses the body into req; on failure answers and returns false. */
static bool
parse(struct http_req *r, struct http_resp *w, struct register_req *req)
{
    struct rc_info ri = {0};
    enum rc rc;

    if (!is_json(http_header(r, "Content-Type"))) {
        http_oauth_error(r, w, 415, "invalid_request", "Content-Type must be application/json");
        return false;
    }
    rc = account_json_parse(&r->arena, r->body, req, &ri);
    if (rc == RC_OK)
        return true;
    if (rc == RC_TOO_LARGE)
        http_oauth_error(r, w, 413, "invalid_request", "body too large");
    else if (rc == RC_MALFORMED && ri.field)
        http_oauth_error(r, w, 400, "invalid_request",
                         arena_printf(&r->arena, "%s: %s", ri.field, ri.msg));
    else if (rc == RC_MALFORMED)
        http_oauth_error(r, w, 400, "invalid_request", ri.msg);
    else
        http_rc_error(r, w, rc, &ri);
    return false;
}

static void
route_api_register(struct http_req *r, struct http_resp *w)
{
    struct register_req req;
    struct account acct;
    struct rc_info ri = {0};
    uint32_t retry = 0;
    const char *desc;
    enum rc rc;

    if (!parse(r, w, &req))
        return;
    rc = account_register_ex(r->app, &r->arena, &req, r->client_ip, &acct, &ri, &retry);
    desc = ri.field ? arena_printf(&r->arena, "%s: %s", ri.field, ri.msg ? ri.msg : "invalid")
                    : ri.msg;
    switch (rc) {
    case RC_OK:
        http_json(r, w, 201, json_pack("{s:s}", "status", "registered"));
        return;
    case RC_MALFORMED:
        http_oauth_error(r, w, 400, "invalid_request", desc);
        return;
    case RC_DENIED:
        http_oauth_error(r, w, 403, "access_denied", desc);
        return;
    case RC_CONFLICT:
        http_oauth_error(r, w, 409, "already_registered", "id_number: already registered");
        return;
    case RC_LIMITED:
        http_add_header(w, "Retry-After", arena_printf(&r->arena, "%u", retry ? retry : 1));
        http_oauth_error(r, w, 429, "too_many_requests", desc);
        return;
    default:
        http_oauth_error(r, w, rc == RC_INTERNAL ? 500 : 503,
                         rc == RC_INTERNAL ? "server_error" : "temporarily_unavailable", desc);
    }
}

ROUTE(api_register, "/api/register", HTTP_POST, route_api_register)
