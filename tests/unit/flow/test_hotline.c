/* flow/staff, flow/hotline and the agent's CIBA (flow/ciba, flow/token) with the memory
 * store, the fake clock and a fake notify port: staff accounts apart from citizens, the
 * masked lookup and its refusals (a citizen's token, aal1, a role without the right, a
 * purpose not of the role, the quota), the login_hint_token at /bc-authorize (scope within
 * the purpose, another client's, expired), the consented token's act and lifetime, a
 * denial releasing nothing, and the audit records. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/idnum.h"
#include "core/jose.h"
#include "fakes.h"
#include "flow/account.h"
#include "flow/audit.h"
#include "flow/ciba.h"
#include "flow/hotline.h"
#include "flow/session.h"
#include "flow/staff.h"
#include "flow/token.h"
#include "log/log.h"
#include "port/notify.h"
#include "test.h"

#define NOW   1740787200
#define HASH0 "sha256:0000000000000000000000000000000000000000000000000000000000000000\n"

static const char policy[] = "[scope openid]\nclaims = sub\n"
                             "[scope profile]\nclaims = name\n"
                             "[scope phone]\nclaims = phone_number\n"
                             "[role hotline_agent]\nmay = lookup consent\n"
                             "purposes = status_query\nlookups_per_minute = 100\n"
                             "daily_quota = 50\n"
                             "[role hotline_supervisor]\nmay = lookup consent set_quota\n"
                             "purposes = status_query\n"
                             "[role trainee]\nmay = consent\npurposes = status_query\n"
                             "[purpose status_query]\nname = 查询办件进度\n"
                             "name_en = Application status\nscopes = openid profile\n"
                             "token_ttl = 300\n"
                             "[purpose address_change]\nname = 变更地址\nscopes = openid\n"
                             "[client console]\nname = Hotline\nsecret_hash = " HASH0
                             "grant_types = urn:openid:params:grant-type:ciba\n"
                             "scopes = openid profile phone\n"
                             "[client other]\nsecret_hash = " HASH0
                             "grant_types = urn:openid:params:grant-type:ciba\nscopes = openid\n";

static struct fake_app F;
static struct fake_notify N;
static struct audit *AU;
static struct account citizen;
static char idn[19];
static char audit_key[160];

static int
up(bool audited)
{
    struct register_req rq = {.name = span_str("张小三"),
                              .phone = SPAN("13800138000"),
                              .password = SPAN("Long-enough-1")};
    struct account_add_opts o = {.skip_popbase = true};
    struct audit_opts ao = {100, 0};

    log_setup(LOG_ERROR, 2);
    if (fake_app_up(&F, policy, NOW) != 0)
        return -1;
    F.cfg.ciba_expiry_s = 300;
    F.cfg.ciba_max_expiry_s = 600;
    F.cfg.ciba_poll_interval_s = 5;
    F.cfg.sms_window_s = 3600;
    F.cfg.sms_per_phone = 100;
    F.cfg.login_rate_per_ip = 100;
    F.cfg.rate_login_per_idnum = 100;
    F.cfg.password_min_length = 8;
    memset(&N, 0, sizeof(N));
    N.n.ops = &fake_notify_ops;
    F.app.notify = &N.n;
    AU = NULL;
    if (audited) {
        snprintf(audit_key, sizeof(audit_key), "%s/audit-key.jwk", F.dir);
        if (audit_open(audit_key, true, &ao, &AU, NULL) != RC_OK)
            return -1;
        F.app.audit = AU;
    }
    memcpy(idn, "11010519900307123", 17);
    idn[17] = idnum_check_char(idn);
    rq.id_number = span_str(idn);
    return account_add(&F.app, &F.a, &rq, &o, &citizen, NULL) == RC_OK ? 0 : -1;
}

static void
down(void)
{
    F.app.notify = NULL;
    F.app.audit = NULL;
    audit_free(AU);
    fake_app_down(&F);
    log_setup(LOG_INFO, 2);
}

/* Adds emp with role and enrols it with password pw through its link. */
static enum rc
add_staff(const char *emp, const char *role, const char *pw)
{
    const char *link = NULL, *t;
    enum rc rc =
        staff_add(&F.app, &F.a, span_str(emp), SPAN("李四光"), span_str(role), "ops", &link, NULL);

    if (rc != RC_OK)
        return rc;
    if (!(t = strstr(link, "?t=")))
        return RC_INTERNAL;
    struct rc_info ri = {0};
    rc = staff_enrol(&F.app, &F.a, span_str(t + 3), span_str(pw), &ri);
    return rc;
}

/* What a verified access token of emp's console login at aal says. */
static struct token_claims
staff_token(const char *account_id, const char *acr)
{
    struct token_claims tc = {.sub = "agent-sub-1",
                              .client_id = "console",
                              .aud = "console",
                              .account_id = account_id,
                              .acr = acr,
                              .jti = "j1"};
    return tc;
}

#define STAFF_ACR "urn:authd:acr:ial2:aal2"

static enum rc
lookup_idn(const struct token_claims *tc, const char *purpose, struct hotline_lookup_res *res,
           struct rc_info *ri)
{
    struct hotline_lookup_req rq = {span_str(purpose), span_str(idn), {NULL, 0}};
    uint32_t retry;

    return hotline_lookup(&F.app, &F.a, F.p, tc, &rq, res, &retry, ri);
}

TEST(hotline_staff_accounts_are_apart_from_citizens)
{
    struct staff s;
    struct account acct;
    struct rc_info ri = {0};
    uint32_t retry;

    REQUIRE(up(false) == 0);
    CHECK_RC(add_staff("E1001", "hotline_agent", "staff-pass-1"), RC_OK);
    CHECK_RC(staff_add(&F.app, &F.a, SPAN("E1001"), SPAN("x"), SPAN("hotline_agent"), "ops",
                       &(const char *){NULL}, &ri),
             RC_CONFLICT);
    CHECK_RC(staff_add(&F.app, &F.a, SPAN("E1002"), SPAN("x"), SPAN("root"), "ops",
                       &(const char *){NULL}, &ri),
             RC_MALFORMED);
    CHECK_INT(ri.why, RC_WHY_ROLE);
    CHECK_RC(staff_add(&F.app, &F.a, SPAN("E-1"), SPAN("x"), SPAN("hotline_agent"), "ops",
                       &(const char *){NULL}, &ri),
             RC_MALFORMED);
    CHECK_RC(
        staff_login(&F.app, &F.a, SPAN("E1001"), SPAN("staff-pass-1"), "10.0.0.1", &s, &ri, &retry),
        RC_OK);
    CHECK_STR(s.account_id, "staff:E1001");
    CHECK_RC(
        staff_login(&F.app, &F.a, SPAN("E1001"), SPAN("wrong-pass"), "10.0.0.1", &s, &ri, &retry),
        RC_DENIED);
    CHECK_INT(ri.why, RC_WHY_CREDENTIALS);
    CHECK_RC(
        staff_login(&F.app, &F.a, SPAN("E9999"), SPAN("staff-pass-1"), "10.0.0.1", &s, &ri, &retry),
        RC_DENIED);
    /* a citizen's ID number is no employee number, a citizen's account id no staff id */
    CHECK_RC(staff_login(&F.app, &F.a, span_str(idn), SPAN("Long-enough-1"), "10.0.0.1", &s, &ri,
                         &retry),
             RC_DENIED);
    CHECK(!staff_id_is(citizen.id));
    CHECK_RC(staff_of_account(&F.app, &F.a, citizen.id, &s), RC_NOT_FOUND);
    /* account_get serves the staff member: a name, ial2, no ID number */
    CHECK_RC(account_get(&F.app, &F.a, "staff:E1001", &acct), RC_OK);
    CHECK_STR(acct.name, "李四光");
    CHECK_INT(acct.id_number[0], 0);
    CHECK_INT(acct.ial, IAL2);
    /* disabled: no login */
    CHECK_RC(staff_set_disabled(&F.app, &F.a, SPAN("E1001"), true, "ops", &ri), RC_OK);
    CHECK_RC(
        staff_login(&F.app, &F.a, SPAN("E1001"), SPAN("staff-pass-1"), "10.0.0.1", &s, &ri, &retry),
        RC_DENIED);
    down();
}

TEST(hotline_lookup_answers_only_a_masked_summary)
{
    struct token_claims tc = staff_token("staff:E1001", STAFF_ACR);
    struct hotline_lookup_res res;
    struct hotline_lookup_req byphone = {SPAN("status_query"), {NULL, 0}, SPAN("13800138000")};
    struct rc_info ri = {0};
    char masked[MASK_IDNUM_SIZE];
    uint32_t retry;

    REQUIRE(up(false) == 0);
    REQUIRE(add_staff("E1001", "hotline_agent", "staff-pass-1") == RC_OK);
    CHECK_RC(lookup_idn(&tc, "status_query", &res, &ri), RC_OK);
    REQUIRE(res.n == 1);
    mask_idnum(span_str(idn), masked);
    CHECK_STR(res.c[0].id_number, masked);
    CHECK_STR(res.c[0].name, "张*三");
    CHECK_STR(res.c[0].channels[0], "password");
    CHECK_INT(res.c[0].ial, IAL2);
    CHECK(res.c[0].login_hint_token != NULL);
    /* the token is signed, not sealed: it must hold neither the number nor the phone */
    {
        struct span payload;
        REQUIRE(jose_payload_unverified(span_str(res.c[0].login_hint_token), &F.a, &payload)
                == RC_OK);
        CHECK(strstr((const char *)payload.p, idn) == NULL);
        CHECK(strstr((const char *)payload.p, "13800138000") == NULL);
        CHECK(strstr((const char *)payload.p, "\"emp\":\"E1001\"") != NULL);
    }
    /* by phone: the same citizen, masked */
    CHECK_RC(hotline_lookup(&F.app, &F.a, F.p, &tc, &byphone, &res, &retry, &ri), RC_OK);
    CHECK_INT(res.n, 1);
    CHECK_STR(res.c[0].id_number, masked);
    byphone.phone = SPAN("13900000000");
    CHECK_RC(hotline_lookup(&F.app, &F.a, F.p, &tc, &byphone, &res, &retry, &ri), RC_OK);
    CHECK_INT(res.n, 0);
    down();
}

TEST(hotline_lookup_refuses_citizens_weak_logins_roles_purposes_and_quota)
{
    struct token_claims tc = staff_token("staff:E1001", STAFF_ACR);
    struct hotline_lookup_res res;
    struct rc_info ri = {0};

    REQUIRE(up(false) == 0);
    REQUIRE(add_staff("E1001", "hotline_agent", "staff-pass-1") == RC_OK);
    REQUIRE(add_staff("E2001", "hotline_supervisor", "staff-pass-2") == RC_OK);
    REQUIRE(add_staff("E3001", "trainee", "staff-pass-3") == RC_OK);
    /* a citizen's token, even at aal2 */
    struct token_claims cit = staff_token(citizen.id, "urn:authd:acr:ial3:aal2");
    CHECK_RC(lookup_idn(&cit, "status_query", &res, &ri), RC_DENIED);
    CHECK_INT(ri.why, RC_WHY_NOT_STAFF);
    /* the agent logged in with the password alone */
    struct token_claims weak = staff_token("staff:E1001", "urn:authd:acr:ial2:aal1");
    CHECK_RC(lookup_idn(&weak, "status_query", &res, &ri), RC_DENIED);
    CHECK_INT(ri.why, RC_WHY_LEVEL);
    /* a role without the right to look up */
    struct token_claims tr = staff_token("staff:E3001", STAFF_ACR);
    CHECK_RC(lookup_idn(&tr, "status_query", &res, &ri), RC_DENIED);
    CHECK_INT(ri.why, RC_WHY_ROLE);
    /* a purpose the role does not have, none, an unknown one */
    CHECK_RC(lookup_idn(&tc, "address_change", &res, &ri), RC_MALFORMED);
    CHECK_INT(ri.why, RC_WHY_PURPOSE);
    CHECK_RC(lookup_idn(&tc, "", &res, &ri), RC_MALFORMED);
    CHECK_INT(ri.why, RC_WHY_PURPOSE);
    /* an agent cannot set quotas; the supervisor can */
    struct token_claims sup = staff_token("staff:E2001", STAFF_ACR);
    CHECK_RC(hotline_set_quota(&F.app, &F.a, F.p, &tc, SPAN("E1001"), 2, &ri), RC_DENIED);
    CHECK_INT(ri.why, RC_WHY_ROLE);
    CHECK_RC(hotline_set_quota(&F.app, &F.a, F.p, &sup, SPAN("E9999"), 2, &ri), RC_NOT_FOUND);
    CHECK_RC(hotline_set_quota(&F.app, &F.a, F.p, &sup, SPAN("E1001"), 2, &ri), RC_OK);
    CHECK_RC(lookup_idn(&tc, "status_query", &res, &ri), RC_OK);
    CHECK_RC(lookup_idn(&tc, "status_query", &res, &ri), RC_OK);
    CHECK_RC(lookup_idn(&tc, "status_query", &res, &ri), RC_LIMITED);
    CHECK_INT(ri.why, RC_WHY_QUOTA);
    /* a disabled member's token is no longer a staff member's */
    CHECK_RC(staff_set_disabled(&F.app, &F.a, SPAN("E1001"), true, "ops", &ri), RC_OK);
    CHECK_RC(lookup_idn(&tc, "status_query", &res, &ri), RC_DENIED);
    CHECK_INT(ri.why, RC_WHY_NOT_STAFF);
    down();
}

/* The code of the link in the last SMS. */
static struct span
link_code(void)
{
    const char *p = strstr(N.text, "/ciba?code=");

    return p ? span_of(p + 11, CIBA_CODE_LEN) : SPAN("");
}

static struct session
phone_session(void)
{
    struct session s = {.loa = {IAL3, AAL1}, .amr = "pwd", .auth_time = NOW - 100};

    snprintf(s.account_id, sizeof(s.account_id), "%s", citizen.id);
    strcpy(s.sid, "sid-1");
    strcpy(s.tag, "tag-1");
    return s;
}

static enum rc
agent_request(const char *client, const char *lht, const char *scope, struct ciba_start *st,
              struct rc_info *ri)
{
    struct ciba_req rq = {.scope = span_str(scope),
                          .login_hint_token = span_str(lht),
                          .binding_message = SPAN("工单 4711")};
    uint32_t wait;

    return ciba_authorize(&F.app, &F.a, F.p, policy_client(F.p, span_str(client)), &rq, st, &wait,
                          ri);
}

static enum rc
poll_token(const char *auth_req_id, struct token_resp *out, struct rc_info *ri)
{
    struct token_req rq = {.grant_type = SPAN("urn:openid:params:grant-type:ciba"),
                           .auth_req_id = span_str(auth_req_id)};

    memset(out, 0, sizeof(*out));
    return token_grant(&F.app, &F.a, F.p, policy_client(F.p, SPAN("console")), &rq, out, ri);
}

TEST(hotline_consent_gives_a_scoped_token_with_act)
{
    struct token_claims tc = staff_token("staff:E1001", STAFF_ACR);
    struct hotline_lookup_res res;
    struct ciba_start st;
    struct ciba_view v;
    struct pending pd;
    struct token_resp tr;
    struct rc_info ri = {0};
    struct session s;
    struct span payload;
    char code[CIBA_CODE_LEN + 1];
    json_t *o;

    REQUIRE(up(false) == 0);
    REQUIRE(add_staff("E1001", "hotline_agent", "staff-pass-1") == RC_OK);
    REQUIRE(lookup_idn(&tc, "status_query", &res, &ri) == RC_OK && res.n == 1);
    const char *lht = res.c[0].login_hint_token;
    /* beyond the purpose's scopes; another client's token; both hints */
    CHECK_RC(agent_request("console", lht, "openid phone", &st, &ri), RC_DENIED);
    CHECK_INT(ri.why, RC_WHY_SCOPE);
    CHECK_RC(agent_request("other", lht, "openid", &st, &ri), RC_DENIED);
    CHECK_INT(ri.why, RC_WHY_LOGIN_HINT_TOKEN);
    CHECK_RC(agent_request("console", "e30.e30.e30", "openid", &st, &ri), RC_DENIED);
    CHECK_INT(ri.why, RC_WHY_LOGIN_HINT_TOKEN);
    REQUIRE(agent_request("console", lht, "openid profile", &st, &ri) == RC_OK);
    /* the pending interaction holds the account id and the agent, never the ID number */
    REQUIRE(pending_load(&F.app, &F.a, PENDING_CIBA, span_str(st.auth_req_id), &pd) == RC_OK);
    for (size_t i = 0; i < PENDING_ATTR_MAX; i++)
        CHECK(!pd.attr[i].value || !strstr(pd.attr[i].value, idn));
    CHECK_STR(pending_attr(&pd, "emp"), "E1001");
    CHECK_STR(pending_attr(&pd, "acct"), citizen.id);
    /* the page shows the agent, masked, and the purpose */
    snprintf(code, sizeof(code), "%.*s", (int)link_code().len, (const char *)link_code().p);
    s = phone_session();
    CHECK_RC(ciba_lookup(&F.app, &F.a, F.p, span_str(code), &s, &v, &ri), RC_OK);
    CHECK_STR(v.agent_name, "李*");
    CHECK_STR(v.emp, "E1001");
    CHECK_STR(v.purpose_name, "查询办件进度");
    CHECK_STR(v.purpose_name_en, "Application status");
    /* nothing before the answer */
    CHECK_RC(poll_token(st.auth_req_id, &tr, &ri), RC_DENIED);
    CHECK_INT(ri.why, RC_WHY_AUTHZ_PENDING);
    CHECK_RC(ciba_decide(&F.app, &F.a, F.p, span_str(code), &s, true, &ri), RC_OK);
    fake_now = NOW + 10;
    CHECK_RC(poll_token(st.auth_req_id, &tr, &ri), RC_OK);
    CHECK(tr.refresh_token == NULL);
    CHECK_INT(tr.expires_in, 300);
    REQUIRE(jose_payload_unverified(span_str(tr.access_token), &F.a, &payload) == RC_OK);
    REQUIRE((o = json_loadb((const char *)payload.p, payload.len, 0, NULL)) != NULL);
    CHECK_STR(json_string_value(json_object_get(json_object_get(o, "act"), "sub")), "agent-sub-1");
    CHECK_STR(json_string_value(json_object_get(json_object_get(o, "act"), "emp")), "E1001");
    CHECK_STR(json_string_value(json_object_get(o, "scope")), "openid profile");
    CHECK_INT(json_integer_value(json_object_get(o, "exp"))
                  - json_integer_value(json_object_get(o, "iat")),
              300);
    json_decref(o);
    down();
}

TEST(hotline_denied_or_expired_releases_nothing)
{
    struct token_claims tc = staff_token("staff:E1001", STAFF_ACR);
    struct hotline_lookup_res res;
    struct ciba_start st;
    struct token_resp tr;
    struct rc_info ri = {0};
    struct session s;
    char code[CIBA_CODE_LEN + 1];

    REQUIRE(up(false) == 0);
    REQUIRE(add_staff("E1001", "hotline_agent", "staff-pass-1") == RC_OK);
    REQUIRE(lookup_idn(&tc, "status_query", &res, &ri) == RC_OK && res.n == 1);
    REQUIRE(agent_request("console", res.c[0].login_hint_token, "openid", &st, &ri) == RC_OK);
    snprintf(code, sizeof(code), "%.*s", (int)link_code().len, (const char *)link_code().p);
    s = phone_session();
    CHECK_RC(ciba_decide(&F.app, &F.a, F.p, span_str(code), &s, false, &ri), RC_OK);
    CHECK_RC(poll_token(st.auth_req_id, &tr, &ri), RC_DENIED);
    CHECK_INT(ri.why, RC_WHY_DECLINED);
    CHECK(tr.access_token == NULL);
    /* expired request: expired_token once, then nothing */
    REQUIRE(agent_request("console", res.c[0].login_hint_token, "openid", &st, &ri) == RC_OK);
    fake_now = NOW + 400;
    CHECK_RC(poll_token(st.auth_req_id, &tr, &ri), RC_EXPIRED);
    CHECK(tr.access_token == NULL);
    CHECK_RC(poll_token(st.auth_req_id, &tr, &ri), RC_NOT_FOUND);
    /* the login_hint_token itself has expired by now */
    CHECK_RC(agent_request("console", res.c[0].login_hint_token, "openid", &st, &ri), RC_EXPIRED);
    CHECK_INT(ri.why, RC_WHY_LOGIN_HINT_TOKEN);
    down();
}

TEST(hotline_lookup_consent_and_answer_are_audited)
{
    struct token_claims tc = staff_token("staff:E1001", STAFF_ACR);
    struct hotline_lookup_res res;
    struct ciba_start st;
    struct rc_info ri = {0};
    struct session s;
    char code[CIBA_CODE_LEN + 1], *text = NULL;
    size_t len = 0;
    uint64_t n = 0;
    FILE *f;

    REQUIRE(up(true) == 0);
    REQUIRE(add_staff("E1001", "hotline_agent", "staff-pass-1") == RC_OK);
    REQUIRE(lookup_idn(&tc, "status_query", &res, &ri) == RC_OK && res.n == 1);
    CHECK_RC(lookup_idn(&tc, "address_change", &res, &ri), RC_MALFORMED); /* refused */
    REQUIRE(lookup_idn(&tc, "status_query", &res, &ri) == RC_OK);
    REQUIRE(agent_request("console", res.c[0].login_hint_token, "openid", &st, &ri) == RC_OK);
    snprintf(code, sizeof(code), "%.*s", (int)link_code().len, (const char *)link_code().p);
    s = phone_session();
    REQUIRE(ciba_decide(&F.app, &F.a, F.p, span_str(code), &s, true, &ri) == RC_OK);
    REQUIRE((f = open_memstream(&text, &len)) != NULL);
    CHECK_RC(audit_export(F.app.store, f, &n, NULL), RC_OK);
    fclose(f);
    REQUIRE(text != NULL);
    CHECK(strstr(text, "\"ev\":\"staff.add\"") != NULL);
    CHECK(strstr(text, "\"ev\":\"hotline.lookup\"") != NULL);
    CHECK(strstr(text, "\"outcome\":\"found\"") != NULL);
    CHECK(strstr(text, "\"outcome\":\"refused\"") != NULL);
    CHECK(strstr(text, "\"agent\":\"agent-sub-1\"") != NULL);
    CHECK(strstr(text, "\"agent_name\":\"李*\"") != NULL);
    CHECK(strstr(text, "\"by\":\"id_number\"") != NULL);
    CHECK(strstr(text, "\"ev\":\"ciba.request\"") != NULL);
    CHECK(strstr(text, "\"ev\":\"ciba.answer\"") != NULL);
    CHECK(strstr(text, "\"outcome\":\"approved\"") != NULL);
    CHECK(strstr(text, "\"emp\":\"E1001\"") != NULL);
    {
        char acct[ACCOUNT_ID_LEN + 16];
        snprintf(acct, sizeof(acct), "\"acct\":\"%s\"", citizen.id);
        CHECK(strstr(text, acct) != NULL);
    }
    CHECK(strstr(text, idn) == NULL);
    CHECK(strstr(text, "李四光") == NULL);
    free(text);
    down();
}

TEST(hotline_staff_sessions_are_short)
{
    struct session_login sl = {"staff:E1001", {IAL2, AAL2}, "pwd otp", NOW, "", "console"};
    struct session_login cl = {NULL, {IAL3, AAL1}, "pwd", NOW, "", "console"};
    char staff_cookie[SESSION_COOKIE_LEN + 1], citizen_cookie[SESSION_COOKIE_LEN + 1];
    struct session s;

    REQUIRE(up(false) == 0);
    REQUIRE(add_staff("E1001", "hotline_agent", "staff-pass-1") == RC_OK);
    cl.account_id = citizen.id;
    REQUIRE(session_create(&F.app, &F.a, &sl, staff_cookie, &s) == RC_OK);
    REQUIRE(session_create(&F.app, &F.a, &cl, citizen_cookie, &s) == RC_OK);
    fake_now = NOW + 14 * 60;
    CHECK_RC(session_load(&F.app, &F.a, span_str(staff_cookie), &s), RC_OK);
    CHECK_RC(session_touch(&F.app, &F.a, &s), RC_OK);
    fake_now = NOW + 30 * 60; /* 16 minutes idle: a staff session is gone, a citizen's not */
    CHECK_RC(session_load(&F.app, &F.a, span_str(staff_cookie), &s), RC_NOT_FOUND);
    CHECK_RC(session_load(&F.app, &F.a, span_str(citizen_cookie), &s), RC_OK);
    down();
}
