/* authd-license: the electronic-license service (电子证照库), a relying module of authd.
 *
 *   GET /v1/licenses             the caller's own licenses (summaries)
 *   GET /v1/licenses/{id}        one license, if it is the caller's (else 404)
 *   GET /v1/licenses/{id}.jws    the same, signed (ES256, this service's key, kid), for
 *                                anyone to verify offline against
 *   GET /.well-known/jwks.json   this service's public key
 *
 * Tokens: RFC 9068 access tokens from authd with aud = this service and scope license.read,
 * checked locally by libauthd-client (no call to authd per request once keys are cached).
 *
 * Whose licenses: a license belongs to an ID number (that is how the registries that
 * issue household registers and certificates know people). The data file keys them by
 * SHA-256(ID number) in hex, so the file holds no number in clear as a key. A token's sub
 * is pairwise (it differs per sector), so it cannot be the key: the first time a sub is
 * seen the service introspects the token at authd (RFC 7662), which releases id_number to
 * this service because its policy has id_number_allowed; the sub -> holder mapping is
 * then cached until that token expires. The ID number itself is hashed at once and never
 * stored or logged.
 *
 * Storage: the data file (JSON) is loaded at start and served from memory, read-only.
 *
 * Usage: authd-license --listen 127.0.0.1:PORT --issuer URL --self URL --data FILE
 *                      --key FILE --client-id ID --secret-file FILE [--allow-http]
 *                      [--acr urn:authd:acr:ialN:aalM] */
#include <cjose/cjose.h>
#include <curl/curl.h>
#include <getopt.h>
#include <jansson.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "../svc/svc.h"

#define NAME      "license"
#define CACHE_MAX 1024

struct holder_cache_entry {
    char sub[80];
    char holder[65];
    int64_t exp;
};

struct lic {
    struct authd_client *ac;
    const char *issuer, *self, *client_id, *acr;
    char *secret;
    json_t *licenses; /* array, read-only after start */
    cjose_jwk_t *key;
    char kid[64];
    char *jwks;         /* public JWKS document */
    pthread_mutex_t mu; /* cache and signing */
    struct holder_cache_entry cache[CACHE_MAX];
};

/* ---- the signing key ------------------------------------------------------------------ */

/* RFC 7638 thumbprint of an EC public key, base64url, as kid. */
static int
thumbprint(cjose_jwk_t *k, char kid[64])
{
    cjose_err err;
    char *pub = cjose_jwk_to_json(k, false, &err), *canon = NULL, *b64 = NULL;
    json_t *o = pub ? json_loads(pub, 0, NULL) : NULL;
    unsigned char md[32];
    size_t n = 0;
    int rc = -1;

    if (o
        && asprintf(&canon, "{\"crv\":\"%s\",\"kty\":\"EC\",\"x\":\"%s\",\"y\":\"%s\"}",
                    json_string_value(json_object_get(o, "crv")),
                    json_string_value(json_object_get(o, "x")),
                    json_string_value(json_object_get(o, "y")))
               > 0) {
        unsigned len = 0;
        EVP_Digest(canon, strlen(canon), md, &len, EVP_sha256(), NULL);
        if (cjose_base64url_encode(md, 32, &b64, &n, &err) && n < 64) {
            memcpy(kid, b64, n);
            kid[n] = 0;
            rc = 0;
        }
    }
    free(canon);
    cjose_get_dealloc()(b64);
    cjose_get_dealloc()(pub);
    json_decref(o);
    return rc;
}

/* Loads the private JWK at path, or creates it (mode 0600) if it does not exist. */
static cjose_jwk_t *
load_key(const char *path)
{
    cjose_err err;
    cjose_jwk_t *k = NULL;
    char *text = NULL, *out;
    FILE *f;

    if (svc_read_file(path, &text) == 0) {
        k = cjose_jwk_import(text, strlen(text), &err);
        OPENSSL_cleanse(text, strlen(text));
        free(text);
        return k;
    }
    if (!(k = cjose_jwk_create_EC_random(CJOSE_JWK_EC_P_256, &err))
        || !(out = cjose_jwk_to_json(k, true, &err)))
        return k ? (cjose_jwk_release(k), NULL) : NULL;
    umask(077);
    if ((f = fopen(path, "wx"))) {
        fputs(out, f);
        fclose(f);
    }
    OPENSSL_cleanse(out, strlen(out));
    cjose_get_dealloc()(out);
    return k;
}

static int
make_jwks(struct lic *L)
{
    cjose_err err;
    char *pub;
    json_t *o;

    if (thumbprint(L->key, L->kid) != 0 || !(pub = cjose_jwk_to_json(L->key, false, &err)))
        return -1;
    o = json_loads(pub, 0, NULL);
    cjose_get_dealloc()(pub);
    if (!o)
        return -1;
    json_object_set_new(o, "kid", json_string(L->kid));
    json_object_set_new(o, "use", json_string("sig"));
    json_object_set_new(o, "alg", json_string("ES256"));
    L->jwks = json_dumps(json_pack("{s:[o]}", "keys", o), JSON_COMPACT);
    return L->jwks ? 0 : -1;
}

/* Compact JWS of payload, signed with the service key (caller frees). */
static char *
sign(struct lic *L, const char *payload)
{
    cjose_err err;
    cjose_header_t *h = cjose_header_new(&err);
    cjose_jws_t *jws = NULL;
    const char *compact = NULL;
    char *out = NULL;

    if (h && cjose_header_set(h, CJOSE_HDR_ALG, CJOSE_HDR_ALG_ES256, &err)
        && cjose_header_set(h, CJOSE_HDR_KID, L->kid, &err)
        && cjose_header_set(h, "typ", "license+jwt", &err)) {
        pthread_mutex_lock(&L->mu); /* one key object, used by one thread at a time */
        jws = cjose_jws_sign(L->key, h, (const uint8_t *)payload, strlen(payload), &err);
        pthread_mutex_unlock(&L->mu);
    }
    if (jws && cjose_jws_export(jws, &compact, &err))
        out = strdup(compact);
    cjose_jws_release(jws);
    cjose_header_release(h);
    return out;
}

/* ---- whose licenses --------------------------------------------------------------------- */

static int
cache_get(struct lic *L, const char *sub, char holder[65])
{
    int64_t now = time(NULL);
    int found = 0;

    pthread_mutex_lock(&L->mu);
    for (size_t i = 0; i < CACHE_MAX && !found; i++)
        if (L->cache[i].exp > now && strcmp(L->cache[i].sub, sub) == 0) {
            memcpy(holder, L->cache[i].holder, 65);
            found = 1;
        }
    pthread_mutex_unlock(&L->mu);
    return found;
}

static void
cache_put(struct lic *L, const char *sub, const char holder[65], int64_t exp)
{
    int64_t now = time(NULL);
    size_t slot = 0;

    if (strlen(sub) >= sizeof(L->cache[0].sub))
        return;
    pthread_mutex_lock(&L->mu);
    for (size_t i = 0; i < CACHE_MAX; i++) {
        if (L->cache[i].exp <= now || strcmp(L->cache[i].sub, sub) == 0) {
            slot = i;
            break;
        }
        if (L->cache[i].exp < L->cache[slot].exp)
            slot = i; /* full: evict the soonest to expire */
    }
    snprintf(L->cache[slot].sub, sizeof(L->cache[slot].sub), "%s", sub);
    memcpy(L->cache[slot].holder, holder, 65);
    L->cache[slot].exp = exp;
    pthread_mutex_unlock(&L->mu);
}

/* The holder key (SHA-256 hex of the ID number) of the citizen behind token. 0 ok; 1 authd
 * says the token is not active or releases no id_number; -1 authd unreachable. */
static int
resolve_holder(struct lic *L, const char *token, const struct authd_token_info *ti, char holder[65])
{
    char url[1024], *form = NULL, *body = NULL;
    const char *idn;
    long status = 0;
    json_t *j = NULL;
    int rc = -1;

    if (cache_get(L, ti->sub, holder))
        return 0;
    if ((size_t)snprintf(url, sizeof(url), "%s/introspect", L->issuer) >= sizeof(url)
        || asprintf(&form, "token=%s", token) < 0)
        return -1;
    if (svc_http("POST", url, NULL, L->client_id, L->secret, "application/x-www-form-urlencoded",
                 form, &status, &body)
            == 0
        && status == 200 && (j = json_loads(body, 0, NULL))) {
        rc = 1;
        idn = json_string_value(json_object_get(j, "id_number"));
        if (json_is_true(json_object_get(j, "active")) && idn && strlen(idn) == 18) {
            svc_sha256_hex(idn, 18, holder);
            cache_put(L, ti->sub, holder, ti->exp);
            rc = 0;
        }
    }
    if (body)
        OPENSSL_cleanse(body, strlen(body));
    OPENSSL_cleanse(form, strlen(form));
    free(form);
    free(body);
    json_decref(j);
    return rc;
}

/* ---- handlers ----------------------------------------------------------------------------- */

static json_t *
find(struct lic *L, const char *id)
{
    size_t i;
    json_t *l;

    json_array_foreach(L->licenses, i, l)
    {
        const char *lid = json_string_value(json_object_get(l, "id"));
        if (lid && strcmp(lid, id) == 0)
            return l;
    }
    return NULL;
}

/* The public view of a license: everything but the holder key. */
static json_t *
public_view(json_t *l)
{
    json_t *o = json_deep_copy(l);

    json_object_del(o, "holder");
    return o;
}

static void
list(struct lic *L, const char *holder, struct svc_resp *rs)
{
    json_t *out = json_array(), *l;
    size_t i;

    json_array_foreach(L->licenses, i, l)
    {
        if (strcmp(json_string_value(json_object_get(l, "holder")) ?: "", holder) == 0)
            json_array_append_new(out, public_view(l));
    }
    svc_json(rs, 200, json_pack("{s:o}", "licenses", out));
}

static void
one(struct lic *L, const char *holder, const char *rest, struct svc_resp *rs)
{
    char id[128];
    size_t n = strlen(rest);
    int as_jws = n > 4 && strcmp(rest + n - 4, ".jws") == 0;
    json_t *l, *v;
    char *payload, *jws;

    if (as_jws)
        n -= 4;
    if (n == 0 || n >= sizeof(id) || strchr(rest, '/')) {
        svc_error(rs, 404, "not_found", "no such license");
        return;
    }
    memcpy(id, rest, n);
    id[n] = 0;
    /* another citizen's license is "not found": its existence is not disclosed */
    if (!(l = find(L, id))
        || strcmp(json_string_value(json_object_get(l, "holder")) ?: "", holder)) {
        svc_error(rs, 404, "not_found", "no such license");
        return;
    }
    v = public_view(l);
    if (!as_jws) {
        svc_json(rs, 200, v);
        return;
    }
    json_object_set_new(v, "iss", json_string(L->self));
    json_object_set_new(v, "iat", json_integer(time(NULL)));
    payload = json_dumps(v, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(v);
    if (!payload || !(jws = sign(L, payload))) {
        free(payload);
        svc_error(rs, 500, "server_error", "cannot sign");
        return;
    }
    free(payload);
    rs->status = 200;
    rs->body = jws;
    rs->ctype = "application/jose";
}

static void
handle(void *arg, const struct svc_req *rq, struct svc_resp *rs)
{
    struct lic *L = arg;
    struct authd_token_info ti = {0};
    char agent[96];
    char holder[65];
    int r;

    if (strcmp(rq->method, "GET") != 0) {
        svc_error(rs, 405, "invalid_request", "GET only");
        return;
    }
    if (strcmp(rq->path, "/.well-known/jwks.json") == 0) {
        rs->status = 200;
        rs->body = strdup(L->jwks);
        rs->ctype = "application/jwk-set+json";
        return;
    }
    if (strcmp(rq->path, "/healthz") == 0) {
        svc_json(rs, 200, json_pack("{s:s}", "status", "ok"));
        return;
    }
    if (strcmp(rq->path, "/v1/licenses") != 0 && strncmp(rq->path, "/v1/licenses/", 13) != 0) {
        svc_error(rs, 404, "not_found", "no such resource");
        return;
    }
    if (svc_bearer(L->ac, rq, "license.read", L->acr, rs, &ti) != 0)
        return;
    if ((r = resolve_holder(L, svc_bearer_token(rq), &ti, holder)) != 0) {
        if (r < 0)
            svc_error(rs, 503, "temporarily_unavailable", "authd cannot be reached");
        else
            svc_error(rs, 403, "access_denied", "the token names no citizen known here");
    } else if (strcmp(rq->path, "/v1/licenses") == 0) {
        list(L, holder, rs);
    } else {
        one(L, holder, rq->path + 13, rs);
    }
    svc_agent(&ti, agent, sizeof(agent)); /* the citizen (sub) and who acts for them */
    svc_log(NAME, "request", "path", rq->path, "client", ti.client_id, "sub", ti.sub, "act",
            ti.act_sub, "agent", agent, "status", rs->status == 200 ? "200" : "refused", NULL);
    authd_token_info_clear(&ti);
}

/* ---- start ------------------------------------------------------------------------------ */

struct opts {
    const char *listen, *issuer, *self, *data, *key, *client_id, *secret_file, *acr, *audience;
    int allow_http;
};

static int
parse_opts(int argc, char **argv, struct opts *o)
{
    static const struct option lo[] = {
        {"listen", 1, 0, 'l'},      {"issuer", 1, 0, 'i'}, {"self", 1, 0, 's'},
        {"data", 1, 0, 'd'},        {"key", 1, 0, 'k'},    {"client-id", 1, 0, 'c'},
        {"secret-file", 1, 0, 'f'}, {"acr", 1, 0, 'a'},    {"audience", 1, 0, 'u'},
        {"allow-http", 0, 0, 'h'},  {0, 0, 0, 0}};
    int ch;

    *o = (struct opts){.listen = "127.0.0.1:8090", .client_id = "license-service"};
    while ((ch = getopt_long(argc, argv, "", lo, NULL)) != -1) {
        switch (ch) {
        case 'l':
            o->listen = optarg;
            break;
        case 'i':
            o->issuer = optarg;
            break;
        case 's':
            o->self = optarg;
            break;
        case 'd':
            o->data = optarg;
            break;
        case 'k':
            o->key = optarg;
            break;
        case 'c':
            o->client_id = optarg;
            break;
        case 'f':
            o->secret_file = optarg;
            break;
        case 'a':
            o->acr = optarg;
            break;
        case 'u':
            o->audience = optarg;
            break;
        case 'h':
            o->allow_http = 1;
            break;
        default:
            return -1;
        }
    }
    return o->issuer && o->self && o->data && o->key && o->secret_file ? 0 : -1;
}

static int
setup(struct lic *L, const struct opts *o)
{
    const char *auds[] = {o->audience ? o->audience : o->client_id, NULL};
    struct authd_client_config cc = {.issuer = o->issuer,
                                     .audiences = auds,
                                     .allow_http = o->allow_http,
                                     .leeway_s = 30,
                                     .client_id = o->client_id};
    char *data = NULL;
    json_t *j;

    if (svc_read_file(o->secret_file, &L->secret) != 0)
        return fprintf(stderr, "authd-license: cannot read %s\n", o->secret_file), -1;
    L->secret[strcspn(L->secret, "\r\n")] = 0;
    cc.client_secret = L->secret;
    if (svc_read_file(o->data, &data) != 0 || !(j = json_loads(data, 0, NULL))
        || !json_is_array(L->licenses = json_incref(json_object_get(j, "licenses"))))
        return free(data), fprintf(stderr, "authd-license: bad data file %s\n", o->data), -1;
    json_decref(j);
    free(data);
    if (!(L->key = load_key(o->key)) || make_jwks(L) != 0)
        return fprintf(stderr, "authd-license: cannot load or create %s\n", o->key), -1;
    if (authd_client_new(&cc, &L->ac) != AUTHD_OK)
        return fprintf(stderr, "authd-license: bad authd client configuration\n"), -1;
    L->issuer = o->issuer, L->self = o->self, L->client_id = o->client_id, L->acr = o->acr;
    pthread_mutex_init(&L->mu, NULL);
    return 0;
}

int
main(int argc, char **argv)
{
    static struct lic L;
    struct svc *s = NULL;
    struct opts o;

    if (parse_opts(argc, argv, &o) != 0) {
        fprintf(stderr, "usage: authd-license --issuer URL --self URL --data FILE --key FILE "
                        "--secret-file FILE [--listen ADDR:PORT] [--client-id ID] "
                        "[--acr ACR] [--allow-http]\n");
        return 2;
    }
    curl_global_init(CURL_GLOBAL_DEFAULT);
    svc_block_signals();
    if (setup(&L, &o) != 0 || svc_start(o.listen, handle, &L, &s) != 0)
        return 1;
    svc_log(NAME, "start", "listen", o.listen, "kid", L.kid, NULL);
    svc_wait();
    svc_stop(s);
    authd_client_free(L.ac);
    cjose_jwk_release(L.key);
    json_decref(L.licenses);
    free(L.jwks);
    OPENSSL_cleanse(L.secret, strlen(L.secret));
    free(L.secret);
    curl_global_cleanup();
    return 0;
}
