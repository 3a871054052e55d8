/* QR codes for pages and terminals, drawn by libqrencode (ISO/IEC 18004; byte mode, error
 * correction level M): the TOTP enrolment page's otpauth:// URI and the device grant's
 * verification_uri_complete. Two renderings of the same symbol: an inline SVG for a page
 * (no JavaScript, no image request) and UTF-8 half blocks for a terminal. Both keep the
 * quiet zone of 4 modules the standard asks for. */
#ifndef AUTHD_CORE_QR_H
#define AUTHD_CORE_QR_H

#include "util/span.h"

#define QR_TEXT_MAX 1024 /* longer text is refused (RC_TOO_LARGE): a phone cannot scan it */

/* Appends an <svg> element drawing text as a QR code, scale pixels per module, dark on
 * white, with role="img" and aria-label (the label is HTML-escaped). RC_OK,
 * RC_MALFORMED (empty text or a NUL in it), RC_TOO_LARGE (text over QR_TEXT_MAX or the
 * buf's cap), RC_NOMEM. */
enum rc qr_svg(struct buf *out, struct span text, unsigned scale, const char *label);

/* Appends the QR code as lines of UTF-8 half blocks (two modules per character row,
 * light background), each ending in '\n'. Same return values as qr_svg. */
enum rc qr_utf8(struct buf *out, struct span text);

#endif
