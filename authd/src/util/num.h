/* Checked integer parsing: no sign, no spaces, no trailing bytes, no overflow. */
#ifndef AUTHD_UTIL_NUM_H
#define AUTHD_UTIL_NUM_H

#include <stdint.h>

#include "util/span.h"

/* Parses decimal digits only into *out (in [min, max]). RC_MALFORMED on any other byte
 * or an empty span, RC_TOO_LARGE outside the bounds; *out untouched on failure. */
enum rc num_parse_u64(struct span s, uint64_t min, uint64_t max, uint64_t *out);

#endif
