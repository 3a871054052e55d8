#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "adapt/secrets_file.h"
#include "compose/compose.h"
#include "flow/session.h"
#include "port/store.h"
#include "test.h"

static int64_t fake_now = 1700000000;

static int64_t
fake_clock_now(const struct clock *c)
{
    (void)c;
    return fake_now;
}

static int64_t
fake_mono(const struct clock *c)
{
    (void)c;
    return fake_now * 1000000;
}

static const struct clock fake_clock = {fake_clock_now, fake_mono, NULL};

struct fixture {
    char dir[32], path[64];
    struct app app;
    struct arena a;
};

static int
setup(struct fixture *f)
{
    strcpy(f->dir, "/tmp/authd-sess-XXXXXX");
    memset(&f->app, 0, sizeof(f->app));
    f->app.clock = &fake_clock;
    f->app.rng = &rng_system;
    pthread_mutex_init(&f->app.policy_mu, NULL);
    fake_now = 1700000000;
    if (!mkdtemp(f->dir))
        return -1;
    snprintf(f->path, sizeof(f->path), "%s/master.key", f->dir);
    if (secrets_file_open(f->path, true, &f->app.secrets, NULL) != RC_OK)
        return -1;
    if (compose_store_open("memory:", NULL, &f->app.store, NULL) != RC_OK)
        return -1;
    arena_init(&f->a, 0);
    return 0;
}

static void
teardown(struct fixture *f)
{
    arena_clear(&f->a);
    store_free(f->app.store);
    unlink(f->path);
    rmdir(f->dir);
    secrets_free(f->app.secrets);
}

static const struct session_login login = {"acct-1", {IAL3, AAL1}, "pwd", 1700000000};

TEST(session_create_load_and_find_by_sid)
{
    struct fixture f;
    char cookie[SESSION_COOKIE_LEN + 1], cookie2[SESSION_COOKIE_LEN + 1];
    struct session s, l, s2;

    REQUIRE(setup(&f) == 0);
    CHECK_RC(session_create(&f.app, &f.a, &login, cookie, &s), RC_OK);
    CHECK_INT(strlen(cookie), SESSION_COOKIE_LEN);
    CHECK(strcmp(cookie, s.sid) != 0);
    CHECK_RC(session_load(&f.app, &f.a, span_str(cookie), &l), RC_OK);
    CHECK_STR(l.account_id, "acct-1");
    CHECK_STR(l.sid, s.sid);
    CHECK_STR(l.amr, "pwd");
    CHECK_INT(l.loa.ial, IAL3);
    CHECK_INT(l.auth_time, 1700000000);
    CHECK_RC(session_find_by_sid(&f.app, &f.a, span_str(s.sid), &l), RC_OK);
    CHECK_STR(l.tag, s.tag);
    /* the store key is not the cookie: a store dump cannot be replayed */
    CHECK(strstr(s.tag, cookie) == NULL);
    CHECK_RC(session_load(&f.app, &f.a, span_str(s.tag), &l), RC_NOT_FOUND);
    /* every login gets a new session id */
    CHECK_RC(session_create(&f.app, &f.a, &login, cookie2, &s2), RC_OK);
    CHECK(strcmp(s.sid, s2.sid) != 0);
    CHECK(strcmp(cookie, cookie2) != 0);
    teardown(&f);
}

TEST(session_load_refuses_bad_cookies)
{
    struct fixture f;
    struct session l;

    REQUIRE(setup(&f) == 0);
    CHECK_RC(session_load(&f.app, &f.a, SPAN(""), &l), RC_NOT_FOUND);
    CHECK_RC(session_load(&f.app, &f.a, SPAN("short"), &l), RC_NOT_FOUND);
    CHECK_RC(session_load(&f.app, &f.a, SPAN("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA+"), &l),
             RC_NOT_FOUND);
    CHECK_RC(session_load(&f.app, &f.a, SPAN("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"), &l),
             RC_NOT_FOUND);
    CHECK_RC(session_find_by_sid(&f.app, &f.a, SPAN("nope"), &l), RC_NOT_FOUND);
    teardown(&f);
}

TEST(session_idle_and_absolute_lifetimes)
{
    struct fixture f;
    char cookie[SESSION_COOKIE_LEN + 1];
    struct session s, l;

    REQUIRE(setup(&f) == 0);
    CHECK_RC(session_create(&f.app, &f.a, &login, cookie, &s), RC_OK);
    /* idle: 3600 s by default; a touch moves it forward */
    for (int i = 0; i < 8; i++) {
        fake_now += 3500;
        REQUIRE(session_load(&f.app, &f.a, span_str(cookie), &l) == RC_OK);
        CHECK_RC(session_touch(&f.app, &f.a, &l), RC_OK);
    }
    /* 28000 s after creation: the absolute limit (28800) ends it despite the touches */
    fake_now += 801;
    CHECK_RC(session_load(&f.app, &f.a, span_str(cookie), &l), RC_NOT_FOUND);
    CHECK_RC(session_create(&f.app, &f.a, &login, cookie, &s), RC_OK);
    fake_now += 3601;
    CHECK_RC(session_load(&f.app, &f.a, span_str(cookie), &l), RC_NOT_FOUND);
    CHECK_RC(session_find_by_sid(&f.app, &f.a, span_str(s.sid), &l), RC_NOT_FOUND);
    teardown(&f);
}

TEST(session_end_returns_rps_and_removes_everything)
{
    struct fixture f;
    char cookie[SESSION_COOKIE_LEN + 1];
    struct session s, l;
    struct span *rps = NULL;
    size_t n = 0;

    REQUIRE(setup(&f) == 0);
    CHECK_RC(session_create(&f.app, &f.a, &login, cookie, &s), RC_OK);
    CHECK_RC(session_add_rp(&f.app, &f.a, &s, "demo-portal"), RC_OK);
    CHECK_RC(session_add_rp(&f.app, &f.a, &s, "demo-app"), RC_OK);
    CHECK_RC(session_add_rp(&f.app, &f.a, &s, "demo-app"), RC_OK);
    CHECK_RC(session_end(&f.app, &f.a, &s, &rps, &n), RC_OK);
    CHECK_INT(n, 2);
    CHECK(n == 2 && (span_eq_str(rps[0], "demo-app") || span_eq_str(rps[1], "demo-app")));
    CHECK_RC(session_load(&f.app, &f.a, span_str(cookie), &l), RC_NOT_FOUND);
    CHECK_RC(session_find_by_sid(&f.app, &f.a, span_str(s.sid), &l), RC_NOT_FOUND);
    fake_now += 61; /* a touch within a minute of the last use writes nothing */
    CHECK_RC(session_touch(&f.app, &f.a, &s), RC_NOT_FOUND); /* no resurrection */
    CHECK_RC(session_load(&f.app, &f.a, span_str(cookie), &l), RC_NOT_FOUND);
    teardown(&f);
}

TEST(session_cookie_attributes)
{
    struct arena a;

    arena_init(&a, 0);
    CHECK_STR(session_cookie(&a, "abc", false),
              "authd_session=abc; Path=/; HttpOnly; SameSite=Lax");
    /* under TLS: the __Host- prefix (Secure, Path=/, no Domain: issue 13 item 7) */
    CHECK_STR(session_cookie(&a, "abc", true),
              "__Host-authd_session=abc; Path=/; HttpOnly; SameSite=Lax; Secure");
    CHECK(strstr(session_cookie_clear(&a, false), "Max-Age=0") != NULL);
    CHECK_STR(session_cookie_clear(&a, true),
              "__Host-authd_session=; Path=/; Max-Age=0; HttpOnly; SameSite=Lax; Secure");
    arena_clear(&a);
}

TEST(session_cookie_valid_checks_the_shape)
{
    CHECK(session_cookie_valid(SPAN("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA-")));
    CHECK(!session_cookie_valid(SPAN("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA+"))); /* not url */
    CHECK(!session_cookie_valid(SPAN("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")));  /* short */
    CHECK(!session_cookie_valid(SPAN("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")));
    CHECK(!session_cookie_valid(span_of("AAAAAAAAAAAAAAAAAAAAA\0AAAAAAAAAAAAAAAAAAAAA", 43)));
    CHECK(!session_cookie_valid(SPAN("")));
}

TEST(session_upgrade_only_raises_and_moves_the_session_to_a_new_cookie)
{
    struct fixture f;
    char cookie[SESSION_COOKIE_LEN + 1], c2[SESSION_COOKIE_LEN + 1], c3[SESSION_COOKIE_LEN + 1];
    struct session s, l;
    struct session_login otp = {"acct-1", {IAL_NONE, AAL2}, "otp", 0};
    struct session_login other = {"acct-2", {IAL4, AAL3}, "hwk", 0};
    struct span *rps = NULL;
    size_t n = 0;

    REQUIRE(setup(&f) == 0);
    CHECK_RC(session_create(&f.app, &f.a, &login, cookie, &s), RC_OK);
    CHECK_RC(session_add_rp(&f.app, &f.a, &s, "rp-1"), RC_OK);
    fake_now += 100;
    otp.auth_time = fake_now;
    CHECK_RC(session_upgrade(&f.app, &f.a, &s, &otp, c2), RC_OK);
    CHECK(strcmp(cookie, c2) != 0);
    /* the cookie taken before the step-up finds nothing: it never carries aal2 */
    CHECK_RC(session_load(&f.app, &f.a, span_str(cookie), &l), RC_NOT_FOUND);
    CHECK_RC(session_load(&f.app, &f.a, span_str(c2), &l), RC_OK);
    CHECK_STR(l.sid, s.sid); /* same session id */
    CHECK_RC(session_find_by_sid(&f.app, &f.a, span_str(s.sid), &l), RC_OK);
    CHECK_STR(l.tag, s.tag);    /* the sid index follows */
    CHECK_INT(l.loa.ial, IAL3); /* ial_none says nothing of identity: it stays */
    CHECK_INT(l.loa.aal, AAL2);
    CHECK_STR(l.amr, "pwd otp");
    CHECK_INT(l.auth_time, 1700000100);
    /* again: amr values once each; a lower level never lowers the session */
    struct session_login pwd = {"acct-1", {IAL2, AAL1}, "pwd otp", fake_now + 5};
    CHECK_RC(session_upgrade(&f.app, &f.a, &l, &pwd, c3), RC_OK);
    CHECK_STR(l.amr, "pwd otp");
    CHECK_INT(l.loa.ial, IAL3);
    CHECK_INT(l.loa.aal, AAL2);
    CHECK_INT(l.auth_time, 1700000105);
    /* another citizen's proof never raises this session */
    CHECK_RC(session_upgrade(&f.app, &f.a, &l, &other, c2), RC_DENIED);
    CHECK_RC(session_load(&f.app, &f.a, span_str(c3), &l), RC_OK);
    CHECK_INT(l.loa.aal, AAL2);
    /* a stale copy (the session moved on) is not raised again */
    CHECK_RC(session_upgrade(&f.app, &f.a, &s, &otp, c2), RC_NOT_FOUND);
    /* the clients it issued codes to went with it */
    CHECK_RC(session_end(&f.app, &f.a, &l, &rps, &n), RC_OK);
    REQUIRE(n == 1);
    CHECK_SPAN(rps[0], "rp-1");
    /* an ended session is not brought back */
    CHECK_RC(session_upgrade(&f.app, &f.a, &l, &otp, c2), RC_NOT_FOUND);
    CHECK_RC(session_load(&f.app, &f.a, span_str(c3), &l), RC_NOT_FOUND);
    teardown(&f);
}

TEST(session_upgrade_caps_amr)
{
    struct fixture f;
    char cookie[SESSION_COOKIE_LEN + 1], amr[SESSION_AMR_MAX + 2];
    struct session s;

    REQUIRE(setup(&f) == 0);
    CHECK_RC(session_create(&f.app, &f.a, &login, cookie, &s), RC_OK);
    memset(amr, 'a', sizeof(amr) - 1);
    amr[sizeof(amr) - 1] = 0;
    struct session_login big = {"acct-1", {IAL3, AAL2}, amr, fake_now};
    CHECK_RC(session_upgrade(&f.app, &f.a, &s, &big, cookie), RC_TOO_LARGE);
    CHECK_STR(s.amr, "pwd");
    teardown(&f);
}

TEST(session_login_hands_the_same_citizens_session_on)
{
    struct fixture f;
    char c1[SESSION_COOKIE_LEN + 1], c2[SESSION_COOKIE_LEN + 1];
    struct session s1, s2, l;
    struct span *rps = NULL;
    size_t n = 0;

    REQUIRE(setup(&f) == 0);
    CHECK_RC(session_login(&f.app, &f.a, &login, NULL, c1, &s1), RC_OK);
    CHECK_RC(session_add_rp(&f.app, &f.a, &s1, "portal"), RC_OK);
    CHECK_RC(session_login(&f.app, &f.a, &login, &s1, c2, &s2), RC_OK);
    CHECK(strcmp(s1.sid, s2.sid) != 0);
    CHECK_RC(session_load(&f.app, &f.a, span_str(c1), &l), RC_NOT_FOUND);
    CHECK_RC(session_load(&f.app, &f.a, span_str(c2), &l), RC_OK);
    CHECK_RC(session_end(&f.app, &f.a, &l, &rps, &n), RC_OK);
    REQUIRE(n == 1);
    CHECK_SPAN(rps[0], "portal");
    teardown(&f);
}

/* An SSO hop within a minute of the last use costs no store write (the touch is skipped);
 * later ones move last_seen, and the idle lifetime still ends an unused session. */
TEST(session_touch_skips_a_recent_use)
{
    struct fixture f;
    char cookie[SESSION_COOKIE_LEN + 1];
    struct session s, l;
    int64_t t0;

    REQUIRE(setup(&f) == 0);
    CHECK_RC(session_create(&f.app, &f.a, &login, cookie, &s), RC_OK);
    t0 = s.last_seen;
    fake_now += 30;
    REQUIRE(session_load(&f.app, &f.a, span_str(cookie), &l) == RC_OK);
    CHECK_RC(session_touch(&f.app, &f.a, &l), RC_OK);
    REQUIRE(session_load(&f.app, &f.a, span_str(cookie), &l) == RC_OK);
    CHECK_INT(l.last_seen, t0); /* nothing written */
    fake_now += 31;
    CHECK_RC(session_touch(&f.app, &f.a, &l), RC_OK);
    REQUIRE(session_load(&f.app, &f.a, span_str(cookie), &l) == RC_OK);
    CHECK_INT(l.last_seen, t0 + 61);
    fake_now += 3601; /* unused past the idle lifetime (3600 s): gone */
    CHECK_RC(session_load(&f.app, &f.a, span_str(cookie), &l), RC_NOT_FOUND);
    teardown(&f);
}

TEST(session_fresh_needs_recent_auth_at_level)
{
    struct session s = {.loa = {IAL3, AAL2}, .auth_time = 1000};

    CHECK(session_fresh(&s, 1300, 300, AAL2));
    CHECK(!session_fresh(&s, 1301, 300, AAL2));
    CHECK(!session_fresh(&s, 999, 300, AAL2)); /* a clock that went back proves nothing */
    CHECK(!session_fresh(&s, 1000, 300, AAL3));
    s.loa.aal = AAL1;
    CHECK(session_fresh(&s, 1000, 300, AAL1));
    CHECK(!session_fresh(&s, 1000, 300, AAL2));
}

TEST(session_list_is_the_accounts_live_sessions_newest_first)
{
    struct fixture f;
    char c1[SESSION_COOKIE_LEN + 1], c2[SESSION_COOKIE_LEN + 1], c3[SESSION_COOKIE_LEN + 1];
    struct session s1, s2, s3, *v;
    struct session_login other = login, dev = login;
    size_t n;

    REQUIRE(setup(&f) == 0);
    other.account_id = "acct-2";
    dev.device = "Chrome 120 \xc2\xb7 Windows";
    dev.channel = "demo-portal";
    CHECK_RC(session_list(&f.app, &f.a, "acct-1", &v, &n), RC_OK);
    CHECK_INT(n, 0);
    CHECK_RC(session_create(&f.app, &f.a, &login, c1, &s1), RC_OK);
    fake_now += 10;
    CHECK_RC(session_create(&f.app, &f.a, &dev, c2, &s2), RC_OK);
    CHECK_RC(session_create(&f.app, &f.a, &other, c3, &s3), RC_OK);
    CHECK_RC(session_list(&f.app, &f.a, "acct-1", &v, &n), RC_OK);
    REQUIRE(n == 2);
    CHECK_STR(v[0].sid, s2.sid); /* newest first */
    CHECK_STR(v[1].sid, s1.sid);
    CHECK_STR(v[0].device, "Chrome 120 \xc2\xb7 Windows");
    CHECK_STR(v[0].channel, "demo-portal");
    CHECK_STR(v[1].device, "");
    /* an ended session leaves the list, and the other account's stays its own */
    CHECK_RC(session_end(&f.app, &f.a, &s2, NULL, NULL), RC_OK);
    CHECK_RC(session_list(&f.app, &f.a, "acct-1", &v, &n), RC_OK);
    REQUIRE(n == 1);
    CHECK_STR(v[0].sid, s1.sid);
    CHECK_RC(session_list(&f.app, &f.a, "acct-2", &v, &n), RC_OK);
    REQUIRE(n == 1);
    CHECK_STR(v[0].sid, s3.sid);
    /* an expired one too (its record gone without session_end), and the index forgets it */
    fake_now += 3601;
    CHECK_RC(session_list(&f.app, &f.a, "acct-1", &v, &n), RC_OK);
    CHECK_INT(n, 0);
    struct span *m;
    size_t nm;
    CHECK_RC(store_set_members(f.app.store, &f.a, store_key(&f.a, "acctsess", SPAN("acct-1"), NULL),
                               &m, &nm),
             RC_NOT_FOUND);
    teardown(&f);
}

TEST(session_login_keeps_device_and_channel_through_a_touch)
{
    struct fixture f;
    char c[SESSION_COOKIE_LEN + 1];
    struct session s, l;
    struct session_login dev = login;

    REQUIRE(setup(&f) == 0);
    dev.device = "Firefox 121 \xc2\xb7 Linux";
    dev.channel = "demo-app";
    CHECK_RC(session_login(&f.app, &f.a, &dev, NULL, c, &s), RC_OK);
    fake_now += 120;
    REQUIRE(session_load(&f.app, &f.a, span_str(c), &l) == RC_OK);
    CHECK_RC(session_touch(&f.app, &f.a, &l), RC_OK);
    REQUIRE(session_load(&f.app, &f.a, span_str(c), &l) == RC_OK);
    CHECK_STR(l.device, "Firefox 121 \xc2\xb7 Linux");
    CHECK_STR(l.channel, "demo-app");
    teardown(&f);
}

/* A fixture with one session (cookie, s) that issued a code to demo-app. */
static int
setup_with_rp(struct fixture *f, char cookie[SESSION_COOKIE_LEN + 1], struct session *s)
{
    if (setup(f) != 0 || session_create(&f->app, &f->a, &login, cookie, s) != RC_OK)
        return -1;
    return session_add_rp(&f->app, &f->a, s, "demo-app") == RC_OK ? 0 : -1;
}

/* Near the absolute lifetime the touch gives every key of the session (record, sid index,
 * :rps set) what is left of it, not a whole idle lifetime. */
TEST(session_touch_moves_the_ttls_of_all_three_keys)
{
    struct fixture f;
    char cookie[SESSION_COOKIE_LEN + 1];
    struct session s, l;
    int64_t ttl;

    REQUIRE(setup_with_rp(&f, cookie, &s) == 0);
    for (int i = 0; i < 8; i++) { /* 8 x 3250 s = 26000 s: 2800 s left of 28800 */
        fake_now += 3250;
        REQUIRE(session_load(&f.app, &f.a, span_str(cookie), &l) == RC_OK);
        CHECK_RC(session_touch(&f.app, &f.a, &l), RC_OK);
    }
    REQUIRE(session_load(&f.app, &f.a, span_str(cookie), &l) == RC_OK);
    CHECK_INT(l.last_seen, fake_now);
    CHECK_STR(l.amr, "pwd"); /* the other fields are kept */
    CHECK_INT(l.auth_time, 1700000000);
    CHECK_RC(store_ttl(f.app.store, store_key(&f.a, "sess", span_str(s.tag), NULL), &ttl), RC_OK);
    CHECK(ttl >= 2798 && ttl <= 2800);
    CHECK_RC(store_ttl(f.app.store, store_key(&f.a, "sess", span_str(s.tag), ":rps"), &ttl), RC_OK);
    CHECK(ttl >= 2798 && ttl <= 2800);
    CHECK_RC(store_ttl(f.app.store, store_key(&f.a, "sid", span_str(s.sid), NULL), &ttl), RC_OK);
    CHECK(ttl >= 2798 && ttl <= 2800);
    teardown(&f);
}

/* A touch racing a logout (the session loaded, then ended) writes nothing back: no
 * record, no sid index, no :rps set. */
TEST(session_touch_of_an_ended_session_brings_nothing_back)
{
    struct fixture f;
    char cookie[SESSION_COOKIE_LEN + 1];
    struct session s, l;
    struct span v, *m;
    struct store_record rec;
    size_t n;

    REQUIRE(setup_with_rp(&f, cookie, &s) == 0);
    REQUIRE(session_load(&f.app, &f.a, span_str(cookie), &l) == RC_OK);
    CHECK_RC(session_end(&f.app, &f.a, &s, NULL, NULL), RC_OK);
    fake_now += 120;
    CHECK_RC(session_touch(&f.app, &f.a, &l), RC_NOT_FOUND);
    CHECK_RC(store_rec_get(f.app.store, &f.a, store_key(&f.a, "sess", span_str(s.tag), NULL), &rec),
             RC_NOT_FOUND);
    CHECK_RC(store_get(f.app.store, &f.a, store_key(&f.a, "sid", span_str(s.sid), NULL), &v),
             RC_NOT_FOUND);
    CHECK_RC(store_set_members(f.app.store, &f.a, store_key(&f.a, "sess", span_str(s.tag), ":rps"),
                               &m, &n),
             RC_NOT_FOUND);
    teardown(&f);
}

/* The touch as ops: none within min(idle / 16, 60 s) of the last use, then three. */
TEST(session_touch_ops_only_when_due)
{
    struct fixture f;
    char cookie[SESSION_COOKIE_LEN + 1];
    struct session s;
    struct store_op ops[SESSION_TOUCH_OPS];
    size_t n = 9;

    REQUIRE(setup(&f) == 0);
    CHECK_RC(session_create(&f.app, &f.a, &login, cookie, &s), RC_OK);
    fake_now += 59;
    CHECK_RC(session_touch_ops(&f.app, &f.a, &s, ops, &n), RC_OK);
    CHECK_INT(n, 0);
    CHECK_INT(s.last_seen, 1700000000);
    fake_now += 1;
    CHECK_RC(session_touch_ops(&f.app, &f.a, &s, ops, &n), RC_OK);
    CHECK_INT(n, SESSION_TOUCH_OPS);
    CHECK_INT(s.last_seen, 1700000060);
    CHECK_INT(ops[0].kind, STORE_OP_REC_PUT);
    CHECK(ops[0].flags == STORE_XX && ops[0].nfields == 1);
    CHECK_INT(ops[0].ttl_s, 3600);
    CHECK_INT(ops[1].kind, STORE_OP_EXPIRE);
    CHECK_INT(ops[2].kind, STORE_OP_EXPIRE);
    fake_now += 28800; /* past the absolute lifetime */
    CHECK_RC(session_touch_ops(&f.app, &f.a, &s, ops, &n), RC_NOT_FOUND);
    CHECK_INT(n, 0);
    teardown(&f);
}
