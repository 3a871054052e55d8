/* AES-256-GCM blobs under HKDF-derived keys (see seal.h). */
#include "core/seal.h"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <string.h>

#include "core/jose.h"

#define PREFIX     "s1."
#define PREFIX_LEN 3

static bool
kid_ok(struct span kid)
{
    return kid.len >= 1 && kid.len <= SEAL_KID_MAX && span_is_b64url(kid);
}

enum rc
seal_derive(const uint8_t *ikm, size_t ikm_len, const char *label, struct span kid,
            uint8_t key[SEAL_KEY_LEN])
{
    uint8_t info[64 + 1 + SEAL_KID_MAX];
    size_t llen = label ? strlen(label) : 0;
    EVP_KDF *kdf = NULL;
    EVP_KDF_CTX *ctx = NULL;
    OSSL_PARAM params[4];
    enum rc rc = RC_INTERNAL;

    if (!ikm || ikm_len == 0 || llen == 0 || llen > 64 || !kid_ok(kid))
        return RC_MALFORMED;
    memcpy(info, label, llen);
    info[llen] = 0;
    memcpy(info + llen + 1, kid.p, kid.len);
    params[0] = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, "SHA256", 0);
    params[1] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, (void *)ikm, ikm_len);
    params[2] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, info, llen + 1 + kid.len);
    params[3] = OSSL_PARAM_construct_end();
    if ((kdf = EVP_KDF_fetch(NULL, "HKDF", NULL)) && (ctx = EVP_KDF_CTX_new(kdf))
        && EVP_KDF_derive(ctx, key, SEAL_KEY_LEN, params) == 1)
        rc = RC_OK;
    EVP_KDF_CTX_free(ctx);
    EVP_KDF_free(kdf);
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
    size_t n = SEAL_NONCE_LEN + plain.len + SEAL_TAG_LEN;
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
    rc = gcm(1, key, nonce, aad, plain.p, plain.len, raw + SEAL_NONCE_LEN,
             raw + SEAL_NONCE_LEN + plain.len);
    if (rc == RC_OK)
        rc = jose_b64url_encode((struct span){raw, n}, a, &b64);
    OPENSSL_cleanse(raw, n);
    if (rc != RC_OK)
        return rc;
    s = arena_printf(a, PREFIX "%.*s.%.*s", (int)kid.len, (const char *)kid.p, (int)b64.len,
                     (const char *)b64.p);
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

    if (blob.len > SEAL_BLOB_MAX)
        return RC_TOO_LARGE;
    if (blob.len < PREFIX_LEN || memcmp(blob.p, PREFIX, PREFIX_LEN) != 0)
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
    uint8_t *plain;
    size_t n;
    enum rc rc;

    if ((rc = split(blob, &k, &body)) != RC_OK)
        return rc;
    if (!span_eq(k, kid))
        return RC_DENIED;
    if ((rc = jose_b64url_decode(body, a, &raw)) != RC_OK)
        return rc;
    if (raw.len < SEAL_NONCE_LEN + SEAL_TAG_LEN)
        return RC_MALFORMED;
    n = raw.len - SEAL_NONCE_LEN - SEAL_TAG_LEN;
    if (n > SEAL_PLAIN_MAX)
        return RC_TOO_LARGE;
    if (!(plain = arena_alloc(a, n + SEAL_TAG_LEN + 1)))
        return RC_NOMEM;
    rc = gcm(0, key, raw.p, aad, raw.p + SEAL_NONCE_LEN, n, plain,
             (uint8_t *)raw.p + SEAL_NONCE_LEN + n);
    if (rc != RC_OK) {
        OPENSSL_cleanse(plain, n + SEAL_TAG_LEN);
        return rc;
    }
    plain[n] = 0;
    *out = (struct span){plain, n};
    return RC_OK;
}
