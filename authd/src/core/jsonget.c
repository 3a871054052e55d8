#include "core/jsonget.h"

#include <string.h>

const char *
jsonget_str(struct arena *a, const json_t *o, const char *name)
{
    const json_t *v = json_object_get(o, name);
    const char *s = json_string_value(v);

    if (!s || strlen(s) != json_string_length(v))
        return NULL;
    return arena_strndup(a, s, json_string_length(v));
}

bool
jsonget_str_is(const json_t *v, const char *want)
{
    return json_is_string(v) && json_string_length(v) == strlen(want)
           && memcmp(json_string_value(v), want, strlen(want)) == 0;
}
