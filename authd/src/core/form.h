/* application/x-www-form-urlencoded bodies and URL query strings (WHATWG URL §5.1):
 * name=value pairs joined by '&', '+' for space, %XX escapes. */
#ifndef AUTHD_CORE_FORM_H
#define AUTHD_CORE_FORM_H

#include "util/arena.h"

#define FORM_MAX_LEN    (64 * 1024)
#define FORM_MAX_FIELDS 64

struct form_field {
    struct span name;  /* decoded, in the arena */
    struct span value; /* decoded, in the arena */
};

struct form {
    size_t n;
    struct form_field f[FORM_MAX_FIELDS];
};

/* Parses at most FORM_MAX_LEN bytes. Every name appears at most once (RFC 6749 §3.1:
 * repeated parameters are an error). Rejects bad %-escapes, decoded NUL bytes, empty
 * names and more than FORM_MAX_FIELDS fields. RC_OK: *out filled, decoded values live in
 * a. RC_TOO_LARGE or RC_MALFORMED: *out zeroed, ri says why. */
enum rc form_parse(struct arena *a, const uint8_t *in, size_t len, struct form *out,
                   struct rc_info *ri);
/* Decodes one form-urlencoded part ('+' is space, %XX) into a new NUL-terminated arena
 * string. RC_MALFORMED for a bad escape or a decoded NUL; RC_NOMEM. */
enum rc form_decode(struct arena *a, struct span in, struct span *out);
/* The value of name, or NULL if absent. */
const struct span *form_get(const struct form *f, const char *name);
/* The value of name as a NUL-terminated string in a (NULL if absent or no memory). */
const char *form_get_str(struct arena *a, const struct form *f, const char *name);
/* Appends name=value to out, percent-encoding both (for redirects); '&' is added when out
 * is not empty and does not end in '?' or '#'. */
enum rc form_append(struct buf *out, const char *name, struct span value);
/* Percent-encodes s into out (unreserved characters of RFC 3986 §2.3 kept). */
enum rc form_encode(struct buf *out, struct span s);

#endif
