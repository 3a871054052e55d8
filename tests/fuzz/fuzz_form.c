/* libFuzzer target: core/form over arbitrary bytes. */
#include <stdint.h>
#include <stdlib.h>

#include "core/form.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct arena a;
    struct form f;
    struct buf b;

    arena_init(&a, 1 << 20);
    if (form_parse(&a, data, size, &f, NULL) == RC_OK) {
        buf_init(&b, 0);
        for (size_t i = 0; i < f.n; i++)
            form_append(&b, "k", f.f[i].value);
        buf_clear(&b);
    }
    arena_clear(&a);
    return 0;
}
