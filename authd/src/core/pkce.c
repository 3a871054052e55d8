#include "core/pkce.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>

static bool
unreserved(uint8_t c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-'
           || c == '.' || c == '_' || c == '~';
}

static bool
b64url_char(uint8_t c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-'
           || c == '_';
}

bool
pkce_challenge_valid(struct span challenge)
{
    if (challenge.len != PKCE_CHALLENGE_LEN)
        return false;
    for (size_t i = 0; i < challenge.len; i++)
        if (!b64url_char(challenge.p[i]))
            return false;
    return true;
}

/* base64url without padding of 32 bytes: exactly 43 characters. */
static void
b64url32(const uint8_t in[32], char out[PKCE_CHALLENGE_LEN + 1])
{
    static const char al[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    size_t o = 0, i = 0;

    for (; i + 3 <= 32; i += 3) {
        uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];
        out[o++] = al[v >> 18 & 63], out[o++] = al[v >> 12 & 63];
        out[o++] = al[v >> 6 & 63], out[o++] = al[v & 63];
    }
    /* 2 bytes left: 3 characters */
    uint32_t v = (uint32_t)in[30] << 16 | (uint32_t)in[31] << 8;
    out[o++] = al[v >> 18 & 63], out[o++] = al[v >> 12 & 63], out[o++] = al[v >> 6 & 63];
    out[o] = 0;
}

enum rc
pkce_verify(struct span challenge, struct span verifier)
{
    uint8_t md[32];
    char want[PKCE_CHALLENGE_LEN + 1];
    unsigned mdlen = 0;
    enum rc rc = RC_DENIED;

    if (verifier.len < PKCE_VERIFIER_MIN || verifier.len > PKCE_VERIFIER_MAX)
        return RC_MALFORMED;
    for (size_t i = 0; i < verifier.len; i++)
        if (!unreserved(verifier.p[i]))
            return RC_MALFORMED;
    if (!pkce_challenge_valid(challenge))
        return RC_DENIED;
    if (EVP_Digest(verifier.p, verifier.len, md, &mdlen, EVP_sha256(), NULL) != 1 || mdlen != 32)
        return RC_INTERNAL;
    b64url32(md, want);
    if (CRYPTO_memcmp(want, challenge.p, PKCE_CHALLENGE_LEN) == 0)
        rc = RC_OK;
    OPENSSL_cleanse(md, sizeof(md));
    OPENSSL_cleanse(want, sizeof(want));
    return rc;
}
