/* OpenID CIBA Core 1.0, poll mode: a console (a hotline agent's, a counter's) asks the
 * citizen named by login_hint, on the citizen's own phone, to let it act as them. The
 * client (confidential, allowed urn:openid:params:grant-type:ciba) posts /bc-authorize;
 * authd sends an SMS to the phone on the citizen's record with a link ISSUER/ciba?code=..
 * (a short code of its own, never the auth_req_id); the citizen, logged in on the phone,
 * sees which client asks, its binding message and the scopes, and approves or denies; the
 * client polls /token with the auth_req_id and gets tokens at the levels of the phone
 * session it was approved from, never more.
 *
 * State: one pending interaction of kind PENDING_CIBA (flow/pending.h) per request, its id
 * the auth_req_id (256 random bits: an unguessable key, never logged), TTL the
 * requested_expiry (up to ciba_max_expiry_s; default ciba_expiry_s) + the pending linger,
 * poll interval ciba_poll_interval_s growing by 5 s on slow_down; attributes `acct` (the
 * account id login_hint or login_hint_token names: never the ID number itself), `bm` (the
 * binding message) and, for a hotline agent's request (login_hint_token, flow/hotline.h),
 * `agent`, `agent_sub`, `agent_name` (masked), `emp` and `purpose`. Audited: `ciba.request`
 * before the SMS, `ciba.answer` before a decision takes effect, and `expired` at the first
 * poll after an unanswered request expired (docs/audit.md). Beside it:
 *
 *   authd:cibauc:{HMAC(SECRET_TOKEN, "cibauc", code)}  -> the auth_req_id, same TTL;
 *                                                       deleted once decided
 *
 * The code of the link is 96 random bits (16 base64url characters): short enough for an
 * SMS, too long to guess, and only the citizen named can use it (the page needs that
 * citizen's session). Sending is rate-limited by the SMS buckets (flow/sms.h
 * sms_send_notice: per phone, per account, the daily budget). */
#ifndef AUTHD_FLOW_CIBA_H
#define AUTHD_FLOW_CIBA_H

#include <stdint.h>

#include "conf/policy.h"
#include "flow/app.h"
#include "flow/pending.h"
#include "flow/session.h"
#include "util/arena.h"

#define CIBA_PATH        "/ciba" /* the approval page, under the issuer */
#define CIBA_CODE_LEN    16      /* base64url of 12 random bytes */
#define CIBA_BINDING_MAX 64      /* characters of a binding message */

/* A backchannel authentication request (CIBA Core §7.1); spans of the parsed form, p NULL
 * when absent. */
struct ciba_req {
    struct span scope, login_hint, login_hint_token, id_token_hint, binding_message;
    struct span requested_expiry;
};

/* What /bc-authorize answers (CIBA Core §7.3); auth_req_id in the caller's arena. */
struct ciba_start {
    const char *auth_req_id;
    uint32_t expires_in, interval;
};

/* Starts a CIBA request of client c (authenticated by the caller). RC_OK: *out, and the SMS
 * is sent. Refusals (CIBA Core §13), by reason: RC_WHY_CLIENT_NOT_ALLOWED (not registered
 * for the grant, or a public client: unauthorized_client), RC_WHY_PARAM (id_token_hint: not
 * supported; no hint, or both login_hint and login_hint_token; a bad requested_expiry:
 * invalid_request),
 * RC_WHY_SCOPE (no openid, a scope policy refuses, or with a login_hint_token a scope
 * beyond the purpose's: invalid_scope), RC_WHY_LOGIN_HINT_TOKEN (a login_hint_token that is
 * not ours, another client's, or expired: flow/hotline.h hotline_hint_verify),
 * RC_WHY_BINDING_MESSAGE (invalid_binding_message), RC_WHY_UNKNOWN_USER (malformed or
 * unknown ID number, disabled account: unknown_user_id), RC_WHY_NO_PHONE (no phone on
 * record: access_denied), RC_WHY_RATE (RC_LIMITED, *retry_after_s); RC_UNAVAILABLE,
 * RC_FULL, RC_NOMEM. Logs one `ciba.start` event (client, scope, the ID number masked). */
enum rc ciba_authorize(struct app *app, struct arena *a, const struct policy *p,
                       const struct policy_client *c, const struct ciba_req *req,
                       struct ciba_start *out, uint32_t *retry_after_s, struct rc_info *ri);

/* What the approval page shows (strings in the caller's arena). */
struct ciba_view {
    const char *client_id, *client_name;
    const char *binding_message; /* may be NULL */
    const char *scope;           /* may be "" */
    struct loa min;              /* the level policy requires */
    /* a hotline agent's request (flow/hotline.h), else NULL: the agent's masked name and
     * employee number, the purpose's code and its names */
    const char *agent_name, *emp, *purpose, *purpose_name, *purpose_name_en;
};

/* The request of the link's code as the citizen of session s sees it. RC_OK: *out.
 * RC_NOT_FOUND with RC_WHY_PENDING (not a code, unknown, decided or expired: one answer),
 * RC_DENIED with RC_WHY_OTHER_CITIZEN (the request names another citizen: nothing of it is
 * shown), RC_UNAVAILABLE. */
enum rc ciba_lookup(struct app *app, struct arena *a, const struct policy *p, struct span code,
                    const struct session *s, struct ciba_view *out, struct rc_info *ri);

/* The page's POST: the citizen of session s approves or denies, as ciba_lookup finds the
 * request. An approval records s's account, sid, levels, amr and auth_time; it is refused
 * (RC_DENIED, RC_WHY_LEVEL) when s is below what policy requires of the client and scopes
 * (min_acr). The code is dropped either way. RC_OK; ciba_lookup's failures; RC_NOT_FOUND
 * with RC_WHY_PENDING (decided meanwhile), RC_UNAVAILABLE. Logs one `ciba.decide` event. */
enum rc ciba_decide(struct app *app, struct arena *a, const struct policy *p, struct span code,
                    const struct session *s, bool approve, struct rc_info *ri);

/* A poll of /token by client c (CIBA Core §10.1, §11): decoupled_poll (flow/decoupled.h)
 * with field auth_req_id. */
enum rc ciba_poll(struct app *app, struct arena *a, const struct policy_client *c,
                  struct span auth_req_id, struct pending *out, struct rc_info *ri);

#endif
