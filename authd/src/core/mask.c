/* Masking of ID numbers and names (see mask.h). */
#include "core/mask.h"

#include <string.h>

#include "core/idnum.h"
#include "util/utf8.h"

static int
id_char_ok(uint8_t c)
{
    return (c >= '0' && c <= '9') || c == 'X' || c == 'x';
}

void
mask_idnum(struct span id, char out[MASK_IDNUM_SIZE])
{
    size_t n = id.len < IDNUM_LEN ? id.len : IDNUM_LEN;
    int ok = id.len == IDNUM_LEN;

    for (size_t i = 0; ok && i < IDNUM_LEN; i++)
        ok = id_char_ok(id.p[i]);
    memset(out, '*', n);
    out[n] = '\0';
    if (!ok)
        return;
    memcpy(out, id.p, 6);
    memcpy(out + 14, id.p + 14, 4);
    if (out[17] == 'x')
        out[17] = 'X';
}

void
mask_name(struct span name, char out[MASK_NAME_SIZE])
{
    uint32_t cp;
    size_t k = name.len ? utf8_next(name.p, name.len, &cp) : 0;

    if (k == 0 || cp < 0x20 || (cp >= 0x7f && cp <= 0x9f)) {
        memcpy(out, "*", 2);
        return;
    }
    memcpy(out, name.p, k);
    out[k] = '*';
    out[k + 1] = '\0';
}
