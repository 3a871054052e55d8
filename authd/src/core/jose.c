/* JOSE: key sets, JWS sign/verify, JWT claim checks. See jose.h for the rules. */
#include "core/jose.h"

#include <cjose/cjose.h>
#include <jansson.h>
#include <math.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

struct alg_row;

struct jose_key {
    char kid[JOSE_MAX_KID + 1];
    enum jose_alg alg;
    const struct alg_row *row; /* the algorithm table's row for alg */
    bool priv;
    bool sign;
    size_t sig_len; /* exact signature length in bytes */
    cjose_jwk_t *jwk; /* the key of a cjose row */
    EVP_PKEY *pkey;   /* the key of a row cjose does not know (SM2) */
};

struct jose_keyset {
    atomic_uint refs;
    bool sealed;
    size_t n;
    struct jose_key keys[JOSE_MAX_KEYS];
    char *jwks; /* public JWKS JSON, built by seal */
    size_t jwks_len;
};

/* Members of a JWK that hold private material (RFC 7518 §6). */
static const char *const private_members[] = {"d", "p", "q", "dp", "dq", "qi", "oth", "k"};

/* ---- the algorithm table -------------------------------------------------------------- */

/* Signs payload with k's key: *out is the compact JWS, NUL-terminated, in arena a. */
typedef enum rc (*sign_fn)(const struct jose_key *k, const char *typ, struct span payload,
                           struct arena *a, struct span *out);
/* Verifies the compact JWS token (NUL-terminated, length len) with k's key; the header and
 * the signature's length were checked by the caller. RC_OK or RC_DENIED. */
typedef enum rc (*verify_fn)(const struct jose_key *k, const char *token, size_t len);

static enum rc cjose_sign(const struct jose_key *k, const char *typ, struct span payload,
                          struct arena *a, struct span *out);
static enum rc cjose_verify(const struct jose_key *k, const char *token, size_t len);
static enum rc sm2_sign(const struct jose_key *k, const char *typ, struct span payload,
                        struct arena *a, struct span *out);
static enum rc sm2_verify(const struct jose_key *k, const char *token, size_t len);

/* How the keys of a row are held: imported from a JWK object (its members checked as
 * base64url already; fills k->jwk or k->pkey, RC_MALFORMED or RC_NOMEM), exported as a
 * public JWK object (NULL on failure), generated as a private JWK object (NULL on failure)
 * and freed (wiping private parts). */
struct key_ops {
    enum rc (*import)(json_t *obj, struct jose_key *k);
    json_t *(*public_json)(const struct jose_key *k);
    json_t *(*generate)(const struct alg_row *r);
    void (*free)(struct jose_key *k);
};

static const struct key_ops cjose_keys, sm2_keys;

/* One row per algorithm: everything else in this file reads these columns, never an
 * algorithm's name. SM2 with SM3, which cjose does not have, brings its own key handling
 * and sign and verify functions on OpenSSL's EVP interface. */
struct alg_row {
    struct jose_alg_info info;
    const EVP_MD *(*md)(void); /* the digest of the signature, and of at_hash / c_hash */
    sign_fn sign;
    verify_fn verify;
    const struct key_ops *keys;
};

/* clang-format off */
static const struct alg_row alg_table[] = {
    /* The first row of a key type and curve is the algorithm a JWK without "alg" is for. */
    {{JOSE_ES256, "ES256", "EC", "P-256", 64, true},
     EVP_sha256, cjose_sign, cjose_verify, &cjose_keys},
    {{JOSE_RS256, "RS256", "RSA", NULL, 0, true},
     EVP_sha256, cjose_sign, cjose_verify, &cjose_keys},
    {{JOSE_PS256, "PS256", "RSA", NULL, 0, true},
     EVP_sha256, cjose_sign, cjose_verify, &cjose_keys},
    {{JOSE_ES384, "ES384", "EC", "P-384", 96, false},
     EVP_sha384, cjose_sign, cjose_verify, &cjose_keys},
    /* GB/T 32918.2 signature with SM3 (GB/T 32905), Z computed with JOSE_SM2_ID; r‖s. */
    {{JOSE_SM2SM3, "SM2SM3", "EC", "SM2", 64, true, true},
     EVP_sm3, sm2_sign, sm2_verify, &sm2_keys},
};
/* clang-format on */
#define ALG_ROWS (sizeof(alg_table) / sizeof(alg_table[0]))

static const struct alg_row *
alg_row(enum jose_alg alg)
{
    for (size_t i = 0; i < ALG_ROWS; i++)
        if (alg_table[i].info.alg == alg)
            return &alg_table[i];
    return NULL;
}

const struct jose_alg_info *
jose_alg_info(enum jose_alg alg)
{
    const struct alg_row *r = alg_row(alg);

    return r ? &r->info : NULL;
}

const struct jose_alg_info *
jose_alg_info_at(size_t i)
{
    return i < ALG_ROWS ? &alg_table[i].info : NULL;
}

const char *
jose_alg_name(enum jose_alg alg)
{
    const struct alg_row *r = alg_row(alg);

    return r ? r->info.name : NULL;
}

enum jose_alg
jose_alg_parse(struct span s)
{
    for (size_t i = 0; i < ALG_ROWS; i++)
        if (span_eq_str(s, alg_table[i].info.name))
            return alg_table[i].info.alg;
    return 0;
}

/* ---- base64url, hashes, thumbprints ---------------------------------------------------- */

enum rc
jose_b64url_encode(struct span in, struct arena *a, struct span *out)
{
    cjose_err err;
    char *enc = NULL;
    size_t len = 0;
    char *d;

    if (in.len == 0) {
        if (!(d = arena_strndup(a, "", 0)))
            return RC_NOMEM;
        *out = (struct span){(const uint8_t *)d, 0};
        return RC_OK;
    }
    if (!cjose_base64url_encode(in.p, in.len, &enc, &len, &err))
        return err.code == CJOSE_ERR_NO_MEMORY ? RC_NOMEM : RC_INTERNAL;
    d = arena_strndup(a, enc, len);
    cjose_get_dealloc()(enc);
    if (!d)
        return RC_NOMEM;
    *out = (struct span){(const uint8_t *)d, len};
    return RC_OK;
}

static bool
b64url_alphabet_ok(struct span in)
{
    return in.len % 4 != 1 && span_is_b64url(in);
}

enum rc
jose_b64url_decode(struct span in, struct arena *a, struct span *out)
{
    enum rc rc = RC_MALFORMED;
    cjose_err err;
    uint8_t *dec = NULL;
    size_t len = 0;
    char *d = NULL, *re = NULL;
    size_t relen = 0;

    if (!b64url_alphabet_ok(in))
        return RC_MALFORMED;
    if (in.len == 0) {
        if (!(d = arena_strndup(a, "", 0)))
            return RC_NOMEM;
        *out = (struct span){(const uint8_t *)d, 0};
        return RC_OK;
    }
    if (!cjose_base64url_decode((const char *)in.p, in.len, &dec, &len, &err))
        goto out;
    /* Canonical form only: the decoder ignores unused trailing bits, so re-encode and
     * compare, which makes every byte string have exactly one accepted encoding. */
    if (!cjose_base64url_encode(dec, len, &re, &relen, &err) || relen != in.len
        || memcmp(re, in.p, relen) != 0)
        goto out;
    rc = RC_NOMEM;
    if (!(d = arena_strndup(a, dec, len)))
        goto out;
    *out = (struct span){(const uint8_t *)d, len};
    rc = RC_OK;
out:
    if (dec) {
        OPENSSL_cleanse(dec, len);
        cjose_get_dealloc()(dec);
    }
    if (re) {
        OPENSSL_cleanse(re, relen);
        cjose_get_dealloc()(re);
    }
    return rc;
}

enum rc
jose_half_hash(enum jose_alg alg, struct span token, struct arena *a, struct span *out)
{
    const struct alg_row *r = alg_row(alg);
    const EVP_MD *md = r ? r->md() : NULL;
    uint8_t h[EVP_MAX_MD_SIZE];
    unsigned int hlen = 0;

    if (!md)
        return RC_UNSUPPORTED;
    if (EVP_Digest(token.p, token.len, h, &hlen, md, NULL) != 1)
        return RC_INTERNAL;
    return jose_b64url_encode(span_of(h, hlen / 2), a, out);
}

/* Builds the RFC 7638 thumbprint (43 chars + NUL) of a JWK object's public members. */
static enum rc
thumbprint_obj(json_t *jwk, char out[44])
{
    static const char *const ec[] = {"crv", "kty", "x", "y", NULL};
    static const char *const rsa[] = {"e", "kty", "n", NULL};
    const char *kty = json_string_value(json_object_get(jwk, "kty"));
    const char *const *m = kty && !strcmp(kty, "EC") ? ec : kty && !strcmp(kty, "RSA") ? rsa : NULL;
    enum rc rc = RC_NOMEM;
    json_t *t = NULL;
    char *s = NULL, *enc = NULL;
    uint8_t h[32];
    size_t enclen = 0;
    cjose_err err;

    if (!kty)
        return RC_MALFORMED;
    if (!m)
        return RC_UNSUPPORTED;
    if (!(t = json_object()))
        goto out;
    for (; *m; m++) {
        json_t *v = json_object_get(jwk, *m);
        rc = RC_MALFORMED;
        if (!json_is_string(v))
            goto out;
        rc = RC_NOMEM;
        if (json_object_set(t, *m, v) != 0)
            goto out;
    }
    /* Sorted members, no whitespace (RFC 7638 §3.3); base64url has nothing to escape. */
    if (!(s = json_dumps(t, JSON_COMPACT | JSON_SORT_KEYS)))
        goto out;
    rc = RC_INTERNAL;
    if (EVP_Digest(s, strlen(s), h, NULL, EVP_sha256(), NULL) != 1
        || !cjose_base64url_encode(h, sizeof(h), &enc, &enclen, &err) || enclen != 43)
        goto out;
    memcpy(out, enc, 44);
    rc = RC_OK;
out:
    if (enc)
        cjose_get_dealloc()(enc);
    free(s);
    json_decref(t);
    return rc;
}

enum rc
jose_jwk_thumbprint(struct span jwk, struct arena *a, struct span *out)
{
    json_t *o;
    char tp[44];
    enum rc rc;
    char *d;

    if (jwk.len > JOSE_MAX_JWK)
        return RC_TOO_LARGE;
    o = json_loadb((const char *)jwk.p, jwk.len, JSON_REJECT_DUPLICATES, NULL);
    if (!json_is_object(o)) {
        json_decref(o);
        return RC_MALFORMED;
    }
    rc = thumbprint_obj(o, tp);
    json_decref(o);
    if (rc != RC_OK)
        return rc;
    if (!(d = arena_strndup(a, tp, 43)))
        return RC_NOMEM;
    *out = (struct span){(const uint8_t *)d, 43};
    return RC_OK;
}

/* Wipes the private members' string values of a JWK object before it is freed. */
static void
wipe_private(json_t *jwk)
{
    for (size_t i = 0; i < sizeof(private_members) / sizeof(private_members[0]); i++) {
        json_t *v = json_object_get(jwk, private_members[i]);
        if (json_is_string(v))
            OPENSSL_cleanse((char *)json_string_value(v), json_string_length(v));
    }
}

/* Frees a cjose-allocated string that may hold private key material. */
static void
cjose_str_wipe_free(char *s)
{
    if (s) {
        OPENSSL_cleanse(s, strlen(s));
        cjose_get_dealloc()(s);
    }
}

/* ---- keys: the cjose rows ------------------------------------------------------------------ */

static enum rc
cjose_import(json_t *obj, struct jose_key *k)
{
    cjose_err err;

    if ((k->jwk = cjose_jwk_import_json((cjose_header_t *)obj, &err)))
        return RC_OK;
    return err.code == CJOSE_ERR_NO_MEMORY ? RC_NOMEM : RC_MALFORMED;
}

/* cjose's JWK JSON of k as an object; private members too when priv. */
static json_t *
cjose_json(const cjose_jwk_t *jwk, bool priv)
{
    cjose_err err;
    char *s = cjose_jwk_to_json(jwk, priv, &err);
    json_t *o = s ? json_loads(s, 0, NULL) : NULL;

    cjose_str_wipe_free(s);
    return o;
}

static json_t *
cjose_public_json(const struct jose_key *k)
{
    return cjose_json(k->jwk, false);
}

static json_t *
cjose_generate(const struct alg_row *r)
{
    static const uint8_t e65537[] = {0x01, 0x00, 0x01};
    cjose_err err;
    bool ec = strcmp(r->info.kty, "EC") == 0;
    cjose_jwk_t *jwk = !ec ? cjose_jwk_create_RSA_random(2048, e65537, sizeof(e65537), &err)
                       : strcmp(r->info.crv, "P-256") == 0
                           ? cjose_jwk_create_EC_random(CJOSE_JWK_EC_P_256, &err)
                           : cjose_jwk_create_EC_random(CJOSE_JWK_EC_P_384, &err);
    json_t *o = jwk ? cjose_json(jwk, true) : NULL;

    cjose_jwk_release(jwk);
    return o;
}

static void
cjose_key_free(struct jose_key *k)
{
    cjose_jwk_release(k->jwk); /* frees the OpenSSL key, which clears private components */
    k->jwk = NULL;
}

static const struct key_ops cjose_keys = {cjose_import, cjose_public_json, cjose_generate,
                                          cjose_key_free};

/* ---- keys: SM2 (GB/T 32918), on OpenSSL's EVP interface ------------------------------------- */

#define SM2_COORD 32 /* bytes of a coordinate, of d, and of r and s */

/* Decodes JWK member name (checked as base64url already) into exactly SM2_COORD bytes: full
 * length, as RFC 7518 §6.2.1.2 requires of EC coordinates. */
static bool
sm2_member(json_t *obj, const char *name, uint8_t out[SM2_COORD])
{
    json_t *v = json_object_get(obj, name);
    struct arena a;
    struct span d;
    bool ok;

    arena_init(&a, 1024);
    ok =
        json_is_string(v)
        && jose_b64url_decode(span_of(json_string_value(v), json_string_length(v)), &a, &d) == RC_OK
        && d.len == SM2_COORD;
    if (ok)
        memcpy(out, d.p, SM2_COORD);
    arena_clear(&a); /* wipes d */
    return ok;
}

/* True if pkey is a valid SM2 key: the point on the curve and of the right order, and for
 * a private key d in range and matching the point. */
static bool
sm2_key_valid(EVP_PKEY *pkey, bool priv)
{
    EVP_PKEY_CTX *c = EVP_PKEY_CTX_new_from_pkey(NULL, pkey, NULL);
    bool ok = c && (priv ? EVP_PKEY_check(c) : EVP_PKEY_public_check(c)) == 1;

    EVP_PKEY_CTX_free(c);
    return ok;
}

static enum rc
sm2_import(json_t *obj, struct jose_key *k)
{
    uint8_t pub[1 + 2 * SM2_COORD] = {POINT_CONVERSION_UNCOMPRESSED}, d[SM2_COORD], dn[SM2_COORD];
    char group[] = "SM2";
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, "SM2", NULL);
    BIGNUM *priv = NULL;
    enum rc rc = RC_MALFORMED;
    OSSL_PARAM params[] = {
        OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, group, 0),
        OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY, pub, sizeof(pub)),
        OSSL_PARAM_construct_BN(OSSL_PKEY_PARAM_PRIV_KEY, dn, sizeof(dn)),
        OSSL_PARAM_construct_end(),
    };

    if (!k->priv)
        params[2] = OSSL_PARAM_construct_end();
    if (!sm2_member(obj, "x", pub + 1) || !sm2_member(obj, "y", pub + 1 + SM2_COORD)
        || (k->priv && !sm2_member(obj, "d", d)))
        goto out;
    /* An OSSL_PARAM BIGNUM is a native-endian integer; the JWK's d is big-endian. */
    if (k->priv
        && (!(priv = BN_bin2bn(d, SM2_COORD, NULL)) || BN_bn2nativepad(priv, dn, SM2_COORD) < 0))
        goto out;
    if (!ctx || EVP_PKEY_fromdata_init(ctx) != 1
        || EVP_PKEY_fromdata(ctx, &k->pkey, k->priv ? EVP_PKEY_KEYPAIR : EVP_PKEY_PUBLIC_KEY,
                             params)
               != 1
        || !sm2_key_valid(k->pkey, k->priv)) {
        EVP_PKEY_free(k->pkey);
        k->pkey = NULL;
        goto out;
    }
    rc = RC_OK;
out:
    OPENSSL_cleanse(d, sizeof(d));
    OPENSSL_cleanse(dn, sizeof(dn));
    BN_clear_free(priv);
    EVP_PKEY_CTX_free(ctx);
    return rc;
}

/* Sets member name of o to the base64url of bn, left-padded to SM2_COORD bytes. */
static bool
sm2_set_member(json_t *o, const char *name, const BIGNUM *bn)
{
    uint8_t b[SM2_COORD];
    struct arena a;
    struct span enc;
    bool ok;

    arena_init(&a, 1024);
    ok = bn && BN_bn2binpad(bn, b, SM2_COORD) == SM2_COORD
         && jose_b64url_encode(span_of(b, SM2_COORD), &a, &enc) == RC_OK
         && json_object_set_new(o, name, json_stringn((const char *)enc.p, enc.len)) == 0;
    OPENSSL_cleanse(b, sizeof(b));
    arena_clear(&a);
    return ok;
}

/* The JWK object {"kty":"EC","crv":"SM2","x","y"} of pkey, with "d" when priv; NULL on
 * failure. */
static json_t *
sm2_json(EVP_PKEY *pkey, bool priv)
{
    BIGNUM *x = NULL, *y = NULL, *d = NULL;
    json_t *o = json_pack("{s:s, s:s}", "kty", "EC", "crv", "SM2");
    bool ok = o && EVP_PKEY_get_bn_param(pkey, OSSL_PKEY_PARAM_EC_PUB_X, &x) == 1
              && EVP_PKEY_get_bn_param(pkey, OSSL_PKEY_PARAM_EC_PUB_Y, &y) == 1
              && (!priv || EVP_PKEY_get_bn_param(pkey, OSSL_PKEY_PARAM_PRIV_KEY, &d) == 1)
              && sm2_set_member(o, "x", x) && sm2_set_member(o, "y", y)
              && (!priv || sm2_set_member(o, "d", d));

    BN_free(x);
    BN_free(y);
    BN_clear_free(d);
    if (!ok && o) {
        wipe_private(o);
        json_decref(o);
        o = NULL;
    }
    return o;
}

static json_t *
sm2_public_json(const struct jose_key *k)
{
    return sm2_json(k->pkey, false);
}

static json_t *
sm2_generate(const struct alg_row *r)
{
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, "SM2", NULL);
    EVP_PKEY *pkey = NULL;
    json_t *o = NULL;

    (void)r;
    if (ctx && EVP_PKEY_keygen_init(ctx) == 1 && EVP_PKEY_generate(ctx, &pkey) == 1)
        o = sm2_json(pkey, true);
    EVP_PKEY_free(pkey);
    EVP_PKEY_CTX_free(ctx);
    return o;
}

static void
sm2_key_free(struct jose_key *k)
{
    EVP_PKEY_free(k->pkey); /* clears the private scalar */
    k->pkey = NULL;
}

static const struct key_ops sm2_keys = {sm2_import, sm2_public_json, sm2_generate, sm2_key_free};

/* A digest context that signs (or verifies) with pkey: SM2 over SM3 (GB/T 32918.2 §6),
 * whose Z value hashes the distinguishing ID JOSE_SM2_ID (GM/T 0009 §10; OpenSSL 3.0 would
 * use an empty ID unless told). NULL on failure. */
static EVP_MD_CTX *
sm2_md_ctx(EVP_PKEY *pkey, bool sign)
{
    EVP_MD_CTX *m = EVP_MD_CTX_new();
    EVP_PKEY_CTX *pctx = NULL;
    int ok = m
             && (sign ? EVP_DigestSignInit_ex(m, &pctx, "SM3", NULL, NULL, pkey, NULL)
                      : EVP_DigestVerifyInit_ex(m, &pctx, "SM3", NULL, NULL, pkey, NULL))
                    == 1
             && EVP_PKEY_CTX_set1_id(pctx, JOSE_SM2_ID, (int)strlen(JOSE_SM2_ID)) == 1;

    if (ok)
        return m;
    EVP_MD_CTX_free(m);
    return NULL;
}

/* OpenSSL's DER SEQUENCE {r, s} to the JWS form r‖s (each left-padded to SM2_COORD). */
static bool
sm2_sig_raw(const uint8_t *der, size_t len, uint8_t raw[2 * SM2_COORD])
{
    const unsigned char *p = der;
    ECDSA_SIG *sig = d2i_ECDSA_SIG(NULL, &p, (long)len);
    const BIGNUM *r, *s;
    bool ok = sig && p == der + len;

    if (ok) {
        ECDSA_SIG_get0(sig, &r, &s);
        ok = BN_bn2binpad(r, raw, SM2_COORD) == SM2_COORD
             && BN_bn2binpad(s, raw + SM2_COORD, SM2_COORD) == SM2_COORD;
    }
    ECDSA_SIG_free(sig);
    return ok;
}

/* r‖s to DER in out (cap bytes): its length, or 0 on failure. */
static size_t
sm2_sig_der(const uint8_t raw[2 * SM2_COORD], uint8_t *out, size_t cap)
{
    ECDSA_SIG *sig = ECDSA_SIG_new();
    BIGNUM *r = BN_bin2bn(raw, SM2_COORD, NULL), *s = BN_bin2bn(raw + SM2_COORD, SM2_COORD, NULL);
    unsigned char *p = out;
    int n = 0;

    if (sig && r && s && ECDSA_SIG_set0(sig, r, s) == 1) {
        r = s = NULL; /* sig owns them */
        n = i2d_ECDSA_SIG(sig, NULL);
        n = n > 0 && (size_t)n <= cap ? i2d_ECDSA_SIG(sig, &p) : 0;
    }
    BN_free(r);
    BN_free(s);
    ECDSA_SIG_free(sig);
    return n > 0 ? (size_t)n : 0;
}

/* The SM2 row: the header {"alg","kid","typ"} and the signature are built here, the
 * signature by OpenSSL (EVP_DigestSign) over the JWS signing input (RFC 7515 §5.1). */
static enum rc
sm2_sign(const struct jose_key *k, const char *typ, struct span payload, struct arena *a,
         struct span *out)
{
    json_t *h = json_pack("{s:s, s:s}", "alg", k->row->info.name, "kid", k->kid);
    char *hs = NULL, *input = NULL, *tok;
    struct span h64, p64, s64;
    uint8_t der[2 * SM2_COORD + 16], sig[2 * SM2_COORD];
    size_t derlen = sizeof(der);
    EVP_MD_CTX *m = NULL;
    enum rc rc = RC_NOMEM;

    if (!h || (typ && json_object_set_new(h, "typ", json_string(typ)) != 0)
        || !(hs = json_dumps(h, JSON_COMPACT | JSON_PRESERVE_ORDER)))
        goto out;
    if ((rc = jose_b64url_encode(span_str(hs), a, &h64)) != RC_OK
        || (rc = jose_b64url_encode(payload, a, &p64)) != RC_OK)
        goto out;
    rc = RC_NOMEM;
    if (!(input = arena_printf(a, "%s.%s", (const char *)h64.p, (const char *)p64.p)))
        goto out;
    rc = RC_INTERNAL;
    if (!(m = sm2_md_ctx(k->pkey, true))
        || EVP_DigestSign(m, der, &derlen, (const uint8_t *)input, strlen(input)) != 1
        || !sm2_sig_raw(der, derlen, sig))
        goto out;
    if ((rc = jose_b64url_encode(span_of(sig, sizeof(sig)), a, &s64)) != RC_OK)
        goto out;
    rc = RC_NOMEM;
    if (!(tok = arena_printf(a, "%s.%s", input, (const char *)s64.p)))
        goto out;
    *out = span_str(tok);
    rc = RC_OK;
out:
    EVP_MD_CTX_free(m);
    free(hs);
    json_decref(h);
    return rc;
}

/* The SM2 row: verifies the r‖s signature of token (its length checked by the caller)
 * over everything before the last '.'. */
static enum rc
sm2_verify(const struct jose_key *k, const char *token, size_t len)
{
    const char *dot = memrchr(token, '.', len);
    uint8_t der[2 * SM2_COORD + 16];
    size_t derlen = 0;
    struct arena a;
    struct span sig;
    EVP_MD_CTX *m = NULL;
    enum rc rc = RC_DENIED;

    arena_init(&a, 1024);
    if (!dot
        || jose_b64url_decode(span_of(dot + 1, len - (size_t)(dot + 1 - token)), &a, &sig) != RC_OK
        || sig.len != 2 * SM2_COORD || !(derlen = sm2_sig_der(sig.p, der, sizeof(der))))
        goto out;
    rc = RC_INTERNAL;
    if (!(m = sm2_md_ctx(k->pkey, false)))
        goto out;
    rc = EVP_DigestVerify(m, der, derlen, (const uint8_t *)token, (size_t)(dot - token)) == 1
             ? RC_OK
             : RC_DENIED;
out:
    EVP_MD_CTX_free(m);
    arena_clear(&a);
    return rc;
}

/* ---- key sets ---------------------------------------------------------------------------- */

enum rc
jose_keyset_new(struct jose_keyset **out)
{
    struct jose_keyset *ks = calloc(1, sizeof(*ks));

    if (!ks)
        return RC_NOMEM;
    atomic_init(&ks->refs, 1);
    *out = ks;
    return RC_OK;
}

struct jose_keyset *
jose_keyset_retain(struct jose_keyset *ks)
{
    if (ks)
        atomic_fetch_add_explicit(&ks->refs, 1, memory_order_relaxed);
    return ks;
}

void
jose_keyset_release(struct jose_keyset *ks)
{
    if (!ks || atomic_fetch_sub_explicit(&ks->refs, 1, memory_order_acq_rel) != 1)
        return;
    /* Freeing the OpenSSL key clears its private components. */
    for (size_t i = 0; i < ks->n; i++)
        ks->keys[i].row->keys->free(&ks->keys[i]);
    free(ks->jwks);
    OPENSSL_cleanse(ks, sizeof(*ks));
    free(ks);
}

struct span
jose_keyset_jwks(const struct jose_keyset *ks)
{
    return span_of(ks->jwks, ks->jwks_len);
}

size_t
jose_keyset_count(const struct jose_keyset *ks)
{
    return ks->n;
}

enum rc
jose_keyset_key(const struct jose_keyset *ks, size_t i, const char **kid, enum jose_alg *alg,
                bool *is_private, bool *signs)
{
    if (i >= ks->n)
        return RC_NOT_FOUND;
    if (kid)
        *kid = ks->keys[i].kid;
    if (alg)
        *alg = ks->keys[i].alg;
    if (is_private)
        *is_private = ks->keys[i].priv;
    if (signs)
        *signs = ks->keys[i].sign;
    return RC_OK;
}

static const struct jose_key *
signing_key(const struct jose_keyset *ks, enum jose_alg alg)
{
    for (size_t i = 0; i < ks->n; i++)
        if (ks->keys[i].sign && ks->keys[i].alg == alg)
            return &ks->keys[i];
    return NULL;
}

const char *
jose_keyset_signing_kid(const struct jose_keyset *ks, enum jose_alg alg)
{
    const struct jose_key *k = signing_key(ks, alg);

    return k ? k->kid : NULL;
}

static const struct jose_key *
key_by_kid(const struct jose_keyset *ks, const char *kid)
{
    for (size_t i = 0; i < ks->n; i++)
        if (strcmp(ks->keys[i].kid, kid) == 0)
            return &ks->keys[i];
    return NULL;
}

static bool
kid_ok(const char *kid, size_t len)
{
    if (len == 0 || len > JOSE_MAX_KID)
        return false;
    for (size_t i = 0; i < len; i++)
        if (kid[i] < 0x21 || kid[i] > 0x7e)
            return false;
    return true;
}

/* True if row r is for keys of the JWK's kty and crv (crv NULL when the JWK has none). */
static bool
row_fits(const struct alg_row *r, const char *kty, const char *crv)
{
    if (!kty || strcmp(r->info.kty, kty) != 0)
        return false;
    return r->info.crv ? crv && strcmp(r->info.crv, crv) == 0 : true;
}

/* The row a key is for: its "alg" member if given, else the first row of the table for
 * its key type and curve; then checks the key fits that row. Fills k->alg and k->row. */
static enum rc
key_row(json_t *obj, struct jose_key *k, struct rc_info *ri)
{
    json_t *alg = json_object_get(obj, "alg");
    const char *kty = json_string_value(json_object_get(obj, "kty"));
    const char *crv = json_string_value(json_object_get(obj, "crv"));

    k->row = NULL;
    if (alg && !json_is_string(alg))
        return rc_set(ri, RC_MALFORMED, "alg", "not a string");
    if (alg)
        k->row = alg_row(jose_alg_parse(span_of(json_string_value(alg), json_string_length(alg))));
    else
        for (size_t i = 0; i < ALG_ROWS && !k->row; i++)
            if (row_fits(&alg_table[i], kty, crv))
                k->row = &alg_table[i];
    if (!k->row)
        return rc_set(ri, RC_UNSUPPORTED, "alg", "algorithm or key type not supported");
    k->alg = k->row->info.alg;
    if (!kty || strcmp(k->row->info.kty, kty) != 0)
        return rc_set(ri, RC_UNSUPPORTED, "kty", "key type does not match alg");
    if (!row_fits(k->row, kty, crv))
        return rc_set(ri, RC_UNSUPPORTED, "crv", "curve does not match alg");
    return RC_OK;
}

/* Sets k->sig_len once the key is imported: the row's, or the modulus length (RSA, a cjose
 * row), which must be at least JOSE_MIN_RSA_BITS. */
static enum rc
key_sig_len(struct jose_key *k, struct rc_info *ri)
{
    cjose_err err;
    size_t bits;

    if (k->row->info.sig_len) {
        k->sig_len = k->row->info.sig_len;
        return RC_OK;
    }
    bits = cjose_jwk_get_keysize(k->jwk, &err);
    if (bits < JOSE_MIN_RSA_BITS || bits % 8 != 0)
        return rc_set(ri, RC_UNSUPPORTED, "n", "RSA key smaller than 2048 bits");
    k->sig_len = bits / 8;
    return RC_OK;
}

static enum rc key_selftest(const struct jose_key *k);

/* Sets the kid: the JWK's own if it has one, else its RFC 7638 thumbprint. */
static enum rc
key_kid(json_t *obj, struct jose_key *k, struct rc_info *ri)
{
    json_t *kid = json_object_get(obj, "kid");
    cjose_err err;

    if (kid) {
        if (!json_is_string(kid) || !kid_ok(json_string_value(kid), json_string_length(kid)))
            return rc_set(ri, RC_MALFORMED, "kid", "not 1-64 printable ASCII characters");
        memcpy(k->kid, json_string_value(kid), json_string_length(kid) + 1);
    } else {
        enum rc rc = thumbprint_obj(obj, k->kid);
        if (rc != RC_OK)
            return rc_set(ri, rc, "kty", "cannot compute a thumbprint");
    }
    if (k->jwk && !cjose_jwk_set_kid(k->jwk, k->kid, strlen(k->kid), &err))
        return RC_NOMEM;
    return RC_OK;
}

/* True if every key member cjose will decode is a string of plain base64url: cjose 0.6.2's
 * decoder asserts (aborts the process) on a '=' that leaves one dangling character, so
 * untrusted JWKs (a client's JWKS) must never reach it unchecked. */
static bool
members_b64url(json_t *obj)
{
    static const char *const pub[] = {"x", "y", "n", "e"};

    for (size_t i = 0;
         i < sizeof(pub) / sizeof(pub[0]) + sizeof(private_members) / sizeof(private_members[0]);
         i++) {
        const char *name = i < 4 ? pub[i] : private_members[i - 4];
        json_t *v = json_object_get(obj, name);
        if (v
            && (!json_is_string(v)
                || !b64url_alphabet_ok(span_of(json_string_value(v), json_string_length(v)))))
            return false;
    }
    return true;
}

/* True if the public members of the imported key k equal those of the JSON obj: cjose
 * computes an EC public key from d, so a file whose x/y belong to another key would
 * otherwise publish a different key under this kid. */
static bool
public_matches(json_t *obj, const struct jose_key *k)
{
    static const char *const members[] = {"crv", "x", "y", "n", "e"};
    json_t *pub = k->row->keys->public_json(k);
    bool ok = json_is_object(pub);

    for (size_t i = 0; ok && i < sizeof(members) / sizeof(members[0]); i++) {
        json_t *a = json_object_get(obj, members[i]), *b = json_object_get(pub, members[i]);
        ok = (!a && !b) || (a && b && json_equal(a, b));
    }
    json_decref(pub);
    return ok;
}

/* Frees k's key (either kind) and clears k; a k that holds nothing is fine. */
static void
key_free(struct jose_key *k)
{
    if (k->row)
        k->row->keys->free(k);
    memset(k, 0, sizeof(*k));
}

/* Imports one JWK object into k (not yet in the set). public_only: private members are
 * dropped first. On failure k holds nothing. */
static enum rc
key_import(json_t *obj, bool public_only, struct jose_key *k, struct rc_info *ri)
{
    enum rc rc = RC_MALFORMED;
    json_t *use = json_object_get(obj, "use"), *kty = json_object_get(obj, "kty");

    memset(k, 0, sizeof(*k));
    if (!json_is_string(kty))
        return rc_set(ri, RC_MALFORMED, "kty", "missing");
    if (strcmp(json_string_value(kty), "EC") != 0 && strcmp(json_string_value(kty), "RSA") != 0)
        return rc_set(ri, RC_UNSUPPORTED, "kty", "not EC or RSA");
    if (use && (!json_is_string(use) || strcmp(json_string_value(use), "sig") != 0))
        return rc_set(ri, RC_UNSUPPORTED, "use", "not \"sig\"");
    if (public_only) {
        wipe_private(obj);
        for (size_t i = 0; i < sizeof(private_members) / sizeof(private_members[0]); i++)
            json_object_del(obj, private_members[i]);
    }
    if (!members_b64url(obj))
        return rc_set(ri, RC_MALFORMED, "jwk", "a key member is not base64url");
    k->priv = json_object_get(obj, "d") != NULL;
    if ((rc = key_row(obj, k, ri)) != RC_OK)
        goto out;
    if ((rc = k->row->keys->import(obj, k)) != RC_OK) {
        rc_set(ri, rc, "jwk", "not a valid EC or RSA key");
        goto out;
    }
    if ((rc = key_sig_len(k, ri)) != RC_OK || (rc = key_kid(obj, k, ri)) != RC_OK)
        goto out;
    if (k->priv && (!public_matches(obj, k) || (rc = key_selftest(k)) != RC_OK)) {
        rc = RC_MALFORMED;
        rc_set(ri, rc, "d", "private key does not match its public key");
    }
out:
    if (rc != RC_OK)
        key_free(k);
    return rc;
}

/* Adds an imported key, checking kid uniqueness and the one-signer-per-alg rule. */
static enum rc
keyset_put(struct jose_keyset *ks, struct jose_key *k, unsigned flags, struct rc_info *ri)
{
    if (ks->n == JOSE_MAX_KEYS)
        return rc_set(ri, RC_TOO_LARGE, "keys", "too many keys");
    if (key_by_kid(ks, k->kid))
        return rc_set(ri, RC_CONFLICT, "kid", "duplicate kid");
    if (flags & JOSE_KEY_SIGN) {
        if (!k->priv)
            return rc_set(ri, RC_DENIED, "d", "a signing key must be private");
        if (signing_key(ks, k->alg))
            return rc_set(ri, RC_CONFLICT, "alg", "a second signing key for one alg");
        k->sign = true;
    }
    ks->keys[ks->n++] = *k;
    return RC_OK;
}

static json_t *
load_object(struct span s, size_t max, enum rc *rc, struct rc_info *ri)
{
    json_t *o;

    if (s.len > max) {
        *rc = rc_set(ri, RC_TOO_LARGE, "jwk", "document too large");
        return NULL;
    }
    o = json_loadb((const char *)s.p, s.len, JSON_REJECT_DUPLICATES, NULL);
    if (!json_is_object(o)) {
        json_decref(o);
        *rc = rc_set(ri, RC_MALFORMED, "jwk", "not a JSON object");
        return NULL;
    }
    return o;
}

enum rc
jose_keyset_add_jwk(struct jose_keyset *ks, struct span jwk, unsigned flags, struct rc_info *ri)
{
    enum rc rc = RC_INTERNAL;
    struct jose_key k;
    json_t *o;

    if (ks->sealed)
        return rc_set(ri, RC_INTERNAL, "keys", "key set is sealed");
    if (!(o = load_object(jwk, JOSE_MAX_JWK, &rc, ri)))
        return rc;
    if ((rc = key_import(o, false, &k, ri)) == RC_OK
        && (rc = keyset_put(ks, &k, flags, ri)) != RC_OK)
        key_free(&k);
    wipe_private(o);
    json_decref(o);
    return rc;
}

enum rc
jose_keyset_add_jwks(struct jose_keyset *ks, struct span jwks, struct rc_info *ri)
{
    enum rc rc = RC_INTERNAL;
    size_t n0 = ks->n, i;
    json_t *o, *keys, *v;

    if (ks->sealed)
        return rc_set(ri, RC_INTERNAL, "keys", "key set is sealed");
    if (!(o = load_object(jwks, JOSE_MAX_JWKS, &rc, ri)))
        return rc;
    keys = json_object_get(o, "keys");
    rc = rc_set(ri, RC_MALFORMED, "keys", "not an array");
    if (!json_is_array(keys))
        goto out;
    rc = RC_OK;
    json_array_foreach(keys, i, v)
    {
        struct jose_key k;
        if (!json_is_object(v)) {
            rc = rc_set(ri, RC_MALFORMED, "keys", "member not an object");
            break;
        }
        rc = key_import(v, true, &k, ri);
        if (rc == RC_UNSUPPORTED) { /* RFC 7517 §5: ignore keys we cannot use */
            rc = RC_OK;
            continue;
        }
        if (rc != RC_OK || (rc = keyset_put(ks, &k, 0, ri)) != RC_OK) {
            key_free(&k);
            break;
        }
    }
out:
    if (rc != RC_OK)
        while (ks->n > n0)
            key_free(&ks->keys[--ks->n]);
    json_decref(o);
    return rc;
}

/* The public JWK of k with kid, alg and use, as a new JSON object (NULL on failure). */
static json_t *
public_jwk(const struct jose_key *k)
{
    json_t *o = k->row->keys->public_json(k);

    if (!json_is_object(o))
        goto fail;
    for (size_t i = 0; i < sizeof(private_members) / sizeof(private_members[0]); i++)
        if (json_object_get(o, private_members[i]))
            goto fail; /* never publish private material, whatever cjose does */
    if (json_object_set_new(o, "kid", json_string(k->kid)) != 0
        || json_object_set_new(o, "alg", json_string(jose_alg_name(k->alg))) != 0
        || json_object_set_new(o, "use", json_string("sig")) != 0)
        goto fail;
    return o;
fail:
    json_decref(o);
    return NULL;
}

enum rc
jose_keyset_seal(struct jose_keyset *ks)
{
    enum rc rc = RC_NOMEM;
    json_t *root = json_object(), *arr = json_array();
    char *s = NULL;

    if (ks->sealed)
        return RC_OK;
    if (!root || !arr || json_object_set(root, "keys", arr) != 0)
        goto out;
    for (size_t i = 0; i < ks->n; i++)
        if (json_array_append_new(arr, public_jwk(&ks->keys[i])) != 0)
            goto out;
    if (!(s = json_dumps(root, JSON_COMPACT | JSON_PRESERVE_ORDER)))
        goto out;
    ks->jwks = s;
    ks->jwks_len = strlen(s);
    ks->sealed = true;
    rc = RC_OK;
out:
    json_decref(arr);
    json_decref(root);
    return rc;
}

enum rc
jose_keyset_parse_jwks(struct span jwks, struct jose_keyset **out, struct rc_info *ri)
{
    struct jose_keyset *ks = NULL;
    enum rc rc;

    if ((rc = jose_keyset_new(&ks)) != RC_OK)
        return rc;
    if ((rc = jose_keyset_add_jwks(ks, jwks, ri)) != RC_OK
        || (rc = jose_keyset_seal(ks)) != RC_OK) {
        jose_keyset_release(ks);
        return rc;
    }
    *out = ks;
    return RC_OK;
}

/* ---- signing ------------------------------------------------------------------------------ */

/* The cjose rows: signs payload with k into arena a. */
static enum rc
cjose_sign(const struct jose_key *k, const char *typ, struct span payload, struct arena *a,
           struct span *out)
{
    enum rc rc = RC_NOMEM;
    cjose_err err;
    cjose_header_t *h = cjose_header_new(&err);
    cjose_jws_t *jws = NULL;
    const char *ser = NULL;
    char *d;

    if (!h || !cjose_header_set(h, CJOSE_HDR_ALG, k->row->info.name, &err)
        || !cjose_header_set(h, CJOSE_HDR_KID, k->kid, &err)
        || (typ && !cjose_header_set(h, "typ", typ, &err)))
        goto out;
    rc = RC_INTERNAL;
    if (!(jws = cjose_jws_sign(k->jwk, h, payload.p, payload.len, &err))
        || !cjose_jws_export(jws, &ser, &err))
        goto out;
    rc = RC_NOMEM;
    if (!(d = arena_strndup(a, ser, strlen(ser))))
        goto out;
    *out = span_str(d);
    rc = RC_OK;
out:
    cjose_jws_release(jws);
    cjose_header_release(h);
    return rc;
}

enum rc
jose_sign(const struct jose_keyset *ks, enum jose_alg alg, const char *typ, struct span claims,
          struct arena *a, struct span *out, struct rc_info *ri)
{
    const struct jose_key *k = signing_key(ks, alg ? alg : JOSE_ES256);
    enum rc rc;

    if (!k)
        return rc_set(ri, RC_NOT_FOUND, "alg", "no signing key for this algorithm");
    if (claims.len > JOSE_MAX_PAYLOAD)
        return rc_set(ri, RC_TOO_LARGE, "claims", "too large to sign");
    if ((rc = k->row->sign(k, typ, claims, a, out)) != RC_OK)
        return rc_set(ri, rc, "jws", "signing failed");
    return RC_OK;
}

/* ---- verification ------------------------------------------------------------------------- */

/* The cjose rows: verifies token with k. */
static enum rc
cjose_verify(const struct jose_key *k, const char *token, size_t len)
{
    cjose_err err;
    cjose_jws_t *jws = cjose_jws_import(token, len, &err);
    bool ok;

    if (!jws)
        return RC_DENIED;
    ok = cjose_jws_verify(jws, k->jwk, &err);
    cjose_jws_release(jws);
    return ok ? RC_OK : RC_DENIED;
}

static enum rc
key_selftest(const struct jose_key *k)
{
    static const char probe[] = "{\"authd\":\"key self-test\"}";
    struct arena a;
    struct span tok;
    enum rc rc;

    arena_init(&a, 64 * 1024);
    rc = k->row->sign(k, NULL, SPAN(probe), &a, &tok);
    if (rc == RC_OK)
        rc = k->row->verify(k, (const char *)tok.p, tok.len);
    arena_clear(&a);
    return rc == RC_DENIED ? RC_MALFORMED : rc;
}

/* typ matches want case-insensitively, with an optional "application/" prefix. */
static bool
typ_matches(const char *typ, const char *want)
{
    if (strncasecmp(typ, "application/", 12) == 0)
        typ += 12;
    return strcasecmp(typ, want) == 0;
}

/* The three parts of a compact JWS. */
struct jws_parts {
    struct span hdr, payload, sig;
};

static enum rc
split_compact(struct span t, struct jws_parts *p, struct rc_info *ri)
{
    const uint8_t *d1, *d2;

    if (t.len > JOSE_MAX_COMPACT)
        return rc_set(ri, RC_TOO_LARGE, "jwt", "token too large");
    if (!t.len || !(d1 = memchr(t.p, '.', t.len)))
        return rc_set(ri, RC_MALFORMED, "jwt", "not a compact JWS");
    d2 = memchr(d1 + 1, '.', (size_t)(t.p + t.len - d1 - 1));
    if (!d2 || memchr(d2 + 1, '.', (size_t)(t.p + t.len - d2 - 1)))
        return rc_set(ri, RC_MALFORMED, "jwt", "not three parts");
    p->hdr = span_of(t.p, (size_t)(d1 - t.p));
    p->payload = span_of(d1 + 1, (size_t)(d2 - d1 - 1));
    p->sig = span_of(d2 + 1, (size_t)(t.p + t.len - d2 - 1));
    if (!p->hdr.len) /* an empty signature (alg none) is refused by the key's alg later */
        return rc_set(ri, RC_MALFORMED, "jwt", "empty header");
    return RC_OK;
}

/* Reads alg, kid, typ from the decoded header and applies the policy in o. */
static enum rc
header_check(json_t *h, const struct jose_verify_opts *o, struct arena *a, struct jose_header *out,
             struct rc_info *ri)
{
    json_t *alg = json_object_get(h, "alg"), *kid = json_object_get(h, "kid");
    json_t *typ = json_object_get(h, "typ");

    if (!json_is_string(alg) || (kid && !json_is_string(kid)) || (typ && !json_is_string(typ)))
        return rc_set(ri, RC_MALFORMED, "jwt", "header member of the wrong type");
    out->alg = jose_alg_parse(span_of(json_string_value(alg), json_string_length(alg)));
    if (!out->alg || !(out->alg & o->algs)) /* none, HS*, anything not allowed */
        return rc_set(ri, RC_DENIED, "alg", "algorithm not allowed");
    if (json_object_get(h, "crit"))
        return rc_set(ri, RC_DENIED, "crit", "no critical extension is understood");
    if (kid && !kid_ok(json_string_value(kid), json_string_length(kid)))
        return rc_set(ri, RC_NOT_FOUND, "kid", "unknown key");
    if (o->typ && (!typ || !typ_matches(json_string_value(typ), o->typ)))
        return rc_set(ri, RC_DENIED, "typ", "wrong token type");
    out->kid = kid ? arena_strndup(a, json_string_value(kid), json_string_length(kid)) : NULL;
    out->typ = typ ? arena_strndup(a, json_string_value(typ), json_string_length(typ)) : NULL;
    if ((kid && !out->kid) || (typ && !out->typ))
        return RC_NOMEM;
    return RC_OK;
}

/* Finds the key for a header: by kid, or with no kid the only key of the header's alg. */
static enum rc
find_key(const struct jose_keyset *ks, const struct jose_header *h, const struct jose_key **out,
         struct rc_info *ri)
{
    const struct jose_key *k = NULL;

    if (h->kid) {
        if (!(k = key_by_kid(ks, h->kid)))
            return rc_set(ri, RC_NOT_FOUND, "kid", "unknown key");
    } else {
        for (size_t i = 0; i < ks->n; i++) {
            if (ks->keys[i].alg != h->alg)
                continue;
            if (k)
                return rc_set(ri, RC_DENIED, "kid", "missing and several keys could match");
            k = &ks->keys[i];
        }
        if (!k)
            return rc_set(ri, RC_DENIED, "kid", "missing and no key matches");
    }
    if (k->alg != h->alg) /* the key decides the algorithm, never the token */
        return rc_set(ri, RC_DENIED, "alg", "not the key's algorithm");
    *out = k;
    return RC_OK;
}

static enum rc
parse_header(struct span b64, const struct jose_verify_opts *o, struct arena *a,
             struct jose_header *h, struct rc_info *ri)
{
    struct span raw;
    json_t *j;
    enum rc rc;

    if ((rc = jose_b64url_decode(b64, a, &raw)) != RC_OK)
        return rc_set(ri, rc, "jwt", "header is not base64url");
    j = json_loadb((const char *)raw.p, raw.len, JSON_REJECT_DUPLICATES, NULL);
    if (!json_is_object(j))
        rc = rc_set(ri, RC_MALFORMED, "jwt", "header is not a JSON object");
    else
        rc = header_check(j, o, a, h, ri);
    json_decref(j);
    return rc;
}

/* The signature of token (split into p, its header checked) with key k: RC_OK and the
 * decoded payload in a, or why not. */
static enum rc
verify_with(const struct jose_key *k, const struct jws_parts *p, struct span token, struct arena *a,
            struct span *payload, struct rc_info *ri)
{
    struct span sig, body;
    enum rc rc;
    char *t;

    if ((rc = jose_b64url_decode(p->sig, a, &sig)) != RC_OK)
        return rc_set(ri, rc, "jwt", "signature is not base64url");
    if (sig.len != k->sig_len)
        return rc_set(ri, RC_DENIED, "jwt", "signature has the wrong length");
    if ((rc = jose_b64url_decode(p->payload, a, &body)) != RC_OK)
        return rc_set(ri, rc, "jwt", "payload is not base64url");
    if (!(t = arena_span_dup(a, token)))
        return RC_NOMEM;
    if ((rc = k->row->verify(k, t, token.len)) != RC_OK)
        return rc_set(ri, rc, "jwt", "bad signature");
    *payload = body;
    return RC_OK;
}

enum rc
jose_verify(const struct jose_keyset *ks, const struct jose_verify_opts *o, struct span token,
            struct arena *a, struct span *payload, struct jose_header *hdr, struct rc_info *ri)
{
    struct jws_parts p;
    struct jose_header h = {0};
    const struct jose_key *k = NULL;
    enum rc rc;

    if ((rc = split_compact(token, &p, ri)) != RC_OK
        || (rc = parse_header(p.hdr, o, a, &h, ri)) != RC_OK
        || (rc = find_key(ks, &h, &k, ri)) != RC_OK
        || (rc = verify_with(k, &p, token, a, payload, ri)) != RC_OK)
        return rc;
    if (hdr)
        *hdr = h;
    return RC_OK;
}

enum rc
jose_payload_unverified(struct span token, struct arena *a, struct span *payload)
{
    struct jws_parts p;
    enum rc rc;

    if ((rc = split_compact(token, &p, NULL)) != RC_OK)
        return rc;
    return jose_b64url_decode(p.payload, a, payload);
}

/* ---- claims ------------------------------------------------------------------------------- */

/* Reads NumericDate claim name: *present false if absent; RC_MALFORMED if not a number. */
static enum rc
get_time(json_t *c, const char *name, bool *present, int64_t *v, struct rc_info *ri)
{
    json_t *j = json_object_get(c, name);

    *present = j != NULL;
    if (!j)
        return RC_OK;
    if (json_is_integer(j)) {
        *v = (int64_t)json_integer_value(j);
        return RC_OK;
    }
    if (json_is_real(j) && isfinite(json_real_value(j)) && fabs(json_real_value(j)) < 1e15) {
        *v = (int64_t)floor(json_real_value(j));
        return RC_OK;
    }
    return rc_set(ri, RC_MALFORMED, name, "not a NumericDate");
}

static enum rc
check_aud(json_t *aud, const char *want, struct rc_info *ri)
{
    size_t i;
    json_t *v;
    bool found = false;

    if (json_is_string(aud))
        return strcmp(json_string_value(aud), want) == 0
                   ? RC_OK
                   : rc_set(ri, RC_DENIED, "aud", "not for this audience");
    if (!json_is_array(aud))
        return rc_set(ri, aud ? RC_MALFORMED : RC_DENIED, "aud", aud ? "wrong type" : "missing");
    json_array_foreach(aud, i, v)
    {
        if (!json_is_string(v))
            return rc_set(ri, RC_MALFORMED, "aud", "array member not a string");
        found = found || strcmp(json_string_value(v), want) == 0;
    }
    return found ? RC_OK : rc_set(ri, RC_DENIED, "aud", "not for this audience");
}

static enum rc
check_times(json_t *c, const struct jose_claims_opts *o, struct rc_info *ri)
{
    bool has_exp, has_nbf, has_iat;
    int64_t exp = 0, nbf = 0, iat = 0;
    enum rc rc;

    if ((rc = get_time(c, "exp", &has_exp, &exp, ri)) != RC_OK
        || (rc = get_time(c, "nbf", &has_nbf, &nbf, ri)) != RC_OK
        || (rc = get_time(c, "iat", &has_iat, &iat, ri)) != RC_OK)
        return rc;
    if (!has_exp && !o->exp_optional)
        return rc_set(ri, RC_MALFORMED, "exp", "missing");
    /* RFC 7519 §4.1.4: not accepted on or after exp. Leeway widens every window. */
    if (has_exp && o->now >= exp + o->leeway)
        return rc_set(ri, RC_EXPIRED, "exp", "token expired");
    if (has_nbf && o->now + o->leeway < nbf)
        return rc_set(ri, RC_DENIED, "nbf", "token not yet valid");
    if (has_iat && iat > o->now + o->leeway)
        return rc_set(ri, RC_DENIED, "iat", "issued in the future");
    if (o->max_age > 0 && !has_iat)
        return rc_set(ri, RC_MALFORMED, "iat", "missing");
    if (o->max_age > 0 && iat + o->max_age + o->leeway < o->now)
        return rc_set(ri, RC_EXPIRED, "iat", "issued too long ago");
    return RC_OK;
}

enum rc
jose_claims_check(struct span payload, const struct jose_claims_opts *o, struct rc_info *ri)
{
    enum rc rc = RC_OK;
    json_t *c = json_loadb((const char *)payload.p, payload.len, JSON_REJECT_DUPLICATES, NULL);
    json_t *iss;

    if (!json_is_object(c)) {
        rc = rc_set(ri, RC_MALFORMED, "jwt", "claims are not a JSON object");
        goto out;
    }
    iss = json_object_get(c, "iss");
    if (iss && !json_is_string(iss))
        rc = rc_set(ri, RC_MALFORMED, "iss", "not a string");
    else if (o->iss && (!iss || strcmp(json_string_value(iss), o->iss) != 0))
        rc = rc_set(ri, RC_DENIED, "iss", "wrong issuer");
    else if (o->aud)
        rc = check_aud(json_object_get(c, "aud"), o->aud, ri);
    if (rc == RC_OK)
        rc = check_times(c, o, ri);
out:
    json_decref(c);
    return rc;
}

/* ---- key generation ----------------------------------------------------------------------- */

/* True if member name of o is base64url of exactly n bytes (full-length coordinates). */
static bool
member_len_is(json_t *o, const char *name, size_t n)
{
    const char *s = json_string_value(json_object_get(o, name));

    return s && strlen(s) == (n * 4 + 2) / 3;
}

/* Generates one key and returns its private JWK object (kid, alg, use set), or NULL. */
static json_t *
generate_once(enum jose_alg alg)
{
    const struct alg_row *r = alg_row(alg);
    json_t *o = r->keys->generate(r);
    char kid[44];

    if (!json_is_object(o) || thumbprint_obj(o, kid) != RC_OK
        || json_object_set_new(o, "kid", json_string(kid)) != 0
        || json_object_set_new(o, "alg", json_string(jose_alg_name(alg))) != 0
        || json_object_set_new(o, "use", json_string("sig")) != 0) {
        if (o)
            wipe_private(o);
        json_decref(o);
        return NULL;
    }
    return o;
}

enum rc
jose_key_generate(enum jose_alg alg, struct buf *out)
{
    const struct alg_row *r = alg_row(alg);
    json_t *o = NULL;
    char *s = NULL;
    enum rc rc = RC_INTERNAL;
    size_t coord = r ? r->info.sig_len / 2 : 0; /* bytes of an EC coordinate */

    if (!r || !r->info.signs)
        return RC_UNSUPPORTED;
    /* Keep only keys whose EC members have full length, as RFC 7518 §6.2.1.2 requires and
     * as every relying party's parser expects (a short x or y is a 1 in 128 event). */
    for (int tries = 0; tries < 16 && !s; tries++) {
        if (!(o = generate_once(alg)))
            return RC_INTERNAL;
        if (!coord
            || (member_len_is(o, "x", coord) && member_len_is(o, "y", coord)
                && member_len_is(o, "d", coord)))
            s = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
        wipe_private(o);
        json_decref(o);
    }
    if (!s)
        return rc;
    rc = buf_append_str(out, s);
    OPENSSL_cleanse(s, strlen(s));
    free(s);
    return rc;
}

/* ---- a JWS with its key in its header (DPoP proofs, RFC 9449 §4.2) ------------------------- */

/* The header's "jwk", checked to be a public EC or RSA key (RFC 9449 §4.3 point 7: a private
 * one is RC_DENIED), and its RFC 7638 thumbprint into tp. */
static enum rc
embedded_jwk(json_t *hj, json_t **jwk, char tp[44], struct rc_info *ri)
{
    enum rc rc;

    *jwk = json_object_get(hj, "jwk");
    if (!json_is_object(*jwk))
        return rc_set(ri, RC_MALFORMED, "jwk", "missing or not an object");
    for (size_t i = 0; i < sizeof(private_members) / sizeof(private_members[0]); i++)
        if (json_object_get(*jwk, private_members[i]))
            return rc_set(ri, RC_DENIED, "jwk", "holds a private key");
    if ((rc = thumbprint_obj(*jwk, tp)) != RC_OK)
        return rc_set(ri, rc, "jwk", "not an EC or RSA public key");
    return RC_OK;
}

/* The checked jwk imported as a key of the header's algorithm; RC_DENIED for one of another
 * algorithm. */
static enum rc
embedded_key(json_t *jwk, const struct jose_header *h, struct jose_key *k, struct rc_info *ri)
{
    json_t *c;
    enum rc rc;

    if (!(c = json_deep_copy(jwk)))
        return RC_NOMEM;
    json_object_del(c, "kid");      /* the key is named by its thumbprint */
    if (!json_object_get(c, "alg")) /* an RSA key serves RS256 and PS256: the header says */
        json_object_set_new(c, "alg", json_string(jose_alg_name(h->alg)));
    rc = key_import(c, false, k, ri);
    json_decref(c);
    if (rc == RC_OK && k->alg != h->alg) {
        key_free(k);
        return rc_set(ri, RC_DENIED, "alg", "not the algorithm of the jwk");
    }
    return rc;
}

/* ---- the cache of imported header keys ---------------------------------------------------
 * Importing a JWK (building the key, checking the point is on the curve) costs about as much
 * as the signature check itself; a client proves possession of one key for many requests.
 * Direct-mapped slots in shards behind their own mutex; an entry is found by the key's
 * thumbprint and algorithm (the thumbprint is a SHA-256 of every public member: one
 * thumbprint, one key). A user holds a reference while it verifies outside the lock; an entry
 * replaced meanwhile is freed by its last user. Only keys that verified a signature enter. */

#define KC_SHARDS 16

struct kc_entry {
    char tp[44];
    enum jose_alg alg;
    unsigned refs; /* under the shard's lock */
    bool evicted;  /* out of its slot: the last user frees it */
    struct jose_key k;
};

struct kc_shard {
    pthread_mutex_t mu;
    struct kc_entry **slot;
};

struct jose_key_cache {
    size_t per_shard;
    struct kc_shard sh[KC_SHARDS];
    atomic_ullong hits, misses;
};

struct jose_key_cache *
jose_key_cache_new(size_t entries)
{
    struct jose_key_cache *c;
    size_t per = entries / KC_SHARDS;

    if (entries == 0 || !(c = calloc(1, sizeof(*c))))
        return NULL;
    c->per_shard = per ? per : 1;
    for (size_t i = 0; i < KC_SHARDS; i++) {
        pthread_mutex_init(&c->sh[i].mu, NULL);
        if (!(c->sh[i].slot = calloc(c->per_shard, sizeof(*c->sh[i].slot)))) {
            c->per_shard = i ? c->per_shard : 0;
            jose_key_cache_free(c);
            return NULL;
        }
    }
    return c;
}

static void
kc_entry_free(struct kc_entry *e)
{
    key_free(&e->k);
    free(e);
}

void
jose_key_cache_free(struct jose_key_cache *c)
{
    if (!c)
        return;
    for (size_t i = 0; i < KC_SHARDS; i++) {
        for (size_t j = 0; c->sh[i].slot && j < c->per_shard; j++)
            if (c->sh[i].slot[j])
                kc_entry_free(c->sh[i].slot[j]);
        free(c->sh[i].slot);
        pthread_mutex_destroy(&c->sh[i].mu);
    }
    free(c);
}

void
jose_key_cache_stats(const struct jose_key_cache *c, uint64_t *hits, uint64_t *misses)
{
    *hits = c ? atomic_load(&c->hits) : 0;
    *misses = c ? atomic_load(&c->misses) : 0;
}

/* The shard and slot of thumbprint tp (base64url of a SHA-256: its characters are random). */
static struct kc_shard *
kc_where(struct jose_key_cache *c, const char tp[44], struct kc_entry ***slot)
{
    uint64_t h = 1469598103934665603ull;

    for (size_t i = 0; i < 43; i++)
        h = (h ^ (uint8_t)tp[i]) * 1099511628211ull;
    *slot = &c->sh[h % KC_SHARDS].slot[(h / KC_SHARDS) % c->per_shard];
    return &c->sh[h % KC_SHARDS];
}

/* The entry of (tp, alg) with a reference taken, or NULL. */
static struct kc_entry *
kc_get(struct jose_key_cache *c, const char tp[44], enum jose_alg alg)
{
    struct kc_entry **slot, *e;
    struct kc_shard *sh = kc_where(c, tp, &slot);

    pthread_mutex_lock(&sh->mu);
    e = *slot;
    if (e && e->alg == alg && memcmp(e->tp, tp, 44) == 0)
        e->refs++;
    else
        e = NULL;
    pthread_mutex_unlock(&sh->mu);
    atomic_fetch_add_explicit(e ? &c->hits : &c->misses, 1, memory_order_relaxed);
    return e;
}

static void
kc_put(struct jose_key_cache *c, struct kc_entry *e)
{
    struct kc_entry **slot;
    struct kc_shard *sh = kc_where(c, e->tp, &slot);
    bool gone;

    pthread_mutex_lock(&sh->mu);
    gone = --e->refs == 0 && e->evicted;
    pthread_mutex_unlock(&sh->mu);
    if (gone)
        kc_entry_free(e);
}

/* Moves k into the cache as the entry of (tp, alg), replacing the slot's entry. k holds
 * nothing after (the key is the cache's, or freed when out of memory). */
static void
kc_insert(struct jose_key_cache *c, const char tp[44], enum jose_alg alg, struct jose_key *k)
{
    struct kc_entry **slot, *e = calloc(1, sizeof(*e)), *old = NULL;
    struct kc_shard *sh = kc_where(c, tp, &slot);

    if (!e) {
        key_free(k);
        return;
    }
    memcpy(e->tp, tp, 44);
    e->alg = alg;
    e->k = *k;
    memset(k, 0, sizeof(*k));
    pthread_mutex_lock(&sh->mu);
    if ((old = *slot) && old->refs) {
        old->evicted = true;
        old = NULL;
    }
    *slot = e;
    pthread_mutex_unlock(&sh->mu);
    if (old)
        kc_entry_free(old);
}

enum rc
jose_verify_jwk_cached(const struct jose_verify_opts *o, struct jose_key_cache *c,
                       struct span token, struct arena *a, struct span *header,
                       struct span *payload, char thumbprint[44], struct rc_info *ri)
{
    struct jws_parts p;
    struct jose_header h = {0};
    struct jose_key k = {0};
    struct kc_entry *e = NULL;
    struct span raw;
    json_t *hj = NULL, *jwk = NULL;
    enum rc rc;

    if ((rc = split_compact(token, &p, ri)) != RC_OK)
        return rc;
    if ((rc = jose_b64url_decode(p.hdr, a, &raw)) != RC_OK)
        return rc_set(ri, rc, "jwt", "header is not base64url");
    hj = json_loadb((const char *)raw.p, raw.len, JSON_REJECT_DUPLICATES, NULL);
    if (!json_is_object(hj))
        rc = rc_set(ri, RC_MALFORMED, "jwt", "header is not a JSON object");
    else if ((rc = header_check(hj, o, a, &h, ri)) == RC_OK
             && (rc = embedded_jwk(hj, &jwk, thumbprint, ri)) == RC_OK
             && !(c && (e = kc_get(c, thumbprint, h.alg))))
        rc = embedded_key(jwk, &h, &k, ri);
    json_decref(hj);
    if (rc != RC_OK)
        return rc;
    rc = verify_with(e ? &e->k : &k, &p, token, a, payload, ri);
    if (e)
        kc_put(c, e);
    else if (c && rc == RC_OK)
        kc_insert(c, thumbprint, h.alg, &k);
    key_free(&k);
    if (rc == RC_OK)
        *header = raw;
    return rc;
}

enum rc
jose_verify_jwk(const struct jose_verify_opts *o, struct span token, struct arena *a,
                struct span *header, struct span *payload, char thumbprint[44], struct rc_info *ri)
{
    return jose_verify_jwk_cached(o, NULL, token, a, header, payload, thumbprint, ri);
}
