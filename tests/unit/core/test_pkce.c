#include <string.h>

#include "core/pkce.h"
#include "test.h"

/* RFC 7636 Appendix B */
#define VERIFIER  "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
#define CHALLENGE "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"

TEST(pkce_rfc7636_vector_matches)
{
    CHECK_RC(pkce_verify(SPAN(CHALLENGE), SPAN(VERIFIER)), RC_OK);
    CHECK(pkce_challenge_valid(SPAN(CHALLENGE)));
}

TEST(pkce_wrong_verifier_is_denied)
{
    CHECK_RC(pkce_verify(SPAN(CHALLENGE), SPAN("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXK")),
             RC_DENIED);
}

TEST(pkce_verifier_shape_is_malformed)
{
    char v[130];

    CHECK_RC(pkce_verify(SPAN(CHALLENGE), SPAN("short")), RC_MALFORMED);
    memset(v, 'a', 42);
    CHECK_RC(pkce_verify(SPAN(CHALLENGE), span_of(v, 42)), RC_MALFORMED);
    memset(v, 'a', 129);
    CHECK_RC(pkce_verify(SPAN(CHALLENGE), span_of(v, 129)), RC_MALFORMED);
    CHECK_RC(pkce_verify(SPAN(CHALLENGE), span_of(v, 128)), RC_DENIED);
    CHECK_RC(pkce_verify(SPAN(CHALLENGE), SPAN("dBjftJeZ4CVP+mB92K27uhbUJU1p1r_wW1gFWFOEjXk")),
             RC_MALFORMED);
    CHECK_RC(pkce_verify(SPAN(CHALLENGE), SPAN("dBjftJeZ4CVP mB92K27uhbUJU1p1r_wW1gFWFOEjXk")),
             RC_MALFORMED);
}

TEST(pkce_bad_challenge_is_denied)
{
    CHECK_RC(pkce_verify(SPAN("E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-c"), SPAN(VERIFIER)),
             RC_DENIED);
    CHECK_RC(pkce_verify(SPAN("E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw+cM"), SPAN(VERIFIER)),
             RC_DENIED);
    /* `plain` is not offered: the verifier itself as the challenge does not match */
    CHECK_RC(pkce_verify(SPAN(VERIFIER), SPAN(VERIFIER)), RC_DENIED);
}

TEST(pkce_challenge_shape)
{
    CHECK(pkce_challenge_valid(SPAN("E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM")));
    CHECK(!pkce_challenge_valid(SPAN("E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-c")));
    CHECK(!pkce_challenge_valid(SPAN("E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw+cM")));
    CHECK(!pkce_challenge_valid(SPAN("E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw=cM")));
    CHECK(!pkce_challenge_valid(SPAN("E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cMx")));
    CHECK(!pkce_challenge_valid(SPAN("")));
}
