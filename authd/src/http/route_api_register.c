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

/* Every refusal of the API, the body's and account_register_ex's. */
static const struct http_error api_errors[] = {
    {RC_UNSUPPORTED, RC_WHY_PARAM, 415, "invalid_request", NULL,
     "Content-Type must be application/json"},
    {RC_TOO_LARGE, RC_WHY_PARAM, 413, "invalid_request", NULL, NULL},
    {RC_MALFORMED, RC_WHY_ANY, 400, "invalid_request", NULL, NULL},
    {RC_DENIED, RC_WHY_ANY, 403, "access_denied", NULL, NULL},
    {RC_CONFLICT, RC_WHY_ANY, 409, "already_registered", NULL, "id_number: already registered"},
    {RC_LIMITED, RC_WHY_ANY, 429, "too_many_requests", NULL, NULL},
    {RC_INTERNAL, RC_WHY_ANY, 500, "server_error", NULL, NULL},
    {RC_ANY, RC_WHY_ANY, 503, "temporarily_unavailable", NULL, NULL},
};

/* Parses the body into req. */
static enum rc
parse(struct http_req *r, struct register_req *req, struct rc_info *ri)
{
    enum rc rc;

    if (!is_json(http_header(r, "Content-Type")))
        return rc_fail(ri, RC_UNSUPPORTED, RC_WHY_PARAM, "Content-Type", "not JSON");
    rc = account_json_parse(&r->arena, r->body, req, ri);
    return rc == RC_TOO_LARGE ? rc_because(ri, rc, RC_WHY_PARAM) : rc;
}

static void
route_api_register(struct http_req *r, struct http_resp *w)
{
    struct register_req req;
    struct account acct;
    struct rc_info ri = {0};
    uint32_t retry = 0;
    enum rc rc;

    if ((rc = parse(r, &req, &ri)) == RC_OK)
        rc = account_register_ex(r->app, &r->arena, &req, r->client_ip, &acct, &ri, &retry);
    if (rc == RC_OK) {
        http_json(r, w, 201, json_pack("{s:s}", "status", "registered"));
        return;
    }
    if (rc == RC_LIMITED)
        http_add_header(w, "Retry-After", arena_printf(&r->arena, "%u", retry ? retry : 1));
    http_error_answer(r, w, HTTP_ERRORS(api_errors), rc, &ri, HTTP_CH_NONE);
}

ROUTE(api_register, "/api/register", HTTP_POST, route_api_register)
