/* libFuzzer target: opening sealed blobs read back from the store (core/seal.c). The input
 * is the blob; the key is fixed. Nothing but a blob sealed under that key may open, and
 * what seal_kid names must be what seal_open checks. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/seal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const uint8_t key[SEAL_KEY_LEN] = {42};
    struct arena a;
    struct span blob = span_of(data, size), kid, plain;
    enum rc krc = seal_kid(blob, &kid), rc;

    arena_init(&a, 0);
    rc = seal_open(&a, key, SPAN("m1"), SPAN("aad"), blob, &plain);
    if (rc == RC_OK && (krc != RC_OK || !span_eq_str(kid, "m1") || plain.len > SEAL_PLAIN_MAX))
        abort();
    if (krc == RC_OK && (kid.len == 0 || kid.len > SEAL_KID_MAX))
        abort();
    arena_clear(&a);
    return 0;
}
