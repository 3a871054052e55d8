/* RP-initiated logout (OpenID Connect RP-Initiated Logout 1.0) and what ending an SSO
 * session sets off (Back-Channel Logout 1.0, Front-Channel Logout 1.0).
 *
 *   GET|POST /end_session  id_token_hint, client_id, post_logout_redirect_uri, state,
 *                          ui_locales (§2; logout_hint is accepted and ignored)
 *
 * - id_token_hint: an ID token we issued (signature with our keys, ES256 or RS256; iss;
 *   aud a known client; `exp` may be past, §2). A hint we cannot verify is an error page:
 *   no logout, no redirect (§2, §4). client_id, when both are sent, must equal its aud.
 * - post_logout_redirect_uri: used only if it exactly matches one the client registered
 *   (§3; the client is known from the hint or client_id). Otherwise the logged-out page
 *   is shown and nothing redirects (no open redirect). `state` is passed back.
 * - A valid hint whose `sid` is the browser's session (or, without a session cookie, a
 *   live session) logs out at once. Otherwise the user is asked (§2: the OP SHOULD ask)
 *   through a page whose POST carries a CSRF token bound to the browser (`authd_bind`).
 * - Ending a session: session_end (record, :rps set, sid index), the session's token
 *   families revoked (authd:sidfam:{sid}), then for every client the session issued codes
 *   to: a queued back-channel logout if it registered backchannel_logout_uri
 *   (flow/bclogout.h), and its frontchannel_logout_uri as an iframe on the logged-out page
 *   (with iss and sid when frontchannel_logout_session_required, Front-Channel §2, §4). */
#ifndef AUTHD_FLOW_LOGOUT_H
#define AUTHD_FLOW_LOGOUT_H

#include <stdbool.h>

#include "core/form.h"
#include "flow/app.h"
#include "util/arena.h"

#define LOGOUT_PARAM_MAX  2048 /* post_logout_redirect_uri, state, ui_locales, client_id */
#define LOGOUT_MAX_FRAMES 16   /* front-channel iframes on one page */

/* The request: spans into the parsed form (p == NULL when absent). */
struct logout_req {
    struct span id_token_hint, client_id, post_logout_redirect_uri, state, ui_locales;
    bool confirm;     /* the confirmation page's POST (`confirm=1`) */
    struct span csrf; /* its CSRF token */
};

/* Fills *out from form f. RC_MALFORMED, reason RC_WHY_PARAM (ri says which field), when a
 * value is over LOGOUT_PARAM_MAX, or confirm has another value than "1". */
enum rc logout_parse(const struct form *f, struct logout_req *out, struct rc_info *ri);

/* What the browser's request context is. */
struct logout_ctx {
    struct span session_cookie; /* may be empty */
    struct span bind;           /* browser binding cookie (CSRF), may be empty */
    bool tls;
};

enum logout_kind {
    LOGOUT_ERROR,   /* an error page: the rc returned and why (the route's table answers) */
    LOGOUT_CONFIRM, /* ask: the confirmation page (csrf, client_name) */
    LOGOUT_DONE,    /* logged out (or nothing to do): redirect, or the logged-out page */
};

struct logout_result {
    enum logout_kind kind;
    struct rc_info why;                    /* ERROR: why (reason, field, message) */
    const char *client_id;                 /* once known, for the log and the page */
    const char *client_name;               /* may be NULL */
    const char *csrf;                      /* CONFIRM */
    const char *redirect;                  /* DONE: post_logout_redirect_uri with state, or NULL */
    const char *frames[LOGOUT_MAX_FRAMES]; /* DONE: front-channel iframe URLs */
    size_t nframes;
    bool ended;             /* DONE: a session was ended */
    const char *set_cookie; /* DONE with ended: the Set-Cookie that clears the session */
};

/* Runs one logout request. Always fills *out (strings in a) and returns its rc: RC_OK
 * (confirmation asked or logout done), else ERROR with out->why: RC_WHY_PARAM (a bad
 * id_token_hint or client_id, client_id not the hint's aud), RC_WHY_CSRF (RC_DENIED: the
 * confirmation's token is missing or wrong; another rc: the token could not be made),
 * RC_WHY_NONE (the policy or the store could not answer: RC_UNAVAILABLE, ...). Logs one
 * `logout` event (with the reason's name). */
enum rc logout_request(struct app *app, struct arena *a, const struct logout_req *req,
                       const struct logout_ctx *ctx, struct logout_result *out);

struct session;

/* Ends session s the way /end_session does: session_end, its token families revoked, a
 * back-channel logout queued for each client it issued codes to (a queueing failure is
 * logged). *out: ended, set_cookie (clears the cookie) and the front-channel frames.
 * Also used when a login in the browser replaces another account's session. RC_OK,
 * RC_UNAVAILABLE (nothing ended: the store or the policy is not there). */
enum rc logout_session_end(struct app *app, struct arena *a, const struct session *s, bool tls,
                           struct logout_result *out);

/* The CSRF token of the confirmation page for browser binding `bind` (hex, 64 chars +
 * NUL). RC_MALFORMED for a missing binding, RC_INTERNAL. */
enum rc logout_csrf(struct app *app, struct span bind, char out[65]);

#endif
