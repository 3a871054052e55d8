/* libFuzzer target: language choice from ui_locales and Accept-Language (http/tmpl.c).
 * The input is split at the first NUL: ui_locales before it, Accept-Language after. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "http/tmpl.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const uint8_t *nul = memchr(data, 0, size);
    size_t ui = nul ? (size_t)(nul - data) : size;
    char *al = NULL;

    if (nul && (al = malloc(size - ui))) {
        memcpy(al, nul + 1, size - ui - 1);
        al[size - ui - 1] = 0;
    }
    (void)tmpl_lang(span_of(data, ui), al);
    free(al);
    return 0;
}
