/* libFuzzer target: core/name's normalization on its own (popcsv reaches it only through a
 * CSV row), and core/mask's mask_name_ends on the same bytes. Checks the contract too: a normalized name is within NAME_MAX_LEN, non-empty,
 * and normalizing it again changes nothing. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "core/mask.h"
#include "core/name.h"
#include "util/utf8.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct name_norm n, again;
    char ends[MASK_NAME_ENDS_SIZE];

    /* the hotline's mask (core/mask.h): NUL-terminated inside its buffer, well-formed
     * UTF-8, at most three characters (first, '*', last) */
    mask_name_ends(span_of(data, size), ends);
    if (!memchr(ends, 0, sizeof(ends)) || !utf8_valid((const uint8_t *)ends, strlen(ends))
        || !strchr(ends, '*'))
        __builtin_trap();
    for (size_t i = 0, chars = 0, k; ends[i]; i += k) {
        uint32_t cp;
        if (!(k = utf8_next((const uint8_t *)ends + i, strlen(ends + i), &cp)) || ++chars > 3)
            __builtin_trap();
    }
    if (name_normalize(span_of(data, size), &n, NULL) != RC_OK)
        return 0;
    if (n.len == 0 || n.len > NAME_MAX_LEN)
        __builtin_trap();
    if (name_normalize(span_of(n.p, n.len), &again, NULL) != RC_OK || again.len != n.len
        || memcmp(again.p, n.p, n.len) != 0)
        __builtin_trap(); /* normalization is idempotent */
    return 0;
}
