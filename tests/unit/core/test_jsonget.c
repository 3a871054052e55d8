#include <jansson.h>

#include "core/jsonget.h"
#include "test.h"

TEST(jsonget_str_copies_strings_without_nul_only)
{
    struct arena a;
    json_t *o = json_loads("{\"s\":\"abc\",\"n\":1,\"z\":\"a\\u0000b\",\"e\":\"\"}", JSON_ALLOW_NUL,
                           NULL);

    REQUIRE(o != NULL);
    arena_init(&a, 0);
    CHECK_STR(jsonget_str(&a, o, "s"), "abc");
    CHECK_STR(jsonget_str(&a, o, "e"), "");
    CHECK(jsonget_str(&a, o, "n") == NULL);
    CHECK(jsonget_str(&a, o, "z") == NULL); /* "a\0b" is not "a" */
    CHECK(jsonget_str(&a, o, "missing") == NULL);
    CHECK(jsonget_str(&a, NULL, "s") == NULL);
    CHECK(jsonget_str_is(json_object_get(o, "s"), "abc"));
    CHECK(!jsonget_str_is(json_object_get(o, "s"), "ab"));
    CHECK(!jsonget_str_is(json_object_get(o, "z"), "a"));
    CHECK(!jsonget_str_is(json_object_get(o, "n"), "1"));
    CHECK(!jsonget_str_is(NULL, ""));
    arena_clear(&a);
    json_decref(o);
}
