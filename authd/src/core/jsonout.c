#include "core/jsonout.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct out {
    char *p;
    size_t len, cap;
    bool slow; /* something only json_dumps writes exactly: give up the fast path */
};

/* 1 for the bytes jansson escapes in a string (without JSON_ESCAPE_SLASH): '"', '\\' and
 * the control characters below 0x20. */
static const unsigned char must_escape[256] = {
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    ['"'] = 1, ['\\'] = 1,
};

static void
put(struct out *o, const char *s, size_t n)
{
    if (o->slow)
        return;
    if (o->len + n + 1 > o->cap) {
        size_t cap = o->cap ? o->cap : 256;
        char *p;
        while (cap < o->len + n + 1)
            cap *= 2;
        if (!(p = realloc(o->p, cap))) {
            o->slow = true; /* json_dumps will report the shortage itself */
            return;
        }
        o->p = p;
        o->cap = cap;
    }
    memcpy(o->p + o->len, s, n);
    o->len += n;
}

static void
put_string(struct out *o, const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (must_escape[(unsigned char)s[i]]) {
            o->slow = true;
            return;
        }
    put(o, "\"", 1);
    put(o, s, n);
    put(o, "\"", 1);
}

static void
put_value(struct out *o, const json_t *j, int depth)
{
    char num[32];
    json_t *v;
    size_t i;
    int n;

    if (o->slow)
        return;
    switch (json_typeof(j)) {
    case JSON_STRING:
        put_string(o, json_string_value(j), json_string_length(j));
        return;
    case JSON_INTEGER:
        n = snprintf(num, sizeof(num), "%" JSON_INTEGER_FORMAT, json_integer_value(j));
        put(o, num, (size_t)n);
        return;
    case JSON_TRUE:
        put(o, "true", 4);
        return;
    case JSON_FALSE:
        put(o, "false", 5);
        return;
    case JSON_NULL:
        put(o, "null", 4);
        return;
    case JSON_OBJECT:
        if (depth >= JSONOUT_MAX_DEPTH)
            break;
        put(o, "{", 1);
        for (void *it = json_object_iter((json_t *)j); it;
             it = json_object_iter_next((json_t *)j, it)) {
            if (it != json_object_iter((json_t *)j))
                put(o, ",", 1);
            put_string(o, json_object_iter_key(it), json_object_iter_key_len(it));
            put(o, ":", 1);
            put_value(o, json_object_iter_value(it), depth + 1);
        }
        put(o, "}", 1);
        return;
    case JSON_ARRAY:
        if (depth >= JSONOUT_MAX_DEPTH)
            break;
        put(o, "[", 1);
        json_array_foreach (j, i, v) {
            if (i)
                put(o, ",", 1);
            put_value(o, v, depth + 1);
        }
        put(o, "]", 1);
        return;
    case JSON_REAL:
        break;
    }
    o->slow = true;
}

char *
jsonout_compact(const json_t *j)
{
    struct out o = {0};

    if (!j)
        return NULL;
    if (!json_is_object(j) && !json_is_array(j))
        return json_dumps(j, JSON_COMPACT); /* NULL: a document is an object or an array */
    put_value(&o, j, 0);
    if (!o.slow) {
        o.p[o.len] = 0;
        return o.p;
    }
    free(o.p);
    return json_dumps(j, JSON_COMPACT);
}
