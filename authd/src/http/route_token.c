/* POST /token (RFC 6749 §3.2, §5): parse, authenticate the client, run the grant
 * (flow/token.h), answer JSON with Cache-Control: no-store. */
#include <jansson.h>
#include <string.h>

#include "flow/token.h"
#include "http/oauth_call.h"
#include "http/router.h"

static struct span
param(const struct form *f, const char *name)
{
    const struct span *s = form_get(f, name);

    return s ? *s : (struct span){NULL, 0};
}

static int
error_status(const char *error)
{
    if (strcmp(error, "temporarily_unavailable") == 0)
        return 503;
    if (strcmp(error, "server_error") == 0)
        return 500;
    if (strcmp(error, "invalid_client") == 0)
        return 401;
    return 400;
}

static void
route_token(struct http_req *r, struct http_resp *w)
{
    struct oauth_call oc;
    struct token_req req;
    struct token_resp out;
    struct rc_info ri = {0};
    json_t *j;

    if (!oauth_call_begin(r, w, "/token", &oc))
        return;
    req = (struct token_req){
        .grant_type = param(oc.form, "grant_type"),
        .code = param(oc.form, "code"),
        .redirect_uri = param(oc.form, "redirect_uri"),
        .code_verifier = param(oc.form, "code_verifier"),
        .refresh_token = param(oc.form, "refresh_token"),
        .scope = param(oc.form, "scope"),
        .subject_token = param(oc.form, "subject_token"),
        .subject_token_type = param(oc.form, "subject_token_type"),
        .actor_token = param(oc.form, "actor_token"),
        .actor_token_type = param(oc.form, "actor_token_type"),
        .audience = param(oc.form, "audience"),
        .resource = param(oc.form, "resource"),
        .requested_token_type = param(oc.form, "requested_token_type"),
    };
    if (token_grant(r->app, &r->arena, oc.p, oc.c, &req, &out, &ri) != RC_OK) {
        const char *e = out.error ? out.error : "server_error";
        oauth_error(r, w, error_status(e), e, &ri, oc.basic);
        oauth_call_end(&oc);
        return;
    }
    oauth_call_end(&oc);
    j = json_pack("{s:s, s:s, s:i}", "access_token", out.access_token, "token_type", "Bearer",
                  "expires_in", (int)out.expires_in);
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
