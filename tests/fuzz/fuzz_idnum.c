/* libFuzzer target: core/idnum (parse and 15-digit conversion) and core/mask. */
#include <stddef.h>
#include <stdint.h>

#include "core/idnum.h"
#include "core/mask.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct idnum id;
    struct idnum_info info = {.today_ymd = 20250301};
    char m[MASK_IDNUM_SIZE];
    struct span in = span_of(data, size);

    if (idnum_parse(in, &id, &info) == RC_OK && id.text[18] != '\0')
        __builtin_trap();
    (void)idnum_convert15(in, &id, &info);
    mask_idnum(in, m);
    return 0;
}
