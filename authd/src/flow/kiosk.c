/* Enrolled kiosks: the registry files and the verification of kiosk certificates
 * (flow/kiosk.h). OpenSSL does the X.509 work: chain, dates, CRL. */
#include "flow/kiosk.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "conf/policy.h"
#include "core/authz.h"
#include "core/jose.h"
#include "core/jsonget.h"

/* A certificate verified under one CRL generation: the same DER (its SHA-256) verifies the
 * same way until the CRL changes or its dates run out, so the decode and the chain building
 * are done once per certificate and CRL (the registry record is still read at every use). */
#define KIOSK_CACHE_SLOTS 64

struct verified {
    char x5t[KIOSK_X5T_LEN + 1];
    char id[KIOSK_ID_MAX + 1];
    char serial[80];
    char *jwk;
    int64_t not_before, not_after;
    uint64_t gen;
};

struct kiosk_trust {
    X509 *ca;
    char *crl_path;
    char *dir;
    pthread_mutex_t mu;
    X509_STORE *store; /* the CA and the CRL in force; NULL: no usable CRL */
    struct timespec crl_mtime;
    off_t crl_size;
    int64_t checked_ms; /* when the CRL's mtime was last looked at */
    uint64_t gen;       /* bumped whenever the store in force changes */
    int64_t crl_next;   /* the CRL's nextUpdate: from then on nothing verifies (fail closed) */
    struct verified cache[KIOSK_CACHE_SLOTS];
    size_t next;
};

bool
kiosk_id_valid(struct span s)
{
    char id[KIOSK_ID_MAX + 1];

    if (s.len == 0 || s.len > KIOSK_ID_MAX || memchr(s.p, 0, s.len))
        return false;
    memcpy(id, s.p, s.len);
    id[s.len] = 0;
    return policy_id_valid(id);
}

enum rc
kiosk_trust_new(const struct config *cfg, struct kiosk_trust **out, struct rc_info *ri)
{
    struct kiosk_trust *t;
    FILE *f;

    *out = NULL;
    if (!cfg->kiosk_ca)
        return RC_OK;
    if (!(f = fopen(cfg->kiosk_ca, "r")))
        return rc_set(ri, RC_NOT_FOUND, "kiosk_ca", "cannot open the kiosk CA certificate");
    if (!(t = calloc(1, sizeof(*t)))) {
        fclose(f);
        return RC_NOMEM;
    }
    t->ca = PEM_read_X509(f, NULL, NULL, NULL);
    fclose(f);
    t->crl_path = strdup(cfg->kiosk_crl);
    t->dir = strdup(cfg->kiosk_dir);
    pthread_mutex_init(&t->mu, NULL);
    if (!t->ca || !t->crl_path || !t->dir) {
        kiosk_trust_free(t);
        return rc_set(ri, RC_MALFORMED, "kiosk_ca", "not a PEM certificate");
    }
    *out = t;
    return RC_OK;
}

void
kiosk_trust_free(struct kiosk_trust *t)
{
    if (!t)
        return;
    X509_free(t->ca);
    X509_STORE_free(t->store);
    for (size_t i = 0; i < KIOSK_CACHE_SLOTS; i++)
        free(t->cache[i].jwk);
    pthread_mutex_destroy(&t->mu);
    free(t->crl_path);
    free(t->dir);
    free(t);
}

static int64_t
asn1_unix(const ASN1_TIME *t)
{
    struct tm tm;

    return t && ASN1_TIME_to_tm(t, &tm) == 1 ? (int64_t)timegm(&tm) : 0;
}

/* A new store holding the anchor and the CRL at t->crl_path, or NULL. */
static X509_STORE *
store_load(struct kiosk_trust *t)
{
    X509_STORE *st = X509_STORE_new();
    X509_CRL *crl = NULL;
    FILE *f = fopen(t->crl_path, "r");
    bool ok = false;

    if (st && f && (crl = PEM_read_X509_CRL(f, NULL, NULL, NULL))
        && (t->crl_next = asn1_unix(X509_CRL_get0_nextUpdate(crl))) > 0
        && X509_STORE_add_cert(st, t->ca) == 1 && X509_STORE_add_crl(st, crl) == 1) {
        /* the kiosk CA is the anchor though it is not self-signed; the CRL covers leaves */
        X509_STORE_set_flags(st, X509_V_FLAG_PARTIAL_CHAIN | X509_V_FLAG_CRL_CHECK
                                     | X509_V_FLAG_X509_STRICT);
        ok = true;
    }
    if (f)
        fclose(f);
    X509_CRL_free(crl);
    if (!ok) {
        X509_STORE_free(st);
        return NULL;
    }
    return st;
}

/* The store in force, up-referenced; the CRL reloaded when its file changed (looked at
 * at most every 500 ms). NULL: no usable CRL (fail closed). */
static X509_STORE *
store_current(struct app *app, struct kiosk_trust *t, uint64_t *gen)
{
    int64_t now = clock_mono_us(app->clock) / 1000;
    X509_STORE *st = NULL;
    struct stat sb;

    pthread_mutex_lock(&t->mu);
    if (!t->store || now - t->checked_ms >= 500) {
        t->checked_ms = now;
        if (stat(t->crl_path, &sb) != 0) {
            X509_STORE_free(t->store);
            t->store = NULL;
            t->gen++;
        } else if (!t->store || sb.st_mtim.tv_sec != t->crl_mtime.tv_sec
                   || sb.st_mtim.tv_nsec != t->crl_mtime.tv_nsec || sb.st_size != t->crl_size) {
            X509_STORE *fresh = store_load(t);
            t->gen++;
            if (fresh) { /* a CRL being rewritten is tried again at the next look */
                X509_STORE_free(t->store);
                t->store = fresh;
                t->crl_mtime = sb.st_mtim;
                t->crl_size = sb.st_size;
            } else {
                X509_STORE_free(t->store);
                t->store = NULL;
            }
        }
    }
    if (t->store && clock_now(app->clock) < t->crl_next && X509_STORE_up_ref(t->store) == 1)
        st = t->store;
    *gen = t->gen;
    pthread_mutex_unlock(&t->mu);
    return st;
}

/* The kiosk id of the SAN URI urn:authd:kiosk:<id>, which the CN must repeat. */
static bool
cert_kiosk_id(X509 *x, char id[KIOSK_ID_MAX + 1])
{
    GENERAL_NAMES *gens = X509_get_ext_d2i(x, NID_subject_alt_name, NULL, NULL);
    X509_NAME *subj = X509_get_subject_name(x);
    char cn[KIOSK_ID_MAX + 2];
    int found = 0, n;

    id[0] = 0;
    for (int i = 0; gens && i < sk_GENERAL_NAME_num(gens); i++) {
        GENERAL_NAME *g = sk_GENERAL_NAME_value(gens, i);
        const unsigned char *u;
        int len;

        if (g->type != GEN_URI)
            continue;
        u = ASN1_STRING_get0_data(g->d.uniformResourceIdentifier);
        len = ASN1_STRING_length(g->d.uniformResourceIdentifier);
        if (len <= (int)strlen(KIOSK_URN) || memcmp(u, KIOSK_URN, strlen(KIOSK_URN)) != 0)
            continue;
        if (found++
            || !kiosk_id_valid(span_of(u + strlen(KIOSK_URN), (size_t)len - strlen(KIOSK_URN))))
            found = 2; /* two kiosk names, or a bad one */
        else
            memcpy(id, u + strlen(KIOSK_URN), (size_t)len - strlen(KIOSK_URN)),
                id[len - strlen(KIOSK_URN)] = 0;
    }
    GENERAL_NAMES_free(gens);
    if (found != 1)
        return false;
    n = X509_NAME_get_text_by_NID(subj, NID_commonName, cn, sizeof(cn));
    return n > 0 && (size_t)n == strlen(id) && strcmp(cn, id) == 0;
}

/* The public key of x as a JWK (EC P-256 only: what enrolment issues). */
static const char *
cert_jwk(struct arena *a, X509 *x)
{
    EVP_PKEY *k = X509_get0_pubkey(x);
    unsigned char pub[65];
    size_t n = 0;
    char curve[32] = "";
    struct span xs, ys;
    const char *out = NULL;
    json_t *j;
    char *s;

    if (!k || EVP_PKEY_get_base_id(k) != EVP_PKEY_EC
        || EVP_PKEY_get_utf8_string_param(k, OSSL_PKEY_PARAM_GROUP_NAME, curve, sizeof(curve), NULL)
               != 1
        || strcmp(curve, "prime256v1") != 0
        || EVP_PKEY_get_octet_string_param(k, OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY, pub, sizeof(pub),
                                           &n)
               != 1
        || n != 65 || pub[0] != 4)
        return NULL;
    if (jose_b64url_encode(span_of(pub + 1, 32), a, &xs) != RC_OK
        || jose_b64url_encode(span_of(pub + 33, 32), a, &ys) != RC_OK)
        return NULL;
    j = json_pack("{s:s,s:s,s:s,s:s}", "kty", "EC", "crv", "P-256", "x", (const char *)xs.p, "y",
                  (const char *)ys.p);
    if (j && (s = json_dumps(j, JSON_COMPACT))) {
        out = arena_strndup(a, s, strlen(s));
        free(s);
    }
    json_decref(j);
    return out;
}

static enum rc
refuse(struct rc_info *ri, const char *msg)
{
    return rc_fail(ri, RC_DENIED, RC_WHY_KIOSK_CERT, "client certificate", msg);
}

/* The expensive part: decode, chain to the kiosk CA under store st, dates, CRL, the kiosk
 * named, its key. RC_OK: *v filled (v->jwk in a). RC_DENIED (ri says why), RC_NOMEM. */
static enum rc
x509_check(struct app *app, X509_STORE *st, struct arena *a, struct span der, struct verified *v,
           struct rc_info *ri)
{
    const unsigned char *p = der.p;
    X509 *x = d2i_X509(NULL, &p, (long)der.len);
    X509_STORE_CTX *ctx = NULL;
    BIGNUM *bn = NULL;
    char *hex = NULL;
    enum rc rc;
    int err;

    if (!x || p != der.p + der.len) {
        X509_free(x);
        return refuse(ri, "not a certificate");
    }
    if (!(ctx = X509_STORE_CTX_new()) || X509_STORE_CTX_init(ctx, st, x, NULL) != 1) {
        rc = RC_NOMEM;
        goto out;
    }
    X509_STORE_CTX_set_purpose(ctx, X509_PURPOSE_SSL_CLIENT);
    X509_VERIFY_PARAM_set_time(X509_STORE_CTX_get0_param(ctx), (time_t)clock_now(app->clock));
    if (X509_verify_cert(ctx) != 1) {
        err = X509_STORE_CTX_get_error(ctx);
        rc = refuse(ri, err == X509_V_ERR_CERT_REVOKED         ? "revoked"
                        : err == X509_V_ERR_CERT_HAS_EXPIRED   ? "expired"
                        : err == X509_V_ERR_CERT_NOT_YET_VALID ? "not yet valid"
                        : err == X509_V_ERR_CRL_HAS_EXPIRED
                            ? "the kiosk CA's revocation list is out of date"
                            : "not issued by the kiosk CA");
        goto out;
    }
    if (!cert_kiosk_id(x, v->id)) {
        rc = refuse(ri, "names no kiosk (SAN URI urn:authd:kiosk:ID and CN ID)");
        goto out;
    }
    if ((bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(x), NULL)) && (hex = BN_bn2hex(bn)))
        snprintf(v->serial, sizeof(v->serial), "%s", hex);
    v->not_before = asn1_unix(X509_get0_notBefore(x));
    v->not_after = asn1_unix(X509_get0_notAfter(x));
    rc = (v->jwk = (char *)cert_jwk(a, x)) ? RC_OK : refuse(ri, "not an EC P-256 key");
out:
    OPENSSL_free(hex);
    BN_free(bn);
    X509_STORE_CTX_free(ctx);
    X509_free(x);
    return rc;
}

/* A cached verification of x5t under generation gen, valid at now: copied into *v (jwk
 * into a). */
static bool
cache_get(struct kiosk_trust *t, struct arena *a, const char *x5t, uint64_t gen, int64_t now,
          struct verified *v)
{
    bool hit = false;

    pthread_mutex_lock(&t->mu);
    for (size_t i = 0; i < KIOSK_CACHE_SLOTS && !hit; i++) {
        struct verified *c = &t->cache[i];
        if (c->jwk && c->gen == gen && now >= c->not_before && now < c->not_after
            && strcmp(c->x5t, x5t) == 0) {
            *v = *c;
            hit = (v->jwk = arena_strndup(a, c->jwk, strlen(c->jwk))) != NULL;
        }
    }
    pthread_mutex_unlock(&t->mu);
    return hit;
}

static void
cache_put(struct kiosk_trust *t, const struct verified *v)
{
    struct verified *c;
    char *jwk = strdup(v->jwk);

    if (!jwk)
        return;
    pthread_mutex_lock(&t->mu);
    c = &t->cache[t->next++ % KIOSK_CACHE_SLOTS];
    free(c->jwk);
    *c = *v;
    c->jwk = jwk;
    pthread_mutex_unlock(&t->mu);
}

enum rc
kiosk_cert_verify(struct app *app, struct arena *a, struct span der, struct kiosk_cert *out,
                  struct rc_info *ri)
{
    struct kiosk_trust *t = app->kiosk;
    struct kiosk_rec *rec = arena_alloc(a, sizeof(*rec));
    struct verified v = {0};
    int64_t now = clock_now(app->clock);
    unsigned char md[32];
    unsigned mdn = 0;
    struct span x5t;
    X509_STORE *st;
    uint64_t gen = 0;
    enum rc rc;

    memset(out, 0, sizeof(*out));
    if (!t)
        return rc_fail(ri, RC_UNAVAILABLE, RC_WHY_KIOSK_CERT, "client certificate",
                       "the kiosk channel is not configured");
    if (der.len == 0 || der.len > KIOSK_CERT_MAX)
        return refuse(ri, "not a certificate");
    if (!rec || EVP_Digest(der.p, der.len, md, &mdn, EVP_sha256(), NULL) != 1
        || jose_b64url_encode(span_of(md, 32), a, &x5t) != RC_OK || x5t.len != KIOSK_X5T_LEN)
        return RC_NOMEM;
    if (!(st = store_current(app, t, &gen)))
        return refuse(ri, "the kiosk CA's revocation list is unavailable");
    memcpy(v.x5t, x5t.p, KIOSK_X5T_LEN + 1);
    v.gen = gen;
    if (!cache_get(t, a, v.x5t, gen, now, &v)) {
        rc = x509_check(app, st, a, der, &v, ri);
        if (rc == RC_OK)
            cache_put(t, &v);
    } else {
        rc = RC_OK;
    }
    X509_STORE_free(st);
    if (rc != RC_OK)
        return rc;
    if (kiosk_rec_get(t->dir, a, v.id, rec) != RC_OK)
        return refuse(ri, "not an enrolled kiosk");
    if (rec->revoked || !rec->serial || strcasecmp(rec->serial, v.serial) != 0)
        return refuse(ri, rec->revoked ? "revoked" : "not the kiosk's current certificate");
    memcpy(out->id, v.id, sizeof(out->id));
    memcpy(out->x5t, v.x5t, sizeof(out->x5t));
    out->jwk = v.jwk;
    out->rec = rec;
    return RC_OK;
}

/* ---- the registry files ----------------------------------------------------------------- */

static enum rc
rec_path(const char *dir, const char *id, char *out, size_t n)
{
    if (!kiosk_id_valid(span_str(id)))
        return RC_MALFORMED;
    if ((size_t)snprintf(out, n, "%s/%s.json", dir, id) >= n)
        return RC_TOO_LARGE;
    return RC_OK;
}

static const char *
list_of(struct arena *a, json_t *arr)
{
    struct buf b;
    size_t i;
    json_t *v;
    const char *s;

    buf_init(&b, 4096);
    json_array_foreach(arr, i, v)
    {
        if (json_is_string(v))
            buf_printf(&b, "%s%s", b.len ? " " : "", json_string_value(v));
    }
    s = arena_strndup(a, b.p ? (const char *)b.p : "", b.len);
    buf_clear(&b);
    return s;
}

enum rc
kiosk_rec_get(const char *dir, struct arena *a, const char *id, struct kiosk_rec *out)
{
    char path[4096], text[KIOSK_RECORD_MAX + 1];
    json_t *o;
    ssize_t n;
    int fd;
    enum rc rc;

    memset(out, 0, sizeof(*out));
    if ((rc = rec_path(dir, id, path, sizeof(path))) != RC_OK)
        return rc == RC_MALFORMED ? RC_NOT_FOUND : rc;
    if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
        return RC_NOT_FOUND;
    n = read(fd, text, sizeof(text));
    close(fd);
    if (n < 0)
        return RC_NOT_FOUND;
    if ((size_t)n > KIOSK_RECORD_MAX)
        return RC_TOO_LARGE;
    if (!(o = json_loadb(text, (size_t)n, JSON_REJECT_DUPLICATES, NULL)) || !json_is_object(o)) {
        json_decref(o);
        return RC_MALFORMED;
    }
    out->id = jsonget_str(a, o, "id");
    out->location = jsonget_str(a, o, "location");
    out->operator_name = jsonget_str(a, o, "operator");
    out->serial = jsonget_str(a, o, "serial");
    out->services = list_of(a, json_object_get(o, "services"));
    out->clients = list_of(a, json_object_get(o, "clients"));
    out->enrolled_at = json_integer_value(json_object_get(o, "enrolled_at"));
    out->not_after = json_integer_value(json_object_get(o, "not_after"));
    out->revoked_at = json_integer_value(json_object_get(o, "revoked_at"));
    out->revoked = jsonget_str_is(json_object_get(o, "state"), "revoked");
    json_decref(o);
    if (!out->id || strcmp(out->id, id) != 0 || !out->services || !out->clients)
        return RC_MALFORMED;
    if (!out->location)
        out->location = "";
    return RC_OK;
}

static json_t *
json_list(const char *s)
{
    json_t *arr = json_array();
    while (arr && s && *s) {
        size_t n = strcspn(s, " ");
        if (n)
            json_array_append_new(arr, json_stringn(s, n));
        s += n;
        while (*s == ' ')
            s++;
    }
    return arr;
}

enum rc
kiosk_rec_put(const char *dir, const struct kiosk_rec *r)
{
    char path[4096], tmp[4200];
    json_t *o;
    enum rc rc = RC_INTERNAL;

    if ((rc = rec_path(dir, r->id, path, sizeof(path))) != RC_OK)
        return rc;
    if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= sizeof(tmp))
        return RC_TOO_LARGE;
    o = json_pack("{s:s,s:s,s:o,s:o,s:s,s:I,s:s,s:I,s:s}", "id", r->id, "location",
                  r->location ? r->location : "", "services", json_list(r->services), "clients",
                  json_list(r->clients), "operator", r->operator_name ? r->operator_name : "",
                  "enrolled_at", (json_int_t)r->enrolled_at, "serial", r->serial ? r->serial : "",
                  "not_after", (json_int_t)r->not_after, "state",
                  r->revoked ? "revoked" : "active");
    if (!o)
        return RC_NOMEM;
    if (r->revoked)
        json_object_set_new(o, "revoked_at", json_integer(r->revoked_at));
    rc = RC_INTERNAL;
    if (json_dump_file(o, tmp, JSON_INDENT(2) | JSON_SORT_KEYS) == 0 && chmod(tmp, 0644) == 0
        && rename(tmp, path) == 0)
        rc = RC_OK;
    else
        unlink(tmp);
    json_decref(o);
    return rc;
}

bool
kiosk_allows_client(const struct kiosk_rec *r, const char *client_id)
{
    return r->clients && authz_list_has(span_str(r->clients), client_id);
}

bool
kiosk_allows_scope(const struct kiosk_rec *r, const char *scope)
{
    const char *s = scope;

    while (*s) {
        size_t n = strcspn(s, " ");
        char one[128];
        if (n && n < sizeof(one)) {
            memcpy(one, s, n);
            one[n] = 0;
            if (strcmp(one, "openid") != 0 && !authz_list_has(span_str(r->services), one))
                return false;
        } else if (n) {
            return false;
        }
        s += n;
        while (*s == ' ')
            s++;
    }
    return true;
}
