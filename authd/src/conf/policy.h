/* Declarative policy: clients, scopes and their claims, token and session lifetimes.
 * Files `*.conf` in policy_dir, INI style:
 *
 *     [client demo-portal]
 *     type = confidential
 *     auth_method = client_secret_basic
 *     secret_hash = sha256:<64 hex>
 *     redirect_uris = http://127.0.0.1:8081/oidc/callback
 *
 *     [scope profile]
 *     claims = name birthdate gender
 *
 *     [tokens]
 *     access_token_ttl = 600
 *
 * docs/policy.md is the reference. A policy is immutable once loaded and refcounted; a
 * reload builds and validates a whole new one before it is swapped in. */
#ifndef AUTHD_CONF_POLICY_H
#define AUTHD_CONF_POLICY_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "conf/ini.h"
#include "core/jose.h"
#include "util/span.h"

#define POLICY_MAX_LIST 16

enum client_type { CLIENT_CONFIDENTIAL = 0, CLIENT_PUBLIC };
enum client_auth {
    AUTH_CLIENT_SECRET_BASIC = 0,
    AUTH_CLIENT_SECRET_POST,
    AUTH_PRIVATE_KEY_JWT,
    AUTH_NONE,
    AUTH_TLS_CLIENT_AUTH /* RFC 8705 §2.1: a kiosk certificate (flow/kiosk.h) */
};
enum subject_type { SUBJECT_PAIRWISE = 0, SUBJECT_PUBLIC };

#define GRANT_AUTHORIZATION_CODE 0x1u
#define GRANT_REFRESH_TOKEN      0x2u
#define GRANT_CLIENT_CREDENTIALS 0x4u
#define GRANT_TOKEN_EXCHANGE     0x8u
#define GRANT_DEVICE_CODE        0x10u /* RFC 8628 */
#define GRANT_CIBA               0x20u /* OpenID CIBA Core 1.0, poll mode */

/* The grant types, one row each: the bit a client's `grants` holds and the name on the wire
 * (RFC 6749 §4, RFC 8693 §2.1). Policy, discovery, authctl and the token endpoint all read
 * this table; the token endpoint has a handler for every row (tested), so a grant is
 * registered, advertised and served together or not at all. */
struct policy_grant {
    unsigned bit;
    const char *name;
};
/* Row i, in order; NULL past the end. */
const struct policy_grant *policy_grant_at(size_t i);

/* True if s can name a client or a scope: 1-64 of letters, digits, '-', '_', '.'. */
bool policy_id_valid(const char *s);
/* The bit of the grant named exactly s, 0 for none. */
unsigned policy_grant_parse(struct span s);

struct strlist {
    size_t n;
    char *v[POLICY_MAX_LIST];
};

struct policy_client {
    char *id;
    char *name;
    enum client_type type;
    enum client_auth auth;
    uint8_t secret_sha256[32]; /* client_secret_*: SHA-256 of the secret */
    bool has_secret;
    char *jwks; /* private_key_jwt: the client's public JWKS (JSON text) */
    struct strlist redirect_uris;
    struct strlist post_logout_redirect_uris;
    char *backchannel_logout_uri;
    char *frontchannel_logout_uri;
    bool frontchannel_logout_session_required; /* add iss and sid (Front-Channel §2) */
    unsigned grants; /* GRANT_* bits */
    struct strlist scopes;
    bool first_party;
    bool pkce_required;
    enum subject_type subject_type;
    char *sector; /* pairwise sector identifier; default: the client id */
    char *min_acr;
    struct strlist exchange_audiences; /* token exchange: audiences this client may ask */
    bool id_number_allowed;            /* may receive the raw id_number claim */
    enum jose_alg id_token_alg;        /* id_token_signed_response_alg; default ES256 */
    enum jose_alg access_token_alg;    /* access_token_signed_response_alg; default ES256 */
    bool strict_scopes;                /* a scope it may not have: invalid_scope, not dropped */
    struct strlist authenticators;     /* flow/authn.h names it accepts; empty: every one */
    char *location; /* device grant: the kiosk's place, shown on the approval page; or NULL */
    bool require_par;                  /* require_pushed_authorization_requests (RFC 9126 §5) */
    bool dpop_bound;                   /* dpop_bound_access_tokens: every token request has a
                                          DPoP proof (RFC 9449 §5.2) */
    bool dpop_nonce;                   /* dpop_nonce_required: its proofs carry our nonce */
    bool fapi2;                        /* profile = fapi2: the FAPI 2.0 Security Profile
                                          (docs/fapi.md); implies require_par, dpop_bound,
                                          pkce_required, codes of at most FAPI2_CODE_TTL s */
    int line;                          /* of its [client] header, for errors */
};

#define FAPI2_CODE_TTL 60 /* FAPI 2.0 SP §5.3.2.1: authorization codes live at most 60 s */

struct policy_scope {
    char *name;
    struct strlist claims;
    char *min_acr;
    struct strlist authenticators; /* flow/authn.h names it accepts; empty: every one */
};

struct policy_tokens {
    uint32_t access_token_ttl, id_token_ttl, code_ttl;
    uint32_t refresh_token_ttl;      /* absolute lifetime of a refresh family */
    uint32_t refresh_token_idle_ttl; /* sliding: unused this long, it expires */
    uint32_t refresh_grace_s;        /* concurrent refreshes within this window are not reuse */
    uint32_t session_ttl, session_idle_ttl;
    uint32_t consent_ttl;
    uint32_t clock_leeway_s;
    uint32_t kiosk_idle_ttl;       /* a card session ends this long after its last use */
    uint32_t kiosk_face_score_min; /* percent: the least face_score a card login gets ial4 with */
};

struct policy {
    atomic_int refs;
    size_t nclients, nscopes;
    struct policy_client *clients;
    struct policy_scope *scopes;
    struct policy_tokens tokens;
    char *dir;
};

/* Loads every *.conf in dir (sorted by name). RC_OK: *out holds one reference;
 * otherwise err says "file:line: key: reason". An empty directory is a valid policy with
 * no clients. */
enum rc policy_load(const char *dir, struct policy **out, struct config_error *err);
/* Parses one file's text (for tests and fuzzing) into a new policy. */
enum rc policy_parse(const char *file, const char *text, size_t len, struct policy **out,
                     struct config_error *err);
void policy_retain(struct policy *p);
/* Drops a reference; frees at zero. NULL is fine. */
void policy_release(struct policy *p);
/* The client with this id, or NULL. */
const struct policy_client *policy_client(const struct policy *p, struct span id);
const struct policy_scope *policy_scope(const struct policy *p, struct span name);
bool strlist_has(const struct strlist *l, struct span s);

#endif
