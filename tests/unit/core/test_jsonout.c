#include <stdlib.h>
#include <string.h>

#include "core/jsonout.h"
#include "test.h"

/* jsonout_compact(j) must equal json_dumps(j, JSON_COMPACT), whichever path it takes. */
static void
same(json_t *j)
{
    char *want = json_dumps(j, JSON_COMPACT), *got = jsonout_compact(j);

    if (!want || !got)
        CHECK(want == got);
    else
        CHECK_STR(got, want);
    free(want);
    free(got);
    json_decref(j);
}

TEST(jsonout_matches_json_dumps)
{
    json_t *amr = json_pack("[s,s]", "pwd", "otp"), *deep = json_array();

    same(json_pack("{s:s, s:s, s:I, s:s, s:o}", "access_token", "eyJhbGciOiJFUzI1NiJ9.e30.sig",
                   "token_type", "Bearer", "expires_in", (json_int_t)300, "scope", "openid profile",
                   "amr", amr));
    same(json_pack("{s:b, s:b, s:n, s:I}", "t", 1, "f", 0, "nil", "neg", (json_int_t)-42));
    same(json_object());
    same(json_array());
    same(json_string(""));
    same(json_integer(INT64_MIN));
    /* each of these goes the slow way, and must still be exact */
    same(json_pack("{s:s}", "q", "say \"hi\""));
    same(json_pack("{s:s}", "b", "back\\slash"));
    same(json_pack("{s:s}", "nl", "a\nb\tc\x01"));
    same(json_pack("{s:f}", "real", 1.5));
    same(json_pack("{s:s}", "key \"quoted\"", "v"));
    /* not escaped by either: '/', DEL, non-ASCII */
    same(json_pack("{s:s, s:s}", "url", "https://rp.example/cb?x=1", "name", "张三\x7f"));
    /* deeper than JSONOUT_MAX_DEPTH: the slow way */
    for (int i = 0; i < JSONOUT_MAX_DEPTH + 2; i++) {
        json_t *up = json_array();
        json_array_append_new(up, deep);
        deep = up;
    }
    same(deep);
    /* keys keep their insertion order, also after a delete and re-insert */
    {
        json_t *o = json_pack("{s:i, s:i, s:i}", "z", 1, "a", 2, "m", 3);
        json_object_del(o, "z");
        json_object_set_new(o, "z", json_true());
        same(o);
    }
    CHECK(jsonout_compact(NULL) == NULL);
}

TEST(jsonout_matches_json_dumps_on_random_strings)
{
    static const char pool[] = "aZ09-_.~/:?&=+ \"\\\n\t\x01\x7f";
    unsigned seed = 7;

    for (int n = 0; n < 2000; n++) {
        char s[24];
        size_t len = (size_t)(rand_r(&seed) % (sizeof(s) - 1));
        for (size_t i = 0; i < len; i++)
            s[i] = pool[rand_r(&seed) % (sizeof(pool) - 1)];
        s[len] = 0;
        same(json_pack("{s:s, s:[s, i]}", "k", s, s, s, n));
    }
}
