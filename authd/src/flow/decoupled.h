/* The pieces shared by the decoupled grants, where a client polls /token while the citizen
 * decides on their phone: the device grant (flow/device.h, RFC 8628) and CIBA poll mode
 * (flow/ciba.h, OpenID CIBA Core 1.0). Both keep their state as a pending interaction
 * (flow/pending.h) of their own kind. */
#ifndef AUTHD_FLOW_DECOUPLED_H
#define AUTHD_FLOW_DECOUPLED_H

#include "conf/policy.h"
#include "flow/app.h"
#include "flow/pending.h"
#include "flow/session.h"
#include "util/arena.h"

/* The scope of a request: what it asks (in), or every scope of client c when in.p is
 * NULL, filtered by policy (flow/authorize.h authorize_scope_filter). RC_OK: *out in a.
 * RC_DENIED with RC_WHY_SCOPE (malformed, too long, none left, or with strict_scopes one
 * not registered), RC_NOMEM. */
enum rc decoupled_scope(struct arena *a, const struct policy *p, const struct policy_client *c,
                        struct span in, const char **out, struct rc_info *ri);

/* A poll of /token by client c with id (the device code or the auth_req_id; field names
 * the parameter in ri) of an interaction of kind. RC_OK: it was approved and is now
 * completed (single use): *out holds it, out->by the approval. Refusals, by reason:
 * RC_WHY_AUTHZ_PENDING (authorization_pending), RC_WHY_SLOW_DOWN (slow_down; the interval
 * has grown by PENDING_SLOW_DOWN_S), RC_WHY_DECLINED (access_denied; the interaction is
 * completed), RC_WHY_DEVICE_EXPIRED (expired_token), RC_WHY_GRANT (invalid_grant: unknown,
 * used, or another client's), RC_WHY_PARAM (id missing); RC_UNAVAILABLE. */
enum rc decoupled_poll(struct app *app, struct arena *a, enum pending_kind kind,
                       const struct policy_client *c, struct span id, const char *field,
                       struct pending *out, struct rc_info *ri);

/* The common end of an approval page's decision: when approving, the citizen's session s
 * must meet min; the interaction pd (of kind) records the decision (the approval carries
 * s's levels), its page lookup key is deleted, an approval adds pd's client to s's relying
 * parties (so a logout of s reaches it), one log line ev. RC_OK; RC_DENIED (RC_WHY_LEVEL);
 * RC_EXPIRED when it was decided or expired meanwhile (the caller says so in its page's
 * words); the store's failure. */
enum rc decoupled_decide(struct app *app, struct arena *a, enum pending_kind kind,
                         const struct pending *pd, struct span key, const struct session *s,
                         struct loa min, bool approve, const char *ev, struct rc_info *ri);

#endif
