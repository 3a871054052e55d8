/* flow/account_page: the account page's decisions on the memory store with the fake clock:
 * no session is a login of the page's own client; the factor list with only the password
 * registered ("no second factor"); the CSRF token before anything; the freshness gate
 * (account_max_age_s at aal1 without a second factor); ending another session of the same
 * account (never the current one, never another account's); revoking a consent; a store
 * that is down. */
#include <string.h>

#include "fakes.h"
#include "flow/account_page.h"
#include "flow/authn.h"
#include "flow/consents.h"
#include "log/log.h"
#include "port/store.h"
#include "test.h"

#define NOW 1740787200

static const char policy_text[] = "[tokens]\nconsent_ttl = 86400\n"
                                  "[client rp]\ntype = public\nauth_method = none\n"
                                  "redirect_uris = https://rp.example/cb\n";

static struct fake_app F;

struct browser {
    char cookie[SESSION_COOKIE_LEN + 1];
    struct session s;
    struct account_ctx ctx;
};

static int
login(struct browser *b, const char *acct)
{
    struct session_login l = {acct, {IAL3, AAL1}, "pwd", fake_now, "Chrome 120", "rp"};

    memset(b, 0, sizeof(*b));
    if (session_login(&F.app, &F.a, &l, NULL, b->cookie, &b->s) != RC_OK)
        return -1;
    b->ctx = (struct account_ctx){span_str(b->cookie), SPAN("bind-value-of-the-browser"), "en",
                                  false};
    return 0;
}

static int
up(void)
{
    log_setup(LOG_ERROR + 1, 2);
    if (fake_app_up(&F, policy_text, NOW) != 0)
        return -1;
    F.cfg.account_max_age_s = 300;
    F.cfg.account_client = "authd-account";
    return 0;
}

static void
down(void)
{
    fake_app_down(&F);
    log_setup(LOG_INFO, 2);
}

TEST(account_page_without_a_session_is_a_login_of_its_own_client)
{
    struct account_ctx ctx = {SPAN(""), SPAN("bind"), "zh", false};
    struct account_view v;
    struct account_result res;
    struct account_change c = {SPAN("x"), SPAN("end_session"), SPAN("y"), SPAN("")};

    REQUIRE(up() == 0);
    CHECK_RC(account_page_view(&F.app, &F.a, &ctx, &v, &res), RC_OK);
    CHECK_INT(res.kind, ACCOUNT_LOGIN);
    REQUIRE(res.location);
    CHECK(strncmp(res.location, "/authorize?response_type=code&scope=openid&prompt=login", 55)
          == 0);
    CHECK(strstr(res.location, "&client_id=authd-account&") != NULL);
    CHECK(strstr(res.location, "&redirect_uri=https%3A%2F%2Fid.example%2Faccount&") != NULL);
    CHECK(strstr(res.location, "&ui_locales=zh") != NULL);
    CHECK(strstr(res.location, "&code_challenge=") != NULL);
    CHECK(strstr(res.location, "acr_values") == NULL); /* no second factor to ask for */
    /* a POST too, whatever it carries */
    CHECK_RC(account_page_change(&F.app, &F.a, &ctx, &c, &res), RC_OK);
    CHECK_INT(res.kind, ACCOUNT_LOGIN);
    down();
}

TEST(account_page_lists_no_second_factor_when_only_the_password_is_registered)
{
    struct browser b, other;
    struct account_view v;
    struct account_result res;
    size_t nsession = 0;

    REQUIRE(up() == 0);
    for (size_t i = 0; authn_at(i); i++)
        nsession += (authn_at(i)->needs & AUTHN_NEEDS_SESSION) != 0;
    REQUIRE(login(&b, "acct-1") == 0);
    REQUIRE(login(&other, "acct-2") == 0);
    consents_remember(&F.app, &F.a, "acct-1", "rp", "openid profile");
    CHECK_RC(account_page_view(&F.app, &F.a, &b.ctx, &v, &res), RC_OK);
    CHECK_INT(res.kind, ACCOUNT_VIEW);
    CHECK_INT(v.nfactors, nsession); /* 0 today: the password alone */
    CHECK(!v.second_factor);
    CHECK(v.fresh);
    CHECK_INT(strlen(v.csrf), CSRF_LEN);
    REQUIRE(v.nsessions == 1); /* not acct-2's */
    CHECK_STR(v.sessions[0].sid, b.s.sid);
    CHECK_STR(v.sessions[0].device, "Chrome 120");
    REQUIRE(v.nconsents == 1);
    CHECK_STR(v.consents[0].client_id, "rp");
    CHECK_STR(v.consents[0].scope, "openid profile");
    CHECK_STR(account_page_client_name(&F.app, &F.a, "rp"), "rp");
    down();
}

/* The page's CSRF token for browser b. */
static const char *
token(struct browser *b)
{
    struct account_view v;
    struct account_result res;

    if (account_page_view(&F.app, &F.a, &b->ctx, &v, &res) != RC_OK)
        return "";
    return arena_printf(&F.a, "%s", v.csrf);
}

TEST(account_page_change_needs_the_csrf_token_then_a_fresh_session)
{
    struct browser b, phone, b2;
    struct account_result res;
    struct session s;
    struct account_change c = {SPAN(""), SPAN("end_session"), {0}, SPAN("")};

    REQUIRE(up() == 0);
    REQUIRE(login(&b, "acct-1") == 0);
    REQUIRE(login(&phone, "acct-1") == 0);
    REQUIRE(login(&b2, "acct-1") == 0);
    c.sid = span_str(phone.s.sid);
    /* no token, a wrong one, another browser's (same account): refused, nothing changed */
    const char *bad[] = {"", "0000", token(&b2)};
    for (size_t i = 0; i < 3; i++) {
        c.csrf = span_str(bad[i]);
        CHECK_RC(account_page_change(&F.app, &F.a, &b.ctx, &c, &res), RC_DENIED);
        CHECK_INT(res.kind, ACCOUNT_ERROR);
        CHECK_INT(res.why.why, RC_WHY_CSRF);
    }
    CHECK_RC(session_find_by_sid(&F.app, &F.a, span_str(phone.s.sid), &s), RC_OK);
    /* the right token, but the login is older than account_max_age_s: log in again first */
    c.csrf = span_str(token(&b));
    fake_now += 301;
    CHECK_RC(account_page_change(&F.app, &F.a, &b.ctx, &c, &res), RC_OK);
    CHECK_INT(res.kind, ACCOUNT_LOGIN);
    CHECK(strstr(res.location, "prompt=login") != NULL);
    CHECK_RC(session_find_by_sid(&F.app, &F.a, span_str(phone.s.sid), &s), RC_OK);
    /* a fresh login (a new session): the change goes through */
    REQUIRE(login(&b, "acct-1") == 0);
    c.csrf = span_str(token(&b));
    CHECK_RC(account_page_change(&F.app, &F.a, &b.ctx, &c, &res), RC_OK);
    CHECK_INT(res.kind, ACCOUNT_DONE);
    CHECK(res.set_cookie == NULL); /* the other browser's cookie is not ours to clear */
    CHECK_RC(session_find_by_sid(&F.app, &F.a, span_str(phone.s.sid), &s), RC_NOT_FOUND);
    down();
}

TEST(account_page_ends_only_other_sessions_of_the_same_account)
{
    struct browser b, stranger;
    struct account_result res;
    struct session s;
    struct account_change c = {{0}, SPAN("end_session"), {0}, SPAN("")};

    REQUIRE(up() == 0);
    REQUIRE(login(&b, "acct-1") == 0);
    REQUIRE(login(&stranger, "acct-2") == 0);
    c.csrf = span_str(token(&b));
    c.sid = span_str(b.s.sid); /* the current one: that is /end_session's */
    CHECK_RC(account_page_change(&F.app, &F.a, &b.ctx, &c, &res), RC_MALFORMED);
    CHECK_INT(res.why.why, RC_WHY_PARAM);
    c.sid = SPAN("not-a-sid");
    CHECK_RC(account_page_change(&F.app, &F.a, &b.ctx, &c, &res), RC_MALFORMED);
    c.sid = span_str(stranger.s.sid); /* another account's: nothing happens */
    CHECK_RC(account_page_change(&F.app, &F.a, &b.ctx, &c, &res), RC_OK);
    CHECK_INT(res.kind, ACCOUNT_DONE);
    CHECK_RC(session_find_by_sid(&F.app, &F.a, span_str(stranger.s.sid), &s), RC_OK);
    c.action = SPAN("drop_everything");
    CHECK_RC(account_page_change(&F.app, &F.a, &b.ctx, &c, &res), RC_MALFORMED);
    down();
}

TEST(account_page_revokes_a_consent)
{
    struct browser b;
    struct account_result res;
    struct consent *v;
    size_t n;
    struct account_change c = {{0}, SPAN("revoke_consent"), {0}, SPAN("rp")};

    REQUIRE(up() == 0);
    REQUIRE(login(&b, "acct-1") == 0);
    consents_remember(&F.app, &F.a, "acct-1", "rp", "openid");
    consents_remember(&F.app, &F.a, "acct-1", "other", "openid");
    c.csrf = span_str(token(&b));
    CHECK_RC(account_page_change(&F.app, &F.a, &b.ctx, &c, &res), RC_OK);
    CHECK_INT(res.kind, ACCOUNT_DONE);
    CHECK_RC(consents_list(&F.app, &F.a, "acct-1", &v, &n), RC_OK);
    REQUIRE(n == 1);
    CHECK_STR(v[0].client_id, "other");
    struct span scope;
    CHECK_RC(store_get(F.app.store, &F.a, consents_key(&F.a, "acct-1", "rp"), &scope),
             RC_NOT_FOUND);
    c.client = SPAN("");
    CHECK_RC(account_page_change(&F.app, &F.a, &b.ctx, &c, &res), RC_MALFORMED);
    down();
}

TEST(account_page_fails_closed_when_the_store_is_down)
{
    struct browser b;
    struct account_view v;
    struct account_result res;
    struct store *real;

    REQUIRE(up() == 0);
    REQUIRE(login(&b, "acct-1") == 0);
    real = F.app.store;
    F.app.store = &fake_store_down;
    CHECK_RC(account_page_view(&F.app, &F.a, &b.ctx, &v, &res), RC_UNAVAILABLE);
    CHECK_INT(res.kind, ACCOUNT_ERROR);
    F.app.store = real;
    down();
}
