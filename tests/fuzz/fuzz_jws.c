/* Fuzz target: compact JWS parsing and verification (core/jose) against a fixed public
 * ES256 + RS256 + SM2SM3 key set, every algorithm allowed and typ required on odd-length
 * inputs; the claims check runs over any payload that verifies (the valid_es256_* seeds were
 * signed with the private half of the P-256 key below, valid_sm2_* by the openssl CLI with
 * the SM2 one's), and strict base64url and the claims parser also run over the raw input. */
#include <stddef.h>
#include <stdint.h>

#include "core/jose.h"

/* Public halves of fixed test keys; the seeds in corpus/jws were signed with them. */
static const char jwks[] =
    "{\"keys\":[{\"kty\":\"EC\",\"crv\":\"P-256\",\"kid\":\"fz-es\",\"alg\":\"ES256\","
    "\"x\":\"rdJ1kL0sFmF9fvTSsTuWQP-JeZPeS_iGDQpgaE2i1Hg\","
    "\"y\":\"mgWuWVAyL46y7IQAvJL1ClAJP0QnyntUpUlAlgds3RM\"},"
    "{\"kty\":\"RSA\",\"kid\":\"fz-rs\",\"alg\":\"RS256\",\"e\":\"AQAB\",\"n\":\"0vx7agoebGcQSuu"
    "PiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiF"
    "V4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicA"
    "taSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2"
    "NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw\"},"
    "{\"kty\":\"EC\",\"crv\":\"SM2\",\"kid\":\"fz-sm2\",\"alg\":\"SM2SM3\","
    "\"x\":\"jsOOVP7zkW8A6U5K4jKGxIDyg9sD-_RKOm9NWUr3OYQ\","
    "\"y\":\"GaJQpH08EJEFbsTwSFHp7ddrdEcxmzVDGkVgDPeYl7c\"}]}";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct jose_keyset *ks;
    struct jose_verify_opts o = {JOSE_ALG_ALL, (size & 1) ? "at+jwt" : NULL};
    struct jose_claims_opts c = {"https://id.example", "rp", 1700000000, 60, false, 3600};
    struct jose_header h;
    struct arena a;
    struct span payload;

    if (!ks && jose_keyset_parse_jwks(SPAN(jwks), &ks, NULL) != RC_OK)
        __builtin_trap();
    arena_init(&a, 1 << 20);
    if (jose_verify(ks, &o, span_of(data, size), &a, &payload, &h, NULL) == RC_OK)
        jose_claims_check(payload, &c, NULL);
    jose_b64url_decode(span_of(data, size), &a, &payload);
    jose_claims_check(span_of(data, size), &c, NULL);
    arena_clear(&a);
    return 0;
}
