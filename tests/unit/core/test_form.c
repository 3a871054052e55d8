#include "core/form.h"
#include "test.h"

static enum rc
parse(struct arena *a, const char *s, struct form *f)
{
    return form_parse(a, (const uint8_t *)s, strlen(s), f, NULL);
}

TEST(form_parses_and_decodes)
{
    struct arena a;
    struct form f;

    arena_init(&a, 0);
    CHECK_RC(parse(&a, "a=1&b=x+y%20z&c=&d", &f), RC_OK);
    CHECK_INT(f.n, 4);
    CHECK_SPAN(*form_get(&f, "b"), "x y z");
    CHECK_SPAN(*form_get(&f, "c"), "");
    CHECK_SPAN(*form_get(&f, "d"), "");
    CHECK(form_get(&f, "e") == NULL);
    CHECK_RC(parse(&a, "", &f), RC_OK);
    CHECK_INT(f.n, 0);
    CHECK_RC(parse(&a, "&&a=1&&", &f), RC_OK);
    CHECK_INT(f.n, 1);
    arena_clear(&a);
}

TEST(form_rejects_bad_input)
{
    struct arena a;
    struct form f;
    struct rc_info ri = {0};

    arena_init(&a, 0);
    CHECK_RC(parse(&a, "a=1&a=2", &f), RC_MALFORMED);
    CHECK_INT(f.n, 0);
    CHECK_RC(parse(&a, "a=%4", &f), RC_MALFORMED);
    CHECK_RC(parse(&a, "a=%", &f), RC_MALFORMED);
    CHECK_RC(parse(&a, "a=%zz", &f), RC_MALFORMED);
    CHECK_RC(parse(&a, "a=%00", &f), RC_MALFORMED);
    CHECK_RC(parse(&a, "=1", &f), RC_MALFORMED);
    CHECK_RC(form_parse(&a, (const uint8_t *)"a", FORM_MAX_LEN + 1, &f, &ri), RC_TOO_LARGE);
    CHECK_STR(ri.msg, "too large");
    arena_clear(&a);
}

TEST(form_rejects_too_many_fields)
{
    struct arena a;
    struct form f;
    struct buf b;

    arena_init(&a, 0);
    buf_init(&b, 0);
    for (int i = 0; i <= FORM_MAX_FIELDS; i++)
        buf_printf(&b, "k%d=v&", i);
    CHECK_RC(form_parse(&a, b.p, b.len, &f, NULL), RC_TOO_LARGE);
    buf_clear(&b);
    arena_clear(&a);
}

TEST(form_encodes_round_trip)
{
    struct arena a;
    struct form f;
    struct buf b;

    arena_init(&a, 0);
    buf_init(&b, 0);
    CHECK_RC(form_append(&b, "state", SPAN("<script>&x=1 ü")), RC_OK);
    CHECK_RC(form_append(&b, "code", SPAN("abc")), RC_OK);
    CHECK_SPAN(buf_span(&b), "state=%3Cscript%3E%26x%3D1%20%C3%BC&code=abc");
    CHECK_RC(form_parse(&a, b.p, b.len, &f, NULL), RC_OK);
    CHECK_SPAN(*form_get(&f, "state"), "<script>&x=1 ü");
    buf_clear(&b);
    arena_clear(&a);
}
