/* Authenticators: the ways a person proves who they are. Each one names its `amr` values
 * (RFC 8176), the most it can yield on each axis of assurance (core/loa.h), what it needs
 * from the pending interaction and the login form, and a verify function; a login that
 * verified ends in one call, authn_complete, which creates the SSO session
 * (session_login) or, for an authenticator that raises an existing one, steps it up
 * (session_upgrade: levels only go up, amr grows, auth_time moves).
 *
 * Registered authenticators (authn.c, the table `all`): `password` (authn_password.c:
 * ID number and password, ial of the account, aal1, amr "pwd"); `totp` (authn_totp.c: a
 * code of the citizen's TOTP app or a recovery code, raises a session to aal2, amr "otp";
 * flow/totp.h). Policy decides which a
 * client and each scope accept (`authenticators = password` in a [client ...] or
 * [scope ...] section, docs/policy.md; default: every registered one); a request accepts
 * the authenticators its client and all its scopes accept. */
#ifndef AUTHD_FLOW_AUTHN_H
#define AUTHD_FLOW_AUTHN_H

#include <stdbool.h>
#include <stdint.h>

#include "conf/policy.h"
#include "core/loa.h"
#include "flow/app.h"
#include "flow/session.h"

#define AUTHN_NAME_MAX 32

/* What an authenticator needs from the login form and the pending interaction. */
#define AUTHN_NEEDS_ID_NUMBER 0x1u /* the citizen types the ID number: it starts a session */
#define AUTHN_NEEDS_SECRET    0x2u /* a secret typed on the page (password, one-time code) */
#define AUTHN_NEEDS_SESSION   0x4u /* raises the browser's session (step-up), never starts one */

/* What the login form gives an authenticator. Borrowed; secret is wiped by the caller. */
struct authn_input {
    struct span id_number, secret;
    const struct session *session; /* the browser's session, NULL if none */
    const char *client_ip;
};

/* What an authenticator proved. account_id in the caller's arena or storage. */
struct authn_proof {
    const char *account_id;
    struct loa loa; /* the levels this proof gives (IAL_NONE: it says nothing of identity) */
    /* Where the login happened: set by the caller after verify, not by the authenticator
     * (may stay NULL). authn_complete keeps client_id and device on the session and writes
     * them to the sign-in record (flow/signins.h) with client_ip masked. */
    const char *client_id, *client_ip, *device;
};

/* Verifies in. RC_OK: *out filled. Refusals: RC_DENIED (wrong secret or unknown person:
 * one answer for both), RC_LIMITED (*retry_s set), RC_MALFORMED (ri->field names the
 * field), RC_UNAVAILABLE. */
typedef enum rc (*authn_verify_fn)(struct app *app, struct arena *a, const struct authn_input *in,
                                   struct authn_proof *out, struct rc_info *ri, uint32_t *retry_s);

/* For a second factor (AUTHN_NEEDS_SESSION): true when account_id has it enrolled, so the
 * step-up page offers it. */
typedef bool (*authn_enrolled_fn)(struct app *app, struct arena *a, const char *account_id);

/* Sends what the person must answer before verify can succeed (an SMS code) to what the
 * account has on record, never to anything from the request. RC_OK: sent. RC_LIMITED
 * (*retry_s set), RC_DENIED (nothing on record to send to), RC_UNAVAILABLE. */
typedef enum rc (*authn_challenge_fn)(struct app *app, struct arena *a, const char *account_id,
                                      const char *client_ip, struct rc_info *ri,
                                      uint32_t *retry_s);

struct authn {
    const char *name; /* policy value and /login's `authn` parameter */
    const char *amr;  /* space-separated RFC 8176 values it adds to the session */
    struct loa reach; /* the most it yields (IAL_NONE: leaves identity as it is) */
    unsigned needs;   /* AUTHN_NEEDS_* */
    authn_verify_fn verify;
    authn_enrolled_fn enrolled;   /* NULL: every account has it */
    const char *page;             /* a second factor's page to set it up and manage it
                                     (the account page links there); NULL: none */
    authn_challenge_fn challenge; /* NULL: nothing to send before verify */
    bool named_only;              /* accepted only where policy names it (`authenticators`),
                                     never by default: the staff login (authn_staff.c) */
};

extern const struct authn authn_password;
extern const struct authn authn_totp;

extern const struct authn authn_sms;
extern const struct authn authn_staff;

/* True when account_id has a second factor (an authenticator with AUTHN_NEEDS_SESSION
 * whose enrolled hook says so) to raise a session with. */
bool authn_second_factor(struct app *app, struct arena *a, const char *account_id);

/* The i-th registered authenticator (the table's order), NULL past the last: how the
 * account page lists the factors (for (i = 0; (m = authn_at(i)); i++)). */
const struct authn *authn_at(size_t i);

/* True when a request of client cl for scope logs in with the staff login and not a
 * citizen's password (flow/authn_staff.c): the login page then asks for an employee
 * number. Pure over p. */
bool authn_staff_login(const struct policy *p, const struct policy_client *cl, const char *scope);

/* The registered authenticator called name, or NULL. */
const struct authn *authn_find(struct span name);

/* True if policy p lets a request of client cl (client_resolve; NULL: none) for scope
 * (space-separated) use m. */
bool authn_accepted(const struct policy *p, const struct policy_client *cl, const char *scope,
                    const struct authn *m);

/* The most the accepted authenticators can give a request: *login by starting a session,
 * *step by raising one (IAL_NONE/AAL_NONE when none can). Pure over p. */
void authn_reach(const struct policy *p, const struct policy_client *cl, const char *scope,
                 struct loa *login, struct loa *step);

/* The first accepted authenticator that raises a session at have to min (step-up), NULL
 * when none does. */
const struct authn *authn_step_up(const struct policy *p, const struct policy_client *cl,
                                  const char *scope, struct loa have, struct loa min);

/* As authn_step_up, preferring a factor account_id has enrolled (its enrolled hook), so a
 * citizen with only an SMS phone is not sent to the TOTP page first; when none is, the
 * first that could (the page then offers enrolment). */
const struct authn *authn_step_up_for(struct app *app, struct arena *a, const struct policy *p,
                                      const struct policy_client *cl, const char *scope,
                                      struct loa have, struct loa min, const char *account_id);

/* Ends a login that m verified as proof. current: the browser's session (NULL if none).
 * With AUTHN_NEEDS_SESSION it steps up current (which must be the proof's account:
 * RC_DENIED otherwise; the sid stays, the session moves to a new cookie: session_upgrade);
 * else a new session, current ending (handed on to the new one when it was the same
 * citizen's, logged out when it was another citizen's: never two citizens' tokens from one
 * browser). A completed login is added to the account's sign-in record (flow/signins.h,
 * best effort). tls: the cookie gets the __Host- prefix. RC_OK: *s is the session and
 * *set_cookie (in a) the Set-Cookie value to send. RC_NOT_FOUND (the session ended
 * meanwhile), RC_UNAVAILABLE, RC_FULL, RC_NOMEM. */
enum rc authn_complete(struct app *app, struct arena *a, const struct authn *m,
                       const struct authn_proof *proof, const struct session *current, bool tls,
                       struct session *s, const char **set_cookie);

#endif
