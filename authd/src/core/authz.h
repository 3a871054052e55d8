/* The pure rules of the authorization endpoint (no I/O, clock or store): redirect URI
 * matching, `prompt`, `max_age`, the `claims` acr request, and the
 * decision whether a session may be used as it is, must log in again, or cannot be used.
 * flow/authorize.c feeds them what it read from the request, the policy and the store. */
#ifndef AUTHD_CORE_AUTHZ_H
#define AUTHD_CORE_AUTHZ_H

#include <stdbool.h>
#include <stdint.h>

#include "core/loa.h"
#include "util/arena.h"

#define AUTHZ_CLAIMS_MAX    4096 /* bytes of the `claims` parameter we parse */
#define AUTHZ_SCOPES_MAX    1024 /* bytes of a requested `scope` list we parse */
#define AUTHZ_MAX_AGE_MAX   31536000u

/* prompt values (OIDC Core §3.1.2.1) */
#define AUTHZ_PROMPT_NONE    0x1u
#define AUTHZ_PROMPT_LOGIN   0x2u
#define AUTHZ_PROMPT_CONSENT 0x4u
#define AUTHZ_PROMPT_SELECT  0x8u /* select_account: one account per citizen, so a no-op */

/* Finds uri among the n registered redirect URIs: byte-for-byte equality (RFC 9700 §4.1.3,
 * no prefix, case or normalisation games), except that when loopback_any_port is set a
 * registered `http://127.0.0.1/...` or `http://[::1]/...` URI matches the same URI with
 * any port (RFC 8252 §7.3). RC_OK: *matched (may be NULL) points at the registered value.
 * RC_NOT_FOUND when nothing matches, RC_MALFORMED for an empty value or one holding a
 * fragment (RFC 6749 §3.1.2) or a NUL byte. */
enum rc authz_redirect_match(const char *const *registered, size_t n, bool loopback_any_port,
                             struct span uri, const char **matched);


/* Parses a space-separated prompt list into AUTHZ_PROMPT_* bits. Unknown values are
 * ignored (they may come from extensions). RC_MALFORMED when `none` is combined with any
 * other value (OIDC Core §3.1.2.1). */
enum rc authz_prompt_parse(struct span in, unsigned *out, struct rc_info *ri);

/* Parses max_age: decimal seconds, 0..AUTHZ_MAX_AGE_MAX. RC_MALFORMED otherwise. */
enum rc authz_max_age_parse(struct span in, int64_t *out);

/* Reads the acr request of an OIDC `claims` parameter (OIDC Core §5.5, §5.5.1.1): the
 * `acr` member of `id_token` or `userinfo`, {"essential":bool, "value":"..",
 * "values":[..]}. RC_OK: *values (in a) holds the requested acr values space-separated
 * (empty if none) and *essential says whether any acr request was essential; RC_OK also
 * when there is no acr request. RC_MALFORMED for JSON that is not an object of objects or
 * has duplicate names, RC_TOO_LARGE past AUTHZ_CLAIMS_MAX. */
enum rc authz_claims_acr(struct arena *a, struct span claims, struct span *values, bool *essential,
                         struct rc_info *ri);

/* Picks the level a space-separated list of acr values asks for: the first of our values
 * (urn:authd:acr:...) that `reach` can satisfy, else the first of ours at all (the caller
 * then finds it unreachable). RC_NOT_FOUND when no value is ours. */
enum rc authz_acr_pick(struct span values, struct loa reach, struct loa *out);

/* What a request needs from the session. */
struct authz_need {
    unsigned prompt;   /* AUTHZ_PROMPT_* */
    int64_t max_age;   /* seconds; -1: not given */
    struct loa min;    /* required level (client, scopes, acr_values, claims) */
    struct loa reach;  /* the most a new login can give (the accepted authenticators) */
    struct loa step;   /* the most a step-up adds to a session (AAL_NONE: no step-up) */
    bool fresh;        /* the session was created by the login made for this request */
    bool rp_asked_acr; /* min came (in part) from acr_values/claims, not only policy */
};

/* The session as the decision sees it. */
struct authz_have {
    bool present;
    struct loa loa;
    int64_t auth_time;
};

enum authz_decision {
    AUTHZ_PROCEED = 0,    /* use the session */
    AUTHZ_LOGIN,          /* show the login page: a new login */
    AUTHZ_STEP_UP,        /* the session is below the level: an authenticator raises it */
    AUTHZ_LOGIN_REQUIRED, /* prompt=none and a login is needed: error login_required */
    AUTHZ_UNMET,          /* the requested level cannot be reached: error */
};

/* Decides what to do with a session (OIDC Core §3.1.2.3). A login made for this request
 * (need->fresh) satisfies prompt=login and max_age. A session below the level goes to
 * step-up when raising it by need->step reaches the level (and nothing else asks for a new
 * login), else to a new login when one (followed by a step-up) can reach it; a level
 * neither can give (or no authenticator to log in with: reach.aal AAL_NONE) is
 * AUTHZ_UNMET, never a login loop. prompt=none turns STEP_UP and LOGIN
 * into AUTHZ_LOGIN_REQUIRED. */
enum authz_decision authz_decide(const struct authz_need *need, const struct authz_have *have,
                                 int64_t now);

/* Decides whether one requested scope value is granted (authz_scope_filter). */
typedef bool (*authz_scope_fn)(struct span value, void *ctx);

/* Reads a requested scope list (RFC 6749 §3.3: values of NQCHAR, %x21 / %x23-5B /
 * %x5D-7E, separated by spaces; runs of spaces and leading or trailing ones are
 * tolerated) and keeps, in request order and once each, the values keep(value, ctx)
 * grants. RC_OK: *out (in a, NUL-terminated, "" when nothing is kept) is the normalised
 * list, values joined by one space, and *dropped counts the distinct values left out.
 * RC_TOO_LARGE past AUTHZ_SCOPES_MAX bytes, RC_MALFORMED for any other byte (field
 * "scope" in ri); RC_NOMEM. *out is set only on RC_OK. */
enum rc authz_scope_filter(struct arena *a, struct span in, authz_scope_fn keep, void *ctx,
                           const char **out, size_t *dropped, struct rc_info *ri);

/* True if every space-separated value of want appears in have. */
bool authz_scopes_covered(struct span want, struct span have);
/* True if the space-separated list s holds value v. */
bool authz_list_has(struct span s, const char *v);

#endif
