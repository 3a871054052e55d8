/* flow/authorize*: the request, the session decision and the login and consent steps,
 * driven through the flow functions with the memory store, a policy parsed from text, one
 * account (ial2: no population base) and the fake clock. */
#include <liboath/oath.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf/policy.h"
#include "core/authz.h"
#include "core/idnum.h"
#include "fakes.h"
#include "flow/account.h"
#include "flow/authn.h"
#include "flow/authorize.h"
#include "flow/authorize_int.h"
#include "flow/clients.h"
#include "flow/pending.h"
#include "flow/session.h"
#include "flow/totp.h"
#include "log/log.h"
#include "port/store.h"
#include "port/store_impl.h"
#include "test.h"

#define NOW       1740787200
#define CHALLENGE "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
#define PASSWORD  "Long-enough-1"

static const char policy_text[] =
    "[scope openid]\nclaims = sub\n[scope profile]\nclaims = name\n"
    "[scope strong]\nclaims = sub\nmin_acr = urn:authd:acr:ial2:aal2\n"
    "[scope pwdonly]\nclaims = sub\nauthenticators = password\n"
    "[scope nologin]\nclaims = sub\nauthenticators = none-such\n"
    "[client first]\ntype = confidential\nauth_method = client_secret_post\n"
    "secret_hash = sha256:1ec1c26b50d5d3c58d9583181af8076655fe00756bf7285940ba3670f99fcba0\n"
    "redirect_uris = https://first.example/cb\ngrant_types = authorization_code\n"
    "scopes = openid profile strong pwdonly nologin\nfirst_party = true\n"
    "[client third]\ntype = confidential\nauth_method = client_secret_post\n"
    "secret_hash = sha256:1ec1c26b50d5d3c58d9583181af8076655fe00756bf7285940ba3670f99fcba0\n"
    "redirect_uris = https://third.example/cb\ngrant_types = authorization_code\n"
    "scopes = openid profile\n"
    "[client locked]\ntype = confidential\nauth_method = client_secret_post\n"
    "secret_hash = sha256:1ec1c26b50d5d3c58d9583181af8076655fe00756bf7285940ba3670f99fcba0\n"
    "redirect_uris = https://locked.example/cb\ngrant_types = authorization_code\n"
    "scopes = openid\nfirst_party = true\nauthenticators = kiosk-card\n";

/* The harness's app (fakes.h: memory store, secrets, keys, fake clock, the policy above)
 * with one registered citizen. */
static struct {
    struct fake_app fa;
    struct account acct;
    char idn[19];
    char bind[AUTHZ_BIND_LEN + 1];
} F;

static void
fix_down(void)
{
    fake_app_down(&F.fa);
    memset(&F, 0, sizeof(F));
}

static int
fix_up(void)
{
    struct register_req rq = {.name = span_str("张三"), .password = SPAN(PASSWORD)};
    struct account_add_opts o = {.skip_popbase = true};

    memset(&F, 0, sizeof(F));
    log_setup(LOG_ERROR, 2);
    if (fake_app_up(&F.fa, policy_text, NOW) != 0)
        return -1;
    memset(F.bind, 'b', AUTHZ_BIND_LEN);
    memcpy(F.idn, "11010519900307123", 17);
    F.idn[17] = idnum_check_char(F.idn);
    rq.id_number = span_str(F.idn);
    if (account_add(&F.fa.app, &F.fa.a, &rq, &o, &F.acct, NULL) != RC_OK) {
        fix_down();
        return -1;
    }
    return 0;
}

static enum rc
request(const char *client, const char *scope, const char *extra, struct span cookie,
        struct authorize_result *out)
{
    const char *q = arena_printf(&F.fa.a,
                                 "response_type=code&client_id=%s&scope=%s&state=xyz"
                                 "&code_challenge=%s&code_challenge_method=S256%s",
                                 client, scope, CHALLENGE, extra ? extra : "");
    return authorize_request(&F.fa.app, &F.fa.a, span_str(q), cookie, out);
}

/* The pending id of a /login?authz=ID or /consent?authz=ID location. */
static struct span
pending_of(const struct authorize_result *res)
{
    const char *p = res->location ? strstr(res->location, "authz=") : NULL;

    return p ? span_of(p + 6, AUTHZ_PENDING_LEN) : (struct span){NULL, 0};
}

static enum rc
login(struct span pending, const char *authn, const char *secret, struct span cookie,
      struct authorize_result *out)
{
    struct authorize_page pg;
    struct login_form lf = {.pending = pending,
                            .bind = span_str(F.bind),
                            .authn = span_str(authn ? authn : ""),
                            .id_number = span_str(F.idn),
                            .secret = span_str(secret),
                            .session_cookie = cookie,
                            .client_ip = "192.0.2.1"};

    if (authorize_page_info(&F.fa.app, &F.fa.a, pending, lf.bind, "login", &pg) != RC_OK)
        lf.csrf = SPAN("");
    else
        lf.csrf = span_str(arena_printf(&F.fa.a, "%s", pg.csrf));
    return authorize_login(&F.fa.app, &F.fa.a, &lf, out);
}

/* The cookie value of a Set-Cookie header value. */
static struct span
cookie_of(const char *set_cookie)
{
    const char *v = set_cookie ? strchr(set_cookie, '=') : NULL;

    return v ? span_of(v + 1, SESSION_COOKIE_LEN) : (struct span){NULL, 0};
}

static bool
starts(const char *s, const char *prefix)
{
    return s && strncmp(s, prefix, strlen(prefix)) == 0;
}

TEST(authorize_login_then_code_and_the_pending_request_is_used_once)
{
    struct authorize_result res;
    struct span id, cookie;
    struct session s;

    REQUIRE(fix_up() == 0);
    CHECK_RC(request("first", "openid%20profile", NULL, SPAN(""), &res), RC_OK);
    CHECK_INT(res.kind, AUTHORIZE_LOGIN);
    CHECK(starts(res.location, "/login?authz="));
    CHECK(strstr(res.location, "authn=") == NULL); /* a new login: the password page */
    id = pending_of(&res);
    CHECK_RC(login(id, NULL, "wrong-password", SPAN(""), &res), RC_DENIED);
    CHECK_INT(res.kind, AUTHORIZE_FORM);
    CHECK_STR(rc_reason_name(res.why.why), "credentials");
    CHECK_RC(login(id, NULL, PASSWORD, SPAN(""), &res), RC_OK);
    CHECK_INT(res.kind, AUTHORIZE_REDIRECT);
    CHECK(starts(res.location, "https://first.example/cb?code="));
    CHECK(strstr(res.location, "state=xyz") != NULL);
    cookie = cookie_of(res.set_cookie);
    REQUIRE(session_load(&F.fa.app, &F.fa.a, cookie, &s) == RC_OK);
    CHECK_STR(s.amr, "pwd");
    CHECK_INT(s.loa.ial, IAL2);
    CHECK_INT(s.loa.aal, AAL1);
    CHECK_INT(s.auth_time, NOW);
    /* the pending request completed: a second POST finds nothing */
    CHECK_RC(login(id, NULL, PASSWORD, SPAN(""), &res), RC_NOT_FOUND);
    CHECK_INT(res.kind, AUTHORIZE_PAGE);
    CHECK_INT(res.why.why, RC_WHY_PENDING);
    /* with the session, straight back with a code */
    CHECK_RC(request("first", "openid", NULL, cookie, &res), RC_OK);
    CHECK(starts(res.location, "https://first.example/cb?code="));
    fix_down();
}

TEST(authorize_level_the_password_cannot_reach_is_unmet)
{
    struct authorize_result res;
    struct session s;
    char cookie[SESSION_COOKIE_LEN + 1];
    struct session_login l = {F.acct.id, {IAL3, AAL1}, "pwd", NOW};

    REQUIRE(fix_up() == 0);
    l.account_id = F.acct.id;
    REQUIRE(session_create(&F.fa.app, &F.fa.a, &l, cookie, &s) == RC_OK);
    /* a scope's min_acr: access_denied, no login loop, no step-up where only the password
     * is accepted */
    CHECK_RC(request("first", "openid%20strong%20pwdonly", NULL, span_str(cookie), &res),
             RC_DENIED);
    CHECK_INT(res.kind, AUTHORIZE_ERROR);
    CHECK_INT(res.why.why, RC_WHY_LEVEL); /* route_authorize: access_denied */
    CHECK_STR(res.client_uri, "https://first.example/cb");
    CHECK_STR(res.state, "xyz");
    /* asked by the client: unmet_authentication_requirements */
    CHECK_RC(request("first", "openid%20pwdonly", "&acr_values=urn:authd:acr:ial2:aal2",
                     span_str(cookie), &res),
             RC_DENIED);
    CHECK_INT(res.why.why, RC_WHY_ACR_UNMET);
    CHECK(strstr(authorize_error_location(&F.fa.app, &F.fa.a, &res, "unmet_authentication_requirements",
                                          NULL),
                 "https://first.example/cb?error=unmet_authentication_requirements&state=xyz&iss=")
          != NULL);
    fix_down();
}

TEST(authorize_policy_decides_the_authenticators)
{
    struct authorize_result res;
    struct span id;
    struct policy *p;

    REQUIRE(fix_up() == 0);
    p = app_policy_get(&F.fa.app);
    CHECK(authn_accepted(p, client_resolve(&F.fa.app, p, SPAN("first")), "openid pwdonly", &authn_password));
    CHECK(!authn_accepted(p, client_resolve(&F.fa.app, p, SPAN("first")), "openid nologin", &authn_password));
    CHECK(!authn_accepted(p, client_resolve(&F.fa.app, p, SPAN("locked")), "openid", &authn_password));
    CHECK(!authn_accepted(p, client_resolve(&F.fa.app, p, SPAN("ghost")), "openid", &authn_password));
    CHECK(authn_find(SPAN("password")) == &authn_password);
    CHECK(authn_find(SPAN("otp")) == NULL);
    CHECK(authn_step_up(p, client_resolve(&F.fa.app, p, SPAN("first")), "openid",
                        (struct loa){IAL3, AAL1}, (struct loa){IAL3, AAL2})
          == &authn_totp);
    CHECK(authn_step_up(p, client_resolve(&F.fa.app, p, SPAN("first")), "openid pwdonly",
                        (struct loa){IAL3, AAL1}, (struct loa){IAL3, AAL2})
          == NULL); /* the scope accepts no second factor */
    struct loa login_reach, step;
    authn_reach(p, client_resolve(&F.fa.app, p, SPAN("first")), "openid pwdonly", &login_reach,
                &step);
    CHECK_INT(login_reach.ial, IAL3);
    CHECK_INT(login_reach.aal, AAL1);
    CHECK_INT(step.aal, AAL_NONE);
    authn_reach(p, client_resolve(&F.fa.app, p, SPAN("first")), "openid", &login_reach, &step);
    CHECK_INT(step.aal, AAL2);
    authn_reach(p, client_resolve(&F.fa.app, p, SPAN("locked")), "openid", &login_reach, &step);
    CHECK_INT(login_reach.aal, AAL_NONE);
    app_policy_put(p);
    /* no accepted authenticator can log in: refused, no login page that cannot work */
    CHECK_RC(request("locked", "openid", NULL, SPAN(""), &res), RC_DENIED);
    CHECK(res.kind == AUTHORIZE_ERROR && res.why.why == RC_WHY_LEVEL);
    /* an authenticator the login names but policy does not accept */
    CHECK_RC(request("first", "openid", NULL, SPAN(""), &res), RC_OK);
    id = pending_of(&res);
    CHECK_RC(login(id, "otp", "123456", SPAN(""), &res), RC_DENIED);
    CHECK_INT(res.kind, AUTHORIZE_PAGE);
    CHECK_INT(res.why.why, RC_WHY_PENDING);
    fix_down();
}

TEST(authorize_consent_for_a_third_party_client)
{
    struct authorize_result res;
    struct span id, cookie;
    struct authorize_page pg;
    struct consent_form cf = {.bind = SPAN("")};

    REQUIRE(fix_up() == 0);
    CHECK_RC(request("third", "openid%20profile", NULL, SPAN(""), &res), RC_OK);
    CHECK_RC(login(pending_of(&res), NULL, PASSWORD, SPAN(""), &res), RC_OK);
    CHECK_INT(res.kind, AUTHORIZE_CONSENT);
    cookie = cookie_of(res.set_cookie);
    id = pending_of(&res);
    cf.pending = id, cf.bind = span_str(F.bind), cf.session_cookie = cookie;
    REQUIRE(authorize_page_info(&F.fa.app, &F.fa.a, id, cf.bind, "consent", &pg) == RC_OK);
    CHECK_STR(pg.client_name, "third");
    cf.csrf = SPAN("0000000000000000000000000000000000000000000000000000000000000000");
    CHECK_RC(authorize_consent(&F.fa.app, &F.fa.a, &cf, &res), RC_DENIED);
    CHECK(res.kind == AUTHORIZE_PAGE && res.why.why == RC_WHY_CSRF);
    cf.csrf = span_str(pg.csrf);
    cf.approve = true;
    CHECK_RC(authorize_consent(&F.fa.app, &F.fa.a, &cf, &res), RC_OK);
    CHECK(starts(res.location, "https://third.example/cb?code="));
    /* remembered: the next request goes straight back */
    CHECK_RC(request("third", "openid%20profile", NULL, cookie, &res), RC_OK);
    CHECK(starts(res.location, "https://third.example/cb?code="));
    fix_down();
}

/* Two POSTs of one consent page race: both load the pending request, the other one takes
 * it first. This one must not issue a second code (a review found two codes for one
 * request from 8 simultaneous POSTs). The store's take of the pending record is made to
 * lose the race: it takes the record itself, then answers RC_NOT_FOUND. */
static const struct store_ops *real_ops;

static enum rc
losing_take(struct store *s, struct arena *a, struct span key, struct span *out)
{
    struct span v;

    if (key.len > 12 && memcmp(key.p, "authd:authz:", 12) == 0) {
        (void)real_ops->take(s, a, key, &v); /* the other request wins */
        return RC_NOT_FOUND;
    }
    return real_ops->take(s, a, key, out);
}

TEST(authorize_a_consent_posted_twice_at_once_issues_one_code)
{
    static struct store_ops racing;
    struct authorize_result res;
    struct span id, cookie;
    struct authorize_page pg;
    struct consent_form cf = {.approve = true};

    REQUIRE(fix_up() == 0);
    CHECK_RC(request("third", "openid%20profile", NULL, SPAN(""), &res), RC_OK);
    CHECK_RC(login(pending_of(&res), NULL, PASSWORD, SPAN(""), &res), RC_OK);
    REQUIRE(res.kind == AUTHORIZE_CONSENT);
    cookie = cookie_of(res.set_cookie);
    id = pending_of(&res);
    cf.pending = id, cf.bind = span_str(F.bind), cf.session_cookie = cookie;
    REQUIRE(authorize_page_info(&F.fa.app, &F.fa.a, id, cf.bind, "consent", &pg) == RC_OK);
    cf.csrf = span_str(pg.csrf);
    real_ops = F.fa.app.store->ops;
    racing = *real_ops;
    racing.take = losing_take;
    F.fa.app.store->ops = &racing;
    CHECK_RC(authorize_consent(&F.fa.app, &F.fa.a, &cf, &res), RC_NOT_FOUND);
    F.fa.app.store->ops = real_ops;
    CHECK(res.kind == AUTHORIZE_PAGE && res.why.why == RC_WHY_PENDING);
    CHECK(!res.location || !strstr(res.location, "code="));
    fix_down();
}

TEST(authorize_another_citizens_login_ends_the_first_session)
{
    struct authorize_result res;
    struct session other, s;
    char cookie[SESSION_COOKIE_LEN + 1];
    struct session_login l = {"someone-else", {IAL3, AAL1}, "pwd", NOW};

    REQUIRE(fix_up() == 0);
    REQUIRE(session_create(&F.fa.app, &F.fa.a, &l, cookie, &other) == RC_OK);
    CHECK_RC(request("first", "openid", "&prompt=login", span_str(cookie), &res), RC_OK);
    CHECK_INT(res.kind, AUTHORIZE_LOGIN);
    CHECK_RC(login(pending_of(&res), NULL, PASSWORD, span_str(cookie), &res), RC_OK);
    CHECK(starts(res.location, "https://first.example/cb?code="));
    CHECK_RC(session_load(&F.fa.app, &F.fa.a, span_str(cookie), &s), RC_NOT_FOUND);
    CHECK_RC(session_load(&F.fa.app, &F.fa.a, cookie_of(res.set_cookie), &s), RC_OK);
    CHECK_STR(s.account_id, F.acct.id);
    fix_down();
}

TEST(authorize_pending_request_round_trips_and_expires)
{
    struct authz_req r = {.client_id = "first",
                          .redirect_uri = "https://first.example/cb",
                          .redirect_given = "https://first.example/cb",
                          .scope = "openid",
                          .state = "s",
                          .nonce = "n",
                          .claims = "{}",
                          .prompt = AUTHZ_PROMPT_LOGIN,
                          .max_age = -1,
                          .min = {IAL3, AAL1},
                          .rp_asked_acr = true},
                     l;
    char id[AUTHZ_PENDING_LEN + 1] = "";

    REQUIRE(fix_up() == 0);
    CHECK_RC(authz_pending_save(&F.fa.app, &F.fa.a, &r, id), RC_OK);
    CHECK_RC(authz_pending_load(&F.fa.app, &F.fa.a, span_str(id), &l), RC_OK);
    CHECK_STR(l.client_id, "first");
    CHECK_STR(l.state, "s");
    CHECK_STR(l.nonce, "n");
    CHECK_STR(l.claims, "{}");
    CHECK(l.code_challenge == NULL);
    CHECK_INT(l.prompt, AUTHZ_PROMPT_LOGIN);
    CHECK_INT(l.max_age, -1);
    CHECK_INT(l.min.ial, IAL3);
    CHECK(l.rp_asked_acr);
    CHECK(!l.redirect_omitted);
    /* saved again at the next step (a login): same id, another 600 s from then */
    fake_now = NOW + 300;
    r.login_sid = "sid";
    CHECK_RC(authz_pending_save(&F.fa.app, &F.fa.a, &r, id), RC_OK);
    fake_now = NOW + 899;
    CHECK_RC(authz_pending_load(&F.fa.app, &F.fa.a, span_str(id), &l), RC_OK);
    CHECK_STR(l.login_sid, "sid");
    fake_now = NOW + 300 + AUTHZ_PENDING_TTL;
    CHECK_RC(authz_pending_load(&F.fa.app, &F.fa.a, span_str(id), &l), RC_NOT_FOUND);
    /* once completed, saving it again does not bring it back */
    authz_pending_drop(&F.fa.app, &F.fa.a, id);
    CHECK_RC(authz_pending_save(&F.fa.app, &F.fa.a, &r, id), RC_NOT_FOUND);
    fix_down();
}

/* Enrols F's account with a TOTP app; the seed (from the secret the page shows) into seed. */
static void
totp_enrol_for_test(uint8_t seed[TOTP_SEED_LEN])
{
    struct totp_enrolment e;
    char codes[TOTP_NCODES][OTP_RECOVERY_LEN + 1], code[8], *bin = NULL;
    size_t n = 0;
    uint32_t retry = 0;

    REQUIRE(totp_library_init() == RC_OK);
    REQUIRE(totp_enrol_begin(&F.fa.app, &F.fa.a, F.acct.id, &e) == RC_OK);
    REQUIRE(oath_base32_decode(e.secret_b32, strlen(e.secret_b32), &bin, &n) == OATH_OK);
    memcpy(seed, bin, TOTP_SEED_LEN);
    free(bin);
    REQUIRE(oath_totp_generate((const char *)seed, TOTP_SEED_LEN, (time_t)fake_now, 30, 0, 6, code)
            == OATH_OK);
    REQUIRE(totp_enrol_confirm(&F.fa.app, &F.fa.a, F.acct.id, span_str(code), codes, &retry)
            == RC_OK);
}

/* A password session of F's account, and the request for `strong` (min aal2) with it. */
static struct span
aal1_session(void)
{
    struct session s;
    char *cookie = arena_alloc(&F.fa.a, SESSION_COOKIE_LEN + 1);
    struct session_login l = {F.acct.id, {IAL2, AAL1}, "pwd", NOW};

    if (!cookie || session_create(&F.fa.app, &F.fa.a, &l, cookie, &s) != RC_OK)
        abort();
    return span_str(cookie);
}

TEST(authorize_step_up_with_totp_raises_the_session_on_a_new_cookie)
{
    struct authorize_result res;
    struct authorize_page pg;
    struct authorize_factors fac;
    struct span id, cookie, raised;
    struct session s;
    uint8_t seed[TOTP_SEED_LEN];
    char code[8];

    REQUIRE(fix_up() == 0);
    totp_enrol_for_test(seed);
    cookie = aal1_session();
    REQUIRE(session_load(&F.fa.app, &F.fa.a, cookie, &s) == RC_OK);
    CHECK_RC(request("first", "openid%20strong", NULL, cookie, &res), RC_OK);
    CHECK_INT(res.kind, AUTHORIZE_LOGIN);
    CHECK(strstr(res.location, "&authn=totp") != NULL);
    id = pending_of(&res);
    /* the page: the account has the factor asked for */
    REQUIRE(authorize_page_info(&F.fa.app, &F.fa.a, id, span_str(F.bind), "login", &pg) == RC_OK);
    CHECK_RC(authorize_factors(&F.fa.app, &F.fa.a, &pg.req, cookie, SPAN("totp"), &fac), RC_OK);
    CHECK_STR(fac.asked, "totp");
    CHECK(fac.asked_enrolled);
    CHECK(!fac.asked_challenge);
    /* a wrong code: the form again, login_failed */
    CHECK_RC(login(id, "totp", "000000", cookie, &res), RC_DENIED);
    CHECK_INT(res.kind, AUTHORIZE_FORM);
    CHECK_STR(rc_reason_name(res.why.why), "credentials");
    /* the right one, a step later: the code, the same sid, aal2, amr otp, new auth_time */
    fake_now = NOW + 40;
    REQUIRE(oath_totp_generate((const char *)seed, TOTP_SEED_LEN, (time_t)fake_now, 30, 0, 6, code)
            == OATH_OK);
    CHECK_RC(login(id, "totp", code, cookie, &res), RC_OK);
    CHECK_INT(res.kind, AUTHORIZE_REDIRECT);
    CHECK(starts(res.location, "https://first.example/cb?code="));
    raised = cookie_of(res.set_cookie);
    REQUIRE(raised.p != NULL);
    CHECK(!span_eq(raised, cookie));
    struct session t;
    REQUIRE(session_load(&F.fa.app, &F.fa.a, raised, &t) == RC_OK);
    CHECK_STR(t.sid, s.sid);
    CHECK_INT(t.loa.aal, AAL2);
    CHECK_INT(t.loa.ial, IAL2);
    CHECK_STR(t.amr, "pwd otp");
    CHECK_INT(t.auth_time, NOW + 40);
    /* the old cookie carries nothing any more */
    CHECK_RC(session_load(&F.fa.app, &F.fa.a, cookie, &t), RC_NOT_FOUND);
    CHECK_RC(request("first", "openid%20strong", NULL, cookie, &res), RC_OK);
    CHECK_INT(res.kind, AUTHORIZE_LOGIN);
    CHECK(strstr(res.location, "authn=") == NULL);
    /* the raised session serves the scope directly */
    CHECK_RC(request("first", "openid%20strong", NULL, raised, &res), RC_OK);
    CHECK(starts(res.location, "https://first.example/cb?code="));
    fix_down();
}

TEST(authorize_step_up_declined_is_access_denied_or_unmet)
{
    struct authorize_result res;
    struct authorize_page pg;
    struct authorize_factors fac;
    struct span id, cookie;
    struct login_form lf = {.bind = span_str(F.bind), .authn = SPAN("totp"), .decline = true};

    REQUIRE(fix_up() == 0);
    lf.bind = span_str(F.bind);
    cookie = aal1_session();
    lf.session_cookie = cookie;
    /* no factor: the page offers none (enrolment is the way on) */
    CHECK_RC(request("first", "openid%20strong", NULL, cookie, &res), RC_OK);
    id = pending_of(&res);
    REQUIRE(authorize_page_info(&F.fa.app, &F.fa.a, id, lf.bind, "login", &pg) == RC_OK);
    CHECK_RC(authorize_factors(&F.fa.app, &F.fa.a, &pg.req, cookie, SPAN("totp"), &fac), RC_OK);
    CHECK_STR(fac.asked, "totp");
    CHECK(!fac.asked_enrolled);
    CHECK_INT(fac.nother, 0);
    lf.pending = id;
    lf.csrf = span_str(arena_printf(&F.fa.a, "%s", pg.csrf));
    CHECK_RC(authorize_login(&F.fa.app, &F.fa.a, &lf, &res), RC_DENIED);
    CHECK_INT(res.kind, AUTHORIZE_ERROR);
    CHECK_INT(res.why.why, RC_WHY_LEVEL); /* access_denied */
    CHECK_STR(res.client_uri, "https://first.example/cb");
    CHECK_RC(authorize_login(&F.fa.app, &F.fa.a, &lf, &res), RC_NOT_FOUND); /* used */
    /* the client asked for aal2 in acr_values: unmet_authentication_requirements */
    CHECK_RC(request("first", "openid", "&acr_values=urn:authd:acr:ial2:aal2", cookie, &res),
             RC_OK);
    CHECK(strstr(res.location, "&authn=totp") != NULL);
    id = pending_of(&res);
    REQUIRE(authorize_page_info(&F.fa.app, &F.fa.a, id, lf.bind, "login", &pg) == RC_OK);
    lf.pending = id;
    lf.csrf = span_str(arena_printf(&F.fa.a, "%s", pg.csrf));
    CHECK_RC(authorize_login(&F.fa.app, &F.fa.a, &lf, &res), RC_DENIED);
    CHECK_INT(res.why.why, RC_WHY_ACR_UNMET);
    fix_down();
}

/* The SMS second factor (flow/authn_sms.c) on the whole path, memory store and fake notify:
 * the citizen's verified phone number, the step-up, the code, the raised session. */
static struct fake_notify SMS;

static enum rc
give_verified_phone(void)
{
    struct store_field f[] = {{SPAN("phone"), SPAN("13800000001")},
                              {SPAN("phone_verified"), SPAN("13800000001")}};

    memset(&SMS, 0, sizeof(SMS));
    SMS.n.ops = &fake_notify_ops;
    F.fa.app.notify = &SMS.n;
    return store_rec_put(F.fa.app.store, store_key(&F.fa.a, "acct", span_str(F.acct.id), NULL), f,
                         2, 0, STORE_XX);
}

static enum rc
challenge(struct span pending, struct span cookie, struct authorize_result *out)
{
    struct authorize_page pg;
    struct login_form lf = {.pending = pending,
                            .bind = span_str(F.bind),
                            .authn = SPAN("sms"),
                            .session_cookie = cookie,
                            .client_ip = "192.0.2.1",
                            .challenge = true};

    if (authorize_page_info(&F.fa.app, &F.fa.a, pending, lf.bind, "login", &pg) != RC_OK)
        return RC_INTERNAL;
    lf.csrf = span_str(arena_printf(&F.fa.a, "%s", pg.csrf));
    return authorize_login(&F.fa.app, &F.fa.a, &lf, out);
}

static const char *
sms_code(void)
{
    size_t n = strlen(SMS.text);

    return arena_printf(&F.fa.a, "%s", n >= 6 ? SMS.text + n - 6 : "");
}

TEST(authorize_steps_up_with_an_sms_code)
{
    struct authorize_result res;
    struct span id, cookie;
    struct session before, after;

    REQUIRE(fix_up() == 0);
    REQUIRE(give_verified_phone() == RC_OK);
    CHECK_RC(request("first", "openid", NULL, SPAN(""), &res), RC_OK);
    CHECK_RC(login(pending_of(&res), NULL, PASSWORD, SPAN(""), &res), RC_OK);
    cookie = cookie_of(res.set_cookie);
    REQUIRE(session_load(&F.fa.app, &F.fa.a, cookie, &before) == RC_OK);
    /* a scope wanting aal2: the session goes to the SMS step */
    CHECK_RC(request("first", "openid%20strong", NULL, cookie, &res), RC_OK);
    CHECK_INT(res.kind, AUTHORIZE_LOGIN);
    CHECK(strstr(res.location, "&authn=sms") != NULL);
    id = pending_of(&res);
    CHECK_RC(login(id, "sms", "123456", cookie, &res), RC_DENIED); /* nothing sent yet */
    CHECK_STR(rc_reason_name(res.why.why), "credentials");
    CHECK_RC(challenge(id, SPAN(""), &res), RC_DENIED); /* no session: nothing to send for */
    CHECK_INT(res.kind, AUTHORIZE_PAGE);
    CHECK_RC(challenge(id, cookie, &res), RC_OK);
    CHECK_INT(res.kind, AUTHORIZE_FORM);
    CHECK_INT(SMS.calls, 1);
    CHECK_STR(SMS.to, "13800000001");
    const char *code = sms_code();
    char wrong[12];
    snprintf(wrong, sizeof(wrong), "%06d", (atoi(code) + 1) % 1000000);
    CHECK_RC(login(id, "sms", wrong, cookie, &res), RC_DENIED);
    CHECK_INT(res.kind, AUTHORIZE_FORM);
    CHECK_RC(login(id, "sms", code, cookie, &res), RC_OK);
    CHECK_INT(res.kind, AUTHORIZE_REDIRECT);
    CHECK(starts(res.location, "https://first.example/cb?code="));
    CHECK(session_load(&F.fa.app, &F.fa.a, cookie, &after) == RC_NOT_FOUND); /* moved */
    cookie = cookie_of(res.set_cookie);
    REQUIRE(session_load(&F.fa.app, &F.fa.a, cookie, &after) == RC_OK);
    CHECK_STR(after.sid, before.sid);
    CHECK_INT(after.loa.aal, AAL2);
    CHECK_INT(after.loa.ial, IAL2);
    CHECK_STR(after.amr, "pwd sms");
    /* the raised session serves the scope directly */
    CHECK_RC(request("first", "openid%20strong", NULL, cookie, &res), RC_OK);
    CHECK_INT(res.kind, AUTHORIZE_REDIRECT);
    F.fa.app.notify = NULL;
    fix_down();
}

/* Over the number's ceiling a right password opens an aal0 session that serves nothing
 * until the second factor raises it (docs/security.md, "Lockout and throttling"). */
TEST(authorize_password_over_the_ceiling_needs_the_second_factor)
{
    struct authorize_result res;
    struct span id, cookie;
    struct session s;

    REQUIRE(fix_up() == 0);
    REQUIRE(give_verified_phone() == RC_OK);
    F.fa.cfg.rate_login_per_idnum = 1;
    F.fa.cfg.login_ceiling_max_wait_s = 5;
    CHECK_RC(request("first", "openid", NULL, SPAN(""), &res), RC_OK);
    id = pending_of(&res);
    CHECK_RC(login(id, NULL, "wrong-password", SPAN(""), &res), RC_DENIED); /* the last token */
    CHECK_RC(login(id, NULL, "wrong-password", SPAN(""), &res), RC_LIMITED);
    CHECK(res.retry_after_s >= 1 && res.retry_after_s <= 5);
    CHECK_RC(login(id, NULL, PASSWORD, SPAN(""), &res), RC_OK);
    CHECK_INT(res.kind, AUTHORIZE_LOGIN); /* not the client: the second factor first */
    CHECK(strstr(res.location, "&authn=sms") != NULL);
    cookie = cookie_of(res.set_cookie);
    REQUIRE(session_load(&F.fa.app, &F.fa.a, cookie, &s) == RC_OK);
    CHECK_INT(s.loa.aal, AAL_NONE);
    /* the aal0 session serves no request on its own */
    CHECK_RC(request("first", "openid", NULL, cookie, &res), RC_OK);
    CHECK_INT(res.kind, AUTHORIZE_LOGIN);
    CHECK(strstr(res.location, "&authn=sms") != NULL);
    id = pending_of(&res);
    CHECK_RC(challenge(id, cookie, &res), RC_OK);
    CHECK_RC(login(id, "sms", sms_code(), cookie, &res), RC_OK);
    CHECK_INT(res.kind, AUTHORIZE_REDIRECT);
    cookie = cookie_of(res.set_cookie); /* a step-up moves the session to a new cookie */
    REQUIRE(session_load(&F.fa.app, &F.fa.a, cookie, &s) == RC_OK);
    CHECK_INT(s.loa.aal, AAL2);
    /* a request that accepts no second factor: the right password is slowed, not let in */
    CHECK_RC(request("first", "openid%20pwdonly", NULL, SPAN(""), &res), RC_OK);
    CHECK_RC(login(pending_of(&res), NULL, PASSWORD, SPAN(""), &res), RC_LIMITED);
    CHECK_INT(res.kind, AUTHORIZE_FORM);
    CHECK(res.set_cookie == NULL);
    CHECK(res.retry_after_s >= 1 && res.retry_after_s <= 5);
    /* without a second factor the right password is slowed, never let in alone */
    F.fa.app.notify = NULL;
    struct store_field f = {SPAN("phone_verified"), SPAN("")};
    REQUIRE(store_rec_put(F.fa.app.store, store_key(&F.fa.a, "acct", span_str(F.acct.id), NULL), &f,
                          1, 0, STORE_XX)
            == RC_OK);
    CHECK_RC(request("first", "openid", NULL, SPAN(""), &res), RC_OK);
    CHECK_RC(login(pending_of(&res), NULL, PASSWORD, SPAN(""), &res), RC_LIMITED);
    CHECK_INT(res.kind, AUTHORIZE_FORM);
    CHECK_STR(rc_reason_name(res.why.why), "rate");
    CHECK(res.retry_after_s >= 1 && res.retry_after_s <= 5);
    fix_down();
}

/* Store round trips: every call of the store, a pipeline counting one (as on Redis, where
 * it is one write and one read of the socket); the calls inside it count nothing more. */
static const struct store_ops *counted_ops;
static int trips, in_pipeline;

#define TRIP() (in_pipeline ? 0 : trips++)

static enum rc
c_put(struct store *s, struct span k, struct span v, uint32_t ttl, unsigned fl)
{
    TRIP();
    return counted_ops->put(s, k, v, ttl, fl);
}

static enum rc
c_get(struct store *s, struct arena *a, struct span k, struct span *out)
{
    TRIP();
    return counted_ops->get(s, a, k, out);
}

static enum rc
c_take(struct store *s, struct arena *a, struct span k, struct span *out)
{
    TRIP();
    return counted_ops->take(s, a, k, out);
}

static enum rc
c_del(struct store *s, struct span k)
{
    TRIP();
    return counted_ops->del(s, k);
}

static enum rc
c_expire(struct store *s, struct span k, uint32_t ttl)
{
    TRIP();
    return counted_ops->expire(s, k, ttl);
}

static enum rc
c_rec_put(struct store *s, struct span k, const struct store_field *f, size_t n, uint32_t ttl,
          unsigned fl)
{
    TRIP();
    return counted_ops->rec_put(s, k, f, n, ttl, fl);
}

static enum rc
c_rec_get(struct store *s, struct arena *a, struct span k, struct store_record *out)
{
    TRIP();
    return counted_ops->rec_get(s, a, k, out);
}

static enum rc
c_set_add(struct store *s, struct span k, struct span m, uint32_t ttl, unsigned flags)
{
    TRIP();
    return counted_ops->set_add(s, k, m, ttl, flags);
}

static enum rc
c_set_members(struct store *s, struct arena *a, struct span k, struct span **out, size_t *n)
{
    TRIP();
    return counted_ops->set_members(s, a, k, out, n);
}

static enum rc
c_limit(struct store *s, const struct store_limit *l, size_t n, int64_t now, int64_t *retry)
{
    TRIP();
    return counted_ops->limit(s, l, n, now, retry);
}

static enum rc
c_batch(struct store *s, const struct store_op *ops, size_t n)
{
    TRIP();
    return counted_ops->batch(s, ops, n);
}

static enum rc
c_pipeline(struct store *s, struct arena *a, struct store_call *c, size_t n)
{
    TRIP();
    in_pipeline = 1;
    for (size_t i = 0; i < n; i++)
        store_call_one(s, a, &c[i]);
    in_pipeline = 0;
    return RC_OK;
}

static void
count_trips(struct store *s)
{
    static struct store_ops ops;

    counted_ops = s->ops;
    ops = *counted_ops;
    ops.put = c_put, ops.get = c_get, ops.take = c_take, ops.del = c_del;
    ops.expire = c_expire, ops.rec_put = c_rec_put, ops.rec_get = c_rec_get;
    ops.set_add = c_set_add, ops.set_members = c_set_members, ops.batch = c_batch;
    ops.limit = c_limit, ops.pipeline = c_pipeline;
    s->ops = &ops;
    trips = 0;
}

/* A logged-in session and its cookie, a moment later (no touch due), with the store's round
 * trips counted from here on. */
static int
session_counted(struct authorize_result *res, struct span *cookie)
{
    if (fix_up() != 0 || request("first", "openid", NULL, SPAN(""), res) != RC_OK
        || login(pending_of(res), NULL, PASSWORD, SPAN(""), res) != RC_OK)
        return -1;
    *cookie = cookie_of(res->set_cookie);
    count_trips(F.fa.app.store);
    fake_now += 10;
    return 0;
}

/* An SSO hop (a citizen logged in opens another service) at /authorize: the session read,
 * and nothing else until, once the last use is a minute old, the session's touch. The code
 * is the sealed grant (nothing stored), the client joins the session's :rps set when it
 * exchanges the code (test_token.c), and the account and its second factors are read only
 * when a step-up is decided. Every behaviour stays: the code is issued, the idle lifetime
 * moves on. */
TEST(authorize_sso_hop_is_one_store_round_trip)
{
    struct authorize_result res;
    struct span cookie, *rps = NULL;
    struct session s;
    size_t n = 0;

    REQUIRE(session_counted(&res, &cookie) == 0);
    CHECK_RC(request("first", "openid%20profile", NULL, cookie, &res), RC_OK);
    CHECK(starts(res.location, "https://first.example/cb?code="));
    CHECK_INT(trips, 1);
    REQUIRE(session_load(&F.fa.app, &F.fa.a, cookie, &s) == RC_OK);
    CHECK_INT(s.last_seen, NOW);
    /* the session's set holds its mark alone: no client exchanged a code yet */
    CHECK_RC(store_set_members(F.fa.app.store, &F.fa.a,
                               store_key(&F.fa.a, "sess", span_str(s.tag), ":rps"), &rps, &n),
             RC_OK);
    CHECK(n == 1 && span_eq_str(rps[0], SESSION_RPS_MARK));
    fake_now += 120; /* the touch is due: one round trip more */
    trips = 0;
    CHECK_RC(request("first", "openid", NULL, cookie, &res), RC_OK);
    CHECK(starts(res.location, "https://first.example/cb?code="));
    CHECK_INT(trips, 2);
    REQUIRE(session_load(&F.fa.app, &F.fa.a, cookie, &s) == RC_OK);
    CHECK_INT(s.last_seen, NOW + 130);
    /* a session below the level still learns its step-up authenticator (reads allowed) */
    CHECK_RC(request("first", "openid%20strong", NULL, cookie, &res), RC_OK);
    CHECK_INT(res.kind, AUTHORIZE_LOGIN);
    CHECK(strstr(res.location, "authn=") != NULL);
    F.fa.app.store->ops = counted_ops;
    fix_down();
}

/* /authorize takes the address's rate-limit token (route_authorize) in the round trip that
 * reads the session (authorize_begin): the hop stays at one round trip with the bucket of
 * the default configuration, where the token alone was one more before. The token is
 * still taken first and decides: a refused request goes no further. */
TEST(authorize_rate_limit_token_rides_with_the_session_read)
{
    struct ratelimit rl = {"authorize:ip", SPAN("192.0.2.1"), 3};
    struct authorize_result res;
    struct authorize_pre pre;
    struct span cookie;
    const char *q = "response_type=code&client_id=first&scope=openid&state=xyz"
                    "&code_challenge=" CHALLENGE "&code_challenge_method=S256";
    struct store *st;
    uint32_t retry = 7;

    REQUIRE(session_counted(&res, &cookie) == 0);
    CHECK_RC(authorize_begin(&F.fa.app, &F.fa.a, &rl, cookie, &pre, &retry, NULL), RC_OK);
    CHECK_INT(trips, 1);
    CHECK_INT(retry, 0);
    CHECK_RC(pre.session_rc, RC_OK);
    CHECK_RC(authorize_request_begun(&F.fa.app, &F.fa.a, span_str(q), &pre, &res), RC_OK);
    CHECK(starts(res.location, "https://first.example/cb?code="));
    CHECK_INT(trips, 1);
    /* the bucket of the address: 3 a minute, one token every 20 s */
    CHECK_RC(authorize_begin(&F.fa.app, &F.fa.a, &rl, cookie, &pre, &retry, NULL), RC_OK);
    CHECK_RC(authorize_begin(&F.fa.app, &F.fa.a, &rl, cookie, &pre, &retry, NULL), RC_OK);
    CHECK_RC(authorize_begin(&F.fa.app, &F.fa.a, &rl, cookie, &pre, &retry, NULL), RC_LIMITED);
    CHECK_INT(retry, 20);
    /* a malformed cookie is no session; no cookie and no bucket, no store call at all */
    fake_now += 20;
    CHECK_RC(authorize_begin(&F.fa.app, &F.fa.a, &rl, SPAN("nope"), &pre, &retry, NULL), RC_OK);
    CHECK_RC(pre.session_rc, RC_NOT_FOUND);
    rl.limit = 0;
    trips = 0;
    CHECK_RC(authorize_begin(&F.fa.app, &F.fa.a, &rl, SPAN(""), &pre, &retry, NULL), RC_OK);
    CHECK_RC(pre.session_rc, RC_NOT_FOUND);
    CHECK_INT(trips, 0);
    CHECK_RC(authorize_begin(&F.fa.app, &F.fa.a, &rl, cookie, &pre, &retry, NULL), RC_OK);
    CHECK_RC(pre.session_rc, RC_OK);
    CHECK_INT(trips, 1);
    F.fa.app.store->ops = counted_ops;
    /* fails closed: the token cannot be taken (a 503 page); without a bucket the session
     * read's failure goes to the request (the client's "try again later") */
    st = F.fa.app.store;
    F.fa.app.store = &fake_store_down;
    rl.limit = 3;
    CHECK_RC(authorize_begin(&F.fa.app, &F.fa.a, &rl, cookie, &pre, &retry, NULL),
             RC_UNAVAILABLE);
    rl.limit = 0;
    CHECK_RC(authorize_begin(&F.fa.app, &F.fa.a, &rl, cookie, &pre, &retry, NULL), RC_OK);
    CHECK_RC(pre.session_rc, RC_UNAVAILABLE);
    F.fa.app.store = st;
    CHECK_RC(authorize_request_begun(&F.fa.app, &F.fa.a, span_str(q), &pre, &res),
             RC_UNAVAILABLE);
    CHECK_INT(res.kind, AUTHORIZE_ERROR);
    fix_down();
}
