/* DPoP proofs for unit tests (tests/unit/core/test_dpop.c, tests/unit/flow/test_dpop.c):
 * generated ES256 keys and proofs signed with cjose with any header, so that every rule of
 * RFC 9449 §4.3 can be broken on purpose. Static storage; not thread-safe. */
#ifndef AUTHD_TEST_DPOP_SIGN_H
#define AUTHD_TEST_DPOP_SIGN_H

#include <cjose/cjose.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/dpop.h"
#include "core/jose.h"

/* A fresh ES256 key: private JWK text (static, made once) and its public part. */
__attribute__((unused)) static const char *
key_json(bool second)
{
    static char *k[2];
    struct buf b;

    if (!k[second]) {
        buf_init(&b, 8192);
        if (jose_key_generate(JOSE_ES256, &b) != RC_OK || buf_append(&b, "", 1) != RC_OK)
            return NULL;
        k[second] = strdup((const char *)b.p);
        buf_clear(&b);
    }
    return k[second];
}

/* The public JWK of key as compact JSON (malloc'd). */
__attribute__((unused)) static char *
public_of(const char *key)
{
    cjose_jwk_t *j = cjose_jwk_import(key, strlen(key), NULL);
    char *s = j ? cjose_jwk_to_json(j, false, NULL) : NULL;

    cjose_jwk_release(j);
    return s;
}

/* A proof signed by key (its alg ES256) with header members typ/alg and jwk (NULL: the
 * key's public part) over claims. Static buffer. */
__attribute__((unused)) static const char *
sign_with(const char *key, const char *typ, const char *alg, const char *jwk, const char *claims)
{
    static char out[DPOP_PROOF_MAX * 2];
    cjose_jwk_t *k = cjose_jwk_import(key, strlen(key), NULL);
    cjose_header_t *h = cjose_header_new(NULL);
    char *pub = jwk ? NULL : public_of(key);
    cjose_jws_t *jws = NULL;
    const char *ser = NULL;

    out[0] = 0;
    cjose_header_set(h, CJOSE_HDR_ALG, alg, NULL);
    cjose_header_set(h, "typ", typ, NULL);
    cjose_header_set_raw(h, "jwk", jwk ? jwk : pub, NULL);
    jws = cjose_jws_sign(k, h, (const uint8_t *)claims, strlen(claims), NULL);
    if (jws && cjose_jws_export(jws, &ser, NULL))
        snprintf(out, sizeof(out), "%s", ser);
    cjose_jws_release(jws);
    cjose_header_release(h);
    cjose_jwk_release(k);
    free(pub);
    return out;
}

#endif
