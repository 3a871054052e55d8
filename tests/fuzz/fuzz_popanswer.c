/* libFuzzer target: the provincial population service's answer parser (a response body from
 * the network) and the cache value decoder (bytes read back from the store), in
 * adapt/popbase_http_wire.c. An accepted answer must encode into a cache value that decodes
 * to the same answer. */
#include <stddef.h>
#include <stdint.h>

#include "adapt/popbase_http_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct span in = span_of(data, size);
    struct pop_attrs at = {0}, at2 = {0};
    enum pop_answer a, a2;
    char v[POPHTTP_CACHE_VALUE];
    size_t n;

    (void)pophttp_cache_decode(in, &a2, &at2);
    if (pophttp_parse_answer(in, &a, &at) != RC_OK)
        return 0;
    if (!(n = pophttp_cache_encode(a, &at, v)))
        __builtin_trap(); /* every answer the service may give is cacheable */
    if (pophttp_cache_decode(span_of(v, n), &a2, &at2) != RC_OK || a2 != a
        || (a == POP_MATCH
            && (at.birth_ymd != at2.birth_ymd || at.sex != at2.sex || at.region != at2.region)))
        __builtin_trap();
    return 0;
}
