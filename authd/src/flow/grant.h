/* What an authorization code stands for, from /authorize (and the login that completed
 * it) to /token. Codes are 256 random bits, base64url; the store holds the grant under
 * authd:code:{HMAC(SECRET_TOKEN, code)} with a TTL. /token redeems it in one atomic step
 * (store_swap: one redemption wins) that leaves a `used` marker naming the token family in
 * its place, so that a second use can revoke what the first one issued (RFC 6749 §4.1.2,
 * RFC 9700 §4.5). */
#ifndef AUTHD_FLOW_GRANT_H
#define AUTHD_FLOW_GRANT_H

#include <stdint.h>

#include "core/loa.h"
#include "flow/app.h"
#include "port/store.h"
#include "util/arena.h"

#define GRANT_CODE_LEN 43 /* base64url of 32 bytes */

struct grant {
    const char *client_id;
    const char *redirect_uri;   /* as the authorization request sent it; NULL if omitted */
    const char *scope;          /* granted scopes, space-separated */
    const char *nonce;          /* may be NULL */
    const char *code_challenge; /* PKCE S256 challenge; may be NULL for confidential
                                   clients whose policy does not require PKCE */
    const char *account_id;
    const char *sid;    /* the session's public id: the `sid` claim */
    const char *amr;    /* space-separated RFC 8176 values: "pwd" */
    const char *claims; /* the OIDC `claims` request parameter (JSON), may be NULL */
    const char *dpop_jkt; /* the code is bound to this DPoP key (RFC 9449 §10), or NULL */
    int64_t auth_time;
    int64_t issued_at;
    struct loa loa;
};

/* Stores g under a fresh code (written to code, NUL-terminated) for ttl_s seconds.
 * RC_OK, RC_UNAVAILABLE, RC_INTERNAL. */
enum rc grant_code_issue(struct app *app, struct arena *a, const struct grant *g,
                         uint32_t ttl_s, char code[GRANT_CODE_LEN + 1]);
/* The write of grant_code_issue as a store op (key and value in a), for a caller that sends
 * it in one round trip with its own writes (store_pipeline; the code is stored only if the
 * op's answer is RC_OK: an NX put, RC_CONFLICT on a collision). RC_OK: code drawn and *op
 * filled. RC_UNAVAILABLE, RC_INTERNAL, RC_NOMEM. */
enum rc grant_code_op(struct app *app, struct arena *a, const struct grant *g, uint32_t ttl_s,
                      char code[GRANT_CODE_LEN + 1], struct store_op *op);
/* Redeems code: atomically swaps its grant for a "used" marker naming `family` (kept
 * used_ttl_s seconds, to catch replays). RC_OK: *out is the grant (in a). RC_CONFLICT:
 * the code was redeemed before; *used_by names the family that redemption was for (whose
 * tokens a replay must revoke). RC_NOT_FOUND: unknown or expired. RC_MALFORMED (not a
 * grant), RC_UNAVAILABLE, RC_NOMEM. */
enum rc grant_code_redeem(struct app *app, struct arena *a, struct span code, struct span family,
                          uint32_t used_ttl_s, struct grant *out, struct span *used_by);

/* Serializes g as compact JSON into a (for the store). NULL on failure. */
struct span grant_to_json(struct arena *a, const struct grant *g);
/* Parses what grant_to_json wrote. RC_MALFORMED on anything else. */
enum rc grant_from_json(struct arena *a, struct span json, struct grant *out);

/* base64url (no padding) of n random bytes into out (4*n/3+2 bytes). */
enum rc grant_random_token(struct app *app, size_t n, char *out, size_t outlen);

#endif
