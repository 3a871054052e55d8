/* Tokens honoured across provinces (docs/federation.md "Cross-province tokens"): a module of
 * province B accepts access tokens issued by province A when its configuration lists A's
 * issuer (federated_issuers) and A's trust chain resolves. The resolution is B's: the
 * module asks its own authd's /federation/resolve (OpenID Federation 1.0 §8.3) for A and
 * the anchor, and takes A's jwks_uri from the resolved openid_provider metadata (the
 * anchor's policy applied). The module trusts its authd's answer over TLS exactly as it
 * trusts its authd's /jwks: the resolve response's signature is not checked again here.
 *
 * Each accepted province gets a client of its own (the same configuration, A's issuer and
 * jwks_uri), so its keys are cached and refetched as B's are; it is used until the
 * resolution's exp, then resolved again. A replaced client is kept until authd_client_free
 * (a validation in another thread may still hold it). */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "client_int.h"
#include "core/jose.h"

#define FED_MAX_ISSUERS 64
#define FED_MAX_ANSWER  (256 * 1024)

struct fed_province {
    char *iss;
    struct authd_client *c;
    int64_t exp;
    struct fed_province *next;
};

static void
province_free(struct fed_province *p)
{
    if (!p)
        return;
    authd_client_free(p->c);
    free(p->iss);
    free(p);
}

enum authd_status
fed_config(struct authd_client *c, const struct authd_client_config *cfg)
{
    size_t n = 0;
    char *u = NULL;

    if (!cfg->federated_issuers || !cfg->federated_issuers[0])
        return AUTHD_OK;
    if (!cfg->trust_anchor || !*cfg->trust_anchor)
        return AUTHD_ERR_INVALID_ARGUMENT;
    while (cfg->federated_issuers[n])
        if (++n > FED_MAX_ISSUERS || !*cfg->federated_issuers[n - 1])
            return AUTHD_ERR_INVALID_ARGUMENT;
    if (!(c->fed_issuers = calloc(n + 1, sizeof(char *))))
        return AUTHD_ERR_NOMEM;
    for (size_t i = 0; i < n; i++)
        if (!(c->fed_issuers[i] = strdup(cfg->federated_issuers[i])))
            return AUTHD_ERR_NOMEM;
    if (cfg->federation_resolve_endpoint)
        u = strdup(cfg->federation_resolve_endpoint);
    else if (asprintf(&u, "%s/federation/resolve", c->issuer) < 0)
        u = NULL;
    if (!(c->fed_resolve_uri = u) || !(c->fed_anchor = strdup(cfg->trust_anchor)))
        return AUTHD_ERR_NOMEM;
    if (pthread_mutex_init(&c->fed_mu, NULL) != 0)
        return AUTHD_ERR_INTERNAL;
    c->fed_mu_init = true;
    return AUTHD_OK;
}

void
fed_clear(struct authd_client *c)
{
    struct fed_province *p, *n;

    for (p = c->fed; p; p = n)
        n = p->next, province_free(p);
    for (p = c->fed_retired; p; p = n)
        n = p->next, province_free(p);
    for (size_t i = 0; c->fed_issuers && c->fed_issuers[i]; i++)
        free(c->fed_issuers[i]);
    free(c->fed_issuers);
    free(c->fed_resolve_uri);
    free(c->fed_anchor);
    if (c->fed_mu_init)
        pthread_mutex_destroy(&c->fed_mu);
}

/* The token's iss, unverified (only to choose the keys: the chosen client verifies it). */
static char *
token_iss(struct span token)
{
    struct arena a;
    struct span payload;
    json_t *o;
    char *iss = NULL;

    arena_init(&a, CLIENT_INFO_ARENA);
    if (jose_payload_unverified(token, &a, &payload) == RC_OK
        && (o = json_loadb((const char *)payload.p, payload.len, 0, NULL))) {
        if (json_is_string(json_object_get(o, "iss")))
            iss = strdup(json_string_value(json_object_get(o, "iss")));
        json_decref(o);
    }
    arena_clear(&a);
    return iss;
}

static bool
accepted(const struct authd_client *c, const char *iss)
{
    for (size_t i = 0; c->fed_issuers && c->fed_issuers[i]; i++)
        if (strcmp(c->fed_issuers[i], iss) == 0)
            return true;
    return false;
}

/* Resolves iss through our authd: its jwks_uri and the resolution's exp. */
static enum authd_status
resolve(struct authd_client *c, const char *iss, char **jwks_uri, int64_t *exp)
{
    struct buf q;
    struct fetch_answer ans;
    struct arena a;
    struct span payload;
    json_t *o = NULL, *op;
    const char *u, *oiss;
    enum authd_status st;
    char *url;

    buf_init(&q, CLIENT_MAX_URL);
    buf_append_str(&q, c->fed_resolve_uri);
    buf_append_str(&q, strchr(c->fed_resolve_uri, '?') ? "&" : "?");
    if (fetch_form_add(&q, "sub", iss, strlen(iss)) != RC_OK
        || fetch_form_add(&q, "trust_anchor", c->fed_anchor, strlen(c->fed_anchor)) != RC_OK
        || !(url = strndup(q.p ? (const char *)q.p : "", q.len))) {
        buf_clear(&q);
        return AUTHD_ERR_NOMEM;
    }
    buf_clear(&q);
    fetch_answer_init(&ans, FED_MAX_ANSWER);
    st = fetch_get(c, url, FED_MAX_ANSWER, &ans);
    free(url);
    arena_init(&a, FED_MAX_ANSWER * 2);
    if (st != AUTHD_OK || ans.status >= 500)
        st = AUTHD_ERR_KEYS_UNAVAILABLE;
    else if (ans.status != 200)
        st = AUTHD_ERR_ISSUER; /* the chain is refused (invalid_trust_chain, ...) */
    else if (jose_payload_unverified(span_of(ans.body.p, ans.body.len), &a, &payload) != RC_OK
             || !(o = json_loadb((const char *)payload.p, payload.len, 0, NULL)))
        st = AUTHD_ERR_PROTOCOL;
    else {
        op = json_object_get(json_object_get(o, "metadata"), "openid_provider");
        u = json_string_value(json_object_get(op, "jwks_uri"));
        oiss = json_string_value(json_object_get(op, "issuer"));
        *exp = json_integer_value(json_object_get(o, "exp"));
        if (!u || !oiss || strcmp(oiss, iss) != 0 || *exp <= 0)
            st = AUTHD_ERR_ISSUER;
        else if (!(*jwks_uri = strdup(u)))
            st = AUTHD_ERR_NOMEM;
    }
    json_decref(o);
    arena_clear(&a);
    fetch_answer_clear(&ans);
    return st;
}

/* A client for province iss: c's settings with its issuer and keys. */
static enum authd_status
province_new(struct authd_client *c, const char *iss, const char *jwks_uri,
             struct authd_client **out)
{
    struct authd_client_config cfg = {
        .issuer = iss,
        .audiences = (const char *const *)c->audiences,
        .jwks_uri = jwks_uri,
        .algs = c->algs,
        .typ = c->typ,
        .leeway_s = c->leeway,
        .jwks_min_cache_s = c->min_cache,
        .jwks_max_cache_s = c->max_cache,
        .jwks_refetch_interval_s = c->refetch,
        .jwks_grace_s = c->grace ? c->grace : -1,
        .http_timeout_ms = c->timeout_ms,
        .ca_file = c->ca_file,
        .ca_path = c->ca_path,
        .tls_cert_file = c->cert_file,
        .tls_key_file = c->key_file,
        .proxy = c->proxy,
        .allow_http = c->allow_http,
        .now = c->now,
        .now_arg = c->now_arg,
    };

    return authd_client_new(&cfg, out);
}

static struct authd_client *
find(struct authd_client *c, const char *iss, int64_t now)
{
    struct authd_client *r = NULL;

    pthread_mutex_lock(&c->fed_mu);
    for (struct fed_province *p = c->fed; p && !r; p = p->next)
        if (strcmp(p->iss, iss) == 0 && p->exp > now)
            r = p->c;
    pthread_mutex_unlock(&c->fed_mu);
    return r;
}

/* Puts p in front; an older one of the same issuer retires. */
static void
insert(struct authd_client *c, struct fed_province *p)
{
    struct fed_province **pp, *old;

    pthread_mutex_lock(&c->fed_mu);
    for (pp = &c->fed; (old = *pp);) {
        if (strcmp(old->iss, p->iss) == 0) {
            *pp = old->next;
            old->next = c->fed_retired, c->fed_retired = old;
            continue;
        }
        pp = &old->next;
    }
    p->next = c->fed, c->fed = p;
    pthread_mutex_unlock(&c->fed_mu);
}

enum authd_status
fed_province_add(struct authd_client *c, const char *iss, struct authd_client *pc, int64_t exp)
{
    struct fed_province *p = calloc(1, sizeof(*p));

    if (!p || !(p->iss = strdup(iss)))
        return free(p), AUTHD_ERR_NOMEM;
    p->c = pc, p->exp = exp;
    insert(c, p);
    return AUTHD_OK;
}

enum authd_status
fed_client_for(struct authd_client *c, struct span token, struct authd_client **out)
{
    int64_t now = client_now(c), exp = 0;
    struct fed_province *p;
    char *iss, *jwks_uri = NULL;
    enum authd_status st;

    *out = c;
    if (!c->fed_issuers)
        return AUTHD_OK;
    if (!(iss = token_iss(token)) || strcmp(iss, c->issuer) == 0 || !accepted(c, iss)) {
        free(iss); /* ours, or not accepted: c refuses it by its issuer */
        return AUTHD_OK;
    }
    if ((*out = find(c, iss, now))) {
        free(iss);
        return AUTHD_OK;
    }
    *out = c;
    if ((st = resolve(c, iss, &jwks_uri, &exp)) != AUTHD_OK) {
        free(iss);
        return st;
    }
    if (!(p = calloc(1, sizeof(*p)))) {
        st = AUTHD_ERR_NOMEM;
        goto fail;
    }
    if ((st = province_new(c, iss, jwks_uri, &p->c)) != AUTHD_OK)
        goto fail;
    p->iss = iss, p->exp = exp;
    free(jwks_uri);
    insert(c, p);
    *out = p->c;
    return AUTHD_OK;
fail:
    free(p);
    free(iss);
    free(jwks_uri);
    return st;
}
