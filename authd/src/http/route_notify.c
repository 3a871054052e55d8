/* POST /notify: a relying module sends a progress notice to a citizen it knows by sub
 * (flow/notify.h). Client-authenticated like /token; form parameters sub, text, ref.
 * Answers 202 {"status":"sent"}; never the phone number. Errors: 400 invalid_request (a bad
 * parameter), 403 insufficient_scope (no notify.send), 404 unknown_subject, 409 no_channel
 * (no phone on file), 503 temporarily_unavailable (gateway, store, or notices off). */
#include <jansson.h>

#include "flow/notify.h"
#include "http/oauth_call.h"
#include "http/router.h"

static const struct http_error notify_errors[] = {
    {RC_MALFORMED, RC_WHY_ANY, 400, "invalid_request", NULL, NULL},
    {RC_TOO_LARGE, RC_WHY_ANY, 400, "invalid_request", NULL, NULL},
    {RC_DENIED, RC_WHY_ANY, 403, "insufficient_scope", NULL, NULL},
    {RC_NOT_FOUND, RC_WHY_ANY, 404, "unknown_subject", NULL, NULL},
    {RC_CONFLICT, RC_WHY_ANY, 409, "no_channel", NULL, NULL},
    {RC_ANY, RC_WHY_ANY, 503, "temporarily_unavailable", NULL, NULL},
};

static void
route_notify(struct http_req *r, struct http_resp *w)
{
    struct oauth_call oc;
    struct notify_req req;
    struct rc_info ri = {0};
    enum rc rc;

    if (!oauth_call_begin(r, w, "/notify", &oc))
        return;
    req = (struct notify_req){oauth_call_param(&oc, "sub"), oauth_call_param(&oc, "text"),
                              oauth_call_param(&oc, "ref")};
    rc = notify_citizen(r->app, &r->arena, oc.c, &req, &ri);
    oauth_call_end(&oc);
    if (rc == RC_OK)
        http_json(r, w, 202, json_pack("{s:s}", "status", "sent"));
    else
        http_error_answer(r, w, HTTP_ERRORS(notify_errors), rc, &ri, HTTP_CH_NONE);
}

ROUTE(notify, "/notify", HTTP_POST, route_notify)
