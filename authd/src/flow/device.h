/* The device authorization grant (RFC 8628): the QR hand-over from a citizen's phone to a
 * kiosk. The kiosk (a client allowed urn:ietf:params:oauth:grant-type:device_code) asks
 * /device_authorization for a device code and a user code and shows
 * verification_uri_complete as a QR code; the citizen's phone, logged in, opens it, sees
 * which client (and kiosk location) asks for what, and approves or denies; the kiosk polls
 * /token with the device code and gets tokens at the levels of the phone's session, never
 * more.
 *
 * State: one pending interaction of kind PENDING_DEVICE (flow/pending.h) per request, its
 * id the device code (256 random bits: an unguessable key, never logged), TTL
 * device_code_ttl_s (+ the pending linger), poll interval device_poll_interval_s growing by
 * 5 s on slow_down; its attribute `uc` is the user code. Beside it:
 *
 *   authd:devuc:{HMAC(SECRET_TOKEN, "devuc", user code)}  -> the device code, same TTL;
 *                                                          deleted once decided
 *
 * User codes are guessed against (RFC 8628 §5.1) through token buckets (flow/ratelimit.h)
 * per client address (`device:ip`, rate_device_per_ip) and per typed code (`device:code`,
 * rate_device_per_code) taken on every lookup, right or wrong. */
#ifndef AUTHD_FLOW_DEVICE_H
#define AUTHD_FLOW_DEVICE_H

#include <stdint.h>

#include "conf/policy.h"
#include "core/usercode.h"
#include "flow/app.h"
#include "flow/pending.h"
#include "flow/session.h"
#include "util/arena.h"

#define DEVICE_PATH "/device" /* the verification page, under the issuer */

/* What /device_authorization answers (RFC 8628 §3.2); strings in the caller's arena. */
struct device_start {
    const char *device_code;
    char user_code[USERCODE_SHOWN_LEN + 1];
    const char *verification_uri, *verification_uri_complete;
    uint32_t expires_in, interval;
};

/* Starts a device authorization for client c (authenticated by the caller) asking scope
 * (may be {NULL, 0}: every scope the client is registered for), from address addr. Each
 * request stores an interaction, so it first takes a token from addr's bucket
 * `device_authorization:ip` (rate_device_authorization_per_ip). RC_OK: *out.
 * RC_DENIED with RC_WHY_CLIENT_NOT_ALLOWED (not registered for the grant:
 * unauthorized_client), RC_WHY_SCOPE (invalid_scope); RC_LIMITED with RC_WHY_RATE and
 * *retry_after_s; RC_UNAVAILABLE, RC_FULL, RC_NOMEM, RC_INTERNAL. Logs one `device.start`
 * event (client, never a code). */
enum rc device_authorize(struct app *app, struct arena *a, const struct policy *p,
                         const struct policy_client *c, struct span scope, struct span addr,
                         struct device_start *out, uint32_t *retry_after_s, struct rc_info *ri);

/* What the approval page shows (strings in the caller's arena). */
struct device_view {
    char user_code[USERCODE_SHOWN_LEN + 1];         /* normalised and shown as WDJB-MJHT */
    const char *client_id, *client_name, *location; /* location may be NULL */
    const char *scope;                              /* may be "" */
    struct loa min;                                 /* the level policy requires */
};

/* Looks up what a citizen typed (or the QR link carried), taking a token from the buckets
 * of addr and of the code first. RC_OK: *out. RC_MALFORMED or RC_NOT_FOUND with
 * RC_WHY_USER_CODE (not a code, unknown, decided or expired: one answer), RC_LIMITED with
 * RC_WHY_RATE and *retry_after_s, RC_UNAVAILABLE. */
enum rc device_lookup(struct app *app, struct arena *a, const struct policy *p, struct span typed,
                      struct span addr, struct device_view *out, uint32_t *retry_after_s,
                      struct rc_info *ri);

/* The approval page's POST: the citizen of session s approves (approve) or denies the
 * request of the code typed, looked up as device_lookup does. An approval records s's
 * account, sid, levels, amr and auth_time; it is refused (RC_DENIED, RC_WHY_LEVEL) when s
 * is below what policy requires of the client and scopes. The user code is dropped either
 * way. RC_OK; device_lookup's failures; RC_CONFLICT (decided meanwhile: RC_WHY_USER_CODE),
 * RC_UNAVAILABLE. Logs one `device.decide` event (client, masked nothing: no ID number). */
enum rc device_decide(struct app *app, struct arena *a, const struct policy *p, struct span typed,
                      struct span addr, const struct session *s, bool approve,
                      uint32_t *retry_after_s, struct rc_info *ri);

/* A poll of /token by client c with device_code (RFC 8628 §3.4, §3.5). RC_OK: the
 * interaction was approved and is now completed (single use): *out holds it, out->by the
 * approval. Refusals, by reason: RC_WHY_AUTHZ_PENDING (authorization_pending),
 * RC_WHY_SLOW_DOWN (slow_down; the interval has grown by 5 s), RC_WHY_DECLINED
 * (access_denied; the interaction is completed), RC_WHY_DEVICE_EXPIRED (expired_token),
 * RC_WHY_GRANT (invalid_grant: unknown, used, or another client's code), RC_WHY_PARAM
 * (device_code missing); RC_UNAVAILABLE. */
enum rc device_poll(struct app *app, struct arena *a, const struct policy_client *c,
                    struct span device_code, struct pending *out, struct rc_info *ri);

#endif
