#include "util/span.h"

#include <openssl/crypto.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct span
span_str(const char *s)
{
    return s ? (struct span){(const uint8_t *)s, strlen(s)} : (struct span){NULL, 0};
}

bool
span_eq(struct span a, struct span b)
{
    return a.len == b.len && (a.len == 0 || memcmp(a.p, b.p, a.len) == 0);
}

bool
span_eq_str(struct span a, const char *s)
{
    return span_eq(a, span_str(s));
}

bool
span_has_nul(struct span a)
{
    return a.len && memchr(a.p, 0, a.len) != NULL;
}

bool
span_is_b64url(struct span a)
{
    for (size_t i = 0; i < a.len; i++) {
        uint8_t c = a.p[i];
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-'
              || c == '_'))
            return false;
    }
    return true;
}

bool
span_next_word(struct span s, size_t *pos, struct span *word)
{
    size_t i = *pos, st;

    *word = (struct span){NULL, 0};
    if (!s.p || i >= s.len)
        return false; /* an empty span may have no pointer: no arithmetic on NULL */
    while (i < s.len && s.p[i] == ' ')
        i++;
    st = i;
    while (i < s.len && s.p[i] != ' ')
        i++;
    *pos = i;
    *word = span_of(s.p + st, i - st);
    return i > st;
}

void
buf_init(struct buf *b, size_t max)
{
    b->p = NULL;
    b->len = b->cap = 0;
    b->max = max;
}

void
buf_clear(struct buf *b)
{
    if (b->p) {
        OPENSSL_cleanse(b->p, b->cap);
        free(b->p);
    }
    b->p = NULL;
    b->len = b->cap = 0;
}

void
buf_reset(struct buf *b)
{
    if (b->p)
        OPENSSL_cleanse(b->p, b->cap);
    b->len = 0;
    if (b->p)
        b->p[0] = 0;
}

static enum rc
reserve(struct buf *b, size_t extra)
{
    size_t need, ncap;
    uint8_t *np;

    if (extra > SIZE_MAX - b->len - 1)
        return RC_TOO_LARGE;
    need = b->len + extra + 1;
    if (b->max && need - 1 > b->max)
        return RC_TOO_LARGE;
    if (need <= b->cap)
        return RC_OK;
    ncap = b->cap ? b->cap : 64;
    while (ncap < need)
        ncap = ncap > SIZE_MAX / 2 ? need : ncap * 2;
    /* realloc would leave a copy of secrets behind: allocate, copy, wipe the old. */
    if (!(np = malloc(ncap)))
        return RC_NOMEM;
    if (b->p) {
        memcpy(np, b->p, b->len + 1);
        OPENSSL_cleanse(b->p, b->cap);
        free(b->p);
    }
    b->p = np;
    b->cap = ncap;
    return RC_OK;
}

enum rc
buf_append(struct buf *b, const void *p, size_t len)
{
    enum rc rc;

    if ((rc = reserve(b, len)) != RC_OK)
        return rc;
    if (len)
        memcpy(b->p + b->len, p, len);
    b->len += len;
    b->p[b->len] = 0;
    return RC_OK;
}

enum rc
buf_append_str(struct buf *b, const char *s)
{
    return buf_append(b, s, strlen(s));
}

enum rc
buf_append_span(struct buf *b, struct span s)
{
    return buf_append(b, s.p, s.len);
}

enum rc
buf_printf(struct buf *b, const char *fmt, ...)
{
    va_list ap;
    int n;
    enum rc rc;

    va_start(ap, fmt);
    n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0)
        return RC_INTERNAL;
    if ((rc = reserve(b, (size_t)n)) != RC_OK)
        return rc;
    va_start(ap, fmt);
    n = vsnprintf((char *)b->p + b->len, b->cap - b->len, fmt, ap);
    va_end(ap);
    if (n < 0)
        return RC_INTERNAL;
    b->len += (size_t)n;
    return RC_OK;
}
