/* libFuzzer target: core/name's normalization on its own (popcsv reaches it only through a
 * CSV row). Checks the contract too: a normalized name is within NAME_MAX_LEN, non-empty,
 * and normalizing it again changes nothing. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "core/name.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct name_norm n, again;

    if (name_normalize(span_of(data, size), &n, NULL) != RC_OK)
        return 0;
    if (n.len == 0 || n.len > NAME_MAX_LEN)
        __builtin_trap();
    if (name_normalize(span_of(n.p, n.len), &again, NULL) != RC_OK || again.len != n.len
        || memcmp(again.p, n.p, n.len) != 0)
        __builtin_trap(); /* normalization is idempotent */
    return 0;
}
