#include "util/arena.h"

#include <openssl/crypto.h>
#include <stdalign.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ARENA_CHUNK 8192

struct arena_chunk {
    struct arena_chunk *next;
    size_t cap;
    size_t off;
    alignas(max_align_t) unsigned char data[];
};

void
arena_init(struct arena *a, size_t limit)
{
    a->head = NULL;
    a->used = 0;
    a->limit = limit;
}

void
arena_clear(struct arena *a)
{
    struct arena_chunk *c = a->head, *n;

    while (c) {
        n = c->next;
        OPENSSL_cleanse(c->data, c->off);
        free(c);
        c = n;
    }
    a->head = NULL;
    a->used = 0;
}

void *
arena_alloc(struct arena *a, size_t n)
{
    const size_t al = alignof(max_align_t);
    struct arena_chunk *c = a->head;
    size_t need, off;

    if (n == 0)
        n = 1;
    if (n > SIZE_MAX / 2)
        return NULL;
    need = (n + al - 1) & ~(al - 1);
    if (a->limit && (need > a->limit || a->used > a->limit - need))
        return NULL;
    if (!c || c->cap - c->off < need) {
        size_t cap = need > ARENA_CHUNK ? need : ARENA_CHUNK;
        if (!(c = malloc(sizeof(*c) + cap)))
            return NULL;
        c->cap = cap;
        c->off = 0;
        c->next = a->head;
        a->head = c;
    }
    off = c->off;
    c->off += need;
    a->used += need;
    memset(c->data + off, 0, n);
    return c->data + off;
}

char *
arena_strndup(struct arena *a, const void *s, size_t n)
{
    char *d;

    if (n == SIZE_MAX || !(d = arena_alloc(a, n + 1)))
        return NULL;
    if (n)
        memcpy(d, s, n);
    d[n] = 0;
    return d;
}

char *
arena_span_dup(struct arena *a, struct span s)
{
    return arena_strndup(a, s.p, s.len);
}

char *
arena_printf(struct arena *a, const char *fmt, ...)
{
    va_list ap;
    int n;
    char *d;

    va_start(ap, fmt);
    n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0 || !(d = arena_alloc(a, (size_t)n + 1)))
        return NULL;
    va_start(ap, fmt);
    n = vsnprintf(d, (size_t)n + 1, fmt, ap);
    va_end(ap);
    return n < 0 ? NULL : d;
}
