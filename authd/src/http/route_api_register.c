/* POST /api/register: registration for apps, as JSON.
 *   request  {"id_number": "...", "name": "...", "phone": "..." (optional), "password": "..."}
 *   201      {"status": "registered"}
 *   400 invalid_request (error_description names the field), 403 access_denied (the
 *   population base did not confirm), 409 already_registered, 413 invalid_request (body
 *   over API_MAX_BODY), 415 invalid_request (not application/json), 429 too_many_requests
 *   with Retry-After, 503 temporarily_unavailable.
 * Only application/json is taken: a cross-site HTML form cannot send it without a CORS
 * preflight, which authd never grants, so the API needs no CSRF token. */
#include <jansson.h>
#include <openssl/crypto.h>
#include <string.h>
#include <strings.h>

#include "flow/account.h"
#include "http/router.h"

#define API_MAX_BODY 4096

static bool
is_json(const char *ctype)
{
    size_t n = strlen("application/json");

    return ctype && strncasecmp(ctype, "application/json", n) == 0
           && (ctype[n] == 0 || ctype[n] == ';' || ctype[n] == ' ');
}

/* Reads member k: a string (copied into the arena), absent (empty, if optional), or an
 * error naming k. */
static bool
member(struct http_req *r, json_t *o, const char *k, bool optional, struct span *out)
{
    json_t *v = json_object_get(o, k);
    char *s;

    *out = (struct span){(const uint8_t *)"", 0};
    if (!v || json_is_null(v))
        return optional;
    if (!json_is_string(v))
        return false;
    s = arena_strndup(&r->arena, json_string_value(v), json_string_length(v));
    if (!s)
        return false;
    *out = span_of(s, json_string_length(v));
    return true;
}

/* Wipes the password from jansson's copy before freeing it. */
static void
drop(json_t *o)
{
    json_t *pw = json_object_get(o, "password");

    if (json_is_string(pw))
        OPENSSL_cleanse((char *)json_string_value(pw), json_string_length(pw));
    json_decref(o);
}

/* Parses the body into req; on failure answers and returns false. */
static bool
parse(struct http_req *r, struct http_resp *w, struct register_req *req)
{
    static const char *const names[] = {"id_number", "name", "phone", "password"};
    struct span *dst[] = {&req->id_number, &req->name, &req->phone, &req->password};
    json_error_t err;
    json_t *o;

    if (!is_json(http_header(r, "Content-Type"))) {
        http_oauth_error(r, w, 415, "invalid_request", "Content-Type must be application/json");
        return false;
    }
    if (r->body.len > API_MAX_BODY) {
        http_oauth_error(r, w, 413, "invalid_request", "body too large");
        return false;
    }
    o = json_loadb((const char *)r->body.p, r->body.len, JSON_REJECT_DUPLICATES, &err);
    if (!json_is_object(o)) {
        drop(o);
        http_oauth_error(r, w, 400, "invalid_request", "body must be one JSON object");
        return false;
    }
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        if (!member(r, o, names[i], dst[i] == &req->phone, dst[i])) {
            drop(o);
            http_oauth_error(r, w, 400, "invalid_request",
                             arena_printf(&r->arena, "%s: missing or not a string", names[i]));
            return false;
        }
    }
    drop(o);
    return true;
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
