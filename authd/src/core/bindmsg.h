/* The binding message of a CIBA request (OpenID CIBA Core 1.0 §7.1): a short text the
 * client shows on its side and authd on the approval page, so that the citizen can tell
 * the two belong together. Untrusted (from the client); it is escaped where shown. */
#ifndef AUTHD_CORE_BINDMSG_H
#define AUTHD_CORE_BINDMSG_H

#include "util/arena.h"
#include "util/rc.h"
#include "util/span.h"

#define BINDMSG_CHARS_MAX 64                      /* characters (code points) */
#define BINDMSG_BYTES_MAX (4 * BINDMSG_CHARS_MAX) /* checked before decoding */

/* Checks in: well-formed UTF-8 (util/utf8.h), 1..BINDMSG_CHARS_MAX code points, no control
 * character (C0, DEL, C1), no line or paragraph separator, no bidirectional override or
 * isolate (U+202A-202E, U+2066-2069) that could reorder what the page shows. RC_OK: *out,
 * NUL-terminated in a. RC_TOO_LARGE, RC_MALFORMED (ri: field binding_message), RC_NOMEM. */
enum rc bindmsg_parse(struct span in, struct arena *a, const char **out, struct rc_info *ri);

#endif
