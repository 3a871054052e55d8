/* Name normalization for matching (see name.h). */
#include "core/name.h"

#include <stdbool.h>
#include <string.h>
#include <unicode/unorm2.h>
#include <unicode/ustring.h>

#include "util/utf8.h"

/* UTF-16 room: NFC of NAME_MAX_INPUT bytes stays well within 3x the input length. */
#define U16_CAP (NAME_MAX_INPUT * 3)

static bool
is_space(uint32_t c)
{
    return (c >= 0x09 && c <= 0x0d) || c == 0x20 || c == 0x85 || c == 0xa0 || c == 0x1680
           || (c >= 0x2000 && c <= 0x200a) || c == 0x2028 || c == 0x2029 || c == 0x202f
           || c == 0x205f || c == 0x3000;
}

static bool
is_dot(uint32_t c)
{
    return c == 0xb7 || c == 0x2022 || c == 0x2e || c == 0xff0e || c == 0x30fb || c == 0x2027;
}

static bool
is_control(uint32_t c)
{
    return (c < 0x20 || (c >= 0x7f && c <= 0x9f)) && !is_space(c);
}

/* Checks the input, drops the zero-width U+200B and U+FEFF, and converts the rest to NFC
 * UTF-16 in u[0..*ulen). The zero-width characters go first: left until after NFC, one
 * between a letter and a combining mark kept them apart, so "k\u200b\u0301" normalized to
 * "k\u0301" while "\u1e31" (the same name) normalized to itself (found by fuzz_name). */
static enum rc
to_nfc(struct span in, UChar *u, int32_t *ulen, struct rc_info *ri)
{
    UChar raw[U16_CAP];
    int32_t rawlen = 0, kept = 0;
    UErrorCode err = U_ZERO_ERROR;
    const UNormalizer2 *nfc;
    size_t i = 0, k;
    uint32_t cp;

    if (in.len > NAME_MAX_INPUT)
        return rc_set(ri, RC_TOO_LARGE, "name", "too long");
    for (; i < in.len; i += k) {
        if ((k = utf8_next(in.p + i, in.len - i, &cp)) == 0)
            return rc_set(ri, RC_MALFORMED, "name", "not valid UTF-8");
        if (cp == 0 || is_control(cp))
            return rc_set(ri, RC_MALFORMED, "name", "control character");
    }
    u_strFromUTF8(raw, U16_CAP, &rawlen, (const char *)in.p, (int32_t)in.len, &err);
    if (U_FAILURE(err))
        return rc_set(ri, RC_MALFORMED, "name", "not valid UTF-8");
    for (int32_t r = 0; r < rawlen; r++) /* both are single UTF-16 units */
        if (raw[r] != 0x200b && raw[r] != 0xfeff)
            raw[kept++] = raw[r];
    rawlen = kept;
    nfc = unorm2_getNFCInstance(&err);
    if (U_FAILURE(err))
        return rc_set(ri, RC_INTERNAL, "name", "no NFC normalizer");
    *ulen = unorm2_normalize(nfc, raw, rawlen, u, U16_CAP, &err);
    if (err == U_BUFFER_OVERFLOW_ERROR || err == U_STRING_NOT_TERMINATED_WARNING)
        return rc_set(ri, RC_TOO_LARGE, "name", "too long");
    if (U_FAILURE(err))
        return rc_set(ri, RC_MALFORMED, "name", "cannot normalize");
    return RC_OK;
}

/* Appends cp to out; RC_TOO_LARGE when it does not fit. */
static enum rc
put(struct name_norm *out, uint32_t cp)
{
    uint8_t b[4];
    size_t n = utf8_put(cp, b);

    if (n == 0)
        return RC_MALFORMED;
    if (out->len + n > NAME_MAX_LEN)
        return RC_TOO_LARGE;
    memcpy(out->p + out->len, b, n);
    out->len += n;
    return RC_OK;
}

enum rc
name_normalize(struct span in, struct name_norm *out, struct rc_info *ri)
{
    UChar u[U16_CAP];
    int32_t ulen = 0, i = 0;
    enum rc rc;
    uint32_t prev = 0; /* last emitted: 0 none, ' ' pending space, 0xb7 dot, 1 other */
    bool space = false;

    out->len = 0;
    if ((rc = to_nfc(in, u, &ulen, ri)) != RC_OK)
        return rc;
    while (i < ulen) {
        UChar32 c;
        U16_NEXT(u, i, ulen, c);
        if (is_space((uint32_t)c)) {
            space = prev != 0 && prev != 0xb7;
            continue;
        }
        if (is_dot((uint32_t)c)) {
            if (prev != 0xb7 && (rc = put(out, 0xb7)) != RC_OK)
                goto out;
            prev = 0xb7, space = false;
            continue;
        }
        if (space && (rc = put(out, ' ')) != RC_OK)
            goto out;
        if ((rc = put(out, (uint32_t)c)) != RC_OK)
            goto out;
        prev = 1, space = false;
    }
    if (out->len == 0)
        return rc_set(ri, RC_MALFORMED, "name", "empty");
    return RC_OK;
out:
    out->len = 0;
    return rc_set(ri, rc, "name", rc == RC_TOO_LARGE ? "too long" : "cannot normalize");
}
