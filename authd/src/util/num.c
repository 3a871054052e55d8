#include "util/num.h"

enum rc
num_parse_u64(struct span s, uint64_t min, uint64_t max, uint64_t *out)
{
    uint64_t v = 0;

    if (s.len == 0 || s.len > 20)
        return s.len == 0 ? RC_MALFORMED : RC_TOO_LARGE;
    for (size_t i = 0; i < s.len; i++) {
        unsigned d = (unsigned)s.p[i] - '0';
        if (d > 9)
            return RC_MALFORMED;
        if (v > (UINT64_MAX - d) / 10)
            return RC_TOO_LARGE;
        v = v * 10 + d;
    }
    if (v < min || v > max)
        return RC_TOO_LARGE;
    *out = v;
    return RC_OK;
}
