/* The account page (docs/mfa.md, The account page): a citizen with an SSO session sees
 * and manages the second factors, the active sessions, the consents granted and the recent
 * sign-ins and failed attempts of the account.
 *
 *   GET  /account                 the page (a session is required)
 *   POST /account  csrf, action=end_session&sid=SID | action=revoke_consent&client=ID
 *
 * Link convention for the factor pages (the second-factor helpers' routes): every
 * registered authenticator with AUTHN_NEEDS_SESSION (flow/authn.h authn_at) is managed at
 * /mfa/<name>?return=/account (GET: enrol, or its state and removal; its own POSTs, CSRF and
 * freshness gate), the recovery codes at /mfa/recovery?return=/account. A factor page
 * sends the citizen back to the `return` path (only a local path starting with "/").
 *
 * Re-authentication: without a session, or for a change when the session is not fresh
 * (session_fresh: authenticated within config account_max_age_s, at aal2 when the account
 * has an enrolled second factor, else aal1), the citizen is sent through the ordinary login:
 * an authorization request of the page's own client (config account_client, registered in
 * the policy as a first-party confidential client whose redirect URI is ISSUER/account),
 * with prompt=login (OIDC Core §3.1.2.1: authenticate again), acr_values asking aal2 when
 * a second factor is enrolled (the step-up follows the password), ui_locales, and a PKCE
 * challenge nobody has the verifier of: the code that comes back to /account is never
 * redeemed (it expires, code_ttl); what the page wanted is the fresh session the login
 * made. The change is then made again by the citizen (the POST is not replayed).
 *
 * Every POST carries a CSRF token (flow/csrf.h, form "account", bound to the browser's
 * binding cookie and the session's sid) and is refused without it (RC_DENIED,
 * RC_WHY_CSRF: 403, nothing changed), before the freshness gate. Ending a session is
 * logout_session_end (flow/logout.h: its relying parties get back-channel logouts, its
 * token families are revoked), only of a session of the same account, never of the current
 * one (that is /end_session). Revoking a consent is consents_revoke (flow/consents.h). */
#ifndef AUTHD_FLOW_ACCOUNT_PAGE_H
#define AUTHD_FLOW_ACCOUNT_PAGE_H

#include <stdbool.h>

#include "flow/app.h"
#include "flow/consents.h"
#include "flow/csrf.h"
#include "flow/session.h"
#include "flow/signins.h"
#include "util/arena.h"

#define ACCOUNT_FACTORS_MAX 8

/* The browser's request. */
struct account_ctx {
    struct span session_cookie; /* may be empty */
    struct span bind;           /* the browser binding cookie (CSRF) */
    const char *lang;           /* "zh" or "en": ui_locales of a re-authentication */
    bool tls;
};

struct account_factor {
    const char *name; /* the authenticator's name (its label: strings.tsv authn_<name>) */
    const char *page; /* where it is set up and managed (struct authn page) */
    bool enrolled;
};

/* What the page shows; strings in the arena. */
struct account_view {
    struct session current;
    struct session *sessions; /* the current one among them */
    size_t nsessions;
    struct consent *consents;
    size_t nconsents;
    struct signin *signins;
    size_t nsignins;
    struct account_factor factors[ACCOUNT_FACTORS_MAX]; /* AUTHN_NEEDS_SESSION ones */
    size_t nfactors;
    bool second_factor; /* one of them is enrolled */
    bool fresh;         /* a change would be made now, without re-authenticating */
    char csrf[CSRF_LEN + 1];
};

enum account_kind {
    ACCOUNT_VIEW,  /* show *view */
    ACCOUNT_LOGIN, /* redirect to location: log in (again) and come back */
    ACCOUNT_DONE,  /* the change is made: redirect to /account */
    ACCOUNT_ERROR, /* an error page: the rc and why */
};

struct account_result {
    enum account_kind kind;
    struct rc_info why;
    const char *location;   /* LOGIN */
    const char *set_cookie; /* may be NULL */
};

/* GET: the page of the browser's session. VIEW (*view filled) or LOGIN. ERROR with
 * RC_UNAVAILABLE (the store), RC_NOMEM. Returns the rc. */
enum rc account_page_view(struct app *app, struct arena *a, const struct account_ctx *ctx,
                          struct account_view *view, struct account_result *out);

/* What a POST asks. */
struct account_change {
    struct span csrf;
    struct span action; /* "end_session" or "revoke_consent" */
    struct span sid;    /* end_session */
    struct span client; /* revoke_consent */
};

/* POST: LOGIN (no session, or not fresh), DONE, or ERROR: RC_DENIED RC_WHY_CSRF (a missing
 * or wrong token: nothing changed), RC_MALFORMED RC_WHY_PARAM (unknown action, a missing
 * or malformed sid or client, the current session's sid), RC_UNAVAILABLE. Ending a sid that
 * is not (or no longer) a session of the account is DONE with nothing changed. Logs one
 * `account.change` event. */
enum rc account_page_change(struct app *app, struct arena *a, const struct account_ctx *ctx,
                            const struct account_change *c, struct account_result *out);

/* No session on a page of the account (the access log too): the login of the page's own
 * client that comes back to /account (out->kind ACCOUNT_LOGIN). RC_OK, or an ERROR. */
enum rc account_page_login(struct app *app, struct arena *a, const struct account_ctx *ctx,
                           struct account_result *out);

/* The name a person knows client_id by (its policy `name`, else the id), in a; NULL when
 * out of memory. */
const char *account_page_client_name(struct app *app, struct arena *a, const char *client_id);

#endif
