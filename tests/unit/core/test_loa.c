#include "core/loa.h"
#include "test.h"

TEST(loa_parses_and_formats)
{
    struct loa l;
    char s[LOA_ACR_MAX];

    CHECK_RC(loa_parse(SPAN("urn:authd:acr:ial3:aal1"), &l), RC_OK);
    CHECK_INT(l.ial, IAL3);
    CHECK_INT(l.aal, AAL1);
    loa_format(l, s);
    CHECK_STR(s, "urn:authd:acr:ial3:aal1");
    CHECK_RC(loa_parse(SPAN("urn:authd:acr:ial1:aal1"), &l), RC_MALFORMED);
    CHECK_RC(loa_parse(SPAN("urn:authd:acr:ial3:aal4"), &l), RC_MALFORMED);
    CHECK_RC(loa_parse(SPAN("urn:authd:acr:ial3:aal"), &l), RC_MALFORMED);
    CHECK_RC(loa_parse(SPAN("urn:authd:acr:ial3-aal1"), &l), RC_MALFORMED);
    CHECK_RC(loa_parse(SPAN("0"), &l), RC_MALFORMED);
}

TEST(loa_compares_both_axes)
{
    struct loa a = {IAL3, AAL1}, b = {IAL2, AAL2}, m;

    CHECK(loa_satisfies(a, (struct loa){IAL3, AAL1}));
    CHECK(!loa_satisfies(a, b));
    CHECK(!loa_satisfies(b, a));
    m = loa_max(a, b);
    CHECK_INT(m.ial, IAL3);
    CHECK_INT(m.aal, AAL2);
}

TEST(loa_picks_first_known_acr_value)
{
    struct loa l;

    CHECK_RC(loa_pick(SPAN("urn:other:gold urn:authd:acr:ial4:aal2 urn:authd:acr:ial3:aal1"), &l),
             RC_OK);
    CHECK_INT(l.ial, IAL4);
    CHECK_RC(loa_pick(SPAN("urn:other:gold"), &l), RC_NOT_FOUND);
    CHECK_RC(loa_pick(SPAN(""), &l), RC_NOT_FOUND);
}
