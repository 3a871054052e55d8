/* libFuzzer target: DPoP proofs (RFC 9449 §4.3) through dpop_proof_parse: the JWS split,
 * the header (typ, alg, jwk: a key imported from untrusted JSON), the signature check with
 * the embedded key, the claims. Fixed expectations: POST https://id.example/token at
 * 1740787200, window 60 s, leeway 5 s; odd-length inputs also expect ath "abc". The
 * invariants the header promises: a failure carries RC_WHY_DPOP_PROOF; a success has a
 * 43-character thumbprint, a jti and an iat inside the window. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/dpop.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct dpop_expect e = {
        "POST", "https://id.example/token", size % 2 ? "abc" : NULL, 1740787200, 60, 5};
    struct dpop_proof p;
    struct rc_info ri = {0};
    struct arena a;
    enum rc rc;

    arena_init(&a, 1 << 20);
    rc = dpop_proof_parse(span_of(data, size), &e, &a, &p, &ri);
    if (rc != RC_OK && rc != RC_NOMEM && ri.why != RC_WHY_DPOP_PROOF)
        abort();
    if (rc == RC_OK
        && (strlen(p.jkt) != DPOP_JKT_LEN || !p.jti || !*p.jti || p.iat > e.now + e.leeway
            || p.iat < e.now - e.max_age - e.leeway))
        abort();
    arena_clear(&a);
    return 0;
}
