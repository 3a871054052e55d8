/* flow/client_auth: parsing what a request presents (pure; the checks against policy are
 * in test_token.c, which has the fixture). */
#include <string.h>

#include "flow/client_auth.h"
#include "test.h"

static enum rc
parse(struct arena *a, const char *authz, const char *body, struct client_creds *cr)
{
    struct form f;
    enum rc rc = form_parse(a, (const uint8_t *)body, strlen(body), &f, NULL);

    return rc != RC_OK ? rc : client_auth_parse(a, authz, &f, cr, NULL);
}

TEST(client_auth_basic_parts_are_urlencoded)
{
    struct arena a;
    struct client_creds cr;

    arena_init(&a, 0);
    /* base64("my%20client:p%40ss+word%3A") */
    CHECK_RC(parse(&a, "Basic bXklMjBjbGllbnQ6cCU0MHNzK3dvcmQlM0E=", "grant_type=x", &cr), RC_OK);
    CHECK_SPAN(cr.id, "my client");
    CHECK_SPAN(cr.secret, "p@ss word:");
    CHECK(cr.basic);
    CHECK_INT(cr.method, AUTH_CLIENT_SECRET_BASIC);
    /* the scheme is case-insensitive (RFC 7235 §2.1); base64("a:b") */
    CHECK_RC(parse(&a, "basic YTpi", "", &cr), RC_OK);
    CHECK_SPAN(cr.id, "a");
    arena_clear(&a);
}

TEST(client_auth_malformed_basic_is_denied)
{
    struct arena a;
    struct client_creds cr;

    arena_init(&a, 0);
    CHECK_RC(parse(&a, "Basic YTpi=", "", &cr), RC_DENIED);    /* bad padding */
    CHECK_RC(parse(&a, "Basic YT!i", "", &cr), RC_DENIED);     /* not base64 */
    CHECK_RC(parse(&a, "Basic YWJj", "", &cr), RC_DENIED);     /* "abc": no colon */
    CHECK_RC(parse(&a, "Basic OmI=", "", &cr), RC_DENIED);     /* ":b": empty id */
    CHECK_RC(parse(&a, "Basic YSUyOmI=", "", &cr), RC_DENIED); /* "a%2:b": bad escape */
    CHECK_RC(parse(&a, "Basic YSUwMDpi", "", &cr), RC_DENIED); /* "a%00:b": NUL */
    CHECK_RC(parse(&a, "Basic ", "", &cr), RC_DENIED);
    CHECK_RC(parse(&a, "Basic YTpiYw==", "", &cr), RC_OK);     /* "a:bc" */
    CHECK_RC(parse(&a, "Basic YTpiYx==", "", &cr), RC_DENIED); /* non-canonical trailing bits */
    CHECK_RC(parse(&a, "Basic YTpi YQ==", "", &cr), RC_DENIED); /* inner space */
    CHECK_RC(parse(&a, "Basic YT=i", "", &cr), RC_DENIED);      /* padding inside */
    arena_clear(&a);
}

TEST(client_auth_two_methods_are_malformed)
{
    struct arena a;
    struct client_creds cr;

    arena_init(&a, 0);
    CHECK_RC(parse(&a, "Basic YTpi", "client_secret=b", &cr), RC_MALFORMED);
    CHECK_RC(parse(&a, "Basic YTpi", "client_id=other", &cr), RC_MALFORMED);
    CHECK_RC(parse(&a, "Basic YTpi", "client_id=a", &cr), RC_OK);
    CHECK_RC(parse(&a, NULL,
                   "client_id=a&client_secret=b&client_assertion_type=urn%3Aietf%3Aparams%3Aoauth"
                   "%3Aclient-assertion-type%3Ajwt-bearer&client_assertion=x.y.z",
                   &cr),
             RC_MALFORMED);
    arena_clear(&a);
}

TEST(client_auth_post_none_and_assertion_are_recognised)
{
    struct arena a;
    struct client_creds cr;

    arena_init(&a, 0);
    CHECK_RC(parse(&a, NULL, "client_id=a&client_secret=b", &cr), RC_OK);
    CHECK_INT(cr.method, AUTH_CLIENT_SECRET_POST);
    CHECK_SPAN(cr.secret, "b");
    CHECK_RC(parse(&a, "Bearer xyz", "client_id=a", &cr), RC_OK);
    CHECK_INT(cr.method, AUTH_NONE);
    CHECK(!cr.basic);
    CHECK_RC(parse(&a, NULL,
                   "client_assertion_type=urn%3Aietf%3Aparams%3Aoauth%3Aclient-assertion-type%3A"
                   "jwt-bearer&client_assertion=x.y.z",
                   &cr),
             RC_OK);
    CHECK_INT(cr.method, AUTH_PRIVATE_KEY_JWT);
    CHECK_SPAN(cr.assertion, "x.y.z");
    CHECK_INT(cr.id.len, 0);
    arena_clear(&a);
}

TEST(client_auth_missing_or_odd_credentials)
{
    struct arena a;
    struct client_creds cr;

    arena_init(&a, 0);
    CHECK_RC(parse(&a, NULL, "grant_type=client_credentials", &cr), RC_DENIED);
    CHECK_RC(parse(&a, NULL, "client_assertion_type=saml&client_assertion=x", &cr), RC_MALFORMED);
    CHECK_RC(parse(&a, NULL,
                   "client_assertion_type=urn%3Aietf%3Aparams%3Aoauth%3Aclient-assertion-type%3A"
                   "jwt-bearer",
                   &cr),
             RC_MALFORMED);
    CHECK_RC(parse(&a, NULL, "client_id=", &cr), RC_DENIED);
    CHECK_STR(client_auth_name(AUTH_PRIVATE_KEY_JWT), "private_key_jwt");
    arena_clear(&a);
}
