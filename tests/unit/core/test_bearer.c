/* core/bearer: the Authorization header of protected resource requests (RFC 6750 §2.1). */
#include <string.h>

#include "core/bearer.h"
#include "test.h"

TEST(bearer_parse_reads_a_b64token)
{
    struct span tok;

    CHECK_RC(bearer_parse(SPAN("Bearer abc.DEF-_~+/=="), &tok), RC_OK);
    CHECK_SPAN(tok, "abc.DEF-_~+/==");
    /* the scheme is case-insensitive (RFC 7235 §2.1); surrounding spaces are dropped */
    CHECK_RC(bearer_parse(SPAN("bearer   xyz  "), &tok), RC_OK);
    CHECK_SPAN(tok, "xyz");
}

TEST(bearer_parse_other_schemes_are_not_found)
{
    struct span tok;

    CHECK_RC(bearer_parse(SPAN("Basic YTpi"), &tok), RC_NOT_FOUND);
    CHECK_RC(bearer_parse(SPAN("Bearer"), &tok), RC_NOT_FOUND);
    CHECK_RC(bearer_parse(SPAN("BearerX abc"), &tok), RC_NOT_FOUND);
    CHECK_RC(bearer_parse(SPAN(""), &tok), RC_NOT_FOUND);
}

TEST(bearer_parse_rejects_bad_tokens)
{
    struct span tok;
    static char big[BEARER_MAX + 2];

    CHECK_RC(bearer_parse(SPAN("Bearer "), &tok), RC_MALFORMED);
    CHECK_RC(bearer_parse(SPAN("Bearer    "), &tok), RC_MALFORMED);
    CHECK_RC(bearer_parse(SPAN("Bearer a b"), &tok), RC_MALFORMED);
    CHECK_RC(bearer_parse(SPAN("Bearer a=b"), &tok), RC_MALFORMED); /* '=' only at the end */
    CHECK_RC(bearer_parse(SPAN("Bearer =abc"), &tok), RC_MALFORMED);
    CHECK_RC(bearer_parse(SPAN("Bearer a,b"), &tok), RC_MALFORMED);
    CHECK_RC(bearer_parse(span_of("Bearer a\0b", 10), &tok), RC_MALFORMED);
    memset(big, 'a', sizeof(big));
    memcpy(big, "Bearer ", 7);
    CHECK_RC(bearer_parse(span_of(big, sizeof(big)), &tok), RC_TOO_LARGE);
}
