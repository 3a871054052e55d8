/* libFuzzer target: the CIBA binding message check (core/bindmsg.c). The invariants the
 * header promises: RC_OK only for well-formed UTF-8 of 1..BINDMSG_CHARS_MAX code points with
 * no control character; the copy is the input, NUL-terminated. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/bindmsg.h"
#include "util/utf8.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct arena a;
    const char *out = NULL;
    enum rc rc;

    arena_init(&a, 1 << 16);
    rc = bindmsg_parse(span_of(data, size), &a, &out, NULL);
    if (rc == RC_OK) {
        size_t n = 0;
        uint32_t cp;
        if (!out || strlen(out) != size || memcmp(out, data, size) != 0 || !utf8_valid(data, size))
            abort();
        for (size_t i = 0, k; i < size; i += k, n++)
            if ((k = utf8_next(data + i, size - i, &cp)) == 0 || cp < 0x20 || cp == 0x7f)
                abort();
        if (n == 0 || n > BINDMSG_CHARS_MAX)
            abort();
    } else if (rc != RC_MALFORMED && rc != RC_TOO_LARGE && rc != RC_NOMEM) {
        abort();
    }
    arena_clear(&a);
    return 0;
}
