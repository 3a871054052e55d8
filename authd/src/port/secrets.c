/* The secrets port: argument checks, hex, and the backend (see secrets.h). */
#include "port/secrets.h"

#include <openssl/crypto.h>

enum rc
secrets_hmac(const struct secrets *s, enum secret_purpose p, const struct span *parts,
             size_t nparts, uint8_t out[32])
{
    if (!s || (int)p < 0 || p >= SECRET__COUNT)
        return RC_INTERNAL;
    return s->ops->hmac(s, p, parts, nparts, out);
}

enum rc
secrets_hmac_hex(const struct secrets *s, enum secret_purpose p, const struct span *parts,
                 size_t nparts, char out[65])
{
    static const char hex[] = "0123456789abcdef";
    uint8_t h[32];
    enum rc rc;

    if ((rc = secrets_hmac(s, p, parts, nparts, h)) != RC_OK)
        return rc;
    for (int i = 0; i < 32; i++) {
        out[2 * i] = hex[h[i] >> 4];
        out[2 * i + 1] = hex[h[i] & 15];
    }
    out[64] = 0;
    OPENSSL_cleanse(h, sizeof(h));
    return RC_OK;
}

void
secrets_free(struct secrets *s)
{
    if (s)
        s->ops->free(s);
}
