/* libFuzzer target: requested scope lists (authz_scope_filter, RFC 6749 §3.3). Invariants:
 * the result is normalised (no leading, trailing or double space, no repeated value),
 * holds only NQCHAR and spaces, keeps only values the callback grants, and is never
 * longer than the input. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/authz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* grants values that do not start with 'x' */
static bool
keep(struct span w, void *ctx)
{
    (void)ctx;
    return w.len > 0 && w.p[0] != 'x';
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct arena a;
    const char *s = NULL;
    size_t n = 0, i = 0, len;
    struct span w;

    arena_init(&a, 0);
    if (authz_scope_filter(&a, span_of(data, size), keep, NULL, &s, &n, NULL) == RC_OK) {
        len = strlen(s);
        if (len > size || (len && (s[0] == ' ' || s[len - 1] == ' ')) || strstr(s, "  "))
            abort();
        while (span_next_word(span_str(s), &i, &w)) {
            if (!keep(w, NULL)
                || authz_scopes_covered(w, span_of(s, (size_t)(w.p - (const uint8_t *)s))))
                abort();
            for (size_t k = 0; k < w.len; k++)
                if (w.p[k] <= 0x20 || w.p[k] == '"' || w.p[k] == '\\' || w.p[k] >= 0x7f)
                    abort();
        }
    }
    arena_clear(&a);
    return 0;
}
