/* Per-request bump allocator: everything a request allocates comes from its arena, which
 * is wiped and freed in one go when the request completes, so error paths free nothing. */
#ifndef AUTHD_UTIL_ARENA_H
#define AUTHD_UTIL_ARENA_H

#include <stddef.h>

#include "util/span.h"

struct arena_chunk;

struct arena {
    struct arena_chunk *head;
    size_t used;  /* bytes handed out, over all chunks */
    size_t limit; /* 0: unlimited; past it allocations fail */
};

/* Initialises an empty arena that hands out at most limit bytes (0: no limit). */
void arena_init(struct arena *a, size_t limit);
/* Wipes and frees every chunk; the arena is empty and reusable afterwards. */
void arena_clear(struct arena *a);
/* Returns n zeroed bytes aligned for any type, or NULL when out of memory or over the
 * limit. Owned by the arena. */
void *arena_alloc(struct arena *a, size_t n);
/* Returns a NUL-terminated copy of s in the arena, or NULL. */
char *arena_strndup(struct arena *a, const void *s, size_t n);
/* Returns a NUL-terminated copy of the span in the arena, or NULL. */
char *arena_span_dup(struct arena *a, struct span s);
/* printf into the arena; NULL on failure. */
char *arena_printf(struct arena *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
