/* Token families: one per authorization-code redemption. A family record holds what the
 * tokens of one grant stand for (client, account, session, scope, assurance) and, when the
 * client has the refresh_token grant, the refresh-token chain:
 *
 *   authd:rtf:{FAM}          record: client acct sid scope amr acr auth_time created
 *                            abs_exp idle_exp rt cur prev rot succ revoked
 *   authd:rtf:{FAM}:u:HASH   "1": HASH (of an old refresh token) was used
 *   authd:sidfam:{SID}       set of the session's families, for logout
 *
 * Access tokens of the grant carry the family id as the `rtf` claim, so /userinfo and
 * /introspect find the account and the `revoked` flag with one read, and revoking the
 * family revokes its access tokens too. The record lives until the family's absolute
 * expiry plus one access-token lifetime, so it outlives every token it stands for.
 *
 * Refresh tokens are FAM (22 chars) followed by 43 chars of base64url of 32 random bytes;
 * the store holds only HMAC(SECRET_TOKEN, token). Rotation on every use (RFC 9700
 * §4.14.2): one atomic batch marks the old hash used (put-if-absent: of concurrent
 * redemptions exactly one rotates) and makes the successor current. A loser, or a retry
 * of the previous token within refresh_grace_s of its rotation, gets the SAME successor
 * back, never a second one: the record keeps the successor's random part XOR
 * HMAC(SECRET_TOKEN, "rt-successor", old token), which only a holder of the old token can
 * undo. Any other use of an old token is reuse: the whole family is revoked. */
#ifndef AUTHD_FLOW_REFRESH_H
#define AUTHD_FLOW_REFRESH_H

#include <stdbool.h>
#include <stdint.h>

#include "conf/policy.h"
#include "core/loa.h"
#include "flow/app.h"
#include "port/store.h"
#include "util/arena.h"

#define RTF_ID_LEN        22 /* base64url of 16 random bytes */
#define REFRESH_TOKEN_LEN (RTF_ID_LEN + 43)

struct rtf {
    char id[RTF_ID_LEN + 1];
    const char *client_id, *account_id, *sid, *scope, *amr; /* in the caller's arena */
    struct loa loa;
    int64_t auth_time, created, abs_exp, idle_exp;
    const char *jkt; /* DPoP: the key its refresh tokens are bound to (public clients), or NULL */
    bool refresh; /* the family has refresh tokens */
    bool revoked;
};

/* Creates a family for f (id generated into f->id; created, abs_exp, idle_exp set from
 * policy p), adds it to the session's set, and if f->refresh writes the first refresh
 * token into tok. RC_OK, RC_UNAVAILABLE, RC_NOMEM, RC_INTERNAL. */
enum rc rtf_create(struct app *app, struct arena *a, const struct policy *p, struct rtf *f,
                   char tok[REFRESH_TOKEN_LEN + 1]);
/* rtf_create in parts, for callers that batch the writes with their own: a fresh id into
 * f->id, then the writes that create f (ops[0]: the record, put-if-absent, RC_CONFLICT
 * if the id is taken; ops[1] when f has a session: its place in the session's set; *nops
 * says how many), with f's times set and the first refresh token in tok. The ops point
 * into a. */
enum rc rtf_new_id(struct app *app, struct rtf *f);
enum rc rtf_create_ops(struct app *app, struct arena *a, const struct policy *p, struct rtf *f,
                       char tok[REFRESH_TOKEN_LEN + 1], struct store_op ops[2], size_t *nops);

/* Redeems refresh token tok for client_id and rotates it. RC_OK: *f is the family (strings
 * in a) and next the successor (a fresh one, or within the grace window the one already
 * issued). Failures (all invalid_grant at /token): RC_NOT_FOUND (not a token of ours, or
 * its family is gone), RC_EXPIRED (idle or absolute lifetime over), RC_DENIED (another
 * client's token; a revoked family; reuse of an old token, which revokes the family),
 * RC_UNAVAILABLE, RC_NOMEM. ri says which. */
enum rc rtf_rotate(struct app *app, struct arena *a, const struct policy *p, const char *client_id,
                   struct span tok, struct rtf *f, char next[REFRESH_TOKEN_LEN + 1],
                   struct rc_info *ri);

/* Loads family id. RC_OK: *f (strings in a); RC_NOT_FOUND, RC_UNAVAILABLE. */
enum rc rtf_get(struct app *app, struct arena *a, struct span id, struct rtf *f);

/* Finds the family of refresh token tok if tok is its current, live token (for
 * introspection and revocation). RC_OK: *f; RC_NOT_FOUND (unknown, old, expired,
 * revoked), RC_UNAVAILABLE. */
enum rc rtf_lookup(struct app *app, struct arena *a, struct span tok, struct rtf *f);

/* Revokes family id and with it every refresh and access token of it. RC_OK (also if it
 * was revoked already), RC_NOT_FOUND (expired or unknown), RC_UNAVAILABLE. */
enum rc rtf_revoke(struct app *app, struct arena *a, const struct policy *p, struct span id);

/* The per-account bound on live families (config max_token_families_per_account): each
 * account has an index, authd:acctrtf:{ACCT}, a record of FAM -> "created expiry".
 * rtf_index_ops: the writes for a new family f (ops[0]: f's entry, ops[1]: a read of the
 * index after it), to go in the caller's pipeline. RC_OK, RC_NOMEM. */
enum rc rtf_index_ops(struct arena *a, const struct policy *p, const struct rtf *f,
                      struct store_op ops[2]);
/* Given the index as read after a family was added: when it has more than max entries,
 * revokes the oldest live families beyond max (their records then expire with their
 * access tokens) and rewrites the index with the rest, dropping the expired. max 0: no
 * bound. RC_OK, RC_UNAVAILABLE, RC_FULL, RC_NOMEM. */
enum rc rtf_account_bound(struct app *app, struct arena *a, const struct policy *p,
                          const char *account_id, const struct store_record *idx, uint32_t max);

/* Revokes every live family of account_id that client_id holds, found through the
 * account's index (authd:acctrtf, kept only when max_token_families_per_account is not 0:
 * without it nothing is found). *n (may be NULL): how many were revoked. RC_OK,
 * RC_UNAVAILABLE, RC_NOMEM. */
enum rc rtf_revoke_client(struct app *app, struct arena *a, const struct policy *p,
                          const char *account_id, const char *client_id, size_t *n);

/* Takes family id before it exists: a revoked stand-in (for ttl_s) that makes creating it
 * fail (rtf_create_ops' put-if-absent). RC_OK; RC_CONFLICT if it exists already;
 * RC_NOT_FOUND for an id that cannot be one; RC_UNAVAILABLE. */
enum rc rtf_block(struct app *app, struct arena *a, struct span id, uint32_t ttl_s);
/* Marks family id revoked in one write (no read first) and lets its record go after ttl_s.
 * RC_OK; RC_NOT_FOUND if it is gone; RC_UNAVAILABLE. */
enum rc rtf_retire(struct app *app, struct arena *a, struct span id, uint32_t ttl_s);

#endif
