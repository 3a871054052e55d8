/* HTML escaping: every value placed in a page goes through here (OWASP XSS rule #1/#2:
 * & < > " ' escaped, so the result is safe in element content and quoted attributes). */
#ifndef AUTHD_CORE_HTML_H
#define AUTHD_CORE_HTML_H

#include "util/span.h"

/* Appends s to out with &, <, >, ", ' and NUL escaped. Invalid UTF-8 bytes are replaced
 * by U+FFFD. RC_OK or the buf's error. */
enum rc html_escape(struct buf *out, struct span s);

#endif
