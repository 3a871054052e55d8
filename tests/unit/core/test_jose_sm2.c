/* SM2 with SM3 (JWS alg SM2SM3, JWK kty EC crv SM2): the row of the algorithm table that is
 * not cjose's. Tokens are also built here directly with OpenSSL (another distinguishing ID,
 * another encoding of the signature) to show what core/jose refuses. */
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "core/jose.h"
#include "test.h"

static const struct jose_verify_opts sm2_only = {JOSE_SM2SM3, NULL};

/* A sealed key set holding one generated SM2 signing key (cached). */
static struct jose_keyset *
sm2_signer(void)
{
    static struct jose_keyset *ks;
    struct buf jwk;

    if (ks)
        return ks;
    buf_init(&jwk, 0);
    if (jose_key_generate(JOSE_SM2SM3, &jwk) == RC_OK && jose_keyset_new(&ks) == RC_OK
        && (jose_keyset_add_jwk(ks, buf_span(&jwk), JOSE_KEY_SIGN, NULL) != RC_OK
            || jose_keyset_seal(ks) != RC_OK)) {
        jose_keyset_release(ks);
        ks = NULL;
    }
    buf_clear(&jwk);
    return ks;
}

static struct span
sm2_token(struct arena *a)
{
    struct span t = {0};

    if (jose_sign(sm2_signer(), JOSE_SM2SM3, "at+jwt", SPAN("{\"sub\":\"s1\"}"), a, &t, NULL)
        != RC_OK)
        t.len = 0;
    return t;
}

static enum rc
sm2_check(struct arena *a, struct span t)
{
    struct span payload;

    return jose_verify(sm2_signer(), &sm2_only, t, a, &payload, NULL, NULL);
}

/* t with its signature part replaced by the base64url of sig (n bytes). */
static struct span
with_sig(struct arena *a, struct span t, const uint8_t *sig, size_t n)
{
    const char *c = arena_span_dup(a, t), *dot = strrchr(c, '.');
    struct span enc;

    if (jose_b64url_encode(span_of(sig, n), a, &enc) != RC_OK)
        return (struct span){0};
    return span_str(arena_printf(a, "%.*s.%s", (int)(dot - c), c, (const char *)enc.p));
}

/* The raw signature of t. */
static struct span
sig_of(struct arena *a, struct span t)
{
    const char *c = arena_span_dup(a, t);
    struct span s = {0};

    jose_b64url_decode(span_str(strrchr(c, '.') + 1), a, &s);
    return s;
}

TEST(jose_sm2_round_trip)
{
    struct jose_verify_opts o = {JOSE_SM2SM3, "at+jwt"};
    struct arena a;
    struct span t, payload, hdr;
    struct jose_header h;
    const char *c;

    REQUIRE(sm2_signer() != NULL);
    arena_init(&a, 0);
    t = sm2_token(&a);
    REQUIRE(t.len > 0);
    CHECK_RC(jose_verify(sm2_signer(), &o, t, &a, &payload, &h, NULL), RC_OK);
    CHECK_SPAN(payload, "{\"sub\":\"s1\"}");
    CHECK_INT(h.alg, JOSE_SM2SM3);
    CHECK_STR(h.typ, "at+jwt");
    CHECK_STR(h.kid, jose_keyset_signing_kid(sm2_signer(), JOSE_SM2SM3));
    c = arena_span_dup(&a, t);
    REQUIRE(jose_b64url_decode(span_of(c, (size_t)(strchr(c, '.') - c)), &a, &hdr) == RC_OK);
    CHECK(strstr((const char *)hdr.p, "\"alg\":\"SM2SM3\"") != NULL);
    CHECK_INT(sig_of(&a, t).len, 64);
    /* the key decides: an allow-list without SM2SM3 refuses the token */
    CHECK_RC(jose_verify(sm2_signer(), &(struct jose_verify_opts){JOSE_ES256, NULL}, t, &a,
                         &payload, NULL, NULL),
             RC_DENIED);
    arena_clear(&a);
}

TEST(jose_sm2_flipped_bit_is_denied)
{
    struct arena a;
    struct span t, sig;
    uint8_t flipped[64];
    char *c;

    arena_init(&a, 0);
    t = sm2_token(&a);
    sig = sig_of(&a, t);
    REQUIRE(sig.len == 64);
    for (size_t i = 0; i < 64; i += 21) {
        memcpy(flipped, sig.p, 64);
        flipped[i] ^= 0x01;
        CHECK_RC(sm2_check(&a, with_sig(&a, t, flipped, 64)), RC_DENIED);
    }
    /* a bit of the signed payload */
    c = arena_span_dup(&a, t);
    c[strchr(c, '.') - c + 2] ^= 0x01;
    CHECK_RC(sm2_check(&a, span_str(c)), RC_DENIED);
    arena_clear(&a);
}

TEST(jose_sm2_signature_of_wrong_length_is_denied)
{
    struct arena a;
    struct span t, sig;
    uint8_t longer[65] = {0};

    arena_init(&a, 0);
    t = sm2_token(&a);
    sig = sig_of(&a, t);
    REQUIRE(sig.len == 64);
    memcpy(longer + 1, sig.p, 64); /* r‖s with a leading zero byte: same numbers, 65 bytes */
    CHECK_RC(sm2_check(&a, with_sig(&a, t, longer, 65)), RC_DENIED);
    CHECK_RC(sm2_check(&a, with_sig(&a, t, sig.p, 63)), RC_DENIED);
    CHECK_RC(sm2_check(&a, with_sig(&a, t, sig.p, 0)), RC_DENIED);
    CHECK_RC(sm2_check(&a, with_sig(&a, t, sig.p, 64)), RC_OK);
    arena_clear(&a);
}

/* ---- tokens signed by OpenSSL directly ---------------------------------------------------- */

/* An SM2 key pair and the key set holding its public JWK (kid "ext"). */
struct ext_key {
    EVP_PKEY *pkey;
    struct jose_keyset *ks;
};

static char *
b64_bn(struct arena *a, const BIGNUM *bn)
{
    uint8_t b[32];
    struct span s = {0};

    BN_bn2binpad(bn, b, 32);
    jose_b64url_encode(span_of(b, 32), a, &s);
    return (char *)s.p;
}

static bool
ext_key_init(struct ext_key *k, struct arena *a)
{
    BIGNUM *x = NULL, *y = NULL;
    char *jwk;
    bool ok;

    k->ks = NULL;
    k->pkey = EVP_PKEY_Q_keygen(NULL, NULL, "SM2");
    ok = k->pkey && EVP_PKEY_get_bn_param(k->pkey, OSSL_PKEY_PARAM_EC_PUB_X, &x) == 1
         && EVP_PKEY_get_bn_param(k->pkey, OSSL_PKEY_PARAM_EC_PUB_Y, &y) == 1;
    if (ok) {
        jwk = arena_printf(a,
                           "{\"kty\":\"EC\",\"crv\":\"SM2\",\"kid\":\"ext\",\"x\":\"%s\","
                           "\"y\":\"%s\"}",
                           b64_bn(a, x), b64_bn(a, y));
        ok = jose_keyset_new(&k->ks) == RC_OK
             && jose_keyset_add_jwk(k->ks, span_str(jwk), 0, NULL) == RC_OK
             && jose_keyset_seal(k->ks) == RC_OK;
    }
    BN_free(x);
    BN_free(y);
    return ok;
}

static void
ext_key_clear(struct ext_key *k)
{
    EVP_PKEY_free(k->pkey);
    jose_keyset_release(k->ks);
}

/* A token {"alg":"SM2SM3","kid":"ext"}.{"sub":"s1"} signed by OpenSSL with distinguishing ID
 * id (NULL: OpenSSL's default, empty), signature as r‖s or, if der, as OpenSSL's DER. */
static struct span
ext_token(struct arena *a, EVP_PKEY *pkey, const char *id, bool der)
{
    struct span h, p;
    EVP_MD_CTX *m = EVP_MD_CTX_new();
    EVP_PKEY_CTX *pctx = NULL;
    uint8_t sig[80], raw[64];
    size_t n = sizeof(sig);
    const unsigned char *q = sig;
    ECDSA_SIG *es = NULL;
    const BIGNUM *r, *s;
    char *input;

    jose_b64url_encode(SPAN("{\"alg\":\"SM2SM3\",\"kid\":\"ext\"}"), a, &h);
    jose_b64url_encode(SPAN("{\"sub\":\"s1\"}"), a, &p);
    input = arena_printf(a, "%s.%s", (const char *)h.p, (const char *)p.p);
    if (EVP_DigestSignInit_ex(m, &pctx, "SM3", NULL, NULL, pkey, NULL) != 1
        || (id && EVP_PKEY_CTX_set1_id(pctx, id, (int)strlen(id)) != 1)
        || EVP_DigestSign(m, sig, &n, (const uint8_t *)input, strlen(input)) != 1) {
        EVP_MD_CTX_free(m);
        return (struct span){0};
    }
    EVP_MD_CTX_free(m);
    if (der)
        return with_sig(a, span_str(arena_printf(a, "%s.x", input)), sig, n);
    es = d2i_ECDSA_SIG(NULL, &q, (long)n);
    ECDSA_SIG_get0(es, &r, &s);
    BN_bn2binpad(r, raw, 32);
    BN_bn2binpad(s, raw + 32, 32);
    ECDSA_SIG_free(es);
    return with_sig(a, span_str(arena_printf(a, "%s.x", input)), raw, 64);
}

static enum rc
ext_check(struct arena *a, const struct ext_key *k, struct span t)
{
    struct span payload;

    return jose_verify(k->ks, &sm2_only, t, a, &payload, NULL, NULL);
}

/* Only the GM/T 0009 default ID verifies: OpenSSL's own default (empty) and any other ID
 * give another Z, hence another signed digest. */
TEST(jose_sm2_other_distinguishing_id_is_denied)
{
    struct arena a;
    struct ext_key k;

    arena_init(&a, 0);
    REQUIRE(ext_key_init(&k, &a));
    CHECK_RC(ext_check(&a, &k, ext_token(&a, k.pkey, JOSE_SM2_ID, false)), RC_OK);
    CHECK_RC(ext_check(&a, &k, ext_token(&a, k.pkey, "1234567812345679", false)), RC_DENIED);
    CHECK_RC(ext_check(&a, &k, ext_token(&a, k.pkey, NULL, false)), RC_DENIED);
    CHECK_RC(ext_check(&a, &k, ext_token(&a, k.pkey, "alice@example", false)), RC_DENIED);
    /* the same signature in DER (ASN.1) is not the JWS form */
    CHECK_RC(ext_check(&a, &k, ext_token(&a, k.pkey, JOSE_SM2_ID, true)), RC_DENIED);
    ext_key_clear(&k);
    arena_clear(&a);
}

/* ---- JWK with crv SM2 ------------------------------------------------------------------- */

/* The generated private JWK of the signer, its members as an object (caller decrefs). */
static json_t *
generated_jwk(void)
{
    struct buf b;
    json_t *o;

    buf_init(&b, 0);
    if (jose_key_generate(JOSE_SM2SM3, &b) != RC_OK) {
        buf_clear(&b);
        return NULL;
    }
    o = json_loadb((const char *)b.p, b.len, 0, NULL);
    buf_clear(&b);
    return o;
}

static enum rc
add_obj(json_t *o, unsigned flags, struct rc_info *ri)
{
    struct jose_keyset *ks = NULL;
    char *s = json_dumps(o, JSON_COMPACT);
    enum rc rc;

    if (jose_keyset_new(&ks) != RC_OK)
        return RC_NOMEM;
    rc = jose_keyset_add_jwk(ks, span_str(s), flags, ri);
    OPENSSL_cleanse(s, strlen(s));
    free(s);
    jose_keyset_release(ks);
    return rc;
}

/* o with member name set to v (a string) or removed (v NULL); returns the add_jwk result. */
static enum rc
add_with(json_t *o, const char *name, const char *v, unsigned flags)
{
    json_t *c = json_deep_copy(o);
    enum rc rc;

    if (v)
        json_object_set_new(c, name, json_string(v));
    else
        json_object_del(c, name);
    rc = add_obj(c, flags, NULL);
    json_decref(c);
    return rc;
}

TEST(jose_sm2_jwk_parsed_and_published)
{
    json_t *o = generated_jwk(), *root, *pub;
    struct jose_keyset *ks = NULL;
    struct arena a;
    struct span tp;
    char *s;

    REQUIRE(o != NULL);
    CHECK_STR(json_string_value(json_object_get(o, "kty")), "EC");
    CHECK_STR(json_string_value(json_object_get(o, "crv")), "SM2");
    CHECK_STR(json_string_value(json_object_get(o, "alg")), "SM2SM3");
    CHECK_INT(strlen(json_string_value(json_object_get(o, "x"))), 43);
    CHECK_INT(strlen(json_string_value(json_object_get(o, "d"))), 43);
    s = json_dumps(o, JSON_COMPACT);
    arena_init(&a, 0);
    /* the kid is the RFC 7638 thumbprint over crv, kty, x, y */
    REQUIRE(jose_jwk_thumbprint(span_str(s), &a, &tp) == RC_OK);
    CHECK_STR((const char *)tp.p, json_string_value(json_object_get(o, "kid")));
    REQUIRE(jose_keyset_new(&ks) == RC_OK);
    CHECK_RC(jose_keyset_add_jwk(ks, span_str(s), JOSE_KEY_SIGN, NULL), RC_OK);
    REQUIRE(jose_keyset_seal(ks) == RC_OK);
    root = json_loadb((const char *)jose_keyset_jwks(ks).p, jose_keyset_jwks(ks).len, 0, NULL);
    pub = json_array_get(json_object_get(root, "keys"), 0);
    CHECK(json_object_get(pub, "d") == NULL);
    CHECK_STR(json_string_value(json_object_get(pub, "crv")), "SM2");
    CHECK_STR(json_string_value(json_object_get(pub, "alg")), "SM2SM3");
    CHECK(json_equal(json_object_get(pub, "x"), json_object_get(o, "x")));
    CHECK(json_equal(json_object_get(pub, "y"), json_object_get(o, "y")));
    /* without "alg" an SM2 key is for SM2SM3; in a JWKS it is a verification key */
    CHECK_RC(add_with(o, "alg", NULL, JOSE_KEY_SIGN), RC_OK);
    json_decref(root);
    jose_keyset_release(ks);
    OPENSSL_cleanse(s, strlen(s));
    free(s);
    arena_clear(&a);
    json_decref(o);
}

TEST(jose_sm2_malformed_jwk_is_refused)
{
    json_t *o = generated_jwk(), *other = generated_jwk();
    char x31[64];
    struct arena a;
    struct span x, enc;

    REQUIRE(o != NULL && other != NULL);
    arena_init(&a, 0);
    REQUIRE(jose_b64url_decode(span_str(json_string_value(json_object_get(o, "x"))), &a, &x)
            == RC_OK);
    REQUIRE(jose_b64url_encode(span_of(x.p, 31), &a, &enc) == RC_OK);
    snprintf(x31, sizeof(x31), "%s", (const char *)enc.p);
    CHECK_RC(add_with(o, "x", x31, 0), RC_MALFORMED);     /* a short coordinate */
    CHECK_RC(add_with(o, "y", NULL, 0), RC_MALFORMED);    /* no y */
    CHECK_RC(add_with(o, "x", "AAAA", 0), RC_MALFORMED);  /* too short */
    CHECK_RC(add_with(o, "x", "ab=cd", 0), RC_MALFORMED); /* not base64url */
    /* a point that is not on the curve: another key's y */
    CHECK_RC(add_with(o, "y", json_string_value(json_object_get(other, "y")), 0), RC_MALFORMED);
    /* d of another key: the self-test fails */
    CHECK_RC(add_with(o, "d", json_string_value(json_object_get(other, "d")), JOSE_KEY_SIGN),
             RC_MALFORMED);
    /* d = 0 and d = n (out of range) */
    CHECK_RC(add_with(o, "d", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", JOSE_KEY_SIGN),
             RC_MALFORMED);
    CHECK_RC(add_with(o, "d", "_____v_______________3ID32shxgUrU7v0CTnVQSM", JOSE_KEY_SIGN),
             RC_MALFORMED);
    /* curve and algorithm must agree */
    CHECK_RC(add_with(o, "alg", "ES256", 0), RC_UNSUPPORTED);
    CHECK_RC(add_with(o, "crv", "P-256", 0), RC_UNSUPPORTED); /* alg SM2SM3 on a P-256 key */
    CHECK_RC(add_with(o, "crv", "sm2", 0), RC_UNSUPPORTED);
    CHECK_RC(add_with(o, "x", NULL, 0), RC_MALFORMED);
    arena_clear(&a);
    json_decref(o);
    json_decref(other);
}

/* A JWKS from a client holding an SM2 key next to a P-256 key: both verification keys. */
TEST(jose_sm2_jwks_with_two_key_types)
{
    json_t *o = generated_jwk(), *p = NULL, *set;
    struct buf es;
    struct jose_keyset *ks = NULL;
    char *doc;

    REQUIRE(o != NULL);
    buf_init(&es, 0);
    REQUIRE(jose_key_generate(JOSE_ES256, &es) == RC_OK);
    p = json_loadb((const char *)es.p, es.len, 0, NULL);
    set = json_pack("{s:[O,O]}", "keys", o, p);
    doc = json_dumps(set, JSON_COMPACT);
    json_decref(set);
    CHECK_RC(jose_keyset_parse_jwks(span_str(doc), &ks, NULL), RC_OK);
    CHECK_INT(ks ? jose_keyset_count(ks) : 0, 2);
    jose_keyset_release(ks);
    OPENSSL_cleanse(doc, strlen(doc));
    free(doc);
    buf_clear(&es);
    json_decref(p);
    json_decref(o);
}

/* A sealed key set's SM2 key is shared by the worker threads: each call builds its own EVP
 * context over the one EVP_PKEY. */
#define SM2_THREADS 4
#define SM2_ROUNDS  25

static void *
sm2_worker(void *arg)
{
    long bad = 0;

    (void)arg;
    for (int i = 0; i < SM2_ROUNDS; i++) {
        struct arena a;
        struct span t;
        arena_init(&a, 0);
        t = sm2_token(&a);
        bad += t.len == 0 || sm2_check(&a, t) != RC_OK;
        arena_clear(&a);
    }
    return (void *)bad;
}

TEST(jose_sm2_key_set_signs_and_verifies_from_4_threads)
{
    pthread_t th[SM2_THREADS];
    long bad = 0;

    REQUIRE(sm2_signer() != NULL);
    for (int i = 0; i < SM2_THREADS; i++)
        REQUIRE(pthread_create(&th[i], NULL, sm2_worker, NULL) == 0);
    for (int i = 0; i < SM2_THREADS; i++) {
        void *r;
        pthread_join(th[i], &r);
        bad += (long)r;
    }
    CHECK_INT(bad, 0);
}
