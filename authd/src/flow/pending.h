/* Pending interactions: a login in progress that a person completes somewhere else than
 * where it started. Today the authorization request (/authorize -> /login -> /consent);
 * next the device grant (RFC 8628: a user code, the kiosk polls /token) and CIBA (OpenID
 * CIBA Core: an auth_req_id, the agent polls, the citizen approves on the phone).
 *
 * One record per interaction, under authd:<kind>:{ID} (kind "authz", "device", "ciba", "par"),
 * ID 256 random bits (base64url), one JSON value holding the common fields below and the
 * kind's own string attributes (`x`), every one capped (PENDING_*_MAX: a record stays under
 * about 64 KB). The store TTL is what is left until `expires`; a load also checks `expires`
 * against the clock. A decision (approve or deny) is written once beside the record, under
 * authd:<kind>:{ID}:decided with put-if-absent, so that of two concurrent decisions exactly
 * one wins. Completion takes the record atomically: an interaction completes once.
 *
 *   WAITING --decide(approve)--> APPROVED --complete--> (gone)
 *      |    --decide(deny)-----> DENIED   --complete--> (gone)
 *      +--- clock past expires -> EXPIRED (every state; the store drops it soon after)
 *
 * Polls (device grant, CIBA poll mode): at most one per `interval` seconds; a poll sooner
 * is RC_LIMITED and adds PENDING_SLOW_DOWN_S to the interval (RFC 8628 §3.5 slow_down).
 * Records of the polled kinds (device, ciba) stay in the store PENDING_LINGER_S past
 * `expires`, so that a poll after expiry learns EXPIRED (RFC 8628 §3.5 expired_token)
 * rather than an unknown code; nothing can be decided or completed in that time.
 *
 * An approval records who approved and the levels of the session they approved from
 * (`struct pending_approval`): the tokens of a device or CIBA grant carry those levels,
 * never more. The decision is one JSON value under :decided ("denied" for a denial). */
#ifndef AUTHD_FLOW_PENDING_H
#define AUTHD_FLOW_PENDING_H

#include <stdbool.h>
#include <stdint.h>

#include "core/loa.h"
#include "flow/app.h"
#include "util/arena.h"

#define PENDING_ID_LEN      43 /* base64url of 32 bytes */
#define PENDING_CLIENT_MAX  128
#define PENDING_SCOPE_MAX   1024
#define PENDING_CLAIMS_MAX  2048
#define PENDING_ACCT_MAX    64
#define PENDING_ATTR_MAX    16 /* kind-specific attributes */
#define PENDING_NAME_MAX    32  /* an attribute's name */
#define PENDING_VALUE_MAX   4096 /* an attribute's value (a policy line at most) */
#define PENDING_TTL_MAX     3600
#define PENDING_SLOW_DOWN_S 5
#define PENDING_LINGER_S    600 /* polled kinds: kept this long past expires */
#define PENDING_SID_MAX     64
#define PENDING_AMR_MAX     128

/* PENDING_PAR: a pushed authorization request (RFC 9126), waiting for its /authorize; like
 * PENDING_AUTHZ never decided from elsewhere. */
enum pending_kind { PENDING_AUTHZ, PENDING_DEVICE, PENDING_CIBA, PENDING_PAR };
enum pending_state { PENDING_WAITING, PENDING_APPROVED, PENDING_DENIED, PENDING_EXPIRED };

struct pending_attr {
    const char *name, *value;
};

/* Who approved, from which session, at which levels (strings in the caller's arena). */
struct pending_approval {
    const char *account_id; /* required */
    const char *sid;        /* the approving session's sid, may be NULL */
    const char *amr;        /* space-separated RFC 8176 values, may be NULL */
    struct loa loa;         /* the session's levels */
    int64_t auth_time;      /* the session's auth_time; 0: unknown */
};

/* One interaction; strings in the caller's arena. */
struct pending {
    enum pending_kind kind;
    char id[PENDING_ID_LEN + 1];
    const char *client_id;     /* required */
    const char *scope;         /* requested scope, may be NULL */
    const char *claims;        /* OIDC claims request, may be NULL */
    struct loa acr;            /* the level required */
    int64_t created, expires;  /* clock seconds */
    uint32_t interval;         /* polls: minimum seconds between two; 0: never polled */
    int64_t last_poll;         /* 0: not polled yet */
    enum pending_state state;  /* on load: derived from the decision and the clock */
    const char *account_id;    /* APPROVED: the citizen who approved (== by.account_id) */
    struct pending_approval by; /* APPROVED: the approval as pending_approve recorded it */
    struct pending_attr attr[PENDING_ATTR_MAX];
    size_t nattr;
};

/* Saves p under its id for what is left until p->expires. A new interaction ((p->id)[0] ==
 * 0: an id is drawn) is a low-priority write (STORE_LOW, it may not use the store's
 * reserve) and must have ttl_s in 1..PENDING_TTL_MAX, which sets created and expires from
 * the clock; saving an existing one keeps them. RC_OK; RC_TOO_LARGE (a field past its cap:
 * nothing written), RC_MALFORMED (no client_id, a bad ttl), RC_EXPIRED (past expires),
 * RC_FULL, RC_UNAVAILABLE, RC_NOMEM. */
enum rc pending_save(struct app *app, struct arena *a, struct pending *p, uint32_t ttl_s);

/* Loads interaction id of kind. RC_OK: *out filled, state derived (EXPIRED once the clock
 * is past expires). RC_NOT_FOUND (unknown, malformed id or record), RC_UNAVAILABLE. */
enum rc pending_load(struct app *app, struct arena *a, enum pending_kind kind, struct span id,
                     struct pending *out);

/* Approves (account_id set) or denies (account_id NULL) a WAITING interaction, once.
 * RC_OK; RC_CONFLICT (decided already), RC_EXPIRED, RC_NOT_FOUND, RC_MALFORMED (account id
 * too long), RC_UNAVAILABLE. */
enum rc pending_decide(struct app *app, struct arena *a, enum pending_kind kind, struct span id,
                       const char *account_id);

/* pending_decide with the approving session's details (ap NULL: a denial); a load then
 * gives them back in `by`. Same results; RC_TOO_LARGE for a sid or amr past its cap. */
enum rc pending_approve(struct app *app, struct arena *a, enum pending_kind kind, struct span id,
                        const struct pending_approval *ap);

/* A poll: RC_OK with *out as pending_load gives it (last_poll moves to now); RC_LIMITED
 * when it comes sooner than interval after the last one (interval grows by
 * PENDING_SLOW_DOWN_S, remembered); RC_NOT_FOUND, RC_UNAVAILABLE. */
enum rc pending_poll(struct app *app, struct arena *a, enum pending_kind kind, struct span id,
                     struct pending *out);

/* Completes the interaction: takes the record (and its decision) atomically, so that of
 * any number of concurrent completions exactly one gets RC_OK with *out (may be NULL).
 * RC_NOT_FOUND (gone, or completed already), RC_UNAVAILABLE. */
enum rc pending_complete(struct app *app, struct arena *a, enum pending_kind kind, struct span id,
                         struct pending *out);

/* The value of p's attribute name, or NULL. Sets (adds or replaces) one: RC_OK,
 * RC_TOO_LARGE (past PENDING_ATTR_MAX attributes or a cap). value NULL: nothing set. */
const char *pending_attr(const struct pending *p, const char *name);
enum rc pending_attr_set(struct pending *p, const char *name, const char *value);

#endif
