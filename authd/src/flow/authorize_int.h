/* The layer under flow/authorize.c (the request) and flow/authorize_pages.c (the login
 * and consent pages): flow/authorize_steps.c keeps the pending request, takes the session
 * decision and gives the answers (a page to go to, a code, an error). It includes neither
 * of them. Not for other modules. */
#ifndef AUTHD_FLOW_AUTHORIZE_INT_H
#define AUTHD_FLOW_AUTHORIZE_INT_H

#include "conf/policy.h"
#include "flow/authorize.h"
#include "flow/session.h"

/* Saves r as pending authorization request *id (a new one when (*id)[0] == 0), for
 * AUTHZ_PENDING_TTL from now, through flow/pending.h: a new request may not use the store's reserve
 * (STORE_LOW), saving an existing one may. RC_OK, RC_FULL (the store is full, or only its
 * reserve is left for a new request), RC_TOO_LARGE, RC_UNAVAILABLE, RC_NOMEM. */
enum rc authz_pending_save(struct app *app, struct arena *a, const struct authz_req *r,
                           char id[AUTHZ_PENDING_LEN + 1]);
/* Loads pending request id. RC_NOT_FOUND (unknown, expired or malformed id, or a record
 * of an earlier format), RC_UNAVAILABLE. */
enum rc authz_pending_load(struct app *app, struct arena *a, struct span id, struct authz_req *out);
/* Saves r, validated at the pushed authorization request endpoint, as pushed request *id
 * (a new one) for AUTHZ_PAR_TTL (RFC 9126 §2.2). Results as authz_pending_save. */
enum rc authz_par_save(struct app *app, struct arena *a, const struct authz_req *r,
                       char id[AUTHZ_PENDING_LEN + 1]);
/* Takes pushed request id for client_id, once: of concurrent takers exactly one gets RC_OK
 * with *out. RC_NOT_FOUND: unknown, malformed, expired, used, or pushed by another client
 * (left in place then); RC_UNAVAILABLE. */
enum rc authz_par_take(struct app *app, struct arena *a, struct span id, const char *client_id,
                       struct authz_req *out);

/* The request's checks after client_id and redirect_uri, shared by /authorize and the pushed
 * authorization request endpoint (one validation): PAGE errors before the redirect URI is
 * valid, ERROR ones after, as authorize_request says; f holds the parameters (repeated:
 * the raw request had a repeated or broken one and f what could be salvaged). */
enum rc authz_validate(struct app *app, struct arena *a, const struct policy *p,
                       const struct form *f, bool repeated, struct authz_req *r,
                       const struct policy_client **cl, struct authorize_result *out);

/* Completes pending request id once the client has its answer: exactly one caller gets
 * RC_OK for an id (the record is taken atomically), so two POSTs of one page racing each
 * other cannot both issue a code. RC_OK also for id NULL (no pending request); RC_NOT_FOUND
 * when another request completed it first (or it expired), RC_UNAVAILABLE. Paths that
 * answer with an error may ignore the result; a path that issues a code must not. */
enum rc authz_pending_drop(struct app *app, struct arena *a, const char *id);

/* The session decision (core/authz.h authz_decide, with what the accepted authenticators
 * reach). true: go on with s; false: *out says where to (the login page, for step-up with
 * the authenticator in `authn`, or an error for the client), *rc why. */
bool authz_gate(struct app *app, struct arena *a, const struct authz_req *r, const char *pending_id,
                const struct session *s, struct authorize_result *out, enum rc *rc);

/* Goes on with a validated request and the browser's session (NULL: none): login page,
 * consent page, an error for the client, or a code. pending_id: the request's pending id
 * if it has one (it is dropped once the client gets an answer), else NULL. */
enum rc authz_continue(struct app *app, struct arena *a, const struct authz_req *r,
                       const char *pending_id, const struct session *s,
                       struct authorize_result *out);

/* Remembers that s's citizen granted scope to r's client (policy consent_ttl; best
 * effort: without it the citizen is asked again next time). */
void authz_consent_remember(struct app *app, struct arena *a, const struct session *s,
                            const struct authz_req *r, const char *scope);

/* Issues a code for r with granted scope to the client (redirect): the code, s's :rps set
 * gaining the client and s's touch (session_touch_ops) in one store round trip. */
enum rc authz_issue(struct app *app, struct arena *a, const struct authz_req *r,
                    const struct session *s, const char *scope, struct authorize_result *out);

/* An error for r's client (ERROR: authorize_error_location): rc (RC_OK: RC_DENIED), why,
 * field and msg (static; the error_description) in out->why. Returns that rc. */
enum rc authz_redirect_error(const struct authz_req *r, enum rc rc, enum rc_reason why,
                             const char *field, const char *msg, struct authorize_result *out);

/* An error page (no redirect): rc, why, field and msg in out->why. Returns rc. */
enum rc authz_page_error(struct authorize_result *out, enum rc rc, enum rc_reason why,
                         const char *field, const char *msg);

/* One line per outcome: ev "authorize" with the client, the outcome, the rc and the
 * reason's name. */
void authz_log(const char *step, const struct authorize_result *out, enum rc rc);

#endif
