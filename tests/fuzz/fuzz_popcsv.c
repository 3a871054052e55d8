/* libFuzzer target: core/popcsv over a whole file (split into lines like the compiler
 * does), which also drives core/name and core/idnum. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "core/mask.h"
#include "core/popcsv.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t off = 0;
    int first = 1;

    while (off < size) {
        const uint8_t *nl = memchr(data + off, '\n', size - off);
        size_t end = nl ? (size_t)(nl - data) + 1 : size;
        struct span line = span_of(data + off, end - off);
        struct pop_row r;
        char m[MASK_NAME_SIZE];

        off = end;
        if (first) {
            first = 0;
            (void)popcsv_header(line, NULL);
            continue;
        }
        if (popcsv_row(line, 20250301, &r, NULL) == RC_OK && r.name.len > NAME_MAX_LEN)
            __builtin_trap();
        mask_name(line, m);
    }
    return 0;
}
