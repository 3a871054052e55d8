#include "http/oauth_call.h"

#include <jansson.h>
#include <string.h>
#include <strings.h>

#include "flow/client_auth.h"
#include "flow/ratelimit.h"

void
oauth_error(struct http_req *r, struct http_resp *w, int status, const char *error,
            const struct rc_info *ri, bool basic)
{
    json_t *j = json_pack("{s:s}", "error", error);
    const char *desc = NULL;

    if (ri && ri->msg)
        desc = ri->field ? arena_printf(&r->arena, "%s: %s", ri->field, ri->msg) : ri->msg;
    if (j && desc)
        json_object_set_new(j, "error_description", json_string(desc));
    if (status == 401 && basic)
        http_add_header(w, "WWW-Authenticate", "Basic realm=\"authd\", charset=\"UTF-8\"");
    if (status == 503)
        http_add_header(w, "Retry-After", "1");
    http_json(r, w, status, j);
}

static bool
is_form(const char *ctype)
{
    static const char want[] = "application/x-www-form-urlencoded";
    size_t n = sizeof(want) - 1;

    return ctype && strncasecmp(ctype, want, n) == 0 && (ctype[n] == 0 || ctype[n] == ';');
}

/* The token buckets of path: per address always, per client once authenticated (so that
 * nobody can spend another client's budget by naming it). One store call. true: go on;
 * false: answered 429 with Retry-After, or 503 when the store cannot answer. */
static bool
rate_ok(struct http_req *r, struct http_resp *w, const char *path, const char *client)
{
    const struct config *c = r->app->cfg;
    bool token = strcmp(path, "/token") == 0;
    struct ratelimit rl[2] = {
        {token ? "token:ip" : "introspect:ip", span_str(r->client_ip ? r->client_ip : ""),
         token ? c->rate_token_per_ip : c->rate_introspect_per_ip},
        {token ? "token:client" : "introspect:client", span_str(client ? client : ""),
         token ? c->rate_token_per_client : c->rate_introspect_per_client},
    };
    struct rc_info ri = {0};
    uint32_t retry = 0;
    enum rc rc = ratelimit_take(r->app, &r->arena, rl, 2, &retry, &ri);

    if (rc == RC_OK)
        return true;
    if (rc == RC_LIMITED) {
        /* RFC 6585 §4; RFC 6749 §5.2 has no code for it: docs/security.md */
        http_add_header(w, "Retry-After", arena_printf(&r->arena, "%u", retry));
        oauth_error(r, w, 429, "too_many_requests", &ri, false);
    } else {
        oauth_error(r, w, 503, "temporarily_unavailable", NULL, false);
    }
    return false;
}

bool
oauth_call_begin(struct http_req *r, struct http_resp *w, const char *path, struct oauth_call *oc)
{
    struct rc_info ri = {0};
    struct client_creds cr;
    const char *url;
    enum rc rc;

    memset(oc, 0, sizeof(*oc));
    if (!is_form(http_header(r, "Content-Type"))) {
        rc_set(&ri, RC_MALFORMED, "Content-Type", "must be application/x-www-form-urlencoded");
        oauth_error(r, w, 400, "invalid_request", &ri, false);
        return false;
    }
    if (!(oc->form = arena_alloc(&r->arena, sizeof(*oc->form)))) {
        oauth_error(r, w, 503, "temporarily_unavailable", NULL, false);
        return false;
    }
    if ((rc = form_parse(&r->arena, r->body.p, r->body.len, oc->form, &ri)) != RC_OK) {
        oauth_error(r, w, rc == RC_TOO_LARGE ? 413 : 400, "invalid_request", &ri, false);
        return false;
    }
    if ((rc = client_auth_parse(&r->arena, http_header(r, "Authorization"), oc->form, &cr, &ri))
        != RC_OK) {
        if (rc == RC_MALFORMED)
            oauth_error(r, w, 400, "invalid_request", &ri, false);
        else
            oauth_error(r, w, 401, "invalid_client", &ri, cr.basic || rc == RC_DENIED);
        return false;
    }
    oc->basic = cr.basic;
    if (!(oc->p = app_policy_get(r->app))) {
        oauth_error(r, w, 503, "temporarily_unavailable", NULL, false);
        return false;
    }
    url = arena_printf(&r->arena, "%s%s", r->app->cfg->issuer, path);
    rc = client_auth_verify(r->app, &r->arena, oc->p, &cr, url, &oc->c, &ri);
    if (!rate_ok(r, w, path, rc == RC_OK ? oc->c->id : NULL)) {
        oauth_call_end(oc);
        return false;
    }
    if (rc != RC_OK) {
        if (rc == RC_DENIED)
            oauth_error(r, w, 401, "invalid_client", &ri, cr.basic);
        else
            oauth_error(r, w, rc_http_status(rc), rc_oauth_error(rc), NULL, false);
        oauth_call_end(oc);
        return false;
    }
    http_set_client(r, oc->c->id);
    return true;
}

void
oauth_call_end(struct oauth_call *oc)
{
    app_policy_put(oc->p);
    oc->p = NULL;
    oc->c = NULL;
}
