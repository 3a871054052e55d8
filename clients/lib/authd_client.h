/* libauthd-client: what a relying module (a government service behind authd) links to trust
 * authd's access tokens.
 *
 *   - Local validation of RFC 9068 JWT access tokens against authd's JWKS, fetched with
 *     libcurl and cached (Cache-Control max-age, bounded by configuration). Once keys are
 *     cached, validating a token makes no network call.
 *   - Introspection (RFC 7662) for callers that prefer asking authd.
 *   - Tokens for the module itself (client_credentials, RFC 6749 §4.4) and token exchange
 *     (RFC 8693) to call another module on the citizen's behalf.
 *
 * Thread safety: one struct authd_client may be used by any number of threads at once for
 * every function below except authd_client_free. The key set is an immutable refcounted
 * snapshot swapped atomically on refetch; at most one thread fetches at a time.
 *
 * Global state: the library keeps none. libcurl needs curl_global_init() once per process
 * before threads start: call it yourself, or set init_curl_global in the config and create
 * the first client before starting threads (the library then calls curl_global_init in
 * authd_client_new and curl_global_cleanup in authd_client_free).
 *
 * Memory: strings returned in struct authd_token_info or struct authd_token are owned by
 * that struct and live until its _clear function; they do not depend on the client. Nothing
 * returned points into the caller's input. Every function accepts NULL where it frees. */
#ifndef AUTHD_CLIENT_H
#define AUTHD_CLIENT_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define AUTHD_CLIENT_VERSION "0.1.0"

/* Results. AUTHD_OK is 0; every failure is a distinct positive code. */
enum authd_status {
    AUTHD_OK = 0,
    AUTHD_ERR_MALFORMED,     /* not a well-formed JWT access token: shape, encoding, size,
                                a claim of the wrong type, a required claim missing */
    AUTHD_ERR_ALGORITHM,     /* header alg not in the allow-list or not the key's (none, HS256) */
    AUTHD_ERR_SIGNATURE,     /* signature does not verify */
    AUTHD_ERR_UNKNOWN_KEY,   /* kid not in authd's JWKS, even after one refetch */
    AUTHD_ERR_EXPIRED,       /* exp passed (beyond leeway) */
    AUTHD_ERR_NOT_YET_VALID, /* nbf or iat in the future (beyond leeway) */
    AUTHD_ERR_ISSUER,        /* iss is not the configured issuer */
    AUTHD_ERR_AUDIENCE,      /* aud holds none of the configured audiences */
    AUTHD_ERR_TYP,           /* header typ is not the required one (at+jwt) */
    AUTHD_ERR_SCOPE,         /* a required scope was not granted */
    AUTHD_ERR_ASSURANCE,     /* acr missing or below the required level */
    AUTHD_ERR_KEYS_UNAVAILABLE, /* no usable keys: JWKS never fetched or cache and grace over */
    AUTHD_ERR_INACTIVE,         /* introspection said active: false */
    AUTHD_ERR_REFUSED,          /* authd answered with an OAuth error (see struct authd_error) */
    AUTHD_ERR_UNAVAILABLE,      /* authd unreachable, timed out or answered 5xx */
    AUTHD_ERR_PROTOCOL,         /* authd's answer is not what the RFC says */
    AUTHD_ERR_INVALID_ARGUMENT, /* a bad configuration or argument */
    AUTHD_ERR_NOMEM,            /* out of memory */
    AUTHD_ERR_INTERNAL,         /* a library failure that should not happen */
    AUTHD_ERR_DPOP,             /* a DPoP-bound token without a valid proof of its key for
                                   this request (or presented as Bearer), or a proof with a
                                   token that is not bound (RFC 9449 §7) */
    AUTHD_ERR_CERT_BOUND,       /* a certificate-bound token (cnf.x5t#S256) presented without
                                   the certificate it is bound to (RFC 8705 §3) */
    AUTHD_STATUS__COUNT
};

/* The symbolic name of s ("AUTHD_ERR_EXPIRED"); never NULL. Static storage. */
const char *authd_status_name(enum authd_status s);

/* Signature algorithms for the allow-list. */
#define AUTHD_ALG_ES256 0x1u /* ECDSA P-256: authd's default */
#define AUTHD_ALG_RS256 0x2u
#define AUTHD_ALG_PS256 0x4u
#define AUTHD_ALG_ES384 0x8u
#define AUTHD_ALG_SM2SM3                                                                           \
    0x10u /* SM2 with SM3, distinguishing ID "1234567812345678"                                    \
             (docs/crypto.md) */

/* Configuration. Zero-initialise it and set what you need; every string is copied by
 * authd_client_new, so it may be freed afterwards. "0: default" is said where it applies. */
struct authd_client_config {
    const char *issuer;                 /* required: authd's issuer URL, matched exactly */
    const char *const *audiences;       /* required: NULL-terminated; a token must name one */
    const char *jwks_uri;               /* NULL: issuer + "/jwks" */
    const char *token_endpoint;         /* NULL: issuer + "/token" */
    const char *introspection_endpoint; /* NULL: issuer + "/introspect" */
    unsigned algs;                      /* AUTHD_ALG_* allow-list; 0: ES256 only. Never taken
                                           from a token (RFC 8725 §3.1) */
    const char *typ;                    /* required JWT typ; NULL: "at+jwt" (RFC 9068 §4) */
    int64_t leeway_s;                   /* clock skew tolerated on exp/nbf/iat; 0 is none, at
                                           most 300 */
    int64_t jwks_min_cache_s;           /* 0: 300. Lower bound on a JWKS's cache time */
    int64_t jwks_max_cache_s;           /* 0: 86400. Upper bound. Without max-age (or with
                                           no-cache, no-store) the lower bound applies */
    int64_t jwks_refetch_interval_s;    /* 0: 60. Fetches (unknown kid, retry after failure,
                                           stale keys) happen at most once per interval */
    int64_t jwks_grace_s;               /* 0: 3600; < 0: none. Cached keys stay usable this
                                           long past their cache time while authd is down */
    long http_timeout_ms;               /* 0: 5000. Whole request, connect included */
    const char *ca_file;                /* NULL: the system trust store */
    const char *ca_path;                /* NULL: the system trust store */
    const char *tls_cert_file;          /* client certificate (PEM) for mutual TLS, or NULL */
    const char *tls_key_file;           /* its private key (PEM), or NULL */
    const char *proxy;                  /* NULL: no proxy (environment proxies are ignored) */
    int allow_http;                     /* nonzero: allow http:// URLs (loopback development and
                                           tests only); default: https only */
    const char *client_id;              /* this module's client at authd: for introspection, */
    const char *client_secret;          /* client_credentials and exchange (client_secret_basic) */
    int init_curl_global;               /* nonzero: call curl_global_init/cleanup (see above) */
    int64_t (*now)(void *arg);          /* clock in unix seconds; NULL: time(). For tests */
    void *now_arg;
};

struct authd_client;

/* Creates a client from cfg (checked: issuer and URLs absolute https, or http with
 * allow_http; at least one audience; bounds). Makes no network call: keys are fetched on
 * first use (or by authd_client_refresh_keys). AUTHD_OK: *out owned by the caller
 * (authd_client_free). AUTHD_ERR_INVALID_ARGUMENT, AUTHD_ERR_NOMEM, AUTHD_ERR_INTERNAL
 * (curl_global_init failed); *out is NULL on failure. */
enum authd_status authd_client_new(const struct authd_client_config *cfg,
                                   struct authd_client **out);

/* Frees the client, its cached keys and its copy of the client secret (wiped). No other
 * thread may be using it. NULL is fine. */
void authd_client_free(struct authd_client *c);

/* Fetches the JWKS now, ignoring the refetch interval (for start-up: fail early if authd
 * cannot be reached). AUTHD_OK: the new keys are in use. AUTHD_ERR_UNAVAILABLE (network,
 * HTTP status), AUTHD_ERR_PROTOCOL (not a JWKS with a usable key); the old keys stay. */
enum authd_status authd_client_refresh_keys(struct authd_client *c);

/* What a validation requires beyond the configuration; NULL or zeroed: nothing more. */
struct authd_validate_opts {
    const char *scope; /* space-separated scopes that must all be granted, or NULL */
    const char *acr;   /* minimum assurance "urn:authd:acr:ialN:aalM": both axes at least */
};

/* What a valid token says. Strings are NUL-terminated, owned by the struct, valid until
 * authd_token_info_clear; absent claims are NULL (or 0 for times). */
struct authd_token_info {
    const char *iss;
    const char *sub;
    const char *client_id;
    const char *scope; /* space-separated; NULL if no scope */
    const char *acr;
    const char *const *amr; /* amr_count strings */
    size_t amr_count;
    const char *jti;
    int64_t exp, iat, auth_time;
    const char *act_sub;       /* token exchange (RFC 8693 §4.1): the acting party's sub */
    const char *act_client_id; /* ... and client_id, when present */
    const char *act;           /* the whole act claim as compact JSON (nested actors) */
    const char *cnf_jkt;       /* DPoP-bound token: its key's RFC 7638 thumbprint (cnf.jkt) */
    const char *cnf_x5t;       /* certificate-bound token (RFC 8705 §3.1): cnf.x5t#S256 */
    void *priv_;               /* storage; do not touch */
};

/* Frees what info holds (wiping it) and zeroes it. NULL or a zeroed struct is fine. */
void authd_token_info_clear(struct authd_token_info *info);

/* Validates a JWT access token per RFC 9068 §4 (token: len bytes, no NUL needed): the
 * signature with an allow-listed algorithm and the key named by kid (refetching the JWKS at
 * most once per interval for an unknown kid), typ, iss exact, aud containing one of ours,
 * exp/nbf/iat with leeway, the required claims (sub, client_id, iat, jti), then o's scopes
 * and assurance. No network call once keys are cached. AUTHD_OK: *out filled, caller clears
 * it. On failure *out is zeroed and the code says why (see enum authd_status). */
enum authd_status authd_client_validate(struct authd_client *c, const char *token, size_t len,
                                        const struct authd_validate_opts *o,
                                        struct authd_token_info *out);

/* A request made with the DPoP scheme (RFC 9449 §7.1): `Authorization: DPoP <token>` and
 * the `DPoP` header. What the module knows of its own request. */
struct authd_dpop_request {
    const char *method; /* the request's method: "GET", "POST" (the proof's htm) */
    const char *url;    /* the module's URL for this request, without query and fragment, as
                           clients call it (the proof's htu; behind a proxy, the public URL) */
    const char *proof;  /* the DPoP header's value; NULL when the request had none */
    int64_t max_age_s;  /* 0: 60. A proof's iat no older than this (plus leeway) */
    /* Replay (§11.1): called with the proof's key thumbprint and jti once everything else
     * holds; return nonzero if that pair was seen within ttl_s (and remember it for ttl_s).
     * A module on several nodes keeps them in its shared store with a put-if-absent. NULL:
     * the library does not check replays (a proof is then only bound to method, URL,
     * token and time). */
    int (*jti_seen)(void *arg, const char *jkt, const char *jti, int64_t ttl_s);
    void *jti_arg;
};

/* authd_client_validate for a request that may use DPoP (RFC 9449 §7): req NULL or with no
 * proof is a Bearer request, and a DPoP-bound token (cnf.jkt) is then refused; with a proof,
 * the token must be bound and the proof valid for req (typ dpop+jwt, an asymmetric alg of
 * the allow-list's table, a public jwk whose thumbprint is the token's cnf.jkt, htm, htu,
 * iat within max_age_s, ath the token's hash, jti not seen). authd_client_validate itself
 * refuses bound tokens the same way. AUTHD_ERR_DPOP for any of these, else as
 * authd_client_validate. */
enum authd_status authd_client_validate_dpop(struct authd_client *c, const char *token, size_t len,
                                             const struct authd_dpop_request *req,
                                             const struct authd_validate_opts *o,
                                             struct authd_token_info *out);

/* authd_client_validate for a request that came over mutual TLS (RFC 8705 §3): cert_der
 * (cert_len bytes) is the client certificate the module's TLS layer (or its trusted proxy)
 * verified for this request, NULL when there was none. A certificate-bound token
 * (cnf.x5t#S256) is valid only with the certificate whose SHA-256 is that thumbprint;
 * authd_client_validate and authd_client_validate_dpop refuse every bound token. A token
 * that is not bound is validated as by authd_client_validate whatever the certificate.
 * AUTHD_ERR_CERT_BOUND, else as authd_client_validate. */
enum authd_status authd_client_validate_mtls(struct authd_client *c, const char *token, size_t len,
                                             const unsigned char *cert_der, size_t cert_len,
                                             const struct authd_validate_opts *o,
                                             struct authd_token_info *out);

/* An OAuth error answer from authd (RFC 6749 §5.2), for AUTHD_ERR_REFUSED. Texts are
 * truncated and restricted to printable ASCII. */
struct authd_error {
    int http_status; /* 0 if no HTTP answer */
    char error[64];  /* "invalid_target" */
    char description[256];
};

/* Asks authd whether token is active (RFC 7662 §2), authenticating as the configured client
 * with client_secret_basic, then applies o as authd_client_validate does (and checks aud
 * when the answer holds one). AUTHD_OK: *out filled as by authd_client_validate.
 * AUTHD_ERR_INACTIVE, AUTHD_ERR_AUDIENCE/SCOPE/ASSURANCE, AUTHD_ERR_REFUSED (err, may be
 * NULL, says why: a bad client secret is invalid_client), AUTHD_ERR_UNAVAILABLE,
 * AUTHD_ERR_PROTOCOL, AUTHD_ERR_INVALID_ARGUMENT (no client configured). Always a network
 * call. */
enum authd_status authd_client_introspect(struct authd_client *c, const char *token, size_t len,
                                          const struct authd_validate_opts *o,
                                          struct authd_token_info *out, struct authd_error *err);

/* A token issued by authd's token endpoint (RFC 6749 §5.1, RFC 8693 §2.2.1). Owned by the
 * struct until authd_token_clear, which wipes the token. */
struct authd_token {
    char *access_token;
    char *token_type;        /* "Bearer" (or "N_A" for a non-access token from exchange) */
    char *issued_token_type; /* RFC 8693: "urn:ietf:params:oauth:token-type:access_token" */
    char *scope;             /* NULL if authd did not say (then: as requested) */
    int64_t expires_in;      /* seconds; 0 if not given */
};

/* Wipes and frees the token's strings and zeroes it. NULL is fine. */
void authd_token_clear(struct authd_token *t);

/* Gets a token for the module itself (client_credentials, RFC 6749 §4.4) with scope
 * (space-separated, or NULL for the client's default). AUTHD_OK: *out owned by the caller
 * (authd_token_clear). AUTHD_ERR_REFUSED (err says why), AUTHD_ERR_UNAVAILABLE,
 * AUTHD_ERR_PROTOCOL, AUTHD_ERR_INVALID_ARGUMENT; *out zeroed on failure. */
enum authd_status authd_client_credentials(struct authd_client *c, const char *scope,
                                           struct authd_token *out, struct authd_error *err);

/* Exchanges a citizen's access token for one towards another module (RFC 8693 §2.1):
 * subject_token (the token this module received, subject_token_type access_token),
 * audience (the other module's identifier, required), scope (space-separated or NULL).
 * The issued token keeps the citizen's sub and assurance and names this module in act.
 * AUTHD_OK: *out owned by the caller (authd_token_clear). AUTHD_ERR_REFUSED with err
 * (invalid_target: audience or scope not allowed by policy; invalid_grant: subject token
 * expired or revoked; unauthorized_client), AUTHD_ERR_UNAVAILABLE, AUTHD_ERR_PROTOCOL,
 * AUTHD_ERR_INVALID_ARGUMENT; *out zeroed on failure. */
enum authd_status authd_client_exchange(struct authd_client *c, const char *subject_token,
                                        size_t subject_len, const char *audience, const char *scope,
                                        struct authd_token *out, struct authd_error *err);

/* Counters for monitoring (and tests). */
struct authd_client_stats {
    uint64_t jwks_fetches;        /* HTTP requests for the JWKS, successful or not */
    uint64_t jwks_fetch_failures; /* of which failed (network, status, bad document) */
    uint64_t jwks_unknown_kid;    /* tokens with a kid we did not have */
    size_t keys;                  /* keys in the current set (0 before the first fetch) */
    int64_t keys_fresh_until;     /* unix seconds: refetch after this */
    int64_t keys_usable_until;    /* unix seconds: refuse tokens after this (cache + grace) */
};

/* Fills *out with a consistent snapshot of the counters. */
void authd_client_stats(struct authd_client *c, struct authd_client_stats *out);

#ifdef __cplusplus
}
#endif

#endif
