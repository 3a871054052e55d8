#include "test.h"
#include "util/arena.h"
#include "util/num.h"
#include "util/span.h"

TEST(buf_appends_and_caps)
{
    struct buf b;

    buf_init(&b, 8);
    CHECK_RC(buf_append_str(&b, "abcd"), RC_OK);
    CHECK_RC(buf_printf(&b, "%d", 1234), RC_OK);
    CHECK_SPAN(buf_span(&b), "abcd1234");
    CHECK_RC(buf_append_str(&b, "x"), RC_TOO_LARGE);
    CHECK_SPAN(buf_span(&b), "abcd1234");
    buf_clear(&b);
    CHECK(b.p == NULL);
}

TEST(arena_allocates_and_limits)
{
    struct arena a;
    char *s;

    arena_init(&a, 20000);
    s = arena_printf(&a, "%s-%d", "x", 7);
    CHECK_STR(s, "x-7");
    CHECK(arena_alloc(&a, 10000) != NULL);
    CHECK(arena_alloc(&a, 10000) == NULL);
    arena_clear(&a);
    CHECK(a.head == NULL);
}

TEST(num_parse_checks_overflow_and_bytes)
{
    uint64_t v = 0;

    CHECK_RC(num_parse_u64(SPAN("42"), 0, 100, &v), RC_OK);
    CHECK_INT(v, 42);
    CHECK_RC(num_parse_u64(SPAN("101"), 0, 100, &v), RC_TOO_LARGE);
    CHECK_RC(num_parse_u64(SPAN(""), 0, 100, &v), RC_MALFORMED);
    CHECK_RC(num_parse_u64(SPAN("-1"), 0, 100, &v), RC_MALFORMED);
    CHECK_RC(num_parse_u64(SPAN("4 2"), 0, 100, &v), RC_MALFORMED);
    CHECK_RC(num_parse_u64(SPAN("18446744073709551616"), 0, UINT64_MAX, &v), RC_TOO_LARGE);
    CHECK_RC(num_parse_u64(SPAN("18446744073709551615"), 0, UINT64_MAX, &v), RC_OK);
    CHECK(v == UINT64_MAX);
}

TEST(rc_table_maps_statuses)
{
    CHECK_INT(rc_http_status(RC_UNAVAILABLE), 503);
    CHECK_STR(rc_oauth_error(RC_UNAVAILABLE), "temporarily_unavailable");
    CHECK_STR(rc_name(RC_DENIED), "RC_DENIED");
    CHECK_STR(rc_name((enum rc)999), "RC_UNKNOWN");
}

TEST(span_next_word_splits_on_spaces)
{
    struct span s = SPAN("  openid  profile phone "), w;
    size_t i = 0;

    CHECK(span_next_word(s, &i, &w));
    CHECK_SPAN(w, "openid");
    CHECK(span_next_word(s, &i, &w));
    CHECK_SPAN(w, "profile");
    CHECK(span_next_word(s, &i, &w));
    CHECK_SPAN(w, "phone");
    CHECK(!span_next_word(s, &i, &w));
    i = 0;
    CHECK(!span_next_word(SPAN(""), &i, &w));
    CHECK(!span_next_word(SPAN("   "), &i, &w));
    i = 0;
    CHECK(!span_next_word((struct span){NULL, 0}, &i, &w)); /* UBSan: no NULL + 0 */
}

TEST(span_next_word_of_a_null_span_is_empty)
{
    struct span w = SPAN("x");
    size_t pos = 0;

    CHECK(!span_next_word((struct span){NULL, 0}, &pos, &w));
    CHECK_INT(w.len, 0);
    CHECK_INT(pos, 0);
}

TEST(span_is_b64url_is_exactly_the_alphabet)
{
    CHECK(span_is_b64url(SPAN("")));
    CHECK(span_is_b64url(SPAN("AZaz09-_")));
    CHECK(!span_is_b64url(SPAN("a=")));
    CHECK(!span_is_b64url(SPAN("a+b")));
    CHECK(!span_is_b64url(SPAN("a/b")));
    CHECK(!span_is_b64url(SPAN("a b")));
    CHECK(!span_is_b64url(SPAN("a.b")));
    CHECK(!span_is_b64url(span_of("a\0b", 3)));
    CHECK(!span_is_b64url(SPAN("\xc3\xa9")));
}
