/* flow/device: the device grant's request, user-code lookup and decision, and the poll
 * state machine as /token sees it (RFC 8628 §3.5), with the memory store and the fake
 * clock. */
#include <string.h>

#include "fakes.h"
#include "flow/device.h"
#include "flow/session.h"
#include "test.h"

#define NOW 1740787200

static const char policy[] = "[scope openid]\nclaims = sub\n"
                             "[scope profile]\nclaims = name\n"
                             "[scope strong]\nmin_acr = urn:authd:acr:ial3:aal2\n"
                             "[client kiosk]\nname = Kiosk\ntype = public\nauth_method = none\n"
                             "grant_types = urn:ietf:params:oauth:grant-type:device_code\n"
                             "scopes = openid profile strong\nlocation = Hall B\n"
                             "[client other]\ntype = public\nauth_method = none\n"
                             "grant_types = urn:ietf:params:oauth:grant-type:device_code\n"
                             "scopes = openid\n"
                             "[client web]\ntype = public\nauth_method = none\n"
                             "redirect_uris = https://rp.example/cb\nscopes = openid\n";

static int
up(struct fake_app *f)
{
    if (fake_app_up(f, policy, NOW) != 0)
        return -1;
    f->cfg.device_code_ttl_s = 600;
    f->cfg.device_poll_interval_s = 5;
    f->cfg.rate_device_per_ip = 100;
    f->cfg.rate_device_per_code = 100;
    f->cfg.rate_device_authorization_per_ip = 100;
    return 0;
}

static const struct policy_client *
client(struct fake_app *f, const char *id)
{
    return policy_client(f->p, span_str(id));
}

static enum rc
start(struct fake_app *f, const char *cid, struct span scope, struct device_start *st,
      struct rc_info *ri)
{
    uint32_t wait = 0;

    return device_authorize(&f->app, &f->a, f->p, client(f, cid), scope, SPAN("10.0.0.9"), st,
                            &wait, ri);
}

static struct session
phone(enum aal aal)
{
    struct session s = {.loa = {IAL3, aal}, .amr = "pwd", .auth_time = NOW - 100};

    strcpy(s.account_id, "acct-1");
    strcpy(s.sid, "sid-1");
    strcpy(s.tag, "tag-1");
    return s;
}

TEST(device_authorize_refuses_clients_without_the_grant_and_bad_scopes)
{
    struct fake_app f;
    struct device_start st;
    struct rc_info ri = {0};

    REQUIRE(up(&f) == 0);
    CHECK_RC(start(&f, "web", SPAN("openid"), &st, &ri), RC_DENIED);
    CHECK_INT(ri.why, RC_WHY_CLIENT_NOT_ALLOWED);
    CHECK_RC(start(&f, "kiosk", SPAN("nosuch"), &st, &ri), RC_DENIED);
    CHECK_INT(ri.why, RC_WHY_SCOPE);
    CHECK_RC(start(&f, "kiosk", (struct span){NULL, 0}, &st, &ri), RC_OK);
    CHECK_INT(strlen(st.user_code), USERCODE_SHOWN_LEN);
    CHECK_STR(st.verification_uri, FAKE_ISSUER "/device");
    CHECK_INT(st.interval, 5);
    CHECK_INT(st.expires_in, 600);
    fake_app_down(&f);
}

TEST(device_poll_pending_slow_down_approved_then_used)
{
    struct fake_app f;
    struct device_start st;
    struct device_view v;
    struct pending pd;
    struct rc_info ri = {0};
    struct session s = phone(AAL1);
    uint32_t wait = 0;

    REQUIRE(up(&f) == 0);
    REQUIRE(start(&f, "kiosk", SPAN("openid profile"), &st, &ri) == RC_OK);
    struct span dc = span_str(st.device_code);
    CHECK_RC(device_poll(&f.app, &f.a, client(&f, "kiosk"), dc, &pd, &ri), RC_DENIED);
    CHECK_INT(ri.why, RC_WHY_AUTHZ_PENDING);
    fake_now = NOW + 2; /* sooner than 5 s */
    CHECK_RC(device_poll(&f.app, &f.a, client(&f, "kiosk"), dc, &pd, &ri), RC_LIMITED);
    CHECK_INT(ri.why, RC_WHY_SLOW_DOWN);
    CHECK_INT(pd.interval, 10);
    fake_now = NOW + 9; /* 7 s later: enough before, not now */
    CHECK_RC(device_poll(&f.app, &f.a, client(&f, "kiosk"), dc, &pd, &ri), RC_LIMITED);
    CHECK_INT(pd.interval, 15);
    fake_now = NOW + 24;
    CHECK_RC(device_poll(&f.app, &f.a, client(&f, "other"), dc, &pd, &ri), RC_NOT_FOUND);
    CHECK_INT(ri.why, RC_WHY_GRANT);
    /* the phone: typed in lower case with a space */
    char typed[16];
    snprintf(typed, sizeof(typed), "%.4s %.4s", st.user_code, st.user_code + 5);
    for (char *c = typed; *c; c++)
        *c = (char)(*c >= 'A' && *c <= 'Z' ? *c + 32 : *c);
    CHECK_RC(device_lookup(&f.app, &f.a, f.p, span_str(typed), SPAN("10.0.0.1"), &v, &wait, &ri),
             RC_OK);
    CHECK_STR(v.client_name, "Kiosk");
    CHECK_STR(v.location, "Hall B");
    CHECK_STR(v.scope, "openid profile");
    CHECK_RC(
        device_decide(&f.app, &f.a, f.p, span_str(typed), SPAN("10.0.0.1"), &s, true, &wait, &ri),
        RC_OK);
    /* decided: the code is gone */
    CHECK_RC(device_lookup(&f.app, &f.a, f.p, span_str(typed), SPAN("10.0.0.1"), &v, &wait, &ri),
             RC_NOT_FOUND);
    CHECK_INT(ri.why, RC_WHY_USER_CODE);
    fake_now = NOW + 40;
    CHECK_RC(device_poll(&f.app, &f.a, client(&f, "kiosk"), dc, &pd, &ri), RC_OK);
    CHECK_STR(pd.by.account_id, "acct-1");
    CHECK_STR(pd.by.sid, "sid-1");
    CHECK_INT(pd.by.loa.aal, AAL1); /* the phone's level, never raised */
    CHECK_INT(pd.by.auth_time, NOW - 100);
    fake_now = NOW + 60;
    CHECK_RC(device_poll(&f.app, &f.a, client(&f, "kiosk"), dc, &pd, &ri), RC_NOT_FOUND);
    CHECK_INT(ri.why, RC_WHY_GRANT);
    fake_app_down(&f);
}

TEST(device_poll_denied_and_expired)
{
    struct fake_app f;
    struct device_start st, st2;
    struct pending pd;
    struct rc_info ri = {0};
    struct session s = phone(AAL1);
    uint32_t wait = 0;

    REQUIRE(up(&f) == 0);
    REQUIRE(start(&f, "kiosk", SPAN("openid"), &st, &ri) == RC_OK);
    REQUIRE(start(&f, "kiosk", SPAN("openid"), &st2, &ri) == RC_OK);
    CHECK_RC(device_decide(&f.app, &f.a, f.p, span_str(st.user_code), SPAN("10.0.0.1"), &s, false,
                           &wait, &ri),
             RC_OK);
    CHECK_RC(device_poll(&f.app, &f.a, client(&f, "kiosk"), span_str(st.device_code), &pd, &ri),
             RC_DENIED);
    CHECK_INT(ri.why, RC_WHY_DECLINED);
    fake_now = NOW + 600;
    CHECK_RC(device_poll(&f.app, &f.a, client(&f, "kiosk"), span_str(st2.device_code), &pd, &ri),
             RC_EXPIRED);
    CHECK_INT(ri.why, RC_WHY_DEVICE_EXPIRED);
    CHECK_RC(device_decide(&f.app, &f.a, f.p, span_str(st2.user_code), SPAN("10.0.0.1"), &s, true,
                           &wait, &ri),
             RC_NOT_FOUND);
    fake_app_down(&f);
}

TEST(device_decide_refuses_a_session_below_the_scopes_level)
{
    struct fake_app f;
    struct device_start st;
    struct rc_info ri = {0};
    struct session weak = phone(AAL1), strong = phone(AAL2);
    uint32_t wait = 0;

    REQUIRE(up(&f) == 0);
    REQUIRE(start(&f, "kiosk", SPAN("openid strong"), &st, &ri) == RC_OK);
    CHECK_RC(device_decide(&f.app, &f.a, f.p, span_str(st.user_code), SPAN("10.0.0.1"), &weak, true,
                           &wait, &ri),
             RC_DENIED);
    CHECK_INT(ri.why, RC_WHY_LEVEL);
    CHECK_RC(device_decide(&f.app, &f.a, f.p, span_str(st.user_code), SPAN("10.0.0.1"), &strong,
                           true, &wait, &ri),
             RC_OK);
    fake_app_down(&f);
}

TEST(device_lookup_limits_guesses_per_code)
{
    struct fake_app f;
    struct device_view v;
    struct rc_info ri = {0};
    uint32_t wait = 0;

    REQUIRE(up(&f) == 0);
    f.cfg.rate_device_per_code = 2;
    CHECK_RC(device_lookup(&f.app, &f.a, f.p, SPAN("BBBB-BBBB"), SPAN("10.0.0.1"), &v, &wait, &ri),
             RC_NOT_FOUND);
    CHECK_RC(device_lookup(&f.app, &f.a, f.p, SPAN("bbbbbbbb"), SPAN("10.0.0.2"), &v, &wait, &ri),
             RC_NOT_FOUND);
    CHECK_RC(device_lookup(&f.app, &f.a, f.p, SPAN("BBBB BBBB"), SPAN("10.0.0.3"), &v, &wait, &ri),
             RC_LIMITED);
    CHECK_INT(ri.why, RC_WHY_RATE);
    CHECK(wait >= 1);
    CHECK_RC(device_lookup(&f.app, &f.a, f.p, SPAN("nonsense"), SPAN("10.0.0.3"), &v, &wait, &ri),
             RC_MALFORMED);
    CHECK_INT(ri.why, RC_WHY_USER_CODE);
    fake_app_down(&f);
}

TEST(device_authorize_is_rate_limited_per_address)
{
    struct fake_app f;
    struct device_start st;
    struct rc_info ri = {0};

    REQUIRE(up(&f) == 0);
    f.cfg.rate_device_authorization_per_ip = 2;
    CHECK_RC(start(&f, "kiosk", SPAN("openid"), &st, &ri), RC_OK);
    CHECK_RC(start(&f, "kiosk", SPAN("openid"), &st, &ri), RC_OK);
    CHECK_RC(start(&f, "kiosk", SPAN("openid"), &st, &ri), RC_LIMITED);
    CHECK_INT(ri.why, RC_WHY_RATE);
    fake_app_down(&f);
}
