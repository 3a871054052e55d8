/* Internal to flow/token*.c: building and signing the claim sets. */
#ifndef AUTHD_FLOW_TOKEN_INT_H
#define AUTHD_FLOW_TOKEN_INT_H

#include "flow/account.h"
#include "flow/refresh.h"
#include "flow/token.h"

struct jose_keyset;

/* One issuance: everything the signers need. */
struct issue {
    struct app *app;
    struct arena *a;
    const struct policy *p;
    const struct policy_client *c;
    struct jose_keyset *ks; /* retained by the caller */
    int64_t now;
    const char *jkt; /* DPoP: the access token's cnf.jkt (RFC 9449 §6.1), or NULL */
    const char *x5t; /* mTLS: the access token's cnf.x5t#S256 (RFC 8705 §3.1), or NULL */
};

/* What token exchange changes in an access token (flow/token_exchange.c). */
struct access_opts {
    const char *aud; /* instead of the client id */
    int64_t exp;     /* instead of now + access_token_ttl, when nonzero */
    const char *act; /* the act claim (RFC 8693 §4.1) as JSON text */
};

/* Signs an RFC 9068 access token for sub with scope; f (may be NULL for a client acting
 * for itself) adds the user's session claims and rtf; o (may be NULL) overrides aud and exp
 * and adds act. RC_OK: *token and *jti in is->a. RC_MALFORMED if o->act is not a JSON
 * object, RC_NOMEM, RC_INTERNAL. */
enum rc token_issue_access(struct issue *is, const char *sub, const char *scope,
                           const struct rtf *f, const struct access_opts *o, const char **token,
                           const char **jti);

/* Token exchange (RFC 8693 §2): see flow/token_exchange.c. Fills out and ri like the other
 * grants (flow/token.h, token_grant). */
enum rc token_grant_exchange(struct issue *is, const struct token_req *req, struct token_resp *out,
                             struct rc_info *ri);

/* Signs an ID token for family f with the user claims scope releases from acct; nonce may
 * be NULL (refresh, OIDC Core §12.2); at_hash of access_token. *released_idn says whether
 * the id_number claim went out. RC_OK: *token in is->a. */
enum rc token_issue_id(struct issue *is, const char *sub, const struct rtf *f, const char *scope,
                       const char *nonce, const char *access_token, const struct account *acct,
                       bool *released_idn, const char **token);

#endif
