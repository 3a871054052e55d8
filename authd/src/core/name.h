/* Normalizing a person's name for matching against the population base, so that the
 * same name typed differently compares equal:
 *   1. at most NAME_MAX_INPUT bytes, well-formed UTF-8, no NUL or other control character;
 *   2. Unicode NFC (ICU);
 *   3. the middle-dot look-alikes U+00B7 ·, U+2022 •, U+002E ., U+FF0E ．, U+30FB ・,
 *      U+2027 ‧ (and U+0387, which NFC maps to U+00B7) become one U+00B7 ·; a run of them
 *      counts as one, and whitespace around a dot is dropped;
 *   4. whitespace (Unicode White_Space, incl. U+3000) is trimmed at both ends and runs of
 *      it inside become one U+0020; zero-width U+200B and U+FEFF are dropped;
 *   5. the result is non-empty and at most NAME_MAX_LEN bytes. */
#ifndef AUTHD_CORE_NAME_H
#define AUTHD_CORE_NAME_H

#include <stddef.h>
#include <stdint.h>

#include "util/rc.h"
#include "util/span.h"

#define NAME_MAX_INPUT 256 /* bytes accepted before normalization */
#define NAME_MAX_LEN   64  /* bytes after normalization */

struct name_norm {
    uint8_t p[NAME_MAX_LEN];
    size_t len;
};

/* Normalizes in into *out (caller's storage, not NUL-terminated). RC_OK: out->p[0..len)
 * holds the normalized UTF-8. RC_TOO_LARGE: input over NAME_MAX_INPUT or result over
 * NAME_MAX_LEN. RC_MALFORMED: bad UTF-8, a control character, or nothing left. ri gets
 * field "name" and a static reason. Thread safe. */
enum rc name_normalize(struct span in, struct name_norm *out, struct rc_info *ri);

#endif
