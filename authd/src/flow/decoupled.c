/* The shared pieces of the decoupled grants (flow/decoupled.h): the scope of a request and
 * the polls of /token (RFC 8628 §3.5, CIBA Core §11). */
#include "flow/decoupled.h"

#include <string.h>

#include "flow/authorize.h"
#include "log/log.h"
#include "port/store.h"

/* The scope of the request: what it asks, or every scope of the client, filtered by
 * policy (flow/authorize.h authorize_scope_filter). */
enum rc
decoupled_scope(struct arena *a, const struct policy *p, const struct policy_client *c,
                struct span in, const char **out, struct rc_info *ri)
{
    struct buf b;
    size_t dropped = 0;
    enum rc rc;

    buf_init(&b, PENDING_SCOPE_MAX + 1);
    for (size_t i = 0; !in.p && i < c->scopes.n; i++)
        buf_printf(&b, "%s%s", i ? " " : "", c->scopes.v[i]);
    if (!in.p)
        in = b.p ? span_of(b.p, b.len) : SPAN("");
    rc = authorize_scope_filter(a, p, c, in, out, &dropped);
    buf_clear(&b);
    if (rc == RC_NOMEM)
        return rc_because(ri, rc, RC_WHY_NONE);
    if (rc != RC_OK)
        return rc_fail(ri, RC_DENIED, RC_WHY_SCOPE, "scope",
                       rc == RC_TOO_LARGE ? "too long" : "malformed");
    if (dropped && c->strict_scopes)
        return rc_fail(ri, RC_DENIED, RC_WHY_SCOPE, "scope", "not registered for the client");
    if (**out == 0)
        return rc_fail(ri, RC_DENIED, RC_WHY_SCOPE, "scope", "none registered for the client");
    if (strlen(*out) > PENDING_SCOPE_MAX)
        return rc_fail(ri, RC_DENIED, RC_WHY_SCOPE, "scope", "too long");
    return RC_OK;
}

enum rc
decoupled_poll(struct app *app, struct arena *a, enum pending_kind kind,
               const struct policy_client *c, struct span id, const char *field,
               struct pending *out, struct rc_info *ri)
{
    enum rc rc;

    if (!id.p || id.len == 0)
        return rc_fail(ri, RC_MALFORMED, RC_WHY_PARAM, field, "missing");
    rc = pending_poll(app, a, kind, id, out);
    if (rc == RC_NOT_FOUND || ((rc == RC_OK || rc == RC_LIMITED) && strcmp(out->client_id, c->id)))
        return rc_fail(ri, RC_NOT_FOUND, RC_WHY_GRANT, field, "unknown, used or not yours");
    if (rc == RC_LIMITED) /* RFC 8628 §3.5: the interval grew by 5 s */
        return rc_fail(ri, RC_LIMITED, RC_WHY_SLOW_DOWN, field, "polled too fast");
    if (rc != RC_OK)
        return rc_because(ri, rc, RC_WHY_NONE);
    switch (out->state) {
    case PENDING_WAITING:
        return rc_fail(ri, RC_DENIED, RC_WHY_AUTHZ_PENDING, field, "not decided yet");
    case PENDING_EXPIRED:
        return rc_fail(ri, RC_EXPIRED, RC_WHY_DEVICE_EXPIRED, field, "expired");
    case PENDING_DENIED:
        (void)pending_complete(app, a, kind, id, NULL);
        return rc_fail(ri, RC_DENIED, RC_WHY_DECLINED, field, "the citizen declined");
    case PENDING_APPROVED:
        break;
    }
    /* single use: of concurrent polls of an approved code, one completes it */
    rc = pending_complete(app, a, kind, id, out);
    if (rc == RC_NOT_FOUND || (rc == RC_OK && out->state != PENDING_APPROVED))
        return rc_fail(ri, RC_NOT_FOUND, RC_WHY_GRANT, field, "used already");
    return rc == RC_OK ? RC_OK : rc_because(ri, rc, RC_WHY_NONE);
}

enum rc
decoupled_decide(struct app *app, struct arena *a, enum pending_kind kind,
                 const struct pending *pd, struct span key, const struct session *s,
                 struct loa min, bool approve, const char *ev, struct rc_info *ri)
{
    struct pending_approval ap = {s->account_id, s->sid, s->amr, s->loa, s->auth_time};
    struct log_rec *lr;
    enum rc rc;

    if (approve && !loa_satisfies(s->loa, min))
        return rc_fail(ri, RC_DENIED, RC_WHY_LEVEL, "session", "below the client's level");
    rc = pending_approve(app, a, kind, span_str(pd->id), approve ? &ap : NULL);
    if (rc == RC_CONFLICT || rc == RC_EXPIRED || rc == RC_NOT_FOUND)
        return RC_EXPIRED;
    if (rc != RC_OK)
        return rc_because(ri, rc, RC_WHY_NONE);
    (void)store_del(app->store, key); /* the code has done its work; it expires anyway */
    if (approve) /* back-channel logout of the session reaches the client (best effort) */
        (void)session_add_rp(app, a, s, pd->client_id);
    if ((lr = log_begin(LOG_INFO, ev))) {
        log_str(lr, "client", pd->client_id);
        log_str(lr, "sid", s->sid);
        log_str(lr, "decision", approve ? "approved" : "denied");
        log_end(lr);
    }
    return RC_OK;
}
