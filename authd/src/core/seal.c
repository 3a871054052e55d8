/* AES-256-GCM ("s1.") and SM4-CTR + HMAC-SM3 ("s2.") blobs under HKDF-derived keys (see
 * seal.h). */
#include "core/seal.h"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <string.h>

#include "core/jose.h"

#define PREFIX     "s1."
#define PREFIX2    "s2."
#define PREFIX_LEN 3
#define INFO_ENC   "authd seal s2 enc"
#define INFO_MAC   "authd seal s2 mac"

bool
seal_cipher_by_name(const char *name, enum seal_cipher *out)
{
    if (name && strcmp(name, "aes-256-gcm") == 0)
        *out = SEAL_AES_256_GCM;
    else if (name && strcmp(name, "sm4-ctr-hmac-sm3") == 0)
        *out = SEAL_SM4_CTR_HMAC_SM3;
    else
        return false;
    return true;
}

bool
seal_cipher_of(struct span blob, enum seal_cipher *out)
{
    if (blob.len >= PREFIX_LEN && memcmp(blob.p, PREFIX, PREFIX_LEN) == 0)
        *out = SEAL_AES_256_GCM;
    else if (blob.len >= PREFIX_LEN && memcmp(blob.p, PREFIX2, PREFIX_LEN) == 0)
        *out = SEAL_SM4_CTR_HMAC_SM3;
    else
        return false;
    return true;
}

static bool
kid_ok(struct span kid)
{
    return kid.len >= 1 && kid.len <= SEAL_KID_MAX && span_is_b64url(kid);
}

/* HKDF (RFC 5869, no salt) with digest md over ikm and info into out (n bytes). */
static enum rc
hkdf(const char *md, const uint8_t *ikm, size_t ikm_len, const uint8_t *info, size_t info_len,
     uint8_t *out, size_t n)
{
    EVP_KDF *kdf = NULL;
    EVP_KDF_CTX *ctx = NULL;
    OSSL_PARAM params[4];
    enum rc rc = RC_INTERNAL;

    params[0] = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, (char *)md, 0);
    params[1] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, (void *)ikm, ikm_len);
    params[2] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, (void *)info, info_len);
    params[3] = OSSL_PARAM_construct_end();
    if ((kdf = EVP_KDF_fetch(NULL, "HKDF", NULL)) && (ctx = EVP_KDF_CTX_new(kdf))
        && EVP_KDF_derive(ctx, out, n, params) == 1)
        rc = RC_OK;
    EVP_KDF_CTX_free(ctx);
    EVP_KDF_free(kdf);
    return rc;
}

enum rc
seal_sm4_keys(const uint8_t key[SEAL_KEY_LEN], uint8_t enc[SEAL_SM4_KEY_LEN],
              uint8_t mac[SEAL_MAC_LEN])
{
    enum rc rc = hkdf("SM3", key, SEAL_KEY_LEN, (const uint8_t *)INFO_ENC, strlen(INFO_ENC), enc,
                      SEAL_SM4_KEY_LEN);

    if (rc == RC_OK)
        rc = hkdf("SM3", key, SEAL_KEY_LEN, (const uint8_t *)INFO_MAC, strlen(INFO_MAC), mac,
                  SEAL_MAC_LEN);
    return rc;
}

enum rc
seal_derive(const uint8_t *ikm, size_t ikm_len, const char *label, struct span kid,
            uint8_t key[SEAL_KEY_LEN])
{
    uint8_t info[64 + 1 + SEAL_KID_MAX];
    size_t llen = label ? strlen(label) : 0;

    if (!ikm || ikm_len == 0 || llen == 0 || llen > 64 || !kid_ok(kid))
        return RC_MALFORMED;
    memcpy(info, label, llen);
    info[llen] = 0;
    memcpy(info + llen + 1, kid.p, kid.len);
    return hkdf("SHA256", ikm, ikm_len, info, llen + 1 + kid.len, key, SEAL_KEY_LEN);
}

/* SM4-CTR of in (n bytes) into out under enc with iv = nonce || 0^32 (its own inverse). */
static enum rc
sm4_ctr(const uint8_t enc[SEAL_SM4_KEY_LEN], const uint8_t nonce[SEAL_NONCE_LEN], const uint8_t *in,
        size_t n, uint8_t *out)
{
    uint8_t iv[16] = {0};
    EVP_CIPHER *c = EVP_CIPHER_fetch(NULL, "SM4-CTR", NULL);
    EVP_CIPHER_CTX *x = EVP_CIPHER_CTX_new();
    int len = 0, fin = 0;
    enum rc rc = RC_INTERNAL;

    memcpy(iv, nonce, SEAL_NONCE_LEN);
    if (c && x && EVP_EncryptInit_ex2(x, c, enc, iv, NULL) == 1
        && (n == 0 || EVP_EncryptUpdate(x, out, &len, in, (int)n) == 1)
        && EVP_EncryptFinal_ex(x, out + len, &fin) == 1 && (size_t)(len + fin) == n)
        rc = RC_OK;
    EVP_CIPHER_CTX_free(x);
    EVP_CIPHER_free(c);
    return rc;
}

/* HMAC-SM3 of the s2 MAC input (see seal.h) into tag. */
static enum rc
sm3_tag(const uint8_t mac[SEAL_MAC_LEN], struct span kid, struct span aad,
        const uint8_t nonce[SEAL_NONCE_LEN], const uint8_t *ct, size_t n, uint8_t tag[SEAL_MAC_LEN])
{
    uint8_t head[3 + 1 + SEAL_KID_MAX + 4];
    size_t hl = 0, tl = 0;
    EVP_MAC *m = EVP_MAC_fetch(NULL, "HMAC", NULL);
    EVP_MAC_CTX *x = m ? EVP_MAC_CTX_new(m) : NULL;
    OSSL_PARAM params[2];
    enum rc rc = RC_INTERNAL;

    memcpy(head, "s2\0", 3), hl = 3;
    head[hl++] = (uint8_t)kid.len;
    memcpy(head + hl, kid.p, kid.len), hl += kid.len;
    head[hl++] = (uint8_t)(aad.len >> 24), head[hl++] = (uint8_t)(aad.len >> 16);
    head[hl++] = (uint8_t)(aad.len >> 8), head[hl++] = (uint8_t)aad.len;
    params[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, "SM3", 0);
    params[1] = OSSL_PARAM_construct_end();
    if (x && EVP_MAC_init(x, mac, SEAL_MAC_LEN, params) == 1 && EVP_MAC_update(x, head, hl) == 1
        && (aad.len == 0 || EVP_MAC_update(x, aad.p, aad.len) == 1)
        && EVP_MAC_update(x, nonce, SEAL_NONCE_LEN) == 1
        && (n == 0 || EVP_MAC_update(x, ct, n) == 1)
        && EVP_MAC_final(x, tag, &tl, SEAL_MAC_LEN) == 1 && tl == SEAL_MAC_LEN)
        rc = RC_OK;
    EVP_MAC_CTX_free(x);
    EVP_MAC_free(m);
    return rc;
}

/* s2: encrypt-then-MAC (enc 1) or check-then-decrypt (enc 0) of in (n bytes) into out, the
 * tag in/out. RC_OK, RC_DENIED (open: the tag does not verify), RC_INTERNAL. */
static enum rc
sm4_etm(int enc, const uint8_t key[SEAL_KEY_LEN], struct span kid,
        const uint8_t nonce[SEAL_NONCE_LEN], struct span aad, const uint8_t *in, size_t n,
        uint8_t *out, uint8_t tag[SEAL_MAC_LEN])
{
    uint8_t ke[SEAL_SM4_KEY_LEN], km[SEAL_MAC_LEN], want[SEAL_MAC_LEN];
    enum rc rc = seal_sm4_keys(key, ke, km);

    if (rc == RC_OK && enc) {
        if ((rc = sm4_ctr(ke, nonce, in, n, out)) == RC_OK)
            rc = sm3_tag(km, kid, aad, nonce, out, n, tag);
    } else if (rc == RC_OK) {
        if ((rc = sm3_tag(km, kid, aad, nonce, in, n, want)) == RC_OK
            && CRYPTO_memcmp(want, tag, SEAL_MAC_LEN) != 0)
            rc = RC_DENIED;
        if (rc == RC_OK)
            rc = sm4_ctr(ke, nonce, in, n, out);
    }
    OPENSSL_cleanse(ke, sizeof(ke));
    OPENSSL_cleanse(km, sizeof(km));
    return rc;
}

/* AES-256-GCM over in (len n) into out, with the tag in/out. enc: 1 seal, 0 open. RC_OK,
 * RC_DENIED (open: the tag does not verify), RC_INTERNAL. */
static enum rc
gcm(int enc, const uint8_t key[SEAL_KEY_LEN], const uint8_t nonce[SEAL_NONCE_LEN], struct span aad,
    const uint8_t *in, size_t n, uint8_t *out, uint8_t tag[SEAL_TAG_LEN])
{
    EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
    int len = 0, ok;
    enum rc rc = RC_INTERNAL;

    if (!c)
        return RC_INTERNAL;
    ok = EVP_CipherInit_ex(c, EVP_aes_256_gcm(), NULL, NULL, NULL, enc) == 1
         && EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_IVLEN, SEAL_NONCE_LEN, NULL) == 1
         && EVP_CipherInit_ex(c, NULL, NULL, key, nonce, enc) == 1
         && (aad.len == 0 || EVP_CipherUpdate(c, NULL, &len, aad.p, (int)aad.len) == 1)
         && (n == 0 || EVP_CipherUpdate(c, out, &len, in, (int)n) == 1)
         && (enc || EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_TAG, SEAL_TAG_LEN, tag) == 1);
    if (ok && EVP_CipherFinal_ex(c, out + n, &len) != 1)
        rc = enc ? RC_INTERNAL : RC_DENIED; /* open: the tag does not verify */
    else if (ok && enc && EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_GET_TAG, SEAL_TAG_LEN, tag) != 1)
        rc = RC_INTERNAL;
    else if (ok)
        rc = RC_OK;
    EVP_CIPHER_CTX_free(c);
    return rc;
}

enum rc
seal_seal(struct arena *a, const uint8_t key[SEAL_KEY_LEN], struct span kid,
          const uint8_t nonce[SEAL_NONCE_LEN], struct span aad, struct span plain, struct span *out)
{
    return seal_seal_with(a, SEAL_AES_256_GCM, key, kid, nonce, aad, plain, out);
}

enum rc
seal_seal_with(struct arena *a, enum seal_cipher c, const uint8_t key[SEAL_KEY_LEN],
               struct span kid, const uint8_t nonce[SEAL_NONCE_LEN], struct span aad,
               struct span plain, struct span *out)
{
    bool sm = c == SEAL_SM4_CTR_HMAC_SM3;
    size_t tagl = sm ? SEAL_MAC_LEN : SEAL_TAG_LEN, n = SEAL_NONCE_LEN + plain.len + tagl;
    uint8_t *raw;
    struct span b64;
    enum rc rc;
    char *s;

    if (!kid_ok(kid))
        return RC_MALFORMED;
    if (plain.len > SEAL_PLAIN_MAX)
        return RC_TOO_LARGE;
    if (!(raw = arena_alloc(a, n + SEAL_TAG_LEN)))
        return RC_NOMEM;
    memcpy(raw, nonce, SEAL_NONCE_LEN);
    rc = sm ? sm4_etm(1, key, kid, nonce, aad, plain.p, plain.len, raw + SEAL_NONCE_LEN,
                      raw + SEAL_NONCE_LEN + plain.len)
            : gcm(1, key, nonce, aad, plain.p, plain.len, raw + SEAL_NONCE_LEN,
                  raw + SEAL_NONCE_LEN + plain.len);
    if (rc == RC_OK)
        rc = jose_b64url_encode((struct span){raw, n}, a, &b64);
    OPENSSL_cleanse(raw, n);
    if (rc != RC_OK)
        return rc;
    s = arena_printf(a, "%s%.*s.%.*s", sm ? PREFIX2 : PREFIX, (int)kid.len, (const char *)kid.p,
                     (int)b64.len, (const char *)b64.p);
    if (!s)
        return RC_NOMEM;
    *out = span_str(s);
    return RC_OK;
}

/* Splits blob into its key id and its base64url body. */
static enum rc
split(struct span blob, struct span *kid, struct span *body)
{
    const uint8_t *dot;

    enum seal_cipher c;

    if (blob.len > SEAL_BLOB_MAX)
        return RC_TOO_LARGE;
    if (!seal_cipher_of(blob, &c))
        return RC_MALFORMED;
    dot = memchr(blob.p + PREFIX_LEN, '.', blob.len - PREFIX_LEN);
    if (!dot)
        return RC_MALFORMED;
    *kid = (struct span){blob.p + PREFIX_LEN, (size_t)(dot - blob.p) - PREFIX_LEN};
    *body = (struct span){dot + 1, blob.len - (size_t)(dot + 1 - blob.p)};
    return kid_ok(*kid) && span_is_b64url(*body) ? RC_OK : RC_MALFORMED;
}

enum rc
seal_kid(struct span blob, struct span *kid)
{
    struct span body;

    return split(blob, kid, &body);
}

enum rc
seal_open(struct arena *a, const uint8_t key[SEAL_KEY_LEN], struct span kid, struct span aad,
          struct span blob, struct span *out)
{
    struct span k, body, raw;
    enum seal_cipher c = SEAL_AES_256_GCM;
    uint8_t *plain;
    size_t n, tagl;
    enum rc rc;

    if ((rc = split(blob, &k, &body)) != RC_OK)
        return rc;
    if (!span_eq(k, kid))
        return RC_DENIED;
    seal_cipher_of(blob, &c);
    tagl = c == SEAL_SM4_CTR_HMAC_SM3 ? SEAL_MAC_LEN : SEAL_TAG_LEN;
    if ((rc = jose_b64url_decode(body, a, &raw)) != RC_OK)
        return rc;
    if (raw.len < SEAL_NONCE_LEN + tagl)
        return RC_MALFORMED;
    n = raw.len - SEAL_NONCE_LEN - tagl;
    if (n > SEAL_PLAIN_MAX)
        return RC_TOO_LARGE;
    if (!(plain = arena_alloc(a, n + SEAL_TAG_LEN + 1)))
        return RC_NOMEM;
    rc = c == SEAL_SM4_CTR_HMAC_SM3 ? sm4_etm(0, key, kid, raw.p, aad, raw.p + SEAL_NONCE_LEN, n,
                                              plain, (uint8_t *)raw.p + SEAL_NONCE_LEN + n)
                                    : gcm(0, key, raw.p, aad, raw.p + SEAL_NONCE_LEN, n, plain,
                                          (uint8_t *)raw.p + SEAL_NONCE_LEN + n);
    if (rc != RC_OK) {
        OPENSSL_cleanse(plain, n + SEAL_TAG_LEN);
        return rc;
    }
    plain[n] = 0;
    *out = (struct span){plain, n};
    return RC_OK;
}
