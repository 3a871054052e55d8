/* Client authentication at /token, /introspect and /revoke (RFC 6749 §2.3, OIDC Core §9):
 *   client_secret_basic  Authorization: Basic base64(urlencode(id) ":" urlencode(secret))
 *                        (RFC 6749 §2.3.1: both parts form-urlencoded before base64);
 *   client_secret_post   client_id and client_secret in the form body;
 *   private_key_jwt      client_assertion_type = urn:ietf:params:oauth:client-assertion-
 *                        type:jwt-bearer and a client_assertion JWS signed with a key of the
 *                        client's registered JWKS (RFC 7523 §2.2, §3; OIDC Core §9);
 *   none                 client_id alone, for public clients (they prove possession of the
 *                        code with PKCE instead);
 *   tls_client_auth      client_id alone over mutual TLS (RFC 8705 §2.1): the presented
 *                        certificate is a verified kiosk certificate (flow/kiosk.h) whose
 *                        kiosk is enrolled for this client (`authctl kiosk enroll --client`).
 * A client may use only the method its policy registers; using another is invalid_client.
 * Secrets are compared as SHA-256 digests with CRYPTO_memcmp; assertion `jti`s are kept in
 * the store until the assertion expires, so a replayed assertion is refused. */
#ifndef AUTHD_FLOW_CLIENT_AUTH_H
#define AUTHD_FLOW_CLIENT_AUTH_H

#include <stdbool.h>

#include "conf/policy.h"
#include "core/form.h"
#include "flow/app.h"
#include "util/arena.h"

#define CLIENT_SECRET_MAX        512  /* bytes of a presented secret */
#define CLIENT_ID_MAX            64   /* policy ids are at most 64 bytes */
#define CLIENT_ASSERTION_MAX     8192 /* bytes of a client_assertion */
#define CLIENT_ASSERTION_MAX_AGE 300  /* exp at most this far ahead (seconds) */
#define CLIENT_ASSERTION_TYPE    "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"

/* What a request presented, before it is checked against policy. */
struct client_creds {
    enum client_auth method;       /* how the client authenticated itself */
    struct span id;                /* client_id (decoded; may be empty for private_key_jwt) */
    struct span secret;            /* client_secret_*: in the arena, wiped with it */
    struct span assertion;         /* private_key_jwt */
    bool basic;                    /* came in Authorization: Basic (401 answers carry
                                      WWW-Authenticate: Basic) */
    const struct kiosk_cert *cert; /* the verified client certificate of the request
                                      (http_client_cert), or NULL: set by the caller */
};
struct kiosk_cert;

/* Extracts the credentials from the Authorization header value (may be NULL; schemes other
 * than Basic are ignored) and the form. RC_OK: *out filled, spans in a or in f. Failures:
 * RC_DENIED (no client identification at all, or a Basic header that is not base64 of
 * id:secret: invalid_client), RC_MALFORMED (more than one method, RFC 6749 §2.3; client_id
 * in the body differing from Basic's; an unknown client_assertion_type: invalid_request);
 * ri says which. */
enum rc client_auth_parse(struct arena *a, const char *authorization, const struct form *f,
                          struct client_creds *out, struct rc_info *ri);

/* The client id cr names: its client_id, else for private_key_jwt the assertion's sub
 * (unverified: only to find the client). Empty when none. */
struct span client_auth_claimed_id(struct arena *a, const struct client_creds *cr);

/* Authenticates cr against policy p. endpoint_url is the URL the request was sent to
 * (accepted, with the issuer and the token endpoint, as an assertion's aud). RC_OK: *out
 * is the client (owned by p). Failures: RC_DENIED (unknown client, a method other than the
 * registered one, wrong secret, bad or replayed assertion: all invalid_client; ri says
 * which, never the secret), RC_UNAVAILABLE (the replay cache cannot answer), RC_NOMEM. */
enum rc client_auth_verify(struct app *app, struct arena *a, const struct policy *p,
                           const struct client_creds *cr, const char *endpoint_url,
                           const struct policy_client **out, struct rc_info *ri);

/* Name of a method as policy and discovery spell it ("client_secret_basic"). */
const char *client_auth_name(enum client_auth m);

/* The cache of parsed client JWKS, state of struct app (app->client_keys; NULL: no cache).
 * RC_OK or RC_NOMEM. */
enum rc client_auth_keys_new(struct client_keys **out);
/* Frees it. NULL is fine. */
void client_auth_keys_free(struct client_keys *k);

#endif
