/* flow/signins: the record of recent sign-ins and failed attempts the account page shows:
 * newest first, bounded in length (signin_history_max) and age (signin_history_days),
 * source addresses masked before they are stored, a damaged record read as empty. */
#include <string.h>

#include "fakes.h"
#include "flow/account.h"
#include "flow/signins.h"
#include "log/log.h"
#include "port/store.h"
#include "test.h"

#define NOW 1740787200

static struct fake_app F;

static int
up(uint32_t max, uint32_t days)
{
    if (fake_app_up(&F, "", NOW) != 0)
        return -1;
    F.cfg.signin_history_max = max;
    F.cfg.signin_history_days = days;
    return 0;
}

static void
add(bool ok, const char *client, const char *ip)
{
    struct signin_event e = {ok, client, ip, {IAL3, AAL1}};

    signins_record(&F.app, &F.a, "acct-1", &e);
}

TEST(signins_are_newest_first_and_masked)
{
    struct signin *v;
    size_t n;

    REQUIRE(up(20, 90) == 0);
    CHECK_RC(signins_list(&F.app, &F.a, "acct-1", &v, &n), RC_OK);
    CHECK_INT(n, 0);
    add(true, "demo-portal", "203.0.113.77");
    fake_now += 5;
    add(false, "demo-app", "2001:db8:1:2::7");
    CHECK_RC(signins_list(&F.app, &F.a, "acct-1", &v, &n), RC_OK);
    REQUIRE(n == 2);
    CHECK(!v[0].ok);
    CHECK_INT(v[0].time, NOW + 5);
    CHECK_STR(v[0].channel, "demo-app");
    CHECK_STR(v[0].addr, "2001:db8:1::*");
    CHECK_STR(v[0].acr, ""); /* a failure reached nothing */
    CHECK(v[1].ok);
    CHECK_STR(v[1].addr, "203.0.113.*");
    CHECK_STR(v[1].acr, "urn:authd:acr:ial3:aal1");
    /* the store never holds the full address */
    struct span raw;
    REQUIRE(store_get(F.app.store, &F.a, store_key(&F.a, "signins", SPAN("acct-1"), NULL), &raw)
            == RC_OK);
    CHECK(memmem(raw.p, raw.len, "203.0.113.77", 12) == NULL);
    CHECK(memmem(raw.p, raw.len, "::7", 3) == NULL);
    fake_app_down(&F);
}

TEST(signins_are_bounded_in_length_and_age)
{
    struct signin *v;
    size_t n;
    char ip[32];

    REQUIRE(up(3, 1) == 0);
    for (int i = 0; i < 5; i++) {
        snprintf(ip, sizeof(ip), "10.0.%d.1", i);
        add(i % 2 == 0, "rp", ip);
        fake_now += 60;
    }
    CHECK_RC(signins_list(&F.app, &F.a, "acct-1", &v, &n), RC_OK);
    REQUIRE(n == 3); /* the three newest */
    CHECK_STR(v[0].addr, "10.0.4.*");
    CHECK_STR(v[2].addr, "10.0.2.*");
    /* a day later the old ones are gone from the list, and from the record at the next write */
    fake_now += 86400 - 150;
    add(true, "rp", "10.0.9.9");
    CHECK_RC(signins_list(&F.app, &F.a, "acct-1", &v, &n), RC_OK);
    REQUIRE(n == 3);
    fake_now += 100;
    CHECK_RC(signins_list(&F.app, &F.a, "acct-1", &v, &n), RC_OK);
    REQUIRE(n == 1);
    CHECK_STR(v[0].addr, "10.0.9.*");
    fake_app_down(&F);
}

TEST(signins_damaged_record_reads_empty_and_is_replaced)
{
    struct signin *v;
    size_t n;
    struct span key;

    REQUIRE(up(20, 90) == 0);
    key = store_key(&F.a, "signins", SPAN("acct-1"), NULL);
    REQUIRE(store_put(F.app.store, key, SPAN("{not json"), 60, 0) == RC_OK);
    CHECK_RC(signins_list(&F.app, &F.a, "acct-1", &v, &n), RC_OK);
    CHECK_INT(n, 0);
    add(true, NULL, NULL); /* no client, no address */
    CHECK_RC(signins_list(&F.app, &F.a, "acct-1", &v, &n), RC_OK);
    REQUIRE(n == 1);
    CHECK_STR(v[0].channel, "");
    CHECK_STR(v[0].addr, "*");
    fake_app_down(&F);
}

TEST(signins_failure_of_an_unknown_number_records_nothing)
{
    struct rc_info why = {.why = RC_WHY_CREDENTIALS};
    struct signin *v;
    size_t n;

    REQUIRE(up(20, 90) == 0);
    log_setup(LOG_ERROR + 1, 2);
    signins_record_failure(&F.app, &F.a, SPAN("11010519491231002X"), "rp", "10.1.1.1", RC_DENIED,
                           &why);
    log_setup(LOG_INFO, 2);
    CHECK_RC(signins_list(&F.app, &F.a, "acct-1", &v, &n), RC_OK);
    CHECK_INT(n, 0);
    fake_app_down(&F);
}

TEST(signins_failure_of_an_existing_account_is_recorded_for_a_wrong_password_or_a_lockout)
{
    struct register_req r = {SPAN("11010519491231002X"), SPAN("张三"), SPAN("13800000000"),
                             SPAN("a long password 1")};
    struct account acct;
    struct rc_info creds = {.why = RC_WHY_CREDENTIALS}, locked = {.why = RC_WHY_LOCKED},
                   rate = {.why = RC_WHY_RATE};
    struct account_add_opts o = {.skip_popbase = true};
    struct signin *v;
    size_t n;

    REQUIRE(up(20, 90) == 0);
    log_setup(LOG_ERROR + 1, 2);
    REQUIRE(account_add(&F.app, &F.a, &r, &o, &acct, NULL) == RC_OK);
    signins_record_failure(&F.app, &F.a, r.id_number, "rp", "10.1.1.1", RC_DENIED, &creds);
    signins_record_failure(&F.app, &F.a, r.id_number, "rp", "10.1.1.2", RC_LIMITED, &locked);
    /* an address over its rate says nothing about the account: not recorded */
    signins_record_failure(&F.app, &F.a, r.id_number, "rp", "10.1.1.3", RC_LIMITED, &rate);
    log_setup(LOG_INFO, 2);
    CHECK_RC(signins_list(&F.app, &F.a, acct.id, &v, &n), RC_OK);
    REQUIRE(n == 2);
    CHECK(!v[0].ok && !v[1].ok);
    CHECK_STR(v[0].addr, "10.1.1.*");
    CHECK_STR(v[0].channel, "rp");
    fake_app_down(&F);
}
