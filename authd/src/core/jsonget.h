/* Reading members of JSON objects we parsed (jansson), the one way: a string member is
 * copied only when it holds no NUL byte, so a C comparison of the copy can never stop short
 * of the value (`"rp\u0000x"` is not `"rp"`). jansson refuses `\u0000` unless asked to
 * (JSON_ALLOW_NUL); these hold whatever the parse flags were. */
#ifndef AUTHD_CORE_JSONGET_H
#define AUTHD_CORE_JSONGET_H

#include <jansson.h>
#include <stdbool.h>

#include "util/arena.h"

/* The string member name of o copied into a (NUL-terminated); NULL when o is not an object,
 * the member is absent or not a string, it holds a NUL byte, or a is out of memory. */
const char *jsonget_str(struct arena *a, const json_t *o, const char *name);

/* True if v is a JSON string equal to want, every byte of it. */
bool jsonget_str_is(const json_t *v, const char *want);

#endif
