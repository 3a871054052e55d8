/* flow/logout: /end_session decided on the memory store with the fake clock: which hint is
 * accepted, when the user is asked and the CSRF token checked, where the browser may be
 * sent, and what ending a session does (session keys gone, token families revoked, a
 * back-channel item per client, front-channel frames). The parser and logout_csrf's
 * refusal are in test_bclogout.c. */
#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "fakes.h"
#include "flow/logout.h"
#include "flow/refresh.h"
#include "flow/session.h"
#include "flow/subject.h"
#include "log/log.h"
#include "port/store.h"
#include "test.h"

#define NOW 1740787200

static const char policy_text[] =
    "[client rp]\ntype = confidential\nauth_method = client_secret_basic\n"
    "secret_hash = sha256:0000000000000000000000000000000000000000000000000000000000000000\n"
    "redirect_uris = https://rp.example/cb\n"
    "post_logout_redirect_uris = https://rp.example/bye https://rp.example/out?x=1\n"
    "backchannel_logout_uri = https://rp.example/bc\n"
    "frontchannel_logout_uri = https://rp.example/fc\n"
    "frontchannel_logout_session_required = true\nsector = rp.example\n"
    "[client fc]\ntype = public\nauth_method = none\nredirect_uris = https://fc.example/cb\n"
    "frontchannel_logout_uri = https://fc.example/logout?a=b\n"
    "[client plain]\ntype = public\nauth_method = none\nredirect_uris = https://plain.example/cb\n";

static struct fake_app F;
static struct session S;
static char cookie[SESSION_COOKIE_LEN + 1];

static int
up(void)
{
    static const struct session_login l = {"acct-1", {IAL3, AAL1}, "pwd", NOW};

    log_setup(LOG_ERROR + 1, 2); /* the logout events are not under test */
    if (fake_app_up(&F, policy_text, NOW) != 0)
        return -1;
    return session_create(&F.app, &F.a, &l, cookie, &S) == RC_OK ? 0 : -1;
}

static void
down(void)
{
    fake_app_down(&F);
    log_setup(LOG_INFO, 2);
}

/* An ID token signed with our key; claims is the JSON text of its payload. */
static const char *
sign(const char *typ, const char *claims)
{
    struct span out;

    if (jose_sign(F.keys.ks, JOSE_ES256, typ, span_str(claims), &F.a, &out, NULL) != RC_OK)
        return NULL;
    return arena_strndup(&F.a, (const char *)out.p, out.len);
}

static const char *
hint_for(const char *aud_json, const char *sid, int64_t exp)
{
    char claims[512];

    snprintf(claims, sizeof(claims),
             "{\"iss\":\"" FAKE_ISSUER "\",\"sub\":\"s-1\",\"aud\":%s,\"sid\":\"%s\","
             "\"iat\":%lld,\"exp\":%lld}",
             aud_json, sid, (long long)(exp - 600), (long long)exp);
    return sign(NULL, claims);
}

static enum rc
run(const char *hint, const char *client_id, const char *redirect, const char *state,
    bool with_cookie, struct logout_result *out)
{
    struct logout_req rq = {0};
    struct logout_ctx cx = {.bind = SPAN("browser-bind"), .tls = true};

    if (hint)
        rq.id_token_hint = span_str(hint);
    if (client_id)
        rq.client_id = span_str(client_id);
    if (redirect)
        rq.post_logout_redirect_uri = span_str(redirect);
    if (state)
        rq.state = span_str(state);
    if (with_cookie)
        cx.session_cookie = span_str(cookie);
    return logout_request(&F.app, &F.a, &rq, &cx, out);
}

static bool
session_alive(void)
{
    struct session l;

    return session_load(&F.app, &F.a, span_str(cookie), &l) == RC_OK;
}

static int64_t
queued(void)
{
    int64_t n = -1;

    store_q_len(F.app.store, store_key(&F.a, "bcl", SPAN("q"), NULL), &n);
    return n;
}

TEST(logout_with_a_hint_for_the_session_ends_everything_it_touched)
{
    struct logout_result r;
    struct rtf f = {.client_id = "rp",
                    .account_id = "acct-1",
                    .sid = S.sid,
                    .scope = "openid",
                    .amr = "pwd",
                    .loa = {IAL3, AAL1},
                    .refresh = true};
    char tok[REFRESH_TOKEN_LEN + 1], sub[SUBJECT_MAX], want[256];
    struct span item, *m;
    size_t n;
    json_t *o;
    const char *hint;

    REQUIRE(up() == 0);
    REQUIRE(session_add_rp(&F.app, &F.a, &S, "rp") == RC_OK);
    REQUIRE(session_add_rp(&F.app, &F.a, &S, "fc") == RC_OK);
    REQUIRE(session_add_rp(&F.app, &F.a, &S, "gone-from-policy") == RC_OK);
    REQUIRE(rtf_create(&F.app, &F.a, F.p, &f, tok) == RC_OK);
    REQUIRE((hint = hint_for("\"rp\"", S.sid, NOW + 600)));
    CHECK_RC(run(hint, "rp", "https://rp.example/bye", "a b&c", true, &r), RC_OK);
    CHECK_INT(r.kind, LOGOUT_DONE);
    CHECK_INT(r.why.why, RC_WHY_NONE);
    CHECK(r.ended);
    CHECK_STR(r.client_id, "rp");
    CHECK_STR(r.redirect, "https://rp.example/bye?state=a%20b%26c");
    CHECK_STR(r.set_cookie,
              "__Host-authd_session=; Path=/; Max-Age=0; HttpOnly; SameSite=Lax; Secure");
    /* the session's three keys are gone */
    CHECK(!session_alive());
    CHECK_RC(session_find_by_sid(&F.app, &F.a, span_str(S.sid), &(struct session){0}),
             RC_NOT_FOUND);
    /* its token family is revoked and its index deleted */
    CHECK_RC(rtf_lookup(&F.app, &F.a, span_str(tok), &f), RC_NOT_FOUND);
    REQUIRE(rtf_get(&F.app, &F.a, span_str(f.id), &f) == RC_OK);
    CHECK(f.revoked);
    CHECK_RC(store_set_members(F.app.store, &F.a, store_key(&F.a, "sidfam", span_str(S.sid), NULL),
                               &m, &n),
             RC_NOT_FOUND);
    /* one back-channel item, for the one client with a backchannel_logout_uri, carrying
     * the sub that client knows */
    CHECK_INT(queued(), 1);
    REQUIRE(store_q_claim(F.app.store, &F.a, store_key(&F.a, "bcl", SPAN("q"), NULL), NOW + 10, 30,
                          &item)
            == RC_OK);
    REQUIRE(subject_for(&F.app, policy_client(F.p, SPAN("rp")), "acct-1", sub) == RC_OK);
    REQUIRE((o = json_loadb((const char *)item.p, item.len, 0, NULL)));
    CHECK_STR(json_string_value(json_object_get(o, "sub")), sub);
    CHECK_STR(json_string_value(json_object_get(o, "sid")), S.sid);
    json_decref(o);
    /* front-channel frames: with iss and sid where the client asked for them */
    CHECK_INT(r.nframes, 2);
    snprintf(want, sizeof(want), "https://rp.example/fc?iss=https%%3A%%2F%%2Fid.example&sid=%s",
             S.sid);
    CHECK(r.nframes == 2 && (strcmp(r.frames[0], want) == 0 || strcmp(r.frames[1], want) == 0));
    CHECK(r.nframes == 2
          && (strcmp(r.frames[0], "https://fc.example/logout?a=b") == 0
              || strcmp(r.frames[1], "https://fc.example/logout?a=b") == 0));
    down();
}

TEST(logout_without_a_matching_hint_asks_and_checks_the_csrf_token)
{
    struct logout_req rq = {.confirm = true};
    struct logout_ctx cx = {.bind = SPAN("browser-bind")};
    struct logout_result r;
    char csrf[65];
    const char *other;

    REQUIRE(up() == 0);
    REQUIRE(logout_csrf(&F.app, SPAN("browser-bind"), csrf) == RC_OK);
    CHECK_RC(run(NULL, "rp", NULL, NULL, true, &r), RC_OK);
    CHECK_INT(r.kind, LOGOUT_CONFIRM);
    CHECK_STR(r.csrf, csrf);
    CHECK_STR(r.client_name, "rp");
    CHECK(!r.ended && session_alive());
    /* a hint of another session of the same browser's account is not enough either */
    REQUIRE((other = hint_for("\"rp\"", "some-other-sid", NOW + 600)));
    CHECK_RC(run(other, NULL, NULL, NULL, true, &r), RC_OK);
    CHECK_INT(r.kind, LOGOUT_CONFIRM);
    CHECK(session_alive());
    /* the confirmation's POST: a wrong, short or missing token is 403 and ends nothing */
    cx.session_cookie = span_str(cookie);
    rq.csrf = span_of(csrf, 63);
    CHECK_RC(logout_request(&F.app, &F.a, &rq, &cx, &r), RC_DENIED);
    CHECK_INT(r.kind, LOGOUT_ERROR);
    CHECK_INT(r.why.why, RC_WHY_CSRF);
    CHECK_STR(rc_reason_name(r.why.why), "csrf");
    rq.csrf = (struct span){NULL, 0};
    CHECK_RC(logout_request(&F.app, &F.a, &rq, &cx, &r), RC_DENIED);
    cx.bind = SPAN("another-browser");
    rq.csrf = span_of(csrf, 64);
    CHECK_RC(logout_request(&F.app, &F.a, &rq, &cx, &r), RC_DENIED);
    CHECK(session_alive());
    cx.bind = SPAN("browser-bind");
    CHECK_RC(logout_request(&F.app, &F.a, &rq, &cx, &r), RC_OK);
    CHECK(r.kind == LOGOUT_DONE && r.ended);
    CHECK_STR(r.set_cookie, "authd_session=; Path=/; Max-Age=0; HttpOnly; SameSite=Lax");
    CHECK(!session_alive());
    down();
}

TEST(logout_hint_refusals_end_nothing_and_redirect_nowhere)
{
    struct logout_result r;
    char claims[512], *t;
    const char *h;

    REQUIRE(up() == 0);
    /* tampered: a signature byte flipped */
    REQUIRE((h = hint_for("\"rp\"", S.sid, NOW + 600)));
    t = arena_strndup(&F.a, h, strlen(h));
    t[strlen(t) - 3] = t[strlen(t) - 3] == 'A' ? 'B' : 'A';
    CHECK_RC(run(t, NULL, "https://rp.example/bye", NULL, true, &r), RC_DENIED);
    CHECK(r.kind == LOGOUT_ERROR && r.why.why == RC_WHY_PARAM && r.redirect == NULL && !r.ended);
    CHECK_STR(r.why.field, "id_token_hint");
    /* another issuer */
    snprintf(claims, sizeof(claims),
             "{\"iss\":\"https://evil.example\",\"sub\":\"s\",\"aud\":\"rp\",\"sid\":\"%s\","
             "\"exp\":%d}",
             S.sid, NOW + 600);
    CHECK_RC(run(sign(NULL, claims), NULL, NULL, NULL, true, &r), RC_DENIED);
    /* an access token is not an ID token */
    snprintf(claims, sizeof(claims),
             "{\"iss\":\"" FAKE_ISSUER "\",\"sub\":\"s\",\"aud\":\"rp\",\"sid\":\"%s\","
             "\"exp\":%d}",
             S.sid, NOW + 600);
    CHECK_RC(run(sign("at+jwt", claims), NULL, NULL, NULL, true, &r), RC_DENIED);
    /* no sub; an unknown audience; two audiences */
    snprintf(claims, sizeof(claims), "{\"iss\":\"" FAKE_ISSUER "\",\"aud\":\"rp\",\"exp\":%d}",
             NOW + 600);
    CHECK_RC(run(sign(NULL, claims), NULL, NULL, NULL, true, &r), RC_DENIED);
    CHECK_RC(run(hint_for("\"nobody\"", S.sid, NOW + 600), NULL, NULL, NULL, true, &r), RC_DENIED);
    CHECK_RC(run(hint_for("[\"rp\",\"fc\"]", S.sid, NOW + 600), NULL, NULL, NULL, true, &r),
             RC_DENIED);
    /* client_id must agree with the hint, and be a client */
    CHECK_RC(run(hint_for("\"rp\"", S.sid, NOW + 600), "fc", NULL, NULL, true, &r), RC_DENIED);
    CHECK_RC(run(NULL, "nobody", "https://rp.example/bye", NULL, true, &r), RC_DENIED);
    CHECK(r.kind == LOGOUT_ERROR && r.why.why == RC_WHY_PARAM && r.redirect == NULL);
    CHECK_STR(r.why.field, "client_id");
    CHECK(session_alive());
    down();
}

TEST(logout_accepts_an_expired_hint_and_one_aud_in_an_array)
{
    struct logout_result r;

    REQUIRE(up() == 0);
    /* RP-Initiated Logout §2: the hint may have expired; without a cookie, the session it
     * names is ended */
    fake_now = NOW + 1200; /* the hint expired at NOW + 600; the session lives on */
    CHECK_RC(run(hint_for("[\"rp\"]", S.sid, NOW + 600), NULL, NULL, NULL, false, &r), RC_OK);
    CHECK(r.kind == LOGOUT_DONE && r.ended);
    CHECK_STR(r.client_id, "rp");
    fake_now = NOW;
    CHECK(!session_alive());
    down();
}

TEST(logout_redirects_only_to_a_registered_uri)
{
    struct logout_result r;

    REQUIRE(up() == 0);
    /* nothing to end: logged out already, the redirect still honoured */
    CHECK_RC(run(NULL, "rp", "https://rp.example/out?x=1", "s1", false, &r), RC_OK);
    CHECK(r.kind == LOGOUT_DONE && !r.ended && r.set_cookie == NULL);
    CHECK_STR(r.redirect, "https://rp.example/out?x=1&state=s1");
    CHECK_RC(run(NULL, "rp", "https://rp.example/bye", NULL, false, &r), RC_OK);
    CHECK_STR(r.redirect, "https://rp.example/bye");
    /* not registered (a prefix, another client's, no client at all): the page, no redirect */
    CHECK_RC(run(NULL, "rp", "https://rp.example/bye/../evil", NULL, false, &r), RC_OK);
    CHECK(r.kind == LOGOUT_DONE && r.redirect == NULL);
    CHECK_RC(run(NULL, "plain", "https://rp.example/bye", NULL, false, &r), RC_OK);
    CHECK(r.redirect == NULL);
    CHECK_RC(run(NULL, NULL, "https://rp.example/bye", NULL, false, &r), RC_OK);
    CHECK(r.redirect == NULL);
    CHECK(session_alive());
    down();
}

TEST(logout_session_end_without_a_policy_ends_nothing)
{
    struct logout_result r;
    struct policy *p;

    REQUIRE(up() == 0);
    p = F.app.policy;
    F.app.policy = NULL;
    CHECK_RC(logout_session_end(&F.app, &F.a, &S, false, &r), RC_UNAVAILABLE);
    CHECK_RC(run(NULL, NULL, NULL, NULL, true, &r), RC_UNAVAILABLE);
    CHECK(r.kind == LOGOUT_ERROR && r.why.why == RC_WHY_NONE);
    F.app.policy = p;
    CHECK(session_alive());
    CHECK_RC(logout_session_end(&F.app, &F.a, &S, false, &r), RC_OK);
    CHECK(r.ended && r.nframes == 0);
    CHECK(!session_alive());
    CHECK_INT(queued(), 0); /* the session had issued no codes */
    down();
}

TEST(logout_store_down_is_503_and_redirects_nowhere)
{
    struct logout_result r;
    struct store *mem;

    REQUIRE(up() == 0);
    mem = F.app.store;
    F.app.store = &fake_store_down;
    /* fail closed: an unreadable session is not "logged out already" */
    CHECK_RC(run(NULL, "rp", "https://rp.example/bye", "s", true, &r), RC_UNAVAILABLE);
    CHECK(r.kind == LOGOUT_ERROR && r.why.why == RC_WHY_NONE && !r.ended);
    CHECK(r.redirect == NULL && r.nframes == 0);
    CHECK_RC(run(hint_for("\"rp\"", S.sid, NOW + 600), NULL, NULL, NULL, false, &r),
             RC_UNAVAILABLE);
    CHECK(r.kind == LOGOUT_ERROR && r.why.why == RC_WHY_NONE);
    F.app.store = mem;
    CHECK(session_alive());
    down();
}
