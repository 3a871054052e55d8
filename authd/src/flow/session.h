/* SSO sessions: one login in a browser serves every client until the session expires.
 *
 * The browser holds a cookie `authd_session` whose value is 256 random bits (base64url).
 * The store holds the record under authd:sess:{T} with T = HMAC(SECRET_TOKEN, cookie) in
 * hex, so that a store dump cannot be replayed as cookies. Beside it:
 *   authd:sess:{T}:rps  set of the client ids the session gave tokens to (back-channel
 *                       logout fans out to them), and SESSION_RPS_MARK from its creation,
 *                       so that the set lives exactly as long as the session: a code's
 *                       exchange joins its client only to a set that exists
 *                       (session_join_op)
 *   authd:sid:{sid}     T, so that logout by the public session id (`sid` claim of
 *                       OIDC Back-Channel Logout §2.1 / Front-Channel Logout §3) finds it
 *   authd:acctsess:{ACCT}  set of the sids of the account's sessions (the account page
 *                       lists them: session_list); a member is added on creation and
 *                       removed by session_end, and one whose session expired is dropped
 *                       by the next session_list. TTL: session_ttl, renewed by each login.
 * Lifetimes come from policy [tokens]: session_ttl (absolute, from creation) and
 * session_idle_ttl (from the last use); the store TTL is the smaller of what is left of
 * each, and a load re-checks both against the clock.
 *
 * For the logout engineer: load the browser's session with session_load (cookie) or
 * session_find_by_sid (sid of an id_token_hint or a logout request), then session_end
 * gives the client ids to notify and deletes all three keys; clear the cookie with
 * session_cookie_clear. */
#ifndef AUTHD_FLOW_SESSION_H
#define AUTHD_FLOW_SESSION_H

#include <stdbool.h>
#include <stdint.h>

#include "core/loa.h"
#include "flow/app.h"
#include "port/store.h"
#include "util/arena.h"

#define SESSION_COOKIE     "authd_session"
#define SESSION_COOKIE_LEN 43 /* base64url of 32 bytes */
#define SESSION_SID_LEN    43
#define SESSION_TAG_LEN    64 /* hex HMAC */
#define SESSION_ACCT_MAX   64
#define SESSION_AMR_MAX    128 /* bytes of the space-separated amr list */
#define SESSION_LABEL_MAX  128 /* bytes of device and channel; longer ones are not kept */

struct session {
    char tag[SESSION_TAG_LEN + 1]; /* store key tag; not a secret by itself, not a cookie */
    char sid[SESSION_SID_LEN + 1]; /* public id: the `sid` claim */
    char account_id[SESSION_ACCT_MAX + 1];
    struct loa loa;
    const char *amr; /* space-separated RFC 8176 values ("pwd"), in the caller's arena */
    int64_t auth_time, created, last_seen;
    const char *device;  /* the browser's User-Agent summarized (core/uagent.h), or "" */
    const char *channel; /* the client the session was opened for, or "" */
    uint32_t idle_ttl;   /* an idle lifetime of its own, when shorter than the policy's
                            session_idle_ttl (a kiosk card session, flow/card.h); 0: none */
};

/* What a completed login establishes. */
struct session_login {
    const char *account_id;
    struct loa loa;
    const char *amr;
    int64_t auth_time;
    const char *device, *channel; /* what the account page shows; NULL: unknown */
    uint32_t idle_ttl;            /* the session's own idle lifetime (struct session); 0 */
};

/* Creates a session with a fresh cookie value and a fresh sid (never reusing either, so
 * that a login always gets a new session id), writing the record and its sid index in one
 * batch. RC_OK: cookie (NUL-terminated; a secret: wipe it once sent) and *out filled.
 * RC_UNAVAILABLE, RC_FULL, RC_INTERNAL, RC_MALFORMED (account id too long). */
enum rc session_create(struct app *app, struct arena *a, const struct session_login *l,
                       char cookie[SESSION_COOKIE_LEN + 1], struct session *out);

/* A completed login's new session (session_create), the browser's old one ending: when
 * same (may be NULL) is the same citizen's session, it is ended and what it had handed out
 * goes on to the new one (its :rps client ids, and its token families in authd:sidfam, so
 * that logging out of the new session still reaches them; both best effort). The caller
 * ends another citizen's session first (logout_session_end). Same results as
 * session_create. */
enum rc session_login(struct app *app, struct arena *a, const struct session_login *l,
                      const struct session *same, char cookie[SESSION_COOKIE_LEN + 1],
                      struct session *out);

/* Step-up: raises s (loaded, still current) with a login l of the same account. Levels
 * only go up (the higher of s and l on each axis), l's amr values join s's (once each, in
 * order), auth_time becomes l's; the sid stays, but the session moves to a new cookie
 * (written to cookie: a secret, wipe it once sent) and the old cookie no longer finds it,
 * so that a cookie taken before the step-up never carries the higher level; what the
 * session issued codes to (:rps) moves with it. RC_OK: *s updated (its new tag) and
 * stored. RC_DENIED (another account), RC_NOT_FOUND (it ended or was raised meanwhile),
 * RC_TOO_LARGE (amr past SESSION_AMR_MAX), RC_UNAVAILABLE. */
enum rc session_upgrade(struct app *app, struct arena *a, struct session *s,
                        const struct session_login *l, char cookie[SESSION_COOKIE_LEN + 1]);

/* True if s was authenticated (its auth_time) at most max_age_s seconds before now, at aal
 * min or above: what a change on the account page, or removing a second factor, asks for
 * (else the citizen authenticates again). Pure. */
bool session_fresh(const struct session *s, int64_t now, uint32_t max_age_s, enum aal min);

/* True if cookie has the shape of a session cookie value: SESSION_COOKIE_LEN base64url
 * characters. Pure; session_load checks it before any store access. */
bool session_cookie_valid(struct span cookie);

/* Loads the session of a cookie value. RC_OK: *out filled (amr in a). RC_NOT_FOUND: no
 * such session, a malformed cookie, or a session past its absolute or idle lifetime (then
 * deleted). RC_UNAVAILABLE. Does not extend the session: see session_touch. */
enum rc session_load(struct app *app, struct arena *a, struct span cookie, struct session *out);

/* session_load in two halves, for a caller that reads the session in the same store round
 * trip as its own calls (store_pipeline: /authorize takes a rate-limit token with it).
 * session_load_op: RC_OK with *op (a STORE_OP_REC_GET, key in a) and tag filled; else what
 * session_load answers before any store access (RC_NOT_FOUND for a malformed cookie).
 * session_load_answer: what session_load would have answered, from the call's answer
 * (an expired session is deleted, as session_load does). */
enum rc session_load_op(struct app *app, struct arena *a, struct span cookie,
                        char tag[SESSION_TAG_LEN + 1], struct store_op *op);
enum rc session_load_answer(struct app *app, struct arena *a, const char *tag,
                            const struct store_call *c, struct session *out);

/* Loads a session by its public sid. Same results as session_load. */
enum rc session_find_by_sid(struct app *app, struct arena *a, struct span sid, struct session *out);

/* Marks s used now: last_seen and the TTLs of its keys move forward (never past the
 * absolute lifetime). A session used less than min(idle lifetime / 16, 60 s) ago is left as
 * it is (RC_OK, no store call): the idle lifetime holds to within that. RC_OK,
 * RC_NOT_FOUND (it ended meanwhile), RC_UNAVAILABLE. */
enum rc session_touch(struct app *app, struct arena *a, struct session *s);

/* Records that s issued a code to client_id (the :rps set). RC_OK, RC_UNAVAILABLE. */
enum rc session_add_rp(struct app *app, struct arena *a, const struct session *s,
                       const char *client_id);

/* The writes of session_touch and session_add_rp as store ops, for a caller that sends
 * them in one round trip with its own (store_pipeline: an SSO hop writes its code, the
 * client and the touch together; they are independent keys, in no particular order).
 *
 * session_touch_ops: *n is 0 when the session was used a moment ago (nothing to write),
 * else SESSION_TOUCH_OPS in ops (keys, fields and values in a), s->last_seen moved to now:
 * ops[0] writes last_seen into the record (STORE_XX: RC_NOT_FOUND when the session ended
 * meanwhile; nothing is brought back), ops[1] and ops[2] move the TTLs of the sid index and
 * of the :rps set (RC_NOT_FOUND for an absent one is fine). RC_OK, RC_NOT_FOUND (past its
 * absolute lifetime), RC_NOMEM.
 * session_add_rp_op: *op adds client_id (kept as a pointer) to the :rps set. RC_OK,
 * RC_NOMEM. */
#define SESSION_TOUCH_OPS 3
enum rc session_touch_ops(struct app *app, struct arena *a, struct session *s,
                          struct store_op ops[SESSION_TOUCH_OPS], size_t *n);
enum rc session_add_rp_op(struct app *app, struct arena *a, const struct session *s,
                          const char *client_id, struct store_op *op);

#define SESSION_RPS_MARK "." /* the :rps member every session has (never a client id) */

/* The op a code's exchange sends with its own writes (flow/token.c): client_id joins the
 * :rps set of the session with tag `tag`, created at `created` (both from the code), only
 * while that set exists (STORE_XX: its answer is RC_NOT_FOUND when the session has ended,
 * or moved to another tag by a step-up, since the code was issued; session_find_by_sid
 * then tells which). RC_OK, RC_MALFORMED (not a tag), RC_NOMEM. */
enum rc session_join_op(struct app *app, struct arena *a, const char *tag, int64_t created,
                        const char *client_id, struct store_op *op);

#define SESSION_LIST_MAX 32 /* sessions session_list reads, at most */

/* The live sessions of account_id, newest first (by created), at most SESSION_LIST_MAX.
 * Index members whose session is gone are removed (best effort). RC_OK: *out (in a, may
 * be NULL when *n is 0). RC_UNAVAILABLE. */
enum rc session_list(struct app *app, struct arena *a, const char *account_id,
                     struct session **out, size_t *n);

/* Ends s: deletes the record, its :rps set, its sid index and its place in the account's
 * set (authd:acctsess). RC_OK: *rps (in a, may be
 * NULL) and *nrps are the client ids it had issued codes to. RC_UNAVAILABLE. */
enum rc session_end(struct app *app, struct arena *a, const struct session *s, struct span **rps,
                    size_t *nrps);

/* The Set-Cookie value that installs cookie: HttpOnly, SameSite=Lax, Path=/; when tls
 * (TLS or an https issuer) also Secure and named __Host-authd_session (no Domain: the
 * prefix pins it to this host, RFC 6265bis §4.1.3.2). In a; NULL when out of memory. */
const char *session_cookie(struct arena *a, const char *cookie, bool tls);
/* The Set-Cookie value that removes the cookie. */
const char *session_cookie_clear(struct arena *a, bool tls);

#endif
