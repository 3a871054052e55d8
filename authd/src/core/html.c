#include "core/html.h"

#include "util/utf8.h"

enum rc
html_escape(struct buf *out, struct span s)
{
    enum rc rc = RC_OK;
    size_t i = 0, run = 0;

    while (i < s.len && rc == RC_OK) {
        const char *rep = NULL;
        uint32_t cp;
        size_t n = utf8_next(s.p + i, s.len - i, &cp);
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
