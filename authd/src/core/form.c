#include "core/form.h"

#include <string.h>

static int
hexval(uint8_t c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

static enum rc decode(struct arena *a, const uint8_t *in, size_t len, struct span *out,
                      struct rc_info *ri);

enum rc
form_decode(struct arena *a, struct span in, struct span *out)
{
    return decode(a, in.p, in.len, out, NULL);
}

/* Decodes in[0..len) into a new arena string. */
static enum rc
decode(struct arena *a, const uint8_t *in, size_t len, struct span *out, struct rc_info *ri)
{
    uint8_t *d = arena_alloc(a, len + 1);
    size_t j = 0;

    if (!d)
        return RC_NOMEM;
    for (size_t i = 0; i < len; i++) {
        uint8_t c = in[i];
        if (c == '+') {
            c = ' ';
        } else if (c == '%') {
            int hi, lo;
            if (len - i < 3)
                return rc_set(ri, RC_MALFORMED, "form", "truncated %-escape");
            if ((hi = hexval(in[i + 1])) < 0 || (lo = hexval(in[i + 2])) < 0)
                return rc_set(ri, RC_MALFORMED, "form", "bad %-escape");
            c = (uint8_t)(hi << 4 | lo);
            i += 2;
        }
        if (c == 0)
            return rc_set(ri, RC_MALFORMED, "form", "NUL byte in a parameter");
        d[j++] = c;
    }
    d[j] = 0;
    *out = (struct span){d, j};
    return RC_OK;
}

static enum rc
add_field(struct arena *a, const uint8_t *p, size_t n, struct form *out, struct rc_info *ri)
{
    const uint8_t *eq = memchr(p, '=', n);
    size_t nlen = eq ? (size_t)(eq - p) : n;
    struct form_field *f;
    enum rc rc;

    if (nlen == 0)
        return rc_set(ri, RC_MALFORMED, "form", "parameter without a name");
    if (out->n == FORM_MAX_FIELDS)
        return rc_set(ri, RC_TOO_LARGE, "form", "too many parameters");
    f = &out->f[out->n];
    if ((rc = decode(a, p, nlen, &f->name, ri)) != RC_OK)
        return rc;
    if ((rc = decode(a, eq ? eq + 1 : p + n, eq ? n - nlen - 1 : 0, &f->value, ri)) != RC_OK)
        return rc;
    for (size_t i = 0; i < out->n; i++)
        if (span_eq(out->f[i].name, f->name))
            return rc_set(ri, RC_MALFORMED, "form", "repeated parameter");
    out->n++;
    return RC_OK;
}

enum rc
form_parse(struct arena *a, const uint8_t *in, size_t len, struct form *out,
           struct rc_info *ri)
{
    size_t start = 0;
    enum rc rc = RC_OK;

    out->n = 0;
    if (len > FORM_MAX_LEN)
        return rc_set(ri, RC_TOO_LARGE, "form", "too large");
    for (size_t i = 0; i <= len && rc == RC_OK; i++) {
        if (i < len && in[i] != '&')
            continue;
        if (i > start)
            rc = add_field(a, in + start, i - start, out, ri);
        start = i + 1;
    }
    if (rc != RC_OK)
        memset(out, 0, sizeof(*out));
    return rc;
}

const struct span *
form_get(const struct form *f, const char *name)
{
    for (size_t i = 0; i < f->n; i++)
        if (span_eq_str(f->f[i].name, name))
            return &f->f[i].value;
    return NULL;
}

const char *
form_get_str(struct arena *a, const struct form *f, const char *name)
{
    const struct span *v = form_get(f, name);

    return v ? arena_span_dup(a, *v) : NULL;
}

enum rc
form_encode(struct buf *out, struct span s)
{
    static const char hex[] = "0123456789ABCDEF";
    enum rc rc = RC_OK;

    for (size_t i = 0; i < s.len && rc == RC_OK; i++) {
        uint8_t c = s.p[i];
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
            || c == '-' || c == '.' || c == '_' || c == '~') {
            rc = buf_append(out, &c, 1);
        } else {
            char e[3] = {'%', hex[c >> 4], hex[c & 15]};
            rc = buf_append(out, e, 3);
        }
    }
    return rc;
}

enum rc
form_append(struct buf *out, const char *name, struct span value)
{
    enum rc rc = RC_OK;

    if (out->len && out->p[out->len - 1] != '?' && out->p[out->len - 1] != '#')
        rc = buf_append(out, "&", 1);
    if (rc == RC_OK)
        rc = form_encode(out, span_str(name));
    if (rc == RC_OK)
        rc = buf_append(out, "=", 1);
    if (rc == RC_OK)
        rc = form_encode(out, value);
    return rc;
}
