/* The kiosk card login (docs/kiosk.md): an enrolled kiosk (its verified certificate,
 * flow/kiosk.h) asks for a nonce, reads a citizen's ID card, and posts a card assertion
 * (core/cardassert.h) signed with its device key; authd checks it and opens an SSO
 * session at ial4/aal3 (ial3 without a face score), amr "hwk" (+ "face"), with the kiosk's
 * hard idle lifetime (policy [tokens] kiosk_idle_ttl), and issues the kiosk client's
 * tokens bound to the kiosk's certificate.
 *
 * Store keys (tags are keyed hashes, never the value itself):
 *   authd:cardnonce:{HMAC(nonce)}  the kiosk id that asked; CARD_NONCE_TTL s; taken once
 *   authd:cardsso:{HMAC(code)}     the sid a session_uri opens in the kiosk's browser;
 *                                  CARD_SSO_TTL s; taken once
 *   authd:cardsid:{sid}            "KIOSK ACCOUNT": whose card session it is, for
 *                                  /kiosk/card-removed; session_ttl */
#ifndef AUTHD_FLOW_CARD_H
#define AUTHD_FLOW_CARD_H

#include "conf/policy.h"
#include "flow/app.h"
#include "flow/kiosk.h"
#include "flow/logout.h"
#include "flow/session.h"
#include "flow/token.h"
#include "util/arena.h"

#define CARD_NONCE_TTL 60
#define CARD_SSO_TTL   60
#define CARD_CODE_LEN  43 /* base64url of 32 bytes */

/* A fresh nonce for kiosk kc (22 base64url characters, NUL-terminated). RC_OK,
 * RC_UNAVAILABLE, RC_FULL. */
enum rc card_nonce(struct app *app, struct arena *a, const struct kiosk_cert *kc, char nonce[23]);

struct card_result {
    struct token_resp tok;
    const char *sid;         /* the SSO session's sid */
    const char *session_uri; /* issuer + /kiosk/session?code=...: single use, CARD_SSO_TTL s */
};

/* Checks assertion (the compact JWS) of kiosk kc for client c under policy p and logs the
 * citizen in. RC_OK: *out (strings in a). Refusals (ri->why): RC_WHY_SCOPE (no openid, or
 * none of the client's), RC_WHY_KIOSK_NOT_ALLOWED (the kiosk is not enrolled for the
 * client or a scope), RC_WHY_CARD_ASSERTION (malformed, not signed by kc's key, not for
 * us, expired), RC_WHY_CARD_NONCE (unknown, used, expired or another kiosk's),
 * RC_WHY_CARD_EXPIRED, RC_WHY_CARD_RECORD (the population base does not match the card,
 * or the record is cancelled), RC_WHY_FACE_SCORE (under kiosk_face_score_min),
 * RC_WHY_UNKNOWN_USER (no usable account for the number); RC_UNAVAILABLE (the store, the
 * population base or the audit chain cannot answer: fail closed). Appends a card.login
 * record to the audit chain (acct, kiosk, location, client). */
enum rc card_login(struct app *app, struct arena *a, const struct policy *p,
                   const struct policy_client *c, const struct kiosk_cert *kc, struct span scope,
                   struct span assertion, struct card_result *out, struct rc_info *ri);

/* The card was taken out of kiosk kc's reader: the session sid ends at once (as
 * /end_session ends one: token families revoked, back-channel logouts queued). RC_OK (also
 * when it had already ended by its idle lifetime); RC_MALFORMED with RC_WHY_PARAM for an
 * unknown sid or another kiosk's; RC_UNAVAILABLE. */
enum rc card_removed(struct app *app, struct arena *a, const struct kiosk_cert *kc, struct span sid,
                     bool tls, struct rc_info *ri);

/* Opens the session a session_uri names in the browser: takes code (single use) and moves
 * the session to a new cookie (session_upgrade: the sid stays). RC_OK: cookie (a secret:
 * wipe it once sent). RC_NOT_FOUND (unknown, used, expired code, or the session ended),
 * RC_UNAVAILABLE. */
enum rc card_session_open(struct app *app, struct arena *a, struct span code,
                          char cookie[SESSION_COOKIE_LEN + 1], struct rc_info *ri);

#endif
