/* The 12345 hotline (docs/hotline.md): a staff member (flow/staff.h), logged in to the
 * console client at aal2, looks a caller up by ID number or phone number for a stated
 * purpose and gets a masked summary and a login_hint_token; the console then asks the
 * caller's consent through CIBA with that token (flow/ciba.h), and the consented token
 * carries act: {"sub": the agent's sub, "emp": the employee number}.
 *
 * Limits: per agent, the role's lookups_per_minute (bucket authd:rl:{staff:EMP}:hotline:min)
 * and a daily quota (the member's own, set by a supervisor, else the role's daily_quota;
 * bucket authd:rl:{staff:EMP}:hotline:day, a 24 h token bucket). Every lookup by a staff
 * member is audited (hotline.lookup), found, not found or refused, before anything is
 * answered: a lookup the chain cannot take is not answered (RC_UNAVAILABLE). */
#ifndef AUTHD_FLOW_HOTLINE_H
#define AUTHD_FLOW_HOTLINE_H

#include <stdint.h>

#include "conf/policy.h"
#include "core/loa.h"
#include "core/mask.h"
#include "flow/app.h"
#include "flow/staff.h"
#include "flow/token.h"
#include "util/arena.h"

#define HOTLINE_MAX_CANDIDATES 3   /* a phone number names at most this many accounts */
#define HOTLINE_LHT_TTL_S      300 /* a login_hint_token lives 5 minutes */
#define HOTLINE_LHT_TYP        "login-hint+jwt"

/* The staff member behind an access token, checked. */
struct hotline_agent {
    struct staff s;
    const struct policy_role *role;       /* in the policy the caller holds */
    const struct policy_purpose *purpose; /* when one was asked for */
    const char *sub;                      /* the member's sub at the console (the token's) */
    const char *client_id;                /* the console */
    char name_masked[MASK_NAME_SIZE];
};

/* Checks that access token tc (verified by the caller) stands for an active staff member
 * logged in at aal2 whose role (in p) may do `may` (POLICY_MAY_*) and, when purpose.p is
 * set, states a purpose of its role defined in p. RC_OK: *out. RC_DENIED with
 * RC_WHY_NOT_STAFF (a citizen's token, an unknown or disabled member), RC_WHY_LEVEL (below
 * aal2), RC_WHY_ROLE; RC_MALFORMED with RC_WHY_PURPOSE; RC_UNAVAILABLE. */
enum rc hotline_agent_check(struct app *app, struct arena *a, const struct policy *p,
                            const struct token_claims *tc, const char *may, struct span purpose,
                            struct hotline_agent *out, struct rc_info *ri);

struct hotline_lookup_req {
    struct span purpose, id_number, phone; /* one of id_number and phone */
};

/* One account found, as the agent may see it (strings in the caller's arena). */
struct hotline_candidate {
    char name[MASK_NAME_ENDS_SIZE];  /* 张*三 */
    char id_number[MASK_IDNUM_SIZE]; /* 110101********123X */
    const char *channels[4];         /* "password", "totp", "sms" */
    size_t nchannels;
    enum ial ial;
    const char *login_hint_token; /* for /bc-authorize */
};

struct hotline_lookup_res {
    const char *purpose;
    size_t n;
    struct hotline_candidate c[HOTLINE_MAX_CANDIDATES];
};

/* POST /hotline/lookup for the holder of tc. RC_OK: *out (n 0 when nothing matches).
 * Refusals: hotline_agent_check's (may lookup), RC_MALFORMED with RC_WHY_PARAM (neither or
 * both of id_number and phone, a malformed one), RC_LIMITED with RC_WHY_RATE (per minute)
 * or RC_WHY_QUOTA (the daily quota), *retry_s; RC_UNAVAILABLE (the store, the audit
 * chain). */
enum rc hotline_lookup(struct app *app, struct arena *a, const struct policy *p,
                       const struct token_claims *tc, const struct hotline_lookup_req *req,
                       struct hotline_lookup_res *out, uint32_t *retry_s, struct rc_info *ri);

/* POST /hotline/quota: a supervisor (may set_quota) sets agent emp's daily quota.
 * RC_OK; hotline_agent_check's refusals; RC_NOT_FOUND (no such member); RC_UNAVAILABLE. */
enum rc hotline_set_quota(struct app *app, struct arena *a, const struct policy *p,
                          const struct token_claims *tc, struct span emp, uint32_t quota,
                          struct rc_info *ri);

/* What a login_hint_token says, once verified. Strings in the caller's arena. */
struct hotline_hint {
    const char *acct;       /* the citizen's account id */
    const char *agent;      /* the staff account id */
    const char *agent_sub;  /* the member's sub at the console */
    const char *agent_name; /* masked */
    const char *emp, *purpose;
};

/* Verifies a login_hint_token presented by client c at /bc-authorize: our signature, typ,
 * iss, not expired, issued to c; then the member is still active, at a role that may
 * `consent` for the purpose, and the purpose still in p. RC_OK: *out. RC_EXPIRED with
 * RC_WHY_LOGIN_HINT_TOKEN (expired_login_hint_token), RC_DENIED / RC_MALFORMED with
 * RC_WHY_LOGIN_HINT_TOKEN (anything else), RC_UNAVAILABLE. */
enum rc hotline_hint_verify(struct app *app, struct arena *a, const struct policy *p,
                            const struct policy_client *c, struct span token,
                            struct hotline_hint *out, struct rc_info *ri);

#endif
