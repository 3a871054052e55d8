/* libFuzzer target: opening sealed blobs read back from the store (core/seal.c), of both
 * versions ("s1." AES-256-GCM, "s2." SM4-CTR + HMAC-SM3). The input is the blob; the key is
 * fixed. Nothing but a blob sealed under that key may open, what seal_kid names must be what
 * seal_open checks, and a blob that opens is exactly what sealing its plaintext again with
 * its nonce and cipher gives. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/jose.h"
#include "core/seal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The raw bytes (nonce || ciphertext || tag) of the body of blob (after its second dot). */
static struct span
body_of(struct arena *a, struct span blob)
{
    const uint8_t *dot = memchr(blob.p + 3, '.', blob.len - 3);
    struct span raw = {0};

    if (!dot
        || jose_b64url_decode(span_of(dot + 1, blob.len - (size_t)(dot + 1 - blob.p)), a, &raw)
               != RC_OK)
        abort();
    return raw;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const uint8_t key[SEAL_KEY_LEN] = {42};
    struct arena a;
    struct span blob = span_of(data, size), kid, plain, again, r1, r2;
    enum seal_cipher c;
    enum rc krc = seal_kid(blob, &kid), rc;

    arena_init(&a, 0);
    rc = seal_open(&a, key, SPAN("m1"), SPAN("aad"), blob, &plain);
    if (rc == RC_OK && (krc != RC_OK || !span_eq_str(kid, "m1") || plain.len > SEAL_PLAIN_MAX))
        abort();
    if (krc == RC_OK && (kid.len == 0 || kid.len > SEAL_KID_MAX))
        abort();
    if (rc == RC_OK) {
        if (!seal_cipher_of(blob, &c))
            abort();
        r1 = body_of(&a, blob);
        if (seal_seal_with(&a, c, key, SPAN("m1"), r1.p, SPAN("aad"), plain, &again) != RC_OK)
            abort();
        r2 = body_of(&a, again);
        if (!span_eq(r1, r2))
            abort();
    }
    arena_clear(&a);
    return 0;
}
