/* POST /notify: a relying module sends a progress notice to a citizen it knows by sub
 * (flow/notify.h). Client-authenticated like /token; form parameters sub, text, ref.
 * Answers 202 {"status":"sent"}; never the phone number. Errors: 400 invalid_request (a bad
 * parameter), 403 insufficient_scope (no notify.send), 404 unknown_subject, 409 no_channel
 * (no phone on file), 503 temporarily_unavailable (gateway, store, or notices off). */
#include <jansson.h>

#include "flow/notify.h"
#include "http/oauth_call.h"
#include "http/router.h"

static struct span
param(const struct form *f, const char *name)
{
    const struct span *s = form_get(f, name);

    return s ? *s : (struct span){NULL, 0};
}

static void
route_notify(struct http_req *r, struct http_resp *w)
{
    struct oauth_call oc;
    struct notify_req req;
    struct rc_info ri = {0};
    enum rc rc;

    if (!oauth_call_begin(r, w, "/notify", &oc))
        return;
    req = (struct notify_req){param(oc.form, "sub"), param(oc.form, "text"), param(oc.form, "ref")};
    rc = notify_citizen(r->app, &r->arena, oc.c, &req, &ri);
    oauth_call_end(&oc);
    switch (rc) {
    case RC_OK:
        http_json(r, w, 202, json_pack("{s:s}", "status", "sent"));
        return;
    case RC_MALFORMED:
    case RC_TOO_LARGE:
        oauth_error(r, w, 400, "invalid_request", &ri, false);
        return;
    case RC_DENIED:
        oauth_error(r, w, 403, "insufficient_scope", &ri, false);
        return;
    case RC_NOT_FOUND:
        oauth_error(r, w, 404, "unknown_subject", &ri, false);
        return;
    case RC_CONFLICT:
        oauth_error(r, w, 409, "no_channel", &ri, false);
        return;
    default:
        oauth_error(r, w, 503, "temporarily_unavailable", &ri, false);
    }
}

ROUTE(notify, "/notify", HTTP_POST, route_notify)
