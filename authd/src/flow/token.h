/* The token endpoint's use cases (RFC 6749 §4.1.3, §4.4, §6; OIDC Core §3.1.3, §12) and
 * the tokens they issue:
 *
 *   access token  JWT per RFC 9068: header typ "at+jwt"; iss, sub, aud (the client id),
 *                 client_id, iat, exp, jti, scope; for a user also auth_time, acr, amr, sid
 *                 and rtf (the token family, flow/refresh.h, which revocation and
 *                 /userinfo read).
 *   ID token      OIDC Core §2: iss, sub, aud, exp, iat, auth_time, nonce, acr, amr,
 *                 at_hash, sid, plus the user claims the granted scopes release
 *                 (flow/claims.h). Issued when the scope holds `openid`.
 *   refresh token opaque, rotated on every use (flow/refresh.h). Issued to clients
 *                 registered for the refresh_token grant; `offline_access` is not required
 *                 (OIDC Core §11 leaves it to the OP): the family is tied to the SSO
 *                 session (authd:sidfam:{sid}), so logout revokes it.
 *
 * All tokens are signed ES256 with the current key (port/keys.h). The assurance of the
 * login (acr, amr, auth_time) is copied from the grant and survives refresh unchanged. */
#ifndef AUTHD_FLOW_TOKEN_H
#define AUTHD_FLOW_TOKEN_H

#include <stdbool.h>
#include <stdint.h>

#include "conf/policy.h"
#include "flow/app.h"
#include "util/arena.h"

#define TOKEN_JTI_LEN 22 /* base64url of 16 random bytes */

/* A token request's parameters (spans into the parsed form; p == NULL when absent). */
struct token_req {
    struct span grant_type, code, redirect_uri, code_verifier, refresh_token, scope;
    /* token exchange (RFC 8693 §2.1) */
    struct span subject_token, subject_token_type, actor_token, actor_token_type, audience,
        resource, requested_token_type;
    struct span device_code; /* RFC 8628 §3.4 */
    struct span auth_req_id; /* CIBA Core §10.1 */
    const char *dpop_jkt; /* the thumbprint of a checked DPoP proof's key (flow/dpop.h): the
                             access token is bound to it (RFC 9449 §6); NULL: a bearer token */
    const char *x5t;      /* tls_client_auth: the x5t#S256 of the client's certificate: the
                             access token is bound to it (RFC 8705 §3); NULL: not bound */
};

#define TOKEN_TYPE_ACCESS   "urn:ietf:params:oauth:token-type:access_token"

/* What /token answers on success. */
struct token_resp {
    const char *access_token; /* all strings in the caller's arena */
    const char *id_token;     /* NULL unless issued */
    const char *refresh_token;
    const char *scope; /* the access token's scope */
    uint32_t expires_in;
    const char *issued_token_type; /* token exchange only (RFC 8693 §2.2.1) */
};

#define GRANT_TYPE_EXCHANGE "urn:ietf:params:oauth:grant-type:token-exchange"

/* True if the token endpoint has a handler for the grant with this GRANT_* bit. */
bool token_grant_served(unsigned bit);

/* Runs the grant named by req->grant_type for the authenticated client c under policy p.
 * RC_OK: *out filled (strings in a). A refusal sets ri->why (util/rc.h), which the token
 * endpoint's table maps to its RFC 6749 §5.2 error: RC_WHY_PARAM and RC_WHY_SUBJECT_TOKEN
 * (invalid_request), RC_WHY_GRANT_TYPE (unsupported_grant_type), RC_WHY_CLIENT_NOT_ALLOWED
 * (unauthorized_client), RC_WHY_SCOPE (invalid_scope), RC_WHY_TARGET (invalid_target),
 * RC_WHY_GRANT (invalid_grant: the code or refresh token, RC_NOT_FOUND, RC_EXPIRED or
 * RC_DENIED). Other failures have RC_WHY_NONE: RC_UNAVAILABLE, RC_NOMEM, RC_FULL
 * (temporarily_unavailable), anything else (server_error). ri->msg says why in English
 * (never a token or code); ri may be NULL. Logs one `token` event with the reason's name. */
enum rc token_grant(struct app *app, struct arena *a, const struct policy *p,
                    const struct policy_client *c, const struct token_req *req,
                    struct token_resp *out, struct rc_info *ri);

/* What a verified access token says (strings in the caller's arena). */
struct token_claims {
    const char *jti, *sub, *client_id, *scope, *iss, *acr, *rtf; /* rtf: NULL for clients */
    const char *aud;                                             /* the first audience */
    const char *account_id; /* from the family, when the token has rtf */
    const char *act;        /* token exchange: the act claim as compact JSON, or NULL */
    const char *jkt;        /* cnf.jkt of a DPoP-bound token (RFC 9449 §6.1), or NULL */
    const char *x5t;        /* cnf.x5t#S256 of a certificate-bound token (RFC 8705 §3.1) */
    int64_t exp, iat;
};

struct session;
/* The tokens of a login that just created session s for client c (the kiosk card login,
 * flow/card.h): a new token family of s (acr, amr, auth_time, sid: s's), scope as given
 * (checked by the caller), the access token bound to x5t (cnf.x5t#S256; NULL: not bound),
 * the ID token when scope has openid, a refresh token when c has the grant. Results as
 * token_grant (ri->why RC_WHY_GRANT for an account no longer usable). */
enum rc token_issue_session(struct app *app, struct arena *a, const struct policy *p,
                            const struct policy_client *c, const struct session *s,
                            const char *scope, const char *x5t, struct token_resp *out,
                            struct rc_info *ri);

/* Verifies an access token we issued: signature with the current key set (ES256 or
 * RS256, typ at+jwt), iss, exp with the policy's leeway; then its revocation state (the
 * jti marker, and the family's `revoked` flag when the token has rtf). RC_OK: *out (with
 * account_id from the family).
 * RC_DENIED (bad signature, alg, typ, iss, unknown kid), RC_EXPIRED, RC_MALFORMED,
 * RC_NOT_FOUND (revoked, or its family is gone), RC_UNAVAILABLE. */
enum rc token_access_verify(struct app *app, struct arena *a, const struct policy *p,
                            struct span token, struct token_claims *out, struct rc_info *ri);

/* Marks access token jti revoked until exp (RFC 7009 §2). RC_OK, RC_UNAVAILABLE. */
enum rc token_access_revoke(struct app *app, struct arena *a, const struct token_claims *tc);

#endif
