/* Compact JSON text of a jansson value, byte for byte what json_dumps(j, JSON_COMPACT)
 * writes, but fast for what authd sends most: objects and arrays of strings that need no
 * escaping (tokens, ids, scopes, URLs), integers, booleans and null.
 *
 * Why: jansson decodes every character of every string through its UTF-8 iterator when it
 * dumps (about 50 instructions a byte); a token response carries two JWS of ~800 bytes, so
 * json_dumps alone cost ~10 % of a code exchange (callgrind, docs/performance.md). Here a
 * string is copied whole once a table lookup per byte shows nothing to escape. Anything
 * else (a string with '"', '\\' or a control character, a real number, nesting deeper than
 * JSONOUT_MAX_DEPTH) falls back to json_dumps for the whole value, so the output never
 * differs. Strings in jansson values are valid UTF-8 already; jansson writes non-ASCII
 * characters as they are (no JSON_ENSURE_ASCII), and so does this. */
#ifndef AUTHD_CORE_JSONOUT_H
#define AUTHD_CORE_JSONOUT_H

#include <jansson.h>

#define JSONOUT_MAX_DEPTH 16

/* The compact text of j, NUL-terminated, malloc'd (free() it); NULL when out of memory,
 * when j is NULL, and (as json_dumps without JSON_ENCODE_ANY) when j is neither an object
 * nor an array. */
char *jsonout_compact(const json_t *j);

#endif
