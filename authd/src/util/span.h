/* Borrowed bytes (struct span) and owned growable bytes (struct buf). */
#ifndef AUTHD_UTIL_SPAN_H
#define AUTHD_UTIL_SPAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/rc.h"

struct span {
    const uint8_t *p;
    size_t len;
};

/* A span over a string literal, without its NUL. */
#define SPAN(lit) ((struct span){(const uint8_t *)(lit), sizeof(lit) - 1})
/* A span over a NUL-terminated string (NULL gives the empty span). */
struct span span_str(const char *s);
static inline struct span
span_of(const void *p, size_t len)
{
    return (struct span){(const uint8_t *)p, len};
}
/* Byte equality; not constant time: never use it on secrets. */
bool span_eq(struct span a, struct span b);
/* Equality with a NUL-terminated string. */
bool span_eq_str(struct span a, const char *s);
/* True if a holds a NUL byte. */
bool span_has_nul(struct span a);
/* True if every byte of a is in the base64url alphabet [A-Za-z0-9_-] (RFC 4648 §5; no
 * padding). Says nothing of the length: callers check the length their format needs. The
 * one check of this alphabet (tokens, cookies, kids, JOSE parts). */
bool span_is_b64url(struct span a);
/* Space-separated lists (scope, acr_values, ui_locales): the next non-empty word of s at
 * or after *pos into *word; false (and *word empty) when there is none. Start with
 * *pos = 0. */
bool span_next_word(struct span s, size_t *pos, struct span *word);

/* Owned, growable bytes. Always NUL-terminated after a successful append (the NUL is not
 * counted in len), so .p can be handed to libraries that want a C string. */
struct buf {
    uint8_t *p;
    size_t len;
    size_t cap;
    size_t max; /* 0: no cap; appends past it fail with RC_TOO_LARGE */
};

void buf_init(struct buf *b, size_t max);
/* Wipes and frees the bytes; the buf can be reused after buf_init. */
void buf_clear(struct buf *b);
/* Forgets the content (wiping it) but keeps the memory. */
void buf_reset(struct buf *b);
enum rc buf_append(struct buf *b, const void *p, size_t len);
enum rc buf_append_str(struct buf *b, const char *s);
enum rc buf_append_span(struct buf *b, struct span s);
/* printf-style append; RC_TOO_LARGE past max. */
enum rc buf_printf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static inline struct span
buf_span(const struct buf *b)
{
    return (struct span){b->p, b->len};
}

#endif
