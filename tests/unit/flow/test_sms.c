/* flow/sms and authn_sms: what reaches the notify port (the code and the service name, in
 * zh or en, to the number on record), the code's life (wrong, expired, reused, the sixth
 * attempt), only a keyed hash in the store, every SMS bucket, the gateway's failure, and the
 * authenticator's hooks. Memory store, fake clock, a fake notify port. */
#include <stdio.h>
#include <string.h>

#include "core/idnum.h"
#include "fakes.h"
#include "flow/account.h"
#include "flow/authn.h"
#include "flow/mfa_phone.h"
#include "flow/session.h"
#include "flow/sms.h"
#include "log/log.h"
#include "port/notify.h"
#include "test.h"

#define NOW 1740787200

static const char policy_text[] = "[scope openid]\nclaims = sub\n";

static struct fake_app F;
static struct fake_notify N;
static struct account citizen;

static int
up(const char *phone, bool verified)
{
    static char idn[19];
    struct register_req rq = {
        .name = span_str("张三"), .phone = span_str(phone), .password = SPAN("Long-enough-1")};
    struct account_add_opts o = {.skip_popbase = true};

    log_setup(LOG_ERROR, 2);
    if (fake_app_up(&F, policy_text, NOW) != 0)
        return -1;
    F.cfg.sms_code_ttl_s = 300;
    F.cfg.sms_window_s = 3600;
    F.cfg.sms_service_name = "政务服务";
    F.cfg.sms_lang = "zh";
    memset(&N, 0, sizeof(N));
    N.n.ops = &fake_notify_ops;
    F.app.notify = &N.n;
    memcpy(idn, "11010519900307123", 17);
    idn[17] = idnum_check_char(idn);
    rq.id_number = span_str(idn);
    if (account_add(&F.app, &F.a, &rq, &o, &citizen, NULL) != RC_OK)
        return -1;
    if (verified && sms_phone_mark_verified(&F.app, &F.a, citizen.id, phone) != RC_OK)
        return -1;
    return 0;
}

static void
down(void)
{
    F.app.notify = NULL;
    fake_app_down(&F);
    log_setup(LOG_INFO, 2);
}

/* The code in the last SMS: its six digits. */
static const char *
last_code(void)
{
    static char code[7];
    size_t n = strlen(N.text);

    snprintf(code, sizeof(code), "%s", n >= 6 ? N.text + n - 6 : "");
    return code;
}

static enum rc
send_login(const char *ip, uint32_t *retry)
{
    return sms_send(&F.app, &F.a, citizen.id, SMS_LOGIN, ip, "zh", NULL, retry);
}

static enum rc
check(const char *code)
{
    return sms_check(&F.app, &F.a, citizen.id, SMS_LOGIN, span_str(code), NULL);
}

/* A code other than c (same length). */
static const char *
other(const char *c)
{
    static char o[7];

    snprintf(o, sizeof(o), "%s", c);
    o[0] = o[0] == '9' ? '0' : (char)(o[0] + 1);
    return o;
}

TEST(sms_code_goes_to_the_number_on_record_with_only_code_and_service)
{
    char code[7];
    uint32_t retry = 7;

    REQUIRE(up("13800000001", true) == 0);
    CHECK_RC(send_login("10.0.0.1", &retry), RC_OK);
    CHECK_INT(retry, 0);
    CHECK_INT(N.calls, 1);
    CHECK_STR(N.to, "13800000001");
    snprintf(code, sizeof(code), "%s", last_code());
    CHECK(strspn(code, "0123456789") == 6);
    CHECK(strcmp(N.text, "【政务服务】验证码：") > 0
          && strncmp(N.text, "【政务服务】验证码：", strlen("【政务服务】验证码：")) == 0);
    CHECK_INT(strlen(N.text), strlen("【政务服务】验证码：") + 6);
    CHECK_STR(sms_text(&F.a, "gov", "en", "123456"), "gov verification code: 123456");
    /* the store holds a hash, never the code */
    struct span v;
    CHECK_RC(
        store_get(F.app.store, &F.a, store_key(&F.a, "sms", span_str(citizen.id), ":login"), &v),
        RC_OK);
    CHECK(v.len > 64 && !memmem(v.p, v.len, code, 6));
    CHECK_RC(check(code), RC_OK);
    down();
}

TEST(sms_wrong_reused_and_expired_codes_are_denied)
{
    char code[7];
    struct rc_info ri = {0};

    REQUIRE(up("13800000001", true) == 0);
    CHECK_RC(send_login("10.0.0.1", NULL), RC_OK);
    snprintf(code, sizeof(code), "%s", last_code());
    CHECK_RC(sms_check(&F.app, &F.a, citizen.id, SMS_LOGIN, span_str(other(code)), &ri), RC_DENIED);
    CHECK_INT(ri.why, RC_WHY_CREDENTIALS);
    CHECK_RC(check("12a456"), RC_DENIED);
    CHECK_RC(sms_check(&F.app, &F.a, citizen.id, SMS_PHONE, span_str(code), NULL), RC_DENIED);
    CHECK_RC(check(code), RC_OK);
    CHECK_RC(check(code), RC_DENIED); /* single use */
    /* expired: the last second of its life passes, the next does not */
    CHECK_RC(send_login("10.0.0.1", NULL), RC_OK);
    snprintf(code, sizeof(code), "%s", last_code());
    fake_now = NOW + 300;
    CHECK_RC(check(code), RC_DENIED);
    fake_now = NOW;
    CHECK_RC(check(code), RC_DENIED); /* dead once expired */
    CHECK_RC(send_login("10.0.0.1", NULL), RC_OK);
    snprintf(code, sizeof(code), "%s", last_code());
    fake_now = NOW + 299;
    CHECK_RC(check(code), RC_OK);
    fake_now = NOW;
    down();
}

TEST(sms_sixth_attempt_is_denied_even_with_the_right_code)
{
    char code[7];

    REQUIRE(up("13800000001", true) == 0);
    CHECK_RC(send_login("10.0.0.1", NULL), RC_OK);
    snprintf(code, sizeof(code), "%s", last_code());
    for (int i = 0; i < 4; i++)
        CHECK_RC(check(other(code)), RC_DENIED);
    CHECK_RC(check(code), RC_OK); /* the fifth attempt may still be right */
    CHECK_RC(send_login("10.0.0.1", NULL), RC_OK);
    snprintf(code, sizeof(code), "%s", last_code());
    for (int i = 0; i < 5; i++)
        CHECK_RC(check(other(code)), RC_DENIED);
    CHECK_RC(check(code), RC_DENIED); /* the sixth: the code is dead */
    CHECK_RC(check(code), RC_DENIED);
    /* a new code starts its count again */
    CHECK_RC(send_login("10.0.0.1", NULL), RC_OK);
    CHECK_RC(check(last_code()), RC_OK);
    down();
}

TEST(sms_limits_per_phone_account_address_and_day)
{
    struct rc_info ri = {0};
    uint32_t retry = 0;

    REQUIRE(up("13800000001", true) == 0);
    F.cfg.sms_per_idnum = 2;
    CHECK_RC(send_login("10.0.0.1", &retry), RC_OK);
    CHECK_RC(send_login("10.0.0.2", &retry), RC_OK);
    CHECK_RC(sms_send(&F.app, &F.a, citizen.id, SMS_LOGIN, "10.0.0.3", "zh", &ri, &retry),
             RC_LIMITED);
    CHECK_INT(ri.why, RC_WHY_RATE);
    CHECK(retry >= 1 && retry <= 1800);
    CHECK(ri.msg && strstr(ri.msg, "try again in"));
    CHECK_INT(N.calls, 2);
    /* the clock moves on: the bucket refills */
    fake_now = NOW + 1800;
    CHECK_RC(send_login("10.0.0.3", &retry), RC_OK);
    F.cfg.sms_per_idnum = 0;
    F.cfg.sms_per_phone = 1;
    fake_now = NOW + 10000;
    CHECK_RC(send_login("10.0.0.4", &retry), RC_OK);
    CHECK_RC(send_login("10.0.0.4", &retry), RC_LIMITED);
    F.cfg.sms_per_phone = 0;
    F.cfg.sms_per_ip = 1;
    fake_now = NOW + 20000;
    CHECK_RC(send_login("10.0.0.5", &retry), RC_OK);
    CHECK_RC(send_login("10.0.0.5", &retry), RC_LIMITED);
    CHECK_RC(send_login("10.0.0.6", &retry), RC_OK);
    F.cfg.sms_per_ip = 0;
    F.cfg.sms_daily_budget = 1;
    CHECK_RC(send_login("10.0.0.7", &retry), RC_OK);
    CHECK_RC(send_login("10.0.0.8", &retry), RC_LIMITED);
    CHECK(retry > 3600 && retry <= 86400);
    fake_now = NOW;
    down();
}

TEST(sms_only_to_a_verified_number_for_login_and_gateway_failures_withdraw_the_code)
{
    struct rc_info ri = {0};
    const struct authn *m = authn_find(SPAN("sms"));

    REQUIRE(up("13800000001", false) == 0);
    REQUIRE(m == &authn_sms);
    CHECK(!m->enrolled(&F.app, &F.a, citizen.id));
    CHECK_RC(sms_send(&F.app, &F.a, citizen.id, SMS_LOGIN, NULL, "zh", &ri, NULL), RC_DENIED);
    CHECK_INT(ri.why, RC_WHY_NO_PHONE);
    CHECK_INT(N.calls, 0);
    /* the phone check goes to the number on record, then marks it */
    CHECK_RC(sms_send(&F.app, &F.a, citizen.id, SMS_PHONE, NULL, "en", NULL, NULL), RC_OK);
    CHECK(strncmp(N.text, "政务服务 verification code: ", 10) == 0);
    CHECK_RC(sms_check(&F.app, &F.a, citizen.id, SMS_PHONE, span_str(last_code()), NULL), RC_OK);
    CHECK_RC(sms_phone_mark_verified(&F.app, &F.a, citizen.id, "13800000001"), RC_OK);
    CHECK(m->enrolled(&F.app, &F.a, citizen.id));
    CHECK(authn_second_factor(&F.app, &F.a, citizen.id));
    /* the gateway fails: unavailable, and no code is left to guess */
    N.rc = RC_UNAVAILABLE;
    CHECK_RC(m->challenge(&F.app, &F.a, citizen.id, "10.0.0.1", &ri, &(uint32_t){0}),
             RC_UNAVAILABLE);
    N.rc = RC_OK;
    CHECK_RC(check(last_code()), RC_DENIED);
    F.app.notify = NULL; /* not configured */
    CHECK_RC(send_login(NULL, NULL), RC_UNAVAILABLE);
    F.app.notify = &N.n;
    down();
}

TEST(authn_sms_raises_the_session_of_its_account_only)
{
    const struct authn *m = &authn_sms;
    struct session s = {.account_id = ""};
    struct authn_proof proof = {0};
    struct authn_input in = {.session = &s};
    uint32_t retry = 0;

    REQUIRE(up("13800000001", true) == 0);
    snprintf(s.account_id, sizeof(s.account_id), "%s", citizen.id);
    CHECK_INT(m->reach.aal, AAL2);
    CHECK_INT(m->reach.ial, IAL_NONE);
    CHECK_STR(m->amr, "sms");
    CHECK(m->needs & AUTHN_NEEDS_SESSION);
    CHECK_RC(m->challenge(&F.app, &F.a, citizen.id, "10.0.0.1", NULL, &retry), RC_OK);
    in.secret = span_str(other(last_code()));
    CHECK_RC(m->verify(&F.app, &F.a, &in, &proof, NULL, &retry), RC_DENIED);
    in.secret = span_str(last_code());
    CHECK_RC(m->verify(&F.app, &F.a, &in, &proof, NULL, &retry), RC_OK);
    CHECK_STR(proof.account_id, citizen.id);
    CHECK_INT(proof.loa.aal, AAL2);
    in.session = NULL;
    CHECK_RC(m->verify(&F.app, &F.a, &in, &proof, NULL, &retry), RC_DENIED);
    down();
}

TEST(sms_store_down_fails_closed)
{
    struct store *real;

    REQUIRE(up("13800000001", true) == 0);
    real = F.app.store;
    F.app.store = &fake_store_down;
    CHECK_RC(send_login("10.0.0.1", NULL), RC_UNAVAILABLE);
    CHECK_RC(check("123456"), RC_UNAVAILABLE);
    F.app.store = real;
    CHECK_INT(N.calls, 0);
    down();
}

/* /mfa/phone's flow: a session at aal1 at least, its CSRF token, the actions, and the mark. */
TEST(mfa_phone_refusals_name_their_reason_and_the_code_marks_the_number)
{
    char cookie[SESSION_COOKIE_LEN + 1], cookie0[SESSION_COOKIE_LEN + 1];
    struct session s;
    struct session_login l = {NULL, {IAL3, AAL1}, "pwd", NOW};
    struct mfa_phone_page pg;
    struct rc_info ri = {0};
    struct account acct;
    uint32_t retry = 0;

    REQUIRE(up("13800000001", false) == 0);
    l.account_id = citizen.id;
    REQUIRE(session_create(&F.app, &F.a, &l, cookie, &s) == RC_OK);
    CHECK_RC(mfa_phone_page(&F.app, &F.a, SPAN("not-a-cookie"), &pg), RC_NOT_FOUND);
    CHECK_RC(mfa_phone_page(&F.app, &F.a, span_str(cookie), &pg), RC_OK);
    CHECK_STR(pg.phone_masked, "138****0001");
    CHECK(!pg.verified);
    /* an aal0 session (a password over the ceiling) waits for its second factor first */
    l.loa.aal = AAL_NONE;
    REQUIRE(session_create(&F.app, &F.a, &l, cookie0, &s) == RC_OK);
    CHECK_RC(mfa_phone_page(&F.app, &F.a, span_str(cookie0), &pg), RC_NOT_FOUND);
    CHECK_RC(mfa_phone_post(&F.app, &F.a, span_str(cookie0), span_str(pg.csrf), SPAN("send"),
                            SPAN(""), NULL, "zh", &ri, &retry),
             RC_NOT_FOUND);
    REQUIRE(mfa_phone_page(&F.app, &F.a, span_str(cookie), &pg) == RC_OK);
    CHECK_RC(mfa_phone_post(&F.app, &F.a, span_str(cookie), SPAN("bad"), SPAN("send"), SPAN(""),
                            NULL, "zh", &ri, &retry),
             RC_DENIED);
    CHECK_INT(ri.why, RC_WHY_CSRF);
    CHECK_RC(mfa_phone_post(&F.app, &F.a, span_str(cookie), span_str(pg.csrf), SPAN("drop"),
                            SPAN(""), NULL, "zh", &ri, &retry),
             RC_MALFORMED);
    CHECK_INT(ri.why, RC_WHY_PARAM);
    CHECK_INT(N.calls, 0);
    CHECK_RC(mfa_phone_post(&F.app, &F.a, span_str(cookie), span_str(pg.csrf), SPAN("send"),
                            SPAN(""), "10.0.0.1", "zh", &ri, &retry),
             RC_OK);
    CHECK_RC(mfa_phone_post(&F.app, &F.a, span_str(cookie), span_str(pg.csrf), SPAN("verify"),
                            span_str(other(last_code())), NULL, "zh", &ri, &retry),
             RC_DENIED);
    CHECK_INT(ri.why, RC_WHY_CREDENTIALS);
    CHECK_RC(mfa_phone_post(&F.app, &F.a, span_str(cookie), span_str(pg.csrf), SPAN("verify"),
                            span_str(last_code()), NULL, "zh", &ri, &retry),
             RC_OK);
    CHECK_RC(account_get(&F.app, &F.a, citizen.id, &acct), RC_OK);
    CHECK_STR(acct.phone_verified, "13800000001");
    CHECK(sms_enrolled(&acct));
    CHECK_RC(mfa_phone_page(&F.app, &F.a, span_str(cookie), &pg), RC_OK);
    CHECK(pg.verified);
    down();
}

/* No number on record: nothing to send to, nothing to verify. */
TEST(mfa_phone_without_a_number_is_no_phone)
{
    char cookie[SESSION_COOKIE_LEN + 1];
    struct session s;
    struct session_login l = {NULL, {IAL3, AAL1}, "pwd", NOW};
    struct mfa_phone_page pg;
    struct rc_info ri = {0};
    uint32_t retry = 0;

    REQUIRE(up("", false) == 0);
    l.account_id = citizen.id;
    REQUIRE(session_create(&F.app, &F.a, &l, cookie, &s) == RC_OK);
    REQUIRE(mfa_phone_page(&F.app, &F.a, span_str(cookie), &pg) == RC_OK);
    CHECK_STR(pg.phone_masked, "");
    CHECK_RC(mfa_phone_post(&F.app, &F.a, span_str(cookie), span_str(pg.csrf), SPAN("send"),
                            SPAN(""), NULL, "zh", &ri, &retry),
             RC_DENIED);
    CHECK_INT(ri.why, RC_WHY_NO_PHONE);
    ri = (struct rc_info){0};
    CHECK_RC(mfa_phone_post(&F.app, &F.a, span_str(cookie), span_str(pg.csrf), SPAN("verify"),
                            SPAN("123456"), NULL, "zh", &ri, &retry),
             RC_DENIED);
    CHECK_INT(ri.why, RC_WHY_NO_PHONE);
    CHECK_INT(N.calls, 0);
    down();
}
