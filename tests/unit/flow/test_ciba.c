/* flow/ciba: CIBA poll mode (OpenID CIBA Core 1.0) with the memory store, the fake clock and
 * a fake notify port: the request's refusals (§13), the SMS and its link, the page's lookup
 * (another citizen's session sees nothing) and decision, the level floor, and the polls of
 * /token (pending, slow_down, approved once, denied, expired, another client's). */
#include <stdio.h>
#include <string.h>

#include "core/bindmsg.h"
#include "core/idnum.h"
#include "fakes.h"
#include "flow/account.h"
#include "flow/ciba.h"
#include "flow/session.h"
#include "log/log.h"
#include "port/notify.h"
#include "test.h"

#define NOW 1740787200

static const char policy[] = "[scope openid]\nclaims = sub\n"
                             "[scope profile]\nclaims = name\n"
                             "[scope strong]\nmin_acr = urn:authd:acr:ial3:aal2\n"
                             "[client console]\nname = Hotline\nsecret_hash = sha256:"
                             "0000000000000000000000000000000000000000000000000000000000000000\n"
                             "grant_types = urn:openid:params:grant-type:ciba\n"
                             "scopes = openid profile strong\n"
                             "[client other]\nsecret_hash = sha256:"
                             "0000000000000000000000000000000000000000000000000000000000000000\n"
                             "grant_types = urn:openid:params:grant-type:ciba\nscopes = openid\n"
                             "[client pub]\ntype = public\nauth_method = none\n"
                             "grant_types = urn:openid:params:grant-type:ciba\nscopes = openid\n"
                             "[client web]\nsecret_hash = sha256:"
                             "0000000000000000000000000000000000000000000000000000000000000000\n"
                             "redirect_uris = https://rp.example/cb\nscopes = openid\n";

static struct fake_app F;
static struct fake_notify N;
static struct account citizen;
static char idn[19];

static int
up(void)
{
    struct register_req rq = {
        .name = span_str("张三"), .phone = SPAN("13800138000"), .password = SPAN("Long-enough-1")};
    struct account_add_opts o = {.skip_popbase = true};

    log_setup(LOG_ERROR, 2);
    if (fake_app_up(&F, policy, NOW) != 0)
        return -1;
    F.cfg.ciba_expiry_s = 300;
    F.cfg.ciba_max_expiry_s = 600;
    F.cfg.ciba_poll_interval_s = 5;
    F.cfg.sms_window_s = 3600;
    F.cfg.sms_per_phone = 100;
    F.cfg.sms_service_name = "政务服务";
    memset(&N, 0, sizeof(N));
    N.n.ops = &fake_notify_ops;
    F.app.notify = &N.n;
    memcpy(idn, "11010519900307123", 17);
    idn[17] = idnum_check_char(idn);
    rq.id_number = span_str(idn);
    return account_add(&F.app, &F.a, &rq, &o, &citizen, NULL) == RC_OK ? 0 : -1;
}

static void
down(void)
{
    F.app.notify = NULL;
    fake_app_down(&F);
    log_setup(LOG_INFO, 2);
}

static const struct policy_client *
client(const char *id)
{
    return policy_client(F.p, span_str(id));
}

static enum rc
start(const char *cid, struct ciba_req rq, struct ciba_start *st, struct rc_info *ri)
{
    uint32_t wait = 0;

    if (!rq.login_hint.p)
        rq.login_hint = span_str(idn);
    if (!rq.scope.p)
        rq.scope = SPAN("openid profile");
    return ciba_authorize(&F.app, &F.a, F.p, client(cid), &rq, st, &wait, ri);
}

/* The code of the link in the last SMS. */
static struct span
link_code(void)
{
    const char *p = strstr(N.text, "/ciba?code=");

    return p ? span_of(p + 11, CIBA_CODE_LEN) : SPAN("");
}

static struct session
phone(const char *account_id, enum aal aal)
{
    struct session s = {.loa = {IAL3, aal}, .amr = "pwd", .auth_time = NOW - 100};

    snprintf(s.account_id, sizeof(s.account_id), "%s", account_id);
    strcpy(s.sid, "sid-1");
    strcpy(s.tag, "tag-1");
    return s;
}

TEST(ciba_authorize_refusals_follow_ciba_section_13)
{
    struct ciba_start st;
    struct rc_info ri = {0};

    REQUIRE(up() == 0);
    CHECK_RC(start("web", (struct ciba_req){0}, &st, &ri), RC_DENIED);
    CHECK_INT(ri.why, RC_WHY_CLIENT_NOT_ALLOWED);
    CHECK_RC(start("pub", (struct ciba_req){0}, &st, &ri), RC_DENIED); /* public client */
    CHECK_INT(ri.why, RC_WHY_CLIENT_NOT_ALLOWED);
    /* CIBA Core §7.1: one hint, not two (start() adds the login_hint) */
    CHECK_RC(start("console", (struct ciba_req){.login_hint_token = SPAN("x")}, &st, &ri),
             RC_MALFORMED);
    CHECK_INT(ri.why, RC_WHY_PARAM);
    CHECK_RC(start("console", (struct ciba_req){.id_token_hint = SPAN("x")}, &st, &ri),
             RC_UNSUPPORTED);
    CHECK_INT(ri.why, RC_WHY_PARAM);
    CHECK_RC(start("console", (struct ciba_req){.scope = SPAN("profile")}, &st, &ri), RC_DENIED);
    CHECK_INT(ri.why, RC_WHY_SCOPE);
    CHECK_RC(
        start("console", (struct ciba_req){.login_hint = SPAN("110105199003071230")}, &st, &ri),
        RC_NOT_FOUND); /* a bad check character */
    CHECK_INT(ri.why, RC_WHY_UNKNOWN_USER);
    CHECK_RC(start("console", (struct ciba_req){.login_hint = SPAN("11010519900307")}, &st, &ri),
             RC_NOT_FOUND);
    CHECK_INT(ri.why, RC_WHY_UNKNOWN_USER);
    CHECK_RC(start("console", (struct ciba_req){.binding_message = SPAN("a\nb")}, &st, &ri),
             RC_MALFORMED);
    CHECK_INT(ri.why, RC_WHY_BINDING_MESSAGE);
    CHECK_RC(start("console", (struct ciba_req){.requested_expiry = SPAN("-1")}, &st, &ri),
             RC_MALFORMED);
    CHECK_INT(ri.why, RC_WHY_PARAM);
    CHECK_INT(N.calls, 0); /* nothing was sent for a refused request */
    down();
}

TEST(ciba_sms_link_page_and_polls)
{
    struct ciba_start st;
    struct ciba_view v;
    struct pending pd;
    struct rc_info ri = {0};
    struct session s, stranger = phone("someone-else", AAL2);
    char code[CIBA_CODE_LEN + 1];

    REQUIRE(up() == 0);
    s = phone(citizen.id, AAL1);
    REQUIRE(start("console",
                  (struct ciba_req){.binding_message = SPAN("工单 4711"),
                                    .requested_expiry = SPAN("99999")},
                  &st, &ri)
            == RC_OK);
    CHECK_INT(st.expires_in, 600); /* capped at ciba_max_expiry_s */
    CHECK_INT(st.interval, 5);
    CHECK_INT(strlen(st.auth_req_id), PENDING_ID_LEN);
    CHECK_INT(N.calls, 1);
    CHECK_STR(N.to, "13800138000");
    CHECK(strstr(N.text, FAKE_ISSUER "/ciba?code=") != NULL);
    CHECK(strstr(N.text, "Hotline") != NULL);
    CHECK(strstr(N.text, st.auth_req_id) == NULL); /* the link is not the auth_req_id */
    CHECK(strstr(N.text, "4711") == NULL);         /* the client's words stay off the SMS */
    snprintf(code, sizeof(code), "%.*s", (int)link_code().len, (const char *)link_code().p);
    struct span id = span_str(st.auth_req_id);
    CHECK_RC(ciba_poll(&F.app, &F.a, client("console"), id, &pd, &ri), RC_DENIED);
    CHECK_INT(ri.why, RC_WHY_AUTHZ_PENDING);
    fake_now = NOW + 2;
    CHECK_RC(ciba_poll(&F.app, &F.a, client("console"), id, &pd, &ri), RC_LIMITED);
    CHECK_INT(ri.why, RC_WHY_SLOW_DOWN);
    CHECK_INT(pd.interval, 10);
    CHECK_RC(ciba_poll(&F.app, &F.a, client("other"), id, &pd, &ri), RC_NOT_FOUND);
    CHECK_INT(ri.why, RC_WHY_GRANT);
    /* another citizen's session learns nothing and cannot decide */
    CHECK_RC(ciba_lookup(&F.app, &F.a, F.p, span_str(code), &stranger, &v, &ri), RC_DENIED);
    CHECK_INT(ri.why, RC_WHY_OTHER_CITIZEN);
    CHECK_RC(ciba_decide(&F.app, &F.a, F.p, span_str(code), &stranger, true, &ri), RC_DENIED);
    CHECK_INT(ri.why, RC_WHY_OTHER_CITIZEN);
    CHECK_RC(ciba_lookup(&F.app, &F.a, F.p, SPAN("AAAAAAAAAAAAAAAA"), &s, &v, &ri), RC_NOT_FOUND);
    CHECK_INT(ri.why, RC_WHY_PENDING);
    CHECK_RC(ciba_lookup(&F.app, &F.a, F.p, span_str(code), &s, &v, &ri), RC_OK);
    CHECK_STR(v.client_name, "Hotline");
    CHECK_STR(v.binding_message, "工单 4711");
    CHECK_STR(v.scope, "openid profile");
    CHECK_RC(ciba_decide(&F.app, &F.a, F.p, span_str(code), &s, true, &ri), RC_OK);
    CHECK_RC(ciba_decide(&F.app, &F.a, F.p, span_str(code), &s, false, &ri), RC_NOT_FOUND);
    CHECK_INT(ri.why, RC_WHY_PENDING);
    fake_now = NOW + 20;
    CHECK_RC(ciba_poll(&F.app, &F.a, client("console"), id, &pd, &ri), RC_OK);
    CHECK_STR(pd.by.account_id, citizen.id);
    CHECK_INT(pd.by.loa.aal, AAL1); /* the phone's level, never raised */
    CHECK_INT(pd.by.auth_time, NOW - 100);
    fake_now = NOW + 40;
    CHECK_RC(ciba_poll(&F.app, &F.a, client("console"), id, &pd, &ri), RC_NOT_FOUND);
    CHECK_INT(ri.why, RC_WHY_GRANT); /* used */
    down();
}

TEST(ciba_denied_expired_and_level)
{
    struct ciba_start st;
    struct pending pd;
    struct rc_info ri = {0};
    struct session s;
    char code[CIBA_CODE_LEN + 1];

    REQUIRE(up() == 0);
    s = phone(citizen.id, AAL1);
    /* a scope with min_acr aal2: an aal1 session cannot approve, but may deny */
    REQUIRE(start("console", (struct ciba_req){.scope = SPAN("openid strong")}, &st, &ri) == RC_OK);
    snprintf(code, sizeof(code), "%.*s", (int)link_code().len, (const char *)link_code().p);
    CHECK_RC(ciba_decide(&F.app, &F.a, F.p, span_str(code), &s, true, &ri), RC_DENIED);
    CHECK_INT(ri.why, RC_WHY_LEVEL);
    CHECK_RC(ciba_decide(&F.app, &F.a, F.p, span_str(code), &s, false, &ri), RC_OK);
    CHECK_RC(ciba_poll(&F.app, &F.a, client("console"), span_str(st.auth_req_id), &pd, &ri),
             RC_DENIED);
    CHECK_INT(ri.why, RC_WHY_DECLINED);
    /* expiry: requested_expiry 10 s */
    REQUIRE(start("console", (struct ciba_req){.requested_expiry = SPAN("10")}, &st, &ri) == RC_OK);
    CHECK_INT(st.expires_in, 10);
    fake_now = NOW + 11;
    CHECK_RC(ciba_poll(&F.app, &F.a, client("console"), span_str(st.auth_req_id), &pd, &ri),
             RC_EXPIRED);
    CHECK_INT(ri.why, RC_WHY_DEVICE_EXPIRED);
    down();
}

TEST(ciba_gateway_failure_leaves_nothing_behind)
{
    struct ciba_start st;
    struct pending pd;
    struct rc_info ri = {0};

    REQUIRE(up() == 0);
    N.rc = RC_UNAVAILABLE;
    CHECK_RC(start("console", (struct ciba_req){0}, &st, &ri), RC_UNAVAILABLE);
    CHECK(st.auth_req_id == NULL);
    N.rc = RC_OK;
    CHECK_RC(pending_load(&F.app, &F.a, PENDING_CIBA, SPAN("x"), &pd), RC_NOT_FOUND);
    down();
}

TEST(ciba_sms_buckets_and_language)
{
    struct ciba_start st;
    struct rc_info ri = {0};
    uint32_t wait = 0;
    struct ciba_req rq = {.scope = SPAN("openid"), .login_hint = span_str(idn)};

    REQUIRE(up() == 0);
    F.cfg.sms_per_phone = 1;
    F.cfg.sms_lang = "en";
    REQUIRE(start("console", (struct ciba_req){0}, &st, &ri) == RC_OK);
    CHECK(strstr(N.text, "asks to act for you") != NULL);
    CHECK_RC(ciba_authorize(&F.app, &F.a, F.p, client("console"), &rq, &st, &wait, &ri),
             RC_LIMITED);
    CHECK_INT(ri.why, RC_WHY_RATE);
    CHECK(wait >= 1);
    CHECK(st.auth_req_id == NULL);
    CHECK_INT(N.calls, 1);
    down();
}

TEST(bindmsg_parse_limits)
{
    struct arena a;
    const char *out;
    struct rc_info ri = {0};
    char long_msg[80];

    arena_init(&a, 1 << 16);
    CHECK_RC(bindmsg_parse(SPAN("工单 4711"), &a, &out, &ri), RC_OK);
    CHECK_STR(out, "工单 4711");
    memset(long_msg, 'x', 65);
    CHECK_RC(bindmsg_parse(span_of(long_msg, 64), &a, &out, &ri), RC_OK);
    CHECK_RC(bindmsg_parse(span_of(long_msg, 65), &a, &out, &ri), RC_TOO_LARGE);
    CHECK_RC(bindmsg_parse(SPAN(""), &a, &out, &ri), RC_MALFORMED);
    CHECK_RC(bindmsg_parse(SPAN("a\x01"), &a, &out, &ri), RC_MALFORMED);
    CHECK_RC(bindmsg_parse(SPAN("\xe2\x80\xae"
                                "abc"),
                           &a, &out, &ri),
             RC_MALFORMED);                                                 /* RLO */
    CHECK_RC(bindmsg_parse(SPAN("\xc0\xaf"), &a, &out, &ri), RC_MALFORMED); /* overlong */
    arena_clear(&a);
}
