#include "core/html.h"

/* Length of the valid UTF-8 sequence at p (1-4), or 0 if invalid (RFC 3629 §4). */
static size_t
utf8_len(const uint8_t *p, size_t n)
{
    uint8_t c = p[0];
    size_t need;
    uint32_t cp;

    if (c < 0x80)
        return 1;
    if (c >= 0xC2 && c <= 0xDF)
        need = 2, cp = c & 0x1F;
    else if (c >= 0xE0 && c <= 0xEF)
        need = 3, cp = c & 0x0F;
    else if (c >= 0xF0 && c <= 0xF4)
        need = 4, cp = c & 0x07;
    else
        return 0;
    if (n < need)
        return 0;
    for (size_t i = 1; i < need; i++) {
        if ((p[i] & 0xC0) != 0x80)
            return 0;
        cp = cp << 6 | (p[i] & 0x3F);
    }
    if ((need == 3 && (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF)))
        || (need == 4 && (cp < 0x10000 || cp > 0x10FFFF)))
        return 0;
    return need;
}

enum rc
html_escape(struct buf *out, struct span s)
{
    enum rc rc = RC_OK;
    size_t i = 0, run = 0;

    while (i < s.len && rc == RC_OK) {
        const char *rep = NULL;
        size_t n = utf8_len(s.p + i, s.len - i);
        switch (n == 1 ? s.p[i] : 0x100) {
        case '&': rep = "&amp;"; break;
        case '<': rep = "&lt;"; break;
        case '>': rep = "&gt;"; break;
        case '"': rep = "&quot;"; break;
        case '\'': rep = "&#39;"; break;
        case 0: rep = "\xEF\xBF\xBD"; break;
        default: break;
        }
        if (n == 0)
            rep = "\xEF\xBF\xBD", n = 1;
        if (!rep) {
            i += n, run += n;
            continue;
        }
        rc = buf_append(out, s.p + i - run, run);
        if (rc == RC_OK)
            rc = buf_append_str(out, rep);
        i += n, run = 0;
    }
    if (rc == RC_OK && run)
        rc = buf_append(out, s.p + i - run, run);
    return rc;
}
