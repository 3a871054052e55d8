/* The Authorization request header of a protected resource request (RFC 6750 §2.1):
 *   credentials = "Bearer" 1*SP b64token
 *   b64token    = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="
 * Pure: no I/O, no allocation (the token is a span of the header). */
#ifndef AUTHD_CORE_BEARER_H
#define AUTHD_CORE_BEARER_H

#include "util/rc.h"
#include "util/span.h"

#define BEARER_MAX 8192 /* bytes of an Authorization header value we look at */

/* Reads a Bearer token from the header value hdr. The scheme is case-insensitive
 * (RFC 7235 §2.1); spaces around the token are allowed, anything else is not. RC_OK: *tok
 * points into hdr. RC_NOT_FOUND: another scheme (or none); RC_MALFORMED: Bearer with a
 * missing token, a byte outside b64token, or '=' before the end; RC_TOO_LARGE past
 * BEARER_MAX. *tok is untouched on failure. */
enum rc bearer_parse(struct span hdr, struct span *tok);
/* The same for another scheme with the same token syntax: "DPoP" (RFC 9449 §7.1). */
enum rc bearer_parse_scheme(struct span hdr, const char *scheme, struct span *tok);

#endif
