/* libFuzzer target: the device grant's user-code normaliser (core/usercode.c, RFC 8628
 * §6.1). The invariants the header promises: RC_OK only for input within
 * USERCODE_INPUT_MAX whose letters, case folded, are the code; the code is USERCODE_LEN
 * letters of the alphabet; normalising it again (and its shown form) gives it back. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/usercode.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char code[USERCODE_LEN + 1], again[USERCODE_LEN + 1], shown[USERCODE_SHOWN_LEN + 1];
    enum rc rc = usercode_normalise(span_of(data, size), code);
    size_t k = 0;

    if (rc != RC_OK) {
        if (rc != RC_MALFORMED && rc != RC_TOO_LARGE)
            abort();
        return 0;
    }
    if (size > USERCODE_INPUT_MAX || strlen(code) != USERCODE_LEN)
        abort();
    for (size_t i = 0; i < USERCODE_LEN; i++)
        if (!strchr(USERCODE_ALPHABET, code[i]))
            abort();
    for (size_t i = 0; i < size; i++) { /* the input's letters are the code, in order */
        uint8_t c = data[i];
        if (c == '-' || c == ' ' || c == '\t')
            continue;
        if (k >= USERCODE_LEN || (c & ~0x20u) != (uint8_t)code[k++])
            abort();
    }
    usercode_format(code, shown);
    if (usercode_normalise(span_str(shown), again) != RC_OK || strcmp(again, code) != 0)
        abort();
    return 0;
}
