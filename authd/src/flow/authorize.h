/* The authorization endpoint and the pages it leads to (OIDC Core §3.1.2, RFC 6749 §4.1,
 * RFC 7636, RFC 8252, RFC 9207, RFC 9700).
 *
 *   GET|POST /authorize ─ authorize_request: validate; with a usable SSO session and no
 *        consent to ask, straight back to the client with a code; otherwise the request is
 *        saved as a pending authorization (authd:authz:{id}, 10 min) and the browser goes
 *        to /login?authz=ID or /consent?authz=ID. The pages never re-send the request:
 *        only the id travels, the validated request stays on the server.
 *   POST /login    ─ authorize_login: CSRF, an authenticator (flow/authn.h), a new or a
 *        raised session, then on.
 *   POST /consent  ─ authorize_consent: CSRF, approve or deny, then on.
 *
 * CSRF tokens are HMAC(SECRET_CSRF, form, pending id, browser binding): the binding is a
 * random cookie (`authd_bind`, SameSite=Lax) so a token fetched by an attacker is useless
 * in the victim's browser (login CSRF, RFC 6749 §10.12). Errors go back to the client
 * only once client_id and redirect_uri are validated; before that, an error page. */
#ifndef AUTHD_FLOW_AUTHORIZE_H
#define AUTHD_FLOW_AUTHORIZE_H

#include <stdbool.h>
#include <stdint.h>

#include "conf/policy.h"
#include "core/form.h"
#include "core/loa.h"
#include "flow/app.h"
#include "flow/ratelimit.h"
#include "flow/session.h"

struct policy_client;

#define AUTHZ_PENDING_TTL    600 /* a pending interaction (flow/pending.h) */
#define AUTHZ_PENDING_LEN    43  /* base64url of 32 bytes */
#define AUTHZ_BIND_COOKIE    "authd_bind"
#define AUTHZ_BIND_LEN       43
#define AUTHZ_CSRF_LEN       64
#define AUTHZ_PARAM_MAX      1024 /* parameters that are parsed, not kept (acr_values) */
#define AUTHZ_SCOPE_MAX      1024

/* Pushed authorization requests (RFC 9126): the request_uri is AUTHZ_PAR_URN followed by
 * the id of the pushed request (authd:par:{ID}, 256 random bits), usable once, for
 * AUTHZ_PAR_TTL seconds (§2.2, §7.3), by the client that pushed it only (§4). */
#define AUTHZ_PAR_URN "urn:ietf:params:oauth:request_uri:"
#define AUTHZ_PAR_TTL 60

/* Parameters kept in the pending request (and in the code): each has its own cap, so a
 * pending request stays under about 4 KB whatever the request (docs/oidc-login.md).
 * Above it: invalid_request, to the client once its redirect URI is known. */
#define AUTHZ_STATE_MAX       512
#define AUTHZ_NONCE_MAX       256
#define AUTHZ_LOGIN_HINT_MAX  256
#define AUTHZ_UI_LOCALES_MAX  64
#define AUTHZ_CLAIMS_KEPT_MAX 2048 /* <= AUTHZ_CLAIMS_MAX (core/authz.h) */

/* A validated authorization request (strings in an arena). */
struct authz_req {
    const char *client_id;
    const char *redirect_uri;   /* the registered value it matched, or the one registered */
    const char *redirect_given; /* what the client sent (loopback: with its port) */
    bool redirect_omitted;      /* the request had no redirect_uri (one is registered) */
    const char *scope;          /* requested scopes, deduplicated, in request order */
    const char *state, *nonce, *code_challenge;   /* may be NULL */
    const char *login_hint, *ui_locales, *claims; /* may be NULL */
    unsigned prompt;                              /* AUTHZ_PROMPT_* */
    int64_t max_age;                              /* -1: not given */
    struct loa min;        /* the level required (client, scopes, acr_values, claims) */
    bool rp_asked_acr;     /* min came from the client's acr_values/claims */
    const char *login_sid; /* sid of the session the login for this request created */
    const char *dpop_jkt;  /* RFC 9449 §10: the code is bound to this DPoP key, or NULL */
};

enum authorize_kind {
    AUTHORIZE_PAGE,     /* an error page (the rc and `why`); no redirect */
    AUTHORIZE_REDIRECT, /* to location: the client's redirect URI with a code */
    AUTHORIZE_LOGIN,    /* to location: /login?authz=ID */
    AUTHORIZE_CONSENT,  /* to location: /consent?authz=ID */
    AUTHORIZE_FORM,     /* show the login form again (the rc and `why`) */
    AUTHORIZE_ERROR,    /* an error for the client (the rc and `why`): authorize_error_location */
};

/* PAGE, FORM and ERROR carry no status, OAuth error or message key: the route's table
 * (http/http.h struct http_error) maps the rc and why.why to them. */
struct authorize_result {
    enum authorize_kind kind;
    struct rc_info why;     /* PAGE, FORM, ERROR: the reason (RC_WHY_*), field and message */
    const char *location;   /* REDIRECT, LOGIN, CONSENT (in the arena) */
    const char *set_cookie; /* a Set-Cookie value to send, or NULL */
    const char *client_id;  /* once known, for the log */
    const char *client_uri; /* ERROR: the redirect URI the client sent (or the registered one) */
    const char *state;      /* ERROR: the request's state, or NULL */
    uint32_t retry_after_s; /* FORM with RC_LIMITED: how long to wait */
};

/* The location of an ERROR result: client_uri?error=..&error_description=..&state=..&iss=..
 * (RFC 6749 §4.1.2.1, RFC 9207), error and description (may be NULL) from the route's
 * table; in a. NULL when out of memory. */
const char *authorize_error_location(struct app *app, struct arena *a,
                                     const struct authorize_result *res, const char *error,
                                     const char *description);

/* The part of a requested scope list the client may have (policy defines the value, the
 * client is registered for it, id_number only with id_number_allowed), normalised into
 * *out (in a); *dropped counts the values left out. Shared with the device grant.
 * RC_OK, RC_MALFORMED, RC_TOO_LARGE, RC_NOMEM (core/authz.h authz_scope_filter). */
enum rc authorize_scope_filter(struct arena *a, const struct policy *p,
                               const struct policy_client *cl, struct span in, const char **out,
                               size_t *dropped);

/* The level policy requires of a login for client cl and scope (space-separated): the
 * client's and each scope's min_acr, into *min. RC_OK; RC_MALFORMED (RC_WHY_POLICY: a
 * min_acr that does not parse). Shared with the device grant. */
enum rc authorize_policy_min(const struct policy *p, const struct policy_client *cl,
                             const char *scope, struct loa *min, struct rc_info *ri);

/* Handles an authorization request (query or form parameters; raw is the undecoded
 * string, used only to salvage client_id and redirect_uri when a parameter is repeated).
 * session_cookie may be empty. Always fills *out; returns RC_OK for a code or a page to go
 * to, else the rc of the failure (out->why: the reason; before client_id and redirect_uri
 * are validated a PAGE, RC_WHY_CLIENT or RC_WHY_REDIRECT_URI; after, an ERROR for the
 * client: RC_WHY_PARAM, RC_WHY_RESPONSE_TYPE, RC_WHY_SCOPE, RC_WHY_LOGIN_REQUIRED, ...,
 * RC_WHY_NONE with a store failure's rc). */
enum rc authorize_request(struct app *app, struct arena *a, struct span raw,
                          struct span session_cookie, struct authorize_result *out);

/* The start of /authorize in one store round trip (store_pipeline): a token from the
 * rate-limit bucket rl (before anything else of the request is looked at: a refusal
 * leaves the rest undone) and the read of the browser's session (session_cookie may be
 * empty). A round trip less than the two calls one after the other, on every
 * authorization request with an SSO cookie (docs/performance.md). RC_OK: go on with
 * authorize_request_begun; pre holds the session's answer. RC_LIMITED (*retry_after_s),
 * RC_UNAVAILABLE (fail closed), RC_NOMEM, RC_INTERNAL, as ratelimit_take answers. */
struct authorize_pre {
    enum rc session_rc;     /* session_load's answer (RC_NOT_FOUND when there is no cookie) */
    struct session session; /* session_rc RC_OK */
};
enum rc authorize_begin(struct app *app, struct arena *a, const struct ratelimit *rl,
                        struct span session_cookie, struct authorize_pre *pre,
                        uint32_t *retry_after_s, struct rc_info *ri);
/* authorize_request with the session read by authorize_begin. */
enum rc authorize_request_begun(struct app *app, struct arena *a, struct span raw,
                                const struct authorize_pre *pre, struct authorize_result *out);

/* The pushed authorization request endpoint's work (RFC 9126 §2.1): the parameters in f
 * (the form body; client authentication parameters are ignored), pushed by client cl
 * (authenticated by the caller, owned by p), are validated exactly as authorize_request
 * validates them and kept for AUTHZ_PAR_TTL. dpop_jkt (may be NULL): the thumbprint of the
 * request's DPoP proof, to which the code is then bound (RFC 9449 §10.1). RC_OK:
 * *request_uri (in a) is the value for /authorize. Failures (ri: the reason): RC_MALFORMED
 * RC_WHY_CLIENT (a client_id differing from cl), RC_WHY_REQUEST_URI (a request_uri among the
 * parameters, §2.1), RC_WHY_DPOP_PROOF (a dpop_jkt parameter not the proof's key), the
 * refusals of
 * authorize_request (RC_WHY_REDIRECT_URI, RC_WHY_PARAM, RC_WHY_SCOPE, ...), RC_FULL,
 * RC_UNAVAILABLE, RC_NOMEM. */
enum rc authorize_push(struct app *app, struct arena *a, const struct policy *p,
                       const struct policy_client *cl, const struct form *f, const char *dpop_jkt,
                       const char **request_uri, struct rc_info *ri);

/* What a login or consent page shows about its pending request. */
struct authorize_page {
    struct authz_req req;
    const char *client_name;
    char csrf[AUTHZ_CSRF_LEN + 1];
    const char *const *claims; /* consent: claim names the client asks for (NULL-ended) */
    bool asks_id_number;       /* consent: the id_number scope is requested */
};

/* Loads pending request `id` for a page and computes the page's CSRF token for the
 * browser binding `bind` and form `form` ("login" or "consent"). RC_NOT_FOUND: unknown or
 * expired (show "start again from the application"), RC_UNAVAILABLE. */
enum rc authorize_page_info(struct app *app, struct arena *a, struct span id, struct span bind,
                            const char *form, struct authorize_page *out);

/* A fresh browser-binding value (base64url, AUTHZ_BIND_LEN) and its Set-Cookie value
 * (HttpOnly, SameSite=Lax, Path=/; under TLS Secure and named __Host-authd_bind), both in
 * a. NULL on failure. */
const char *authorize_bind_new(struct app *app, struct arena *a, bool tls, const char **value);

struct login_form {
    struct span pending, csrf, bind;
    struct span authn;             /* the authenticator (flow/authn.h); empty: the password */
    struct span id_number, secret; /* what it needs: the password or a one-time code */
    struct span session_cookie; /* the browser's old session, if any */
    const char *client_ip;
    struct span user_agent; /* the User-Agent header (summarized for the session), may be empty */
    bool tls;
    bool decline;   /* the second-factor page's "not now": a step-up refused */
    bool challenge; /* the second-factor page's "send me a code" (authn's challenge hook) */
};

/* The login page's POST, through the authenticator f->authn (flow/authn.h) if policy
 * accepts it for the request. FORM with the authenticator's refusal: RC_DENIED
 * RC_WHY_CREDENTIALS (one reason for an unknown number and a wrong password; also any
 * refusal the authenticator gives no reason for) or RC_WHY_DISABLED, RC_LIMITED
 * (RC_WHY_RATE, RC_WHY_LOCKED; retry_after_s), RC_UNAVAILABLE (an outage, the session
 * store's included); PAGE for a missing/expired request or an authenticator not accepted
 * (or a step-up without a session): RC_WHY_PENDING, or a bad CSRF token: RC_DENIED
 * RC_WHY_CSRF; otherwise as authorize_request, with set_cookie installing a new session
 * (after a step-up too: the raised session moves to a new cookie). The secret is not kept.
 * With a session-raising authenticator, f->decline refuses the step-up: an ERROR for the
 * client, RC_WHY_ACR_UNMET when the client asked for the level (acr_values or claims:
 * unmet_authentication_requirements, OIDC Core §3.1.2.6) else RC_WHY_LEVEL
 * (access_denied); f->challenge calls its challenge hook: FORM, RC_OK when a code was sent,
 * else its refusal. */
enum rc authorize_login(struct app *app, struct arena *a, const struct login_form *f,
                        struct authorize_result *out);

/* The second-factor page (/login?authz=ID&authn=NAME, NAME a session-raising
 * authenticator): what the account behind the browser's session has. */
#define AUTHORIZE_FACTORS_MAX 8
struct authorize_factors {
    const char *asked;    /* NAME when the request accepts it, else NULL */
    bool asked_enrolled;  /* the account has it */
    bool asked_challenge; /* it sends a code first (a "send me a code" button) */
    const char *other[AUTHORIZE_FACTORS_MAX]; /* other accepted factors the account has */
    size_t nother;
};

/* Fills *out for the pending request r (authorize_page_info) and the browser's session.
 * RC_OK; RC_NOT_FOUND (no session: the page cannot be used), RC_UNAVAILABLE. */
enum rc authorize_factors(struct app *app, struct arena *a, const struct authz_req *r,
                          struct span session_cookie, struct span authn,
                          struct authorize_factors *out);
struct consent_form {
    struct span pending, csrf, bind, session_cookie;
    bool approve;
    bool share_id_number; /* the separate checkbox for the id_number scope */
};

/* The consent page's POST: deny is an ERROR for the client (RC_WHY_DECLINED); approve
 * remembers the consent (policy consent_ttl) and issues the code. PAGE for a bad CSRF
 * token (RC_WHY_CSRF) or an expired request (RC_WHY_PENDING); LOGIN if the session ended
 * meanwhile. */
enum rc authorize_consent(struct app *app, struct arena *a, const struct consent_form *f,
                          struct authorize_result *out);

#endif
