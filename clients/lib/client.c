/* libauthd-client: configuration, life cycle, status names, counters. */
#include <curl/curl.h>
#include <openssl/crypto.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "client_int.h"
#include "core/jose.h"

_Static_assert(AUTHD_ALG_ES256 == JOSE_ES256 && AUTHD_ALG_RS256 == JOSE_RS256
                   && AUTHD_ALG_PS256 == JOSE_PS256 && AUTHD_ALG_ES384 == JOSE_ES384
                   && AUTHD_ALG_SM2SM3 == JOSE_SM2SM3,
               "public algorithm bits are core/jose's");

#define DEF_MIN_CACHE 300
#define DEF_MAX_CACHE 86400
#define DEF_REFETCH   60
#define DEF_GRACE     3600
#define DEF_TIMEOUT   5000
#define MAX_LEEWAY    300
#define MAX_SECONDS   (400L * 86400) /* bound on every configured duration */

static const char *const status_names[AUTHD_STATUS__COUNT] = {
    [AUTHD_OK] = "AUTHD_OK",
    [AUTHD_ERR_MALFORMED] = "AUTHD_ERR_MALFORMED",
    [AUTHD_ERR_ALGORITHM] = "AUTHD_ERR_ALGORITHM",
    [AUTHD_ERR_SIGNATURE] = "AUTHD_ERR_SIGNATURE",
    [AUTHD_ERR_UNKNOWN_KEY] = "AUTHD_ERR_UNKNOWN_KEY",
    [AUTHD_ERR_EXPIRED] = "AUTHD_ERR_EXPIRED",
    [AUTHD_ERR_NOT_YET_VALID] = "AUTHD_ERR_NOT_YET_VALID",
    [AUTHD_ERR_ISSUER] = "AUTHD_ERR_ISSUER",
    [AUTHD_ERR_AUDIENCE] = "AUTHD_ERR_AUDIENCE",
    [AUTHD_ERR_TYP] = "AUTHD_ERR_TYP",
    [AUTHD_ERR_SCOPE] = "AUTHD_ERR_SCOPE",
    [AUTHD_ERR_ASSURANCE] = "AUTHD_ERR_ASSURANCE",
    [AUTHD_ERR_KEYS_UNAVAILABLE] = "AUTHD_ERR_KEYS_UNAVAILABLE",
    [AUTHD_ERR_INACTIVE] = "AUTHD_ERR_INACTIVE",
    [AUTHD_ERR_REFUSED] = "AUTHD_ERR_REFUSED",
    [AUTHD_ERR_UNAVAILABLE] = "AUTHD_ERR_UNAVAILABLE",
    [AUTHD_ERR_PROTOCOL] = "AUTHD_ERR_PROTOCOL",
    [AUTHD_ERR_INVALID_ARGUMENT] = "AUTHD_ERR_INVALID_ARGUMENT",
    [AUTHD_ERR_NOMEM] = "AUTHD_ERR_NOMEM",
    [AUTHD_ERR_INTERNAL] = "AUTHD_ERR_INTERNAL",
    [AUTHD_ERR_DPOP] = "AUTHD_ERR_DPOP",
    [AUTHD_ERR_CERT_BOUND] = "AUTHD_ERR_CERT_BOUND",
};

const char *
authd_status_name(enum authd_status s)
{
    if ((unsigned)s >= AUTHD_STATUS__COUNT || !status_names[s])
        return "AUTHD_ERR_UNKNOWN";
    return status_names[s];
}

int64_t
client_now(const struct authd_client *c)
{
    return c->now ? c->now(c->now_arg) : (int64_t)time(NULL);
}

/* An absolute URL we may call: https, or http when allowed; no spaces or controls. */
static bool
url_ok(const char *u, bool allow_http)
{
    size_t n = strlen(u);

    if (n < 9 || n > CLIENT_MAX_URL)
        return false;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)u[i] <= 0x20 || (unsigned char)u[i] >= 0x7f)
            return false;
    if (strncasecmp(u, "https://", 8) == 0)
        return true;
    return allow_http && strncasecmp(u, "http://", 7) == 0;
}

/* *dst = copy of s, or of issuer + suffix when s is NULL. */
static enum authd_status
dup_url(char **dst, const char *s, const char *issuer, const char *suffix, bool allow_http)
{
    size_t n;

    if (s) {
        *dst = strdup(s);
    } else {
        n = strlen(issuer);
        if (n && issuer[n - 1] == '/') /* "https://id.example/" + "/jwks" */
            n--;
        if ((*dst = malloc(n + strlen(suffix) + 1)) != NULL) {
            memcpy(*dst, issuer, n);
            strcpy(*dst + n, suffix);
        }
    }
    if (!*dst)
        return AUTHD_ERR_NOMEM;
    return url_ok(*dst, allow_http) ? AUTHD_OK : AUTHD_ERR_INVALID_ARGUMENT;
}

/* v, or def when v is 0; AUTHD_ERR_INVALID_ARGUMENT outside [lo, MAX_SECONDS]. */
static enum authd_status
seconds(int64_t v, int64_t def, int64_t lo, int64_t *out)
{
    if (v == 0)
        v = def;
    if (v < lo || v > MAX_SECONDS)
        return AUTHD_ERR_INVALID_ARGUMENT;
    *out = v;
    return AUTHD_OK;
}

static enum authd_status
copy_opt(char **dst, const char *s)
{
    if (s && !(*dst = strdup(s)))
        return AUTHD_ERR_NOMEM;
    return AUTHD_OK;
}

static enum authd_status
copy_numbers(struct authd_client *c, const struct authd_client_config *cfg)
{
    enum authd_status st;

    if (cfg->leeway_s < 0 || cfg->leeway_s > MAX_LEEWAY || (cfg->algs & ~(unsigned)JOSE_ALG_ALL)
        || cfg->http_timeout_ms < 0 || cfg->http_timeout_ms > 600000)
        return AUTHD_ERR_INVALID_ARGUMENT;
    c->leeway = cfg->leeway_s;
    c->algs = cfg->algs ? cfg->algs : AUTHD_ALG_ES256;
    c->timeout_ms = cfg->http_timeout_ms ? cfg->http_timeout_ms : DEF_TIMEOUT;
    if ((st = seconds(cfg->jwks_min_cache_s, DEF_MIN_CACHE, 1, &c->min_cache)) != AUTHD_OK
        || (st = seconds(cfg->jwks_max_cache_s, DEF_MAX_CACHE, 1, &c->max_cache)) != AUTHD_OK
        || (st = seconds(cfg->jwks_refetch_interval_s, DEF_REFETCH, 1, &c->refetch)) != AUTHD_OK)
        return st;
    if (c->max_cache < c->min_cache)
        return AUTHD_ERR_INVALID_ARGUMENT;
    if (cfg->jwks_grace_s < 0)
        c->grace = 0;
    else if ((st = seconds(cfg->jwks_grace_s, DEF_GRACE, 1, &c->grace)) != AUTHD_OK)
        return st;
    return AUTHD_OK;
}

static enum authd_status
copy_audiences(struct authd_client *c, const char *const *aud)
{
    for (c->n_aud = 0; aud && aud[c->n_aud]; c->n_aud++) {
        if (c->n_aud == CLIENT_MAX_AUDIENCES || !*aud[c->n_aud])
            return AUTHD_ERR_INVALID_ARGUMENT;
        if (!(c->audiences[c->n_aud] = strdup(aud[c->n_aud])))
            return AUTHD_ERR_NOMEM;
    }
    return c->n_aud ? AUTHD_OK : AUTHD_ERR_INVALID_ARGUMENT;
}

static enum authd_status
copy_config(struct authd_client *c, const struct authd_client_config *cfg)
{
    enum authd_status st;
    const char *iss = cfg->issuer;

    c->allow_http = cfg->allow_http != 0;
    c->now = cfg->now;
    c->now_arg = cfg->now_arg;
    if (!iss || !url_ok(iss, c->allow_http) || (!cfg->client_id != !cfg->client_secret)
        || (cfg->client_id && !*cfg->client_id))
        return AUTHD_ERR_INVALID_ARGUMENT;
    if ((st = copy_numbers(c, cfg)) != AUTHD_OK || (st = copy_audiences(c, cfg->audiences)))
        return st;
    if (!(c->issuer = strdup(iss)) || !(c->typ = strdup(cfg->typ ? cfg->typ : "at+jwt")))
        return AUTHD_ERR_NOMEM;
    if ((st = dup_url(&c->jwks_uri, cfg->jwks_uri, iss, "/jwks", c->allow_http))
        || (st = dup_url(&c->token_uri, cfg->token_endpoint, iss, "/token", c->allow_http))
        || (st = dup_url(&c->introspect_uri, cfg->introspection_endpoint, iss, "/introspect",
                         c->allow_http)))
        return st;
    if ((st = copy_opt(&c->ca_file, cfg->ca_file)) || (st = copy_opt(&c->ca_path, cfg->ca_path))
        || (st = copy_opt(&c->cert_file, cfg->tls_cert_file))
        || (st = copy_opt(&c->key_file, cfg->tls_key_file))
        || (st = copy_opt(&c->proxy, cfg->proxy)) || (st = copy_opt(&c->client_id, cfg->client_id))
        || (st = copy_opt(&c->client_secret, cfg->client_secret)))
        return st;
    return AUTHD_OK;
}

enum authd_status
authd_client_new(const struct authd_client_config *cfg, struct authd_client **out)
{
    struct authd_client *c;
    enum authd_status st;

    *out = NULL;
    if (!cfg)
        return AUTHD_ERR_INVALID_ARGUMENT;
    if (!(c = calloc(1, sizeof(*c))))
        return AUTHD_ERR_NOMEM;
    jwks_cache_init(&c->jwks);
    if ((st = copy_config(c, cfg)) != AUTHD_OK)
        goto fail;
    if (cfg->init_curl_global) {
        if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
            st = AUTHD_ERR_INTERNAL;
            goto fail;
        }
        c->owns_curl_global = true;
    }
    *out = c;
    return AUTHD_OK;
fail:
    authd_client_free(c);
    return st;
}

void
authd_client_free(struct authd_client *c)
{
    if (!c)
        return;
    jwks_cache_clear(&c->jwks);
    if (c->client_secret) {
        OPENSSL_cleanse(c->client_secret, strlen(c->client_secret));
        free(c->client_secret);
    }
    free(c->issuer);
    free(c->jwks_uri);
    free(c->token_uri);
    free(c->introspect_uri);
    free(c->typ);
    for (size_t i = 0; i < c->n_aud; i++)
        free(c->audiences[i]);
    free(c->ca_file);
    free(c->ca_path);
    free(c->cert_file);
    free(c->key_file);
    free(c->proxy);
    free(c->client_id);
    if (c->owns_curl_global)
        curl_global_cleanup();
    free(c);
}

void
authd_client_stats(struct authd_client *c, struct authd_client_stats *out)
{
    memset(out, 0, sizeof(*out));
    pthread_mutex_lock(&c->jwks.mu);
    out->jwks_fetches = atomic_load(&c->jwks.fetches);
    out->jwks_fetch_failures = atomic_load(&c->jwks.failures);
    out->jwks_unknown_kid = atomic_load(&c->jwks.unknown_kid);
    out->keys = c->jwks.ks ? jose_keyset_count(c->jwks.ks) : 0;
    out->keys_fresh_until = c->jwks.fresh_until;
    out->keys_usable_until = c->jwks.usable_until;
    pthread_mutex_unlock(&c->jwks.mu);
}

void
authd_token_info_clear(struct authd_token_info *info)
{
    struct arena *a;

    if (!info)
        return;
    if ((a = info->priv_) != NULL) {
        arena_clear(a);
        free(a);
    }
    memset(info, 0, sizeof(*info));
}

static void
wipe_free(char *s)
{
    if (s) {
        OPENSSL_cleanse(s, strlen(s));
        free(s);
    }
}

void
authd_token_clear(struct authd_token *t)
{
    if (!t)
        return;
    wipe_free(t->access_token);
    free(t->token_type);
    free(t->issued_token_type);
    free(t->scope);
    memset(t, 0, sizeof(*t));
}
