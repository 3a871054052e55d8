/* QR rendering over libqrencode: the library computes the symbol, this file only draws
 * its modules (core/qr.h). */
#include "core/qr.h"

#include <qrencode.h>
#include <string.h>

#include "core/html.h"

#define QUIET 4 /* modules of light border on each side (ISO/IEC 18004 §6.3.8) */

static QRcode *
encode(struct span text, enum rc *rc)
{
    char s[QR_TEXT_MAX + 1];
    QRcode *q;

    if (text.len == 0 || text.len > QR_TEXT_MAX || memchr(text.p, 0, text.len)) {
        *rc = text.len > QR_TEXT_MAX ? RC_TOO_LARGE : RC_MALFORMED;
        return NULL;
    }
    memcpy(s, text.p, text.len);
    s[text.len] = 0;
    q = QRcode_encodeString8bit(s, 0, QR_ECLEVEL_M);
    *rc = q ? RC_OK : RC_NOMEM;
    return q;
}

/* Module (x, y) of q, the quiet zone included: true when dark. */
static int
dark(const QRcode *q, int x, int y)
{
    x -= QUIET;
    y -= QUIET;
    if (x < 0 || y < 0 || x >= q->width || y >= q->width)
        return 0;
    return q->data[y * q->width + x] & 1;
}

enum rc
qr_svg(struct buf *out, struct span text, unsigned scale, const char *label)
{
    enum rc rc;
    QRcode *q = encode(text, &rc);
    int n;

    if (!q)
        return rc;
    n = q->width + 2 * QUIET;
    if (scale == 0)
        scale = 1;
    rc = buf_printf(out,
                    "<svg xmlns=\"http://www.w3.org/2000/svg\" role=\"img\" width=\"%u\" "
                    "height=\"%u\" viewBox=\"0 0 %d %d\" shape-rendering=\"crispEdges\" "
                    "aria-label=\"",
                    n * scale, n * scale, n, n);
    if (rc == RC_OK)
        rc = html_escape(out, span_str(label ? label : "QR code"));
    if (rc == RC_OK)
        rc = buf_printf(out, "\"><rect width=\"%d\" height=\"%d\" fill=\"#fff\"/>"
                             "<path fill=\"#000\" d=\"", n, n);
    /* One horizontal run of dark modules per path segment. */
    for (int y = 0; rc == RC_OK && y < n; y++)
        for (int x = 0; rc == RC_OK && x < n;) {
            int run = 0;
            while (x + run < n && dark(q, x + run, y))
                run++;
            if (run)
                rc = buf_printf(out, "M%d %dh%dv1h-%dz", x, y, run, run);
            x += run ? run : 1;
        }
    if (rc == RC_OK)
        rc = buf_append_str(out, "\"/></svg>");
    QRcode_free(q);
    return rc;
}

enum rc
qr_utf8(struct buf *out, struct span text)
{
    /* Light background: a dark module is drawn as a space, a light one as a block, so
     * the code reads on a terminal with light text on a dark background. */
    static const char *const cell[4] = {"\xe2\x96\x88", "\xe2\x96\x80", "\xe2\x96\x84", " "};
    enum rc rc;
    QRcode *q = encode(text, &rc);
    int n;

    if (!q)
        return rc;
    n = q->width + 2 * QUIET;
    for (int y = 0; rc == RC_OK && y < n; y += 2) {
        for (int x = 0; rc == RC_OK && x < n; x++)
            rc = buf_append_str(out, cell[dark(q, x, y) << 1 | dark(q, x, y + 1)]);
        if (rc == RC_OK)
            rc = buf_append(out, "\n", 1);
    }
    QRcode_free(q);
    return rc;
}
