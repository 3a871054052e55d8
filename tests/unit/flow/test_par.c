/* flow/authorize pushed requests (RFC 9126): authorize_push validates as /authorize does
 * and keeps the request; /authorize with its request_uri takes it once, for its client,
 * before it expires (the fake clock). */
#include <string.h>

#include "conf/policy.h"
#include "fakes.h"
#include "flow/authorize.h"
#include "log/log.h"
#include "test.h"

#define NOW       1740787200
#define CHALLENGE "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"

static const char policy_text[] =
    "[scope openid]\nclaims = sub\n"
    "[client web]\ntype = confidential\nauth_method = client_secret_post\n"
    "secret_hash = sha256:1ec1c26b50d5d3c58d9583181af8076655fe00756bf7285940ba3670f99fcba0\n"
    "redirect_uris = https://web.example/cb\ngrant_types = authorization_code\n"
    "scopes = openid\nfirst_party = true\nrequire_pushed_authorization_requests = true\n"
    "[client other]\ntype = confidential\nauth_method = client_secret_post\n"
    "secret_hash = sha256:1ec1c26b50d5d3c58d9583181af8076655fe00756bf7285940ba3670f99fcba0\n"
    "redirect_uris = https://other.example/cb\ngrant_types = authorization_code\n"
    "scopes = openid\n";

static struct fake_app F;

/* Pushes the request q (a query string) as client id; the request_uri or NULL, ri the why. */
static const char *
push(const char *id, const char *q, enum rc *rc, struct rc_info *ri)
{
    struct form f;
    const char *uri = NULL;

    memset(ri, 0, sizeof(*ri));
    if (form_parse(&F.a, (const uint8_t *)q, strlen(q), &f, NULL) != RC_OK)
        return NULL;
    *rc = authorize_push(&F.app, &F.a, F.p, policy_client(F.p, span_str(id)), &f, NULL, &uri, ri);
    return *rc == RC_OK ? uri : NULL;
}

static enum rc
authorize(const char *client, const char *uri, struct authorize_result *out)
{
    const char *q = arena_printf(&F.a, "client_id=%s&request_uri=%s", client, uri);

    return authorize_request(&F.app, &F.a, span_str(q), SPAN(""), out);
}

#define GOOD                                                                                       \
    "response_type=code&scope=openid&state=s1&code_challenge=" CHALLENGE                           \
    "&code_challenge_method=S256&redirect_uri=https://web.example/cb"

TEST(par_pushed_request_is_taken_once_by_its_client)
{
    struct authorize_result res;
    struct rc_info ri;
    enum rc rc = RC_INTERNAL;
    const char *uri;

    log_setup(LOG_ERROR, 2);
    REQUIRE(fake_app_up(&F, policy_text, NOW) == 0);
    uri = push("web", GOOD, &rc, &ri);
    CHECK_RC(rc, RC_OK);
    REQUIRE(uri && strncmp(uri, AUTHZ_PAR_URN, strlen(AUTHZ_PAR_URN)) == 0);
    /* another client: refused, and the request stays for its owner */
    CHECK_RC(authorize("other", uri, &res), RC_NOT_FOUND);
    CHECK(res.kind == AUTHORIZE_PAGE && res.why.why == RC_WHY_PAR_URI);
    CHECK_RC(authorize("web", uri, &res), RC_OK);
    CHECK(res.kind == AUTHORIZE_LOGIN);
    CHECK_RC(authorize("web", uri, &res), RC_NOT_FOUND);
    CHECK(res.kind == AUTHORIZE_PAGE && res.why.why == RC_WHY_PAR_URI);
    fake_app_down(&F);
}

TEST(par_pushed_request_expires)
{
    struct authorize_result res;
    struct rc_info ri;
    enum rc rc = RC_INTERNAL;
    const char *uri;

    log_setup(LOG_ERROR, 2);
    REQUIRE(fake_app_up(&F, policy_text, NOW) == 0);
    REQUIRE((uri = push("web", GOOD, &rc, &ri)));
    fake_now = NOW + AUTHZ_PAR_TTL;
    CHECK_RC(authorize("web", uri, &res), RC_NOT_FOUND);
    CHECK(res.kind == AUTHORIZE_PAGE && res.why.why == RC_WHY_PAR_URI);
    fake_app_down(&F);
}

TEST(par_push_validates_as_authorize_does)
{
    struct rc_info ri;
    enum rc rc = RC_INTERNAL;

    log_setup(LOG_ERROR, 2);
    REQUIRE(fake_app_up(&F, policy_text, NOW) == 0);
    CHECK(!push("web", GOOD "&request_uri=urn:x", &rc, &ri));
    CHECK(rc == RC_MALFORMED && ri.why == RC_WHY_REQUEST_URI);
    CHECK(!push("web", GOOD "&client_id=other", &rc, &ri));
    CHECK(rc == RC_MALFORMED && ri.why == RC_WHY_CLIENT);
    CHECK(!push("other", GOOD, &rc, &ri)); /* web's redirect URI */
    CHECK(ri.why == RC_WHY_REDIRECT_URI);
    CHECK(!push("web",
                "response_type=code&scope=profile&code_challenge=" CHALLENGE
                "&code_challenge_method=S256",
                &rc, &ri));
    CHECK(ri.why == RC_WHY_SCOPE);
    CHECK(!push("web", "response_type=code&scope=openid", &rc, &ri)); /* no PKCE */
    CHECK(ri.why == RC_WHY_PARAM);
    fake_app_down(&F);
}

TEST(par_required_client_is_refused_a_plain_request)
{
    struct authorize_result res;
    const char *q = "client_id=web&" GOOD;

    log_setup(LOG_ERROR, 2);
    REQUIRE(fake_app_up(&F, policy_text, NOW) == 0);
    CHECK_RC(authorize_request(&F.app, &F.a, span_str(q), SPAN(""), &res), RC_DENIED);
    CHECK(res.kind == AUTHORIZE_ERROR && res.why.why == RC_WHY_PAR_REQUIRED);
    F.cfg.require_pushed_authorization_requests = true; /* the global setting */
    q = "client_id=other&response_type=code&scope=openid&code_challenge=" CHALLENGE
        "&code_challenge_method=S256";
    CHECK_RC(authorize_request(&F.app, &F.a, span_str(q), SPAN(""), &res), RC_DENIED);
    CHECK(res.kind == AUTHORIZE_ERROR && res.why.why == RC_WHY_PAR_REQUIRED);
    F.cfg.require_pushed_authorization_requests = false;
    CHECK_RC(authorize_request(&F.app, &F.a, span_str(q), SPAN(""), &res), RC_OK);
    fake_app_down(&F);
}
