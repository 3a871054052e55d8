/* What an authorization code stands for, from /authorize (and the login that completed
 * it) to /token. A code is its grant, sealed (core/seal: the data_cipher's AEAD, under a key
 * derived from the master secret with the label GRANT_CODE_LABEL and key id GRANT_CODE_KID),
 * with its expiry inside: /authorize writes nothing to the store for it, and nobody but
 * authd can read or forge one. Single use: /token creates the code's token family under an
 * id derived from the code (grant_code_family) with a put-if-absent, in the same store round
 * trip as the rest of the exchange; a second redemption finds that family, and revokes
 * what the first one issued (RFC 6749 §4.1.2, RFC 9700 §4.5). */
#ifndef AUTHD_FLOW_GRANT_H
#define AUTHD_FLOW_GRANT_H

#include <stdint.h>

#include "core/loa.h"
#include "core/seal.h"
#include "flow/app.h"
#include "port/store.h"
#include "util/arena.h"

#define GRANT_FAMILY_LEN 22 /* base64url of 16 bytes: RTF_ID_LEN */

#define GRANT_CODE_LABEL "authd code v1"
#define GRANT_CODE_KID   "c1"
#define GRANT_CODE_MAX   SEAL_BLOB_MAX /* bytes of a code /token looks at */

struct grant {
    const char *client_id;
    const char *redirect_uri;   /* as the authorization request sent it; NULL if omitted */
    const char *scope;          /* granted scopes, space-separated */
    const char *nonce;          /* may be NULL */
    const char *code_challenge; /* PKCE S256 challenge; may be NULL for confidential
                                   clients whose policy does not require PKCE */
    const char *account_id;
    const char *sid;    /* the session's public id: the `sid` claim */
    const char *sess_tag; /* the session's store tag (its :rps set: flow/session.h) */
    int64_t sess_created; /* and its creation (the set's lifetime) */
    const char *amr;    /* space-separated RFC 8176 values: "pwd" */
    const char *claims; /* the OIDC `claims` request parameter (JSON), may be NULL */
    const char *dpop_jkt; /* the code is bound to this DPoP key (RFC 9449 §10), or NULL */
    int64_t auth_time;
    int64_t issued_at;
    int64_t expires_at; /* the code's end (grant_code_seal sets it) */
    struct loa loa;
};

/* Seals g into a code that lives ttl_s seconds from g->issued_at. RC_OK: *code the
 * NUL-terminated code in a. RC_TOO_LARGE (a grant over SEAL_PLAIN_MAX), RC_NOMEM,
 * RC_INTERNAL. */
enum rc grant_code_seal(struct app *app, struct arena *a, const struct grant *g, uint32_t ttl_s,
                        struct span *code);
/* Opens code at time now. RC_OK: *out the grant (in a). RC_NOT_FOUND for anything that is
 * not a live code of this deployment (not a blob, another key, a changed byte, expired).
 * RC_NOMEM, RC_INTERNAL. */
enum rc grant_code_open(struct app *app, struct arena *a, struct span code, int64_t now,
                        struct grant *out);
/* The id of the token family the redemption of code creates: base64url of 16 bytes of
 * HMAC(SECRET_TOKEN, "code family", code), the shape of a drawn family id. RC_OK,
 * RC_INTERNAL. */
enum rc grant_code_family(struct app *app, struct span code, char id[GRANT_FAMILY_LEN + 1]);

/* Serializes g as compact JSON into a (for the store). NULL on failure. */
struct span grant_to_json(struct arena *a, const struct grant *g);
/* Parses what grant_to_json wrote. RC_MALFORMED on anything else. */
enum rc grant_from_json(struct arena *a, struct span json, struct grant *out);

/* base64url (no padding) of n random bytes into out (4*n/3+2 bytes). */
enum rc grant_random_token(struct app *app, size_t n, char *out, size_t outlen);

#endif
