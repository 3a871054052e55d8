/* Fuzz target: JWK and JWKS import (core/jose), as for a client's private_key_jwt keys or a
 * relying party's copy of /jwks; also the thumbprint of the input as a single JWK. */
#include <stddef.h>
#include <stdint.h>

#include "core/jose.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct jose_keyset *ks = NULL;
    struct arena a;
    struct span s = span_of(data, size), tp;

    if (jose_keyset_parse_jwks(s, &ks, NULL) == RC_OK) {
        struct span j = jose_keyset_jwks(ks);
        struct jose_keyset *again = NULL;
        /* what we publish must import again, with the same number of keys */
        if (jose_keyset_parse_jwks(j, &again, NULL) != RC_OK
            || jose_keyset_count(again) != jose_keyset_count(ks))
            __builtin_trap();
        jose_keyset_release(again);
        jose_keyset_release(ks);
    }
    if (jose_keyset_new(&ks) == RC_OK) {
        jose_keyset_add_jwk(ks, s, 0, NULL);
        jose_keyset_release(ks);
    }
    arena_init(&a, 1 << 20);
    jose_jwk_thumbprint(s, &a, &tp);
    arena_clear(&a);
    return 0;
}
