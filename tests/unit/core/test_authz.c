#include "core/authz.h"
#include "test.h"

static const char *const regs[] = {"http://127.0.0.1/callback", "https://app.example/cb",
                                   "http://[::1]/cb?x=1"};

static enum rc
match(bool any_port, const char *uri)
{
    return authz_redirect_match(regs, 3, any_port, span_str(uri), NULL);
}

TEST(authz_redirect_exact_match)
{
    const char *m = NULL;

    CHECK_RC(authz_redirect_match(regs, 3, false, SPAN("https://app.example/cb"), &m), RC_OK);
    CHECK_STR(m, "https://app.example/cb");
    CHECK_RC(match(false, "http://127.0.0.1/callback"), RC_OK);
}

TEST(authz_redirect_no_prefix_or_partial_match)
{
    CHECK_RC(match(false, "https://app.example/cb/evil"), RC_NOT_FOUND);
    CHECK_RC(match(false, "https://app.example/c"), RC_NOT_FOUND);
    CHECK_RC(match(false, "https://app.example/cb?x=1"), RC_NOT_FOUND);
    CHECK_RC(match(false, "https://APP.example/cb"), RC_NOT_FOUND);
    CHECK_RC(match(false, "https://app.example/cb/"), RC_NOT_FOUND);
    CHECK_RC(match(false, "https://app.example.evil.com/cb"), RC_NOT_FOUND);
    CHECK_RC(match(true, "https://app.example:443/cb"), RC_NOT_FOUND);
    CHECK_RC(match(false, "https://app.example/cb#frag"), RC_MALFORMED);
    CHECK_RC(match(false, ""), RC_MALFORMED);
    CHECK_RC(authz_redirect_match(regs, 3, false, span_of("https://app.example/cb\0", 23), NULL),
             RC_MALFORMED);
}

TEST(authz_redirect_loopback_any_port_only_when_allowed)
{
    CHECK_RC(match(true, "http://127.0.0.1:53122/callback"), RC_OK);
    CHECK_RC(match(true, "http://127.0.0.1/callback"), RC_OK);
    CHECK_RC(match(true, "http://[::1]:8000/cb?x=1"), RC_OK);
    CHECK_RC(match(false, "http://127.0.0.1:53122/callback"), RC_NOT_FOUND);
    /* the port is the only thing that may differ */
    CHECK_RC(match(true, "http://127.0.0.1:53122/callback2"), RC_NOT_FOUND);
    CHECK_RC(match(true, "http://127.0.0.1:53122/"), RC_NOT_FOUND);
    CHECK_RC(match(true, "http://localhost:53122/callback"), RC_NOT_FOUND);
    CHECK_RC(match(true, "https://127.0.0.1:53122/callback"), RC_NOT_FOUND);
    CHECK_RC(match(true, "http://127.0.0.1.evil.com/callback"), RC_NOT_FOUND);
    CHECK_RC(match(true, "http://127.0.0.1@evil.com/callback"), RC_NOT_FOUND);
    CHECK_RC(match(true, "http://127.0.0.1:/callback"), RC_NOT_FOUND);
    CHECK_RC(match(true, "http://127.0.0.1:99999/callback"), RC_NOT_FOUND);
    CHECK_RC(match(true, "http://127.0.0.1:80x/callback"), RC_NOT_FOUND);
}

TEST(authz_prompt_values)
{
    unsigned p = 99;

    CHECK_RC(authz_prompt_parse(SPAN(""), &p, NULL), RC_OK);
    CHECK_INT(p, 0);
    CHECK_RC(authz_prompt_parse(SPAN("login consent"), &p, NULL), RC_OK);
    CHECK_INT(p, AUTHZ_PROMPT_LOGIN | AUTHZ_PROMPT_CONSENT);
    CHECK_RC(authz_prompt_parse(SPAN("none"), &p, NULL), RC_OK);
    CHECK_INT(p, AUTHZ_PROMPT_NONE);
    CHECK_RC(authz_prompt_parse(SPAN("create"), &p, NULL), RC_OK);
    CHECK_INT(p, 0);
    CHECK_RC(authz_prompt_parse(SPAN("none login"), &p, NULL), RC_MALFORMED);
    CHECK_RC(authz_prompt_parse(SPAN("consent none"), &p, NULL), RC_MALFORMED);
}

TEST(authz_max_age_values)
{
    int64_t v;

    CHECK_RC(authz_max_age_parse(SPAN("0"), &v), RC_OK);
    CHECK_INT(v, 0);
    CHECK_RC(authz_max_age_parse(SPAN("3600"), &v), RC_OK);
    CHECK_INT(v, 3600);
    CHECK_RC(authz_max_age_parse(SPAN("-1"), &v), RC_MALFORMED);
    CHECK_RC(authz_max_age_parse(SPAN("1e3"), &v), RC_MALFORMED);
    CHECK_RC(authz_max_age_parse(SPAN(""), &v), RC_MALFORMED);
    CHECK_RC(authz_max_age_parse(SPAN("99999999999999999999"), &v), RC_MALFORMED);
}

TEST(authz_claims_acr_request)
{
    struct arena a;
    struct span v;
    bool ess;

    arena_init(&a, 0);
    CHECK_RC(authz_claims_acr(&a,
                              SPAN("{\"id_token\":{\"acr\":{\"essential\":true,\"values\":["
                                   "\"urn:authd:acr:ial3:aal2\",\"x\"]}}}"),
                              &v, &ess, NULL),
             RC_OK);
    CHECK(ess);
    CHECK_SPAN(v, "urn:authd:acr:ial3:aal2 x");
    CHECK_RC(authz_claims_acr(&a,
                              SPAN("{\"userinfo\":{\"acr\":{\"value\":\"a\"}},"
                                   "\"id_token\":{\"auth_time\":null}}"),
                              &v, &ess, NULL),
             RC_OK);
    CHECK(!ess);
    CHECK_SPAN(v, "a");
    CHECK_RC(authz_claims_acr(&a, SPAN("{\"id_token\":{\"acr\":null}}"), &v, &ess, NULL), RC_OK);
    CHECK_INT(v.len, 0);
    CHECK_RC(authz_claims_acr(&a, SPAN("[]"), &v, &ess, NULL), RC_MALFORMED);
    CHECK_RC(authz_claims_acr(&a, SPAN("{\"id_token\":5}"), &v, &ess, NULL), RC_MALFORMED);
    CHECK_RC(authz_claims_acr(&a, SPAN("{\"id_token\":{\"acr\":{\"essential\":\"yes\"}}}"), &v,
                              &ess, NULL),
             RC_MALFORMED);
    CHECK_RC(
        authz_claims_acr(&a, SPAN("{\"id_token\":{\"acr\":{\"values\":[1]}}}"), &v, &ess, NULL),
        RC_MALFORMED);
    CHECK_RC(authz_claims_acr(&a, SPAN("{\"a\":{},\"a\":{}}"), &v, &ess, NULL), RC_MALFORMED);
    CHECK_RC(authz_claims_acr(&a, SPAN("{"), &v, &ess, NULL), RC_MALFORMED);
    arena_clear(&a);
}

TEST(authz_acr_pick_prefers_a_reachable_value)
{
    struct loa l, reach = {IAL3, AAL1};

    CHECK_RC(authz_acr_pick(SPAN("urn:authd:acr:ial3:aal2 urn:authd:acr:ial2:aal1"), reach, &l),
             RC_OK);
    CHECK_INT(l.ial, IAL2);
    CHECK_RC(authz_acr_pick(SPAN("foo urn:authd:acr:ial4:aal3"), reach, &l), RC_OK);
    CHECK_INT(l.ial, IAL4);
    CHECK_INT(l.aal, AAL3);
    CHECK_RC(authz_acr_pick(SPAN("foo bar"), reach, &l), RC_NOT_FOUND);
}

static const struct authz_have sess = {true, {IAL3, AAL1}, 1000};

TEST(authz_decide_uses_a_good_session)
{
    struct authz_need n = {.max_age = -1, .min = {IAL2, AAL1}, .reach = {IAL3, AAL1}};
    struct authz_have none = {0};

    CHECK_INT(authz_decide(&n, &sess, 5000), AUTHZ_PROCEED);
    CHECK_INT(authz_decide(&n, &none, 5000), AUTHZ_LOGIN);
    n.prompt = AUTHZ_PROMPT_NONE;
    CHECK_INT(authz_decide(&n, &none, 5000), AUTHZ_LOGIN_REQUIRED);
    CHECK_INT(authz_decide(&n, &sess, 5000), AUTHZ_PROCEED);
}

TEST(authz_decide_prompt_login_and_max_age)
{
    struct authz_need n = {.max_age = -1, .min = {IAL3, AAL1}, .reach = {IAL3, AAL1}};

    n.prompt = AUTHZ_PROMPT_LOGIN;
    CHECK_INT(authz_decide(&n, &sess, 1000), AUTHZ_LOGIN);
    n.fresh = true; /* the login made for this request counts */
    CHECK_INT(authz_decide(&n, &sess, 1000), AUTHZ_PROCEED);
    n.fresh = false, n.prompt = 0, n.max_age = 0;
    CHECK_INT(authz_decide(&n, &sess, 1000), AUTHZ_LOGIN); /* 0: always */
    n.fresh = true;
    CHECK_INT(authz_decide(&n, &sess, 1001), AUTHZ_PROCEED);
    n.fresh = false, n.max_age = 60;
    CHECK_INT(authz_decide(&n, &sess, 1060), AUTHZ_PROCEED);
    CHECK_INT(authz_decide(&n, &sess, 1061), AUTHZ_LOGIN);
    n.prompt = AUTHZ_PROMPT_NONE;
    CHECK_INT(authz_decide(&n, &sess, 1061), AUTHZ_LOGIN_REQUIRED);
}

TEST(authz_decide_step_up_never_silently_accepted)
{
    struct authz_need n = {.max_age = -1, .min = {IAL3, AAL1}, .reach = {IAL3, AAL1}};
    struct authz_have low = {true, {IAL2, AAL1}, 1000};

    CHECK_INT(authz_decide(&n, &low, 1000), AUTHZ_LOGIN);
    n.fresh = true; /* logged in for this request and still too low: no loop */
    CHECK_INT(authz_decide(&n, &low, 1000), AUTHZ_UNMET);
    n.fresh = false, n.min = (struct loa){IAL3, AAL2};
    CHECK_INT(authz_decide(&n, &sess, 1000), AUTHZ_UNMET); /* password cannot give aal2 */
    n.prompt = AUTHZ_PROMPT_NONE;
    CHECK_INT(authz_decide(&n, &sess, 1000), AUTHZ_UNMET);
    struct authz_have strong = {true, {IAL4, AAL2}, 1000};
    CHECK_INT(authz_decide(&n, &strong, 1000), AUTHZ_PROCEED);
}

TEST(authz_scope_lists)
{
    CHECK(authz_scopes_covered(SPAN("openid profile"), SPAN("profile phone openid")));
    CHECK(!authz_scopes_covered(SPAN("openid id_number"), SPAN("profile openid")));
    CHECK(authz_scopes_covered(SPAN(""), SPAN("")));
    CHECK(authz_list_has(SPAN("a  openid b"), "openid"));
    CHECK(!authz_list_has(SPAN("openidx"), "openid"));
}

static bool
not_x(struct span w, void *ctx)
{
    (void)ctx;
    return !(w.len > 0 && w.p[0] == 'x');
}

/* issue 13 item 7: a requested list comes out normalised (no stray spaces, no repeats),
 * with the values the callback refuses left out and counted once each. */
TEST(authz_scope_filter_normalises_and_drops)
{
    struct arena a;
    const char *s = NULL;
    size_t n = 99;

    arena_init(&a, 0);
    CHECK_RC(authz_scope_filter(&a, SPAN("  openid  profile openid "), not_x, NULL, &s, &n, NULL),
             RC_OK);
    CHECK_STR(s, "openid profile");
    CHECK_INT(n, 0);
    CHECK_RC(authz_scope_filter(&a, SPAN("openid xemail profile xemail xphone"), not_x, NULL, &s,
                                &n, NULL),
             RC_OK);
    CHECK_STR(s, "openid profile");
    CHECK_INT(n, 2);
    CHECK_RC(authz_scope_filter(&a, SPAN("xa xb"), not_x, NULL, &s, &n, NULL), RC_OK);
    CHECK_STR(s, "");
    CHECK_RC(authz_scope_filter(&a, SPAN("   "), not_x, NULL, &s, &n, NULL), RC_OK);
    CHECK_STR(s, "");
    CHECK_RC(authz_scope_filter(&a, SPAN(""), not_x, NULL, &s, &n, NULL), RC_OK);
    CHECK_STR(s, "");
    s = NULL;
    CHECK_RC(authz_scope_filter(&a, SPAN("openid\tprofile"), not_x, NULL, &s, &n, NULL),
             RC_MALFORMED);
    CHECK_RC(authz_scope_filter(&a, SPAN("openid\nprofile"), not_x, NULL, &s, &n, NULL),
             RC_MALFORMED);
    CHECK_RC(authz_scope_filter(&a, SPAN("open\"id"), not_x, NULL, &s, &n, NULL), RC_MALFORMED);
    CHECK_RC(authz_scope_filter(&a, SPAN("open\\id"), not_x, NULL, &s, &n, NULL), RC_MALFORMED);
    CHECK_RC(authz_scope_filter(&a, SPAN("openid\0x"), not_x, NULL, &s, &n, NULL), RC_MALFORMED);
    CHECK_RC(authz_scope_filter(&a, SPAN("\xe5\xad\x97"), not_x, NULL, &s, &n, NULL), RC_MALFORMED);
    CHECK(s == NULL);
    {
        char big[AUTHZ_SCOPES_MAX + 2];
        memset(big, 'a', sizeof(big));
        CHECK_RC(authz_scope_filter(&a, span_of(big, sizeof(big)), not_x, NULL, &s, &n, NULL),
                 RC_TOO_LARGE);
        CHECK_RC(authz_scope_filter(&a, span_of(big, AUTHZ_SCOPES_MAX), not_x, NULL, &s, &n, NULL),
                 RC_OK);
        CHECK_INT(strlen(s), AUTHZ_SCOPES_MAX);
    }
    arena_clear(&a);
}

TEST(authz_decide_steps_up_a_session_below_the_level)
{
    /* a second factor reaching aal2 raises a session: step-up, not a new login */
    struct authz_need n = {
        .max_age = -1, .min = {IAL3, AAL2}, .reach = {IAL3, AAL1}, .step = {IAL_NONE, AAL2}};
    struct authz_have aal1 = {true, {IAL3, AAL1}, 1000}, none = {0};
    struct authz_have ial2 = {true, {IAL2, AAL1}, 1000};

    CHECK_INT(authz_decide(&n, &aal1, 1000), AUTHZ_STEP_UP);
    CHECK_INT(authz_decide(&n, &none, 1000), AUTHZ_LOGIN); /* a login first, then step-up */
    CHECK_INT(authz_decide(&n, &ial2, 1000), AUTHZ_LOGIN); /* step-up cannot raise identity */
    n.fresh = true; /* right after the password login made for this request */
    CHECK_INT(authz_decide(&n, &aal1, 1000), AUTHZ_STEP_UP);
    CHECK_INT(authz_decide(&n, &ial2, 1000), AUTHZ_UNMET); /* never a login loop */
    n.fresh = false;
    n.prompt = AUTHZ_PROMPT_NONE;
    CHECK_INT(authz_decide(&n, &aal1, 1000), AUTHZ_LOGIN_REQUIRED);
    n.prompt = AUTHZ_PROMPT_LOGIN; /* re-authentication asked: a new login, not a step-up */
    CHECK_INT(authz_decide(&n, &aal1, 1000), AUTHZ_LOGIN);
    n.prompt = 0;
    n.min = (struct loa){IAL3, AAL3}; /* beyond every authenticator */
    CHECK_INT(authz_decide(&n, &aal1, 1000), AUTHZ_UNMET);
    n.step = (struct loa){IAL_NONE, AAL_NONE}; /* no second factor (today): as before */
    n.min = (struct loa){IAL3, AAL2};
    CHECK_INT(authz_decide(&n, &aal1, 1000), AUTHZ_UNMET);
    CHECK_INT(authz_decide(&n, &none, 1000), AUTHZ_UNMET);
    /* policy accepts no authenticator to log in with: nothing can be reached */
    n.reach = (struct loa){IAL_NONE, AAL_NONE};
    n.min = (struct loa){IAL_NONE, AAL_NONE};
    CHECK_INT(authz_decide(&n, &none, 1000), AUTHZ_UNMET);
    CHECK_INT(authz_decide(&n, &aal1, 1000), AUTHZ_PROCEED);
}
