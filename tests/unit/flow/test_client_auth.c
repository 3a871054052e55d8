/* flow/client_auth: parsing what a request presents (pure; the checks against policy are
 * in test_token.c, which has the fixture). */
#include <string.h>

#include "fakes.h"
#include "flow/client_auth.h"
#include "flow/kiosk.h"
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

/* RFC 8705 §2.1: tls_client_auth needs a verified kiosk certificate enrolled for the
 * client; a client of another method cannot use it. */
TEST(client_auth_tls_client_auth_needs_a_certificate_enrolled_for_the_client)
{
    struct fake_app f;
    struct kiosk_rec rec = {.id = "kiosk-17", .clients = "kiosk-app other", .services = ""};
    struct kiosk_cert kc = {.id = "kiosk-17", .rec = &rec};
    struct client_creds cr = {.method = AUTH_NONE, .id = SPAN("kiosk-app")};
    const struct policy_client *c = NULL;
    struct rc_info ri = {0};

    REQUIRE(fake_app_up(&f,
                        "[client kiosk-app]\ntype = confidential\nauth_method = tls_client_auth\n"
                        "grant_types = client_credentials\n"
                        "[client pub]\ntype = public\nauth_method = none\npkce_required = true\n"
                        "grant_types = refresh_token\n",
                        1764900000)
            == RC_OK);
    CHECK_RC(client_auth_verify(&f.app, &f.a, f.p, &cr, "x", &c, &ri), RC_DENIED);
    CHECK(ri.why == RC_WHY_KIOSK_CERT);
    cr.cert = &kc;
    CHECK_RC(client_auth_verify(&f.app, &f.a, f.p, &cr, "x", &c, NULL), RC_OK);
    CHECK(c && strcmp(c->id, "kiosk-app") == 0);
    rec.clients = "other";
    CHECK_RC(client_auth_verify(&f.app, &f.a, f.p, &cr, "x", &c, NULL), RC_DENIED);
    cr.id = SPAN("pub"); /* a certificate does not change another client's method */
    rec.clients = "pub";
    CHECK_RC(client_auth_verify(&f.app, &f.a, f.p, &cr, "x", &c, NULL), RC_OK);
    CHECK(c && c->auth == AUTH_NONE);
    cr.secret = SPAN("s");
    cr.method = AUTH_CLIENT_SECRET_POST;
    cr.id = SPAN("kiosk-app");
    rec.clients = "kiosk-app";
    CHECK_RC(client_auth_verify(&f.app, &f.a, f.p, &cr, "x", &c, NULL), RC_DENIED);
    fake_app_down(&f);
}
