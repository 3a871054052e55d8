/* libauthd-client internals shared by its files; not installed. */
#ifndef AUTHD_CLIENT_INT_H
#define AUTHD_CLIENT_INT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "authd_client.h"
#include "util/arena.h"
#include "util/rc.h"
#include "util/span.h"

struct jose_keyset;

#define CLIENT_MAX_AUDIENCES 16
#define CLIENT_MAX_URL       2048
#define CLIENT_MAX_RESPONSE  (64 * 1024) /* token and introspection answers */
#define CLIENT_INFO_ARENA    (96 * 1024) /* one token's decoding and its claims */

/* The JWKS cache. mu guards the fields below it and is held only to read or swap them;
 * fetch_mu serialises fetches (held across the network call, never with mu). */
struct jwks_cache {
    pthread_mutex_t fetch_mu;
    pthread_mutex_t mu;
    struct jose_keyset *ks; /* current snapshot; NULL until the first successful fetch */
    int64_t fresh_until;    /* refetch after this */
    int64_t usable_until;   /* fresh_until + grace: no keys after this */
    int64_t last_attempt;   /* time of the last fetch attempt */
    bool attempted;         /* false until the first attempt */
    uint64_t generation;    /* bumped on every swap */
    atomic_ullong fetches, failures, unknown_kid;
};

struct authd_client {
    char *issuer, *jwks_uri, *token_uri, *introspect_uri, *typ;
    char *audiences[CLIENT_MAX_AUDIENCES + 1];
    size_t n_aud;
    unsigned algs;
    int64_t leeway, min_cache, max_cache, refetch, grace;
    long timeout_ms;
    char *ca_file, *ca_path, *cert_file, *key_file, *proxy;
    bool allow_http, owns_curl_global;
    char *client_id, *client_secret;
    int64_t (*now)(void *arg);
    void *now_arg;
    struct jwks_cache jwks;
    /* other provinces (federation.c): NULL-terminated issuers, and a client per issuer */
    char **fed_issuers;
    char *fed_resolve_uri, *fed_anchor;
    pthread_mutex_t fed_mu;
    bool fed_mu_init;
    struct fed_province *fed, *fed_retired;
};

/* ---- federation.c ---- */
/* The client that validates token: c itself, or the client of the other province whose
 * issuer the token names when c accepts that province (resolving its chain through c's
 * authd on first use and when the resolution expires). AUTHD_OK: *out (owned by c).
 * AUTHD_ERR_KEYS_UNAVAILABLE (the resolve endpoint cannot answer), AUTHD_ERR_ISSUER (the
 * chain is refused), AUTHD_ERR_NOMEM. */
enum authd_status fed_client_for(struct authd_client *c, struct span token,
                                 struct authd_client **out);
/* Adds pc (taken) as the client of province iss until exp, as a resolution would (the
 * benchmark's way in). AUTHD_ERR_NOMEM (pc not taken). */
enum authd_status fed_province_add(struct authd_client *c, const char *iss,
                                   struct authd_client *pc, int64_t exp);
enum authd_status fed_config(struct authd_client *c, const struct authd_client_config *cfg);
void fed_clear(struct authd_client *c);

/* The client's clock. */
int64_t client_now(const struct authd_client *c);

/* ---- jwks_cache.c ---- */
void jwks_cache_init(struct jwks_cache *j);
void jwks_cache_clear(struct jwks_cache *j);
/* The key set to verify with, retained for the caller (jose_keyset_release), and its
 * generation. Fetches only when the keys are missing or stale (at most once per interval).
 * AUTHD_ERR_KEYS_UNAVAILABLE when there are no usable keys. */
enum authd_status jwks_cache_get(struct authd_client *c, struct jose_keyset **ks, uint64_t *gen);
/* After an unknown kid in a token checked against generation gen: refetches unless another
 * thread already did or the interval has not passed. AUTHD_OK: try again with jwks_cache_get;
 * AUTHD_ERR_UNKNOWN_KEY otherwise. */
enum authd_status jwks_cache_unknown_kid(struct authd_client *c, uint64_t gen);
/* Fetches now, ignoring the interval. */
enum authd_status jwks_cache_refresh(struct authd_client *c);

/* ---- cachectl.c ---- */
/* The freshness lifetime of a Cache-Control header value (RFC 9111 §5.2.2): max-age=N
 * (N capped at 2^31 - 1), or 0 for no-cache / no-store. RC_NOT_FOUND: no max-age and
 * neither of those; RC_MALFORMED: a max-age that is not a number. Pure. */
enum rc cachectl_max_age(struct span value, int64_t *out);

/* ---- fetch.c ---- */
struct fetch_answer {
    long status;     /* 0: no answer */
    struct buf body; /* capped, wiped by fetch_answer_clear */
    char cache_control[256];
};
enum fetch_auth { FETCH_AUTH_NONE, FETCH_AUTH_BASIC };
/* GET url (body capped at max bytes). AUTHD_OK: an HTTP answer of any status in *a.
 * AUTHD_ERR_UNAVAILABLE: no answer; AUTHD_ERR_PROTOCOL: body over max. Caller clears *a. */
enum authd_status fetch_get(const struct authd_client *c, const char *url, size_t max,
                            struct fetch_answer *a);
/* POSTs an application/x-www-form-urlencoded form, with client_secret_basic if asked. As
 * fetch_get. */
enum authd_status fetch_post_form(const struct authd_client *c, const char *url, struct span form,
                                  enum fetch_auth auth, size_t max, struct fetch_answer *a);
void fetch_answer_init(struct fetch_answer *a, size_t max);
void fetch_answer_clear(struct fetch_answer *a);
/* Appends value percent-encoded (everything but RFC 3986 unreserved characters). */
enum rc fetch_form_encode(struct buf *b, const char *value, size_t len);
/* Appends name=value (value form-urlencoded) to b, with '&' if b is not empty. */
enum rc fetch_form_add(struct buf *b, const char *name, const char *value, size_t len);

/* ---- tokinfo.c ---- */
/* Zeroes out and gives it its own empty arena (CLIENT_INFO_ARENA bytes at most), which
 * also serves as scratch space while validating. AUTHD_ERR_NOMEM. The caller clears out
 * (authd_token_info_clear) on every path. */
enum authd_status tokinfo_init(struct authd_token_info *out);
/* Fills out (tokinfo_init'ed) from a claims object (JSON text: a verified JWT payload when
 * jwt, else an introspection answer), copying strings into its arena, and checks the
 * registered claims: iss is ours, exp/nbf/iat with leeway, aud holds one of our audiences.
 * For a JWT iss, exp and aud are required; for an introspection answer each is checked only
 * when present. AUTHD_ERR_MALFORMED (a claim of the wrong type or missing), _ISSUER,
 * _EXPIRED, _NOT_YET_VALID, _AUDIENCE, _NOMEM. */
enum authd_status tokinfo_extract(const struct authd_client *c, struct span json, bool jwt,
                                  struct authd_token_info *out);
/* Scope and assurance requirements, shared by validate and introspect. */
enum authd_status tokinfo_check_opts(const struct authd_token_info *info,
                                     const struct authd_validate_opts *o);
/* True when every space-separated scope of want is in have. */
bool tokinfo_scope_contains(const char *have, const char *want);

#endif
