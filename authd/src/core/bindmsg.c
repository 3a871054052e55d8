/* CIBA binding messages (bindmsg.h). */
#include "core/bindmsg.h"

#include <stdbool.h>

#include "util/utf8.h"

static bool
shown_safely(uint32_t cp)
{
    if (cp < 0x20 || (cp >= 0x7f && cp <= 0x9f))
        return false; /* C0, DEL, C1 controls */
    if (cp == 0x2028 || cp == 0x2029)
        return false; /* line and paragraph separators */
    if ((cp >= 0x202a && cp <= 0x202e) || (cp >= 0x2066 && cp <= 0x2069))
        return false; /* bidirectional embeddings, overrides and isolates */
    return cp != 0xfeff;
}

enum rc
bindmsg_parse(struct span in, struct arena *a, const char **out, struct rc_info *ri)
{
    const uint8_t *p = in.p;
    size_t i = 0, n = 0, k;
    uint32_t cp;
    char *s;

    *out = NULL;
    if (in.len > BINDMSG_BYTES_MAX)
        return rc_set(ri, RC_TOO_LARGE, "binding_message", "too long");
    if (in.len == 0)
        return rc_set(ri, RC_MALFORMED, "binding_message", "empty");
    while (i < in.len) {
        if ((k = utf8_next(p + i, in.len - i, &cp)) == 0)
            return rc_set(ri, RC_MALFORMED, "binding_message", "not UTF-8");
        if (!shown_safely(cp))
            return rc_set(ri, RC_MALFORMED, "binding_message", "not printable");
        if (++n > BINDMSG_CHARS_MAX)
            return rc_set(ri, RC_TOO_LARGE, "binding_message", "too long");
        i += k;
    }
    if (!(s = arena_strndup(a, (const char *)in.p, in.len)))
        return rc_set(ri, RC_NOMEM, NULL, NULL);
    *out = s;
    return RC_OK;
}
