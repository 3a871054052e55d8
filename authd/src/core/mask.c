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

void
mask_name_ends(struct span name, char out[MASK_NAME_ENDS_SIZE])
{
    size_t i = 0, chars = 0, last = 0, k;
    uint32_t cp;
    char first[MASK_NAME_SIZE];

    mask_name(name, first);
    memcpy(out, first, strlen(first) + 1);
    if (strcmp(first, "*") == 0)
        return;
    while (i < name.len && (k = utf8_next(name.p + i, name.len - i, &cp)) > 0) {
        last = i, i += k, chars++;
        if (cp < 0x20 || (cp >= 0x7f && cp <= 0x9f))
            return; /* a control character: the first alone */
    }
    if (i != name.len || chars < 3)
        return;
    memcpy(out + strlen(first), name.p + last, i - last);
    out[strlen(first) + (i - last)] = '\0';
}

/* Length of the first `parts` parts of s separated by sep, if s has more than that many
 * and consists only of the characters `ok` accepts; 0 otherwise. */
static size_t
prefix_parts(struct span s, char sep, size_t parts, int (*ok)(int))
{
    size_t seen = 0, cut = 0;

    for (size_t i = 0; i < s.len; i++) {
        if (s.p[i] == sep) {
            if (++seen == parts)
                cut = i;
        } else if (!ok(s.p[i])) {
            return 0;
        }
    }
    return seen >= parts && cut > 0 ? cut : 0;
}

static int
is_digit(int c)
{
    return c >= '0' && c <= '9';
}

static int
is_hex(int c)
{
    return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

void
mask_ip(struct span ip, char out[MASK_IP_SIZE])
{
    size_t cut = 0;
    const char *tail = NULL;

    if (ip.len <= 15 && (cut = prefix_parts(ip, '.', 3, is_digit)) != 0)
        tail = ".*";
    else if (ip.len <= 39 && (cut = prefix_parts(ip, ':', 3, is_hex)) != 0)
        tail = "::*";
    while (tail && cut > 0 && ip.p[cut - 1] == ':')
        cut--; /* "2001:db8::1" keeps "2001:db8" */
    if (!tail || cut == 0) {
        memcpy(out, "*", 2);
        return;
    }
    memcpy(out, ip.p, cut);
    memcpy(out + cut, tail, strlen(tail) + 1);
}
