#include "core/bearer.h"

#include <string.h>
#include <strings.h>

static bool
b64token_char(uint8_t c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-'
           || c == '.' || c == '_' || c == '~' || c == '+' || c == '/';
}

enum rc
bearer_parse(struct span hdr, struct span *tok)
{
    return bearer_parse_scheme(hdr, "Bearer", tok);
}

enum rc
bearer_parse_scheme(struct span hdr, const char *scheme, struct span *tok)
{
    size_t i = strlen(scheme), start, end, pad;

    if (hdr.len > BEARER_MAX)
        return RC_TOO_LARGE;
    if (hdr.len <= i || strncasecmp((const char *)hdr.p, scheme, i) != 0 || hdr.p[i] != ' ')
        return RC_NOT_FOUND;
    while (i < hdr.len && hdr.p[i] == ' ')
        i++;
    end = hdr.len;
    while (end > i && hdr.p[end - 1] == ' ')
        end--;
    start = i;
    while (i < end && b64token_char(hdr.p[i]))
        i++;
    if (i == start) /* RFC 6750 §2.1: at least one token character */
        return RC_MALFORMED;
    for (pad = i; pad < end && hdr.p[pad] == '='; pad++)
        ;
    if (pad != end)
        return RC_MALFORMED;
    *tok = span_of(hdr.p + start, end - start);
    return RC_OK;
}
