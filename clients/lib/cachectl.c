/* Cache-Control, as much as a private cache of one JWKS needs (RFC 9111 §5.2.2). */
#include <string.h>
#include <strings.h>

#include "client_int.h"
#include "util/num.h"

#define CACHECTL_MAX_AGE_CAP 2147483647 /* RFC 9111 §1.2.2: delta-seconds saturate here */

static bool
is_ws(uint8_t ch)
{
    return ch == ' ' || ch == '\t';
}

static struct span
trim(struct span s)
{
    while (s.len && is_ws(s.p[0]))
        s = span_of(s.p + 1, s.len - 1);
    while (s.len && is_ws(s.p[s.len - 1]))
        s.len--;
    return s;
}

static bool
name_is(struct span s, const char *name)
{
    return s.len == strlen(name) && strncasecmp((const char *)s.p, name, s.len) == 0;
}

/* delta-seconds, optionally quoted (RFC 9111 §5.2: senders should not, caches accept it). */
static enum rc
delta_seconds(struct span v, int64_t *out)
{
    uint64_t n;
    size_t digits = 0;
    enum rc rc;

    if (v.len >= 2 && v.p[0] == '"' && v.p[v.len - 1] == '"')
        v = span_of(v.p + 1, v.len - 2);
    while (digits < v.len && v.p[digits] == '0' && digits + 1 < v.len)
        digits++; /* leading zeros do not count towards the length check */
    v = span_of(v.p + digits, v.len - digits);
    if (v.len > 19) { /* all digits, and more than fit: saturate */
        for (size_t i = 0; i < v.len; i++)
            if (v.p[i] < '0' || v.p[i] > '9')
                return RC_MALFORMED;
        *out = CACHECTL_MAX_AGE_CAP;
        return RC_OK;
    }
    rc = num_parse_u64(v, 0, UINT64_MAX, &n);
    if (rc != RC_OK)
        return RC_MALFORMED;
    *out = n > CACHECTL_MAX_AGE_CAP ? CACHECTL_MAX_AGE_CAP : (int64_t)n;
    return RC_OK;
}

enum rc
cachectl_max_age(struct span value, int64_t *out)
{
    bool found = false, no_cache = false;
    int64_t age = 0;
    size_t i = 0;

    if (!value.len)
        return RC_NOT_FOUND;
    while (i <= value.len) {
        const uint8_t *comma = memchr(value.p + i, ',', value.len - i);
        size_t end = comma ? (size_t)(comma - value.p) : value.len;
        struct span d = trim(span_of(value.p + i, end - i)), name = d, arg = {0};
        const uint8_t *eq = d.len ? memchr(d.p, '=', d.len) : NULL;

        if (eq) {
            name = trim(span_of(d.p, (size_t)(eq - d.p)));
            arg = trim(span_of(eq + 1, d.len - (size_t)(eq - d.p) - 1));
        }
        if (name_is(name, "no-cache") || name_is(name, "no-store"))
            no_cache = true;
        else if (name_is(name, "max-age")) {
            if (found || delta_seconds(arg, &age) != RC_OK)
                return RC_MALFORMED; /* RFC 9111 §4.2.1: invalid or repeated: stale */
            found = true;
        }
        i = end + 1;
    }
    if (no_cache) {
        *out = 0;
        return RC_OK;
    }
    if (!found)
        return RC_NOT_FOUND;
    *out = age;
    return RC_OK;
}
