/* flow/account: registration against a small compiled population file, password login
 * with throttling and rate limits, operator actions, demo seeding. Cheap argon2 parameters
 * (m = 64 KiB, t = 1) keep the whole file fast. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "adapt/popbase_file.h"
#include "adapt/secrets_file.h"
#include "compose/compose.h"
#include "core/idnum.h"
#include "core/popcsv.h"
#include "flow/account.h"
#include "log/log.h"
#include "port/popbase.h"
#include "port/store.h"
#include "test.h"

#define NOW 1740787200 /* 2025-03-01 00:00 UTC */

static int64_t
fixed_now(const struct clock *c)
{
    (void)c;
    return NOW;
}

static int64_t
fixed_mono(const struct clock *c)
{
    (void)c;
    return 0;
}

static const struct clock fixed_clock = {fixed_now, fixed_mono, NULL};

/* People in the test population: a number in force, a cancelled one, a deceased one, a
 * minority name; NOBODY is a valid number with no record. */
static char ZHANG[19], LI_CANCELLED[19], WANG_DECEASED[19], AYGUL[19], NOBODY[19];
#define AYGUL_NAME "阿依古丽·买买提"

static struct {
    char dir[64], key[96], csv[96], idx[96], master[96], demo[96];
    struct secrets *app_secrets;
    int state;
} fx;

static void
make_number(char out[19], const char *first17)
{
    memcpy(out, first17, 17);
    out[17] = idnum_check_char(first17);
    out[18] = 0;
}

static void
cleanup(void)
{
    char cmd[128];

    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", fx.dir);
    if (system(cmd) != 0)
        fprintf(stderr, "cannot remove %s\n", fx.dir);
    secrets_free(fx.app_secrets);
}

static int
write_population(void)
{
    FILE *f = fopen(fx.csv, "w");

    if (!f)
        return -1;
    fprintf(f, "%s\n", POPCSV_HEADER);
    fprintf(f, "%s,张三,M,1990-03-07,110105,normal\n", ZHANG);
    fprintf(f, "%s,李四,F,1985-01-01,110105,cancelled\n", LI_CANCELLED);
    fprintf(f, "%s,王五,M,1950-06-15,110105,deceased\n", WANG_DECEASED);
    fprintf(f, "%s,%s,F,1970-06-15,440524,normal\n", AYGUL, AYGUL_NAME);
    return fclose(f);
}

static int
setup(void)
{
    struct popbase_compile_opts o = {.today_ymd = 20250301};
    struct popbase_compile_stats st;

    make_number(ZHANG, "11010519900307123");
    make_number(LI_CANCELLED, "11010519850101456");
    make_number(WANG_DECEASED, "11010519500615779");
    make_number(AYGUL, "44052419700615782");
    make_number(NOBODY, "11010520000101001");
    snprintf(fx.dir, sizeof(fx.dir), "/tmp/authd-account-XXXXXX");
    if (!mkdtemp(fx.dir))
        return -1;
    atexit(cleanup);
    snprintf(fx.key, sizeof(fx.key), "%s/popbase.key", fx.dir);
    snprintf(fx.csv, sizeof(fx.csv), "%s/pop.csv", fx.dir);
    snprintf(fx.idx, sizeof(fx.idx), "%s/pop.idx", fx.dir);
    snprintf(fx.master, sizeof(fx.master), "%s/master.key", fx.dir);
    snprintf(fx.demo, sizeof(fx.demo), "%s/demo-accounts.json", fx.dir);
    if (write_population() != 0 || popbase_file_key_create(fx.key, NULL) != RC_OK)
        return -1;
    if (popbase_file_compile(fx.csv, fx.idx, fx.key, &o, &st, NULL) != RC_OK)
        return -1;
    log_setup(LOG_ERROR, 2); /* the outcome lines would drown the test output */
    return secrets_file_open(fx.master, true, &fx.app_secrets, NULL) == RC_OK ? 0 : -1;
}

/* A fresh app: its own memory store, the shared population file, cheap argon2. */
struct tapp {
    struct config cfg;
    struct app app;
    struct arena a;
};

static int
open_app(struct tapp *t)
{
    struct popbase_opts po = {.name_key_path = fx.key};
    char spec[128];

    if (fx.state == 0)
        fx.state = setup() == 0 ? 1 : -1;
    if (fx.state != 1)
        return -1;
    memset(t, 0, sizeof(*t));
    t->cfg = (struct config){.argon2_memory_kib = 64,
                             .argon2_iterations = 1,
                             .argon2_parallelism = 1,
                             .password_min_length = 8,
                             .lockout_failures = 5,
                             .lockout_seconds = 900,
                             .rate_window_s = 60};
    t->app = (struct app){
        .cfg = &t->cfg, .clock = &fixed_clock, .rng = &rng_system, .secrets = fx.app_secrets};
    snprintf(spec, sizeof(spec), "file:%s", fx.idx);
    if (compose_store_open("memory:", NULL, &t->app.store, NULL) != RC_OK
        || compose_popbase_open(spec, &po, &t->app.pop, NULL) != RC_OK)
        return -1;
    arena_init(&t->a, 0);
    return 0;
}

static void
close_app(struct tapp *t)
{
    arena_clear(&t->a);
    popbase_free(t->app.pop);
    store_free(t->app.store);
}

static struct register_req
req(const char *idn, const char *name, const char *phone, const char *pw)
{
    return (struct register_req){span_str(idn), span_str(name), span_str(phone), span_str(pw)};
}

static enum rc
reg(struct tapp *t, struct register_req r, struct rc_info *ri)
{
    struct account out;

    return account_register(&t->app, &t->a, &r, NULL, &out, ri);
}

static enum rc
login(struct tapp *t, const char *idn, const char *pw, struct rc_info *ri)
{
    struct account out;

    return account_login(&t->app, &t->a, span_str(idn), span_str(pw), NULL, &out, ri);
}

TEST(account_register_match_creates_ial3_account)
{
    struct tapp t;
    struct account acct, got;
    struct register_req r;
    struct rc_info ri = {0};
    struct store_record rec;
    char id[ACCOUNT_ID_LEN + 1];

    REQUIRE(open_app(&t) == 0);
    r = req(ZHANG, " 张三 ", "13800000001", "correct horse");
    CHECK_RC(account_register(&t.app, &t.a, &r, "10.0.0.1", &acct, &ri), RC_OK);
    CHECK_STR(acct.id_number, ZHANG);
    CHECK_STR(acct.name, "张三"); /* normalized */
    CHECK_STR(acct.phone, "13800000001");
    CHECK_INT(acct.ial, IAL3);
    CHECK_INT(acct.birth_ymd, 19900307);
    CHECK_INT(acct.sex, 'M');
    CHECK_INT(acct.region, 110105);
    CHECK_INT(acct.created, NOW);
    CHECK(!acct.disabled);
    REQUIRE(account_id_of(&t.app, span_str(ZHANG), id, NULL) == RC_OK);
    CHECK_STR(acct.id, id);
    CHECK_RC(account_get(&t.app, &t.a, id, &got), RC_OK);
    CHECK_STR(got.name, "张三");
    CHECK_INT(got.ial, IAL3);
    /* the record holds an argon2id PHC string with the configured parameters */
    REQUIRE(store_rec_get(t.app.store, &t.a, store_key(&t.a, "acct", span_str(id), NULL), &rec)
            == RC_OK);
    struct span pw = store_rec_field(&rec, "pw");
    CHECK(pw.len > 30 && memcmp(pw.p, "$argon2id$v=19$m=64,t=1,p=1$", 28) == 0);
    CHECK_RC(account_get(&t.app, &t.a, "00", &got), RC_NOT_FOUND);
    CHECK_RC(account_get(&t.app, &t.a, NULL, &got), RC_NOT_FOUND);
    id[0] = id[0] == 'a' ? 'b' : 'a';
    CHECK_RC(account_get(&t.app, &t.a, id, &got), RC_NOT_FOUND);
    /* a minority name typed with another middle dot matches */
    CHECK_RC(reg(&t, req(AYGUL, "阿依古丽•买买提", "", "another pass 1"), NULL), RC_OK);
    close_app(&t);
}

TEST(account_register_refuses_second_registration_with_conflict)
{
    struct tapp t;
    struct rc_info ri = {0};

    REQUIRE(open_app(&t) == 0);
    CHECK_RC(reg(&t, req(ZHANG, "张三", "", "first password"), NULL), RC_OK);
    CHECK_RC(reg(&t, req(ZHANG, "张三", "", "second password"), &ri), RC_CONFLICT);
    CHECK_STR(ri.field, "id_number");
    CHECK_INT(ri.why, RC_WHY_REGISTERED);
    /* the first password still works, the second never did */
    CHECK_RC(login(&t, ZHANG, "first password", NULL), RC_OK);
    CHECK_RC(login(&t, ZHANG, "second password", NULL), RC_DENIED);
    close_app(&t);
}

/* Every population-base refusal gives the one message, and writes nothing. */
TEST(account_register_population_refusals_are_denied_alike)
{
    struct tapp t;
    struct rc_info ri[4] = {{0}};
    struct account out;

    REQUIRE(open_app(&t) == 0);
    CHECK_RC(reg(&t, req(ZHANG, "李四", "", "good password"), &ri[0]), RC_DENIED);
    CHECK_RC(reg(&t, req(NOBODY, "张三", "", "good password"), &ri[1]), RC_DENIED);
    CHECK_RC(reg(&t, req(LI_CANCELLED, "李四", "", "good password"), &ri[2]), RC_DENIED);
    CHECK_RC(reg(&t, req(WANG_DECEASED, "王五", "", "good password"), &ri[3]), RC_DENIED);
    for (int i = 0; i < 4; i++) {
        CHECK_STR(ri[i].msg, "the ID number and name could not be verified");
        CHECK(ri[i].field == NULL);
        CHECK_INT(ri[i].why, RC_WHY_NOT_VERIFIED);
    }
    CHECK_RC(account_find(&t.app, &t.a, span_str(ZHANG), &out, NULL), RC_NOT_FOUND);
    CHECK_RC(account_find(&t.app, &t.a, span_str(LI_CANCELLED), &out, NULL), RC_NOT_FOUND);
    close_app(&t);
}

static enum rc
down_verify(struct popbase *p, struct span id18, struct span name, enum pop_answer *ans,
            struct pop_attrs *attrs)
{
    (void)p, (void)id18, (void)name, (void)attrs;
    *ans = POP_UNAVAILABLE;
    return RC_UNAVAILABLE;
}

static enum rc
down_ping(struct popbase *p)
{
    (void)p;
    return RC_UNAVAILABLE;
}

static void
down_free(struct popbase *p)
{
    (void)p;
}

TEST(account_register_fails_closed_when_population_base_is_down)
{
    static const struct popbase_ops down_ops = {"down", down_verify, down_ping, down_free};
    struct popbase down = {.ops = &down_ops};
    struct popbase *file;
    struct tapp t;
    struct rc_info ri = {0};
    struct account out;

    REQUIRE(open_app(&t) == 0);
    file = t.app.pop;
    t.app.pop = &down;
    CHECK_RC(reg(&t, req(ZHANG, "张三", "", "good password"), &ri), RC_UNAVAILABLE);
    CHECK(ri.msg && strstr(ri.msg, "try again later"));
    CHECK_RC(account_find(&t.app, &t.a, span_str(ZHANG), &out, NULL), RC_NOT_FOUND);
    t.app.pop = file;
    close_app(&t);
}

struct bad_field {
    const char *idn, *name, *phone, *pw, *field, *msg, *why;
};

TEST(account_register_rejects_each_bad_field_by_name)
{
    char lower_x[19], future[19], badcheck[19];
    const struct bad_field cases[] = {
        {"11010519900307123", "张三", "", "good password", "id_number", "must be 18",
         "idnum_length"},
        {"1101051990030712AX", "张三", "", "good password", "id_number", "17 digits",
         "idnum_character"},
        {badcheck, "张三", "", "good password", "id_number", "check digit", "idnum_check_digit"},
        {future, "张三", "", "good password", "id_number", "birth date", "idnum_date"},
        {"991051199003071230", "张三", "", "good password", "id_number", "province",
         "idnum_province"},
        {ZHANG, "", "", "good password", "name", "empty", "name"},
        {ZHANG, "张\x01三", "", "good password", "name", "control", "name"},
        {ZHANG, "张三", "23800000001", "good password", "phone", "11 digits", "phone"},
        {ZHANG, "张三", "1380000000", "good password", "phone", "11 digits", "phone"},
        {ZHANG, "张三", "1380000000a", "good password", "phone", "11 digits", "phone"},
        {ZHANG, "张三", "", "short", "password", "too short", "pw_short"},
        {ZHANG, "张三", "", ZHANG, "password", "ID number", "pw_idnum"},
        {ZHANG, "张三", "", lower_x, "password", "ID number", "pw_idnum"},
        {ZHANG, "张三", "", "19900307", "password", "birth date", "pw_birth"},
        {ZHANG, "张三", "", "1990-03-07", "password", "birth date", "pw_birth"},
        {ZHANG, "张三", "", "07/03/1990", "password", "birth date", "pw_birth"},
        {ZHANG, "张三", "13800000001", "13800000001", "password", "mobile", "pw_phone"},
    };
    struct tapp t;
    struct account out;

    REQUIRE(open_app(&t) == 0);
    make_number(badcheck, "11010519900307123");
    badcheck[17] = badcheck[17] == '0' ? '1' : '0';
    make_number(future, "11010520300101123");
    strcpy(lower_x, ZHANG);
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct rc_info ri = {0};
        CHECK_RC(reg(&t, req(cases[i].idn, cases[i].name, cases[i].phone, cases[i].pw), &ri),
                 RC_MALFORMED);
        CHECK_STR(ri.field, cases[i].field);
        CHECK_STR(rc_reason_name(ri.why), cases[i].why); /* the page's message key follows it */
        if (!ri.msg || !strstr(ri.msg, cases[i].msg))
            test_fail(__FILE__, __LINE__, "case %zu: message \"%s\" lacks \"%s\"", i,
                      ri.msg ? ri.msg : "(null)", cases[i].msg);
    }
    CHECK_RC(account_find(&t.app, &t.a, span_str(ZHANG), &out, NULL), RC_NOT_FOUND);
    close_app(&t);
}

TEST(account_register_rejects_over_long_password_and_name)
{
    char pw[ACCOUNT_PASSWORD_MAX + 2], name[300];
    struct tapp t;
    struct rc_info ri = {0};

    REQUIRE(open_app(&t) == 0);
    memset(pw, 'a', sizeof(pw) - 1), pw[sizeof(pw) - 1] = 0;
    CHECK_RC(reg(&t, req(ZHANG, "张三", "", pw), &ri), RC_MALFORMED);
    CHECK_STR(ri.field, "password");
    CHECK_INT(ri.why, RC_WHY_PW_LONG);
    memset(name, 'a', sizeof(name) - 1), name[sizeof(name) - 1] = 0;
    CHECK_RC(reg(&t, req(ZHANG, name, "", "good password"), &ri), RC_MALFORMED);
    CHECK_STR(ri.field, "name");
    CHECK_INT(ri.why, RC_WHY_NAME);
    /* the same password at the cap is fine (and logs in) */
    pw[ACCOUNT_PASSWORD_MAX] = 0;
    CHECK_RC(reg(&t, req(ZHANG, "张三", "", pw), NULL), RC_OK);
    CHECK_RC(login(&t, ZHANG, pw, NULL), RC_OK);
    pw[ACCOUNT_PASSWORD_MAX] = 'a'; /* one byte over: refused, even though it starts right */
    CHECK_RC(login(&t, ZHANG, pw, NULL), RC_DENIED);
    close_app(&t);
}

TEST(account_login_accepts_right_password_and_denies_the_rest_alike)
{
    struct tapp t;
    struct rc_info ri[4] = {{0}};
    struct account out;

    REQUIRE(open_app(&t) == 0);
    REQUIRE(account_init(&t.app) == RC_OK);
    CHECK_RC(reg(&t, req(AYGUL, AYGUL_NAME, "", "good password"), NULL), RC_OK);
    CHECK_RC(
        account_login(&t.app, &t.a, span_str(AYGUL), SPAN("good password"), "10.0.0.1", &out, NULL),
        RC_OK);
    CHECK_STR(out.id_number, AYGUL);
    CHECK_INT(out.ial, IAL3);
    CHECK_RC(login(&t, AYGUL, "bad password", &ri[0]), RC_DENIED);
    CHECK_RC(login(&t, NOBODY, "good password", &ri[1]), RC_DENIED);
    CHECK_RC(login(&t, "not a number", "good password", &ri[2]), RC_DENIED);
    CHECK_RC(login(&t, AYGUL, "", &ri[3]), RC_DENIED);
    for (int i = 0; i < 4; i++) {
        CHECK_STR(ri[i].msg, "the ID number or the password is incorrect");
        CHECK_INT(ri[i].why, RC_WHY_CREDENTIALS);
    }
    close_app(&t);
}

static enum rc
login_from(struct tapp *t, const char *idn, const char *pw, const char *ip, struct rc_info *ri,
           uint32_t *retry)
{
    struct account out;

    return account_login_ex(&t->app, &t->a, span_str(idn), span_str(pw), ip, &out, ri, retry);
}

/* The wait key of (number, address), deleted to play "the wait has passed". */
static void
wait_over(struct tapp *t, const char *idn, const char *ip)
{
    char id[ACCOUNT_ID_LEN + 1];
    char suffix[64];

    REQUIRE(account_id_of(&t->app, span_str(idn), id, NULL) == RC_OK);
    snprintf(suffix, sizeof(suffix), ":wait:%s", ip);
    REQUIRE(store_del(t->app.store, store_key(&t->a, "acct", span_str(id), suffix)) == RC_OK);
}

/* Failures from one address slow that address on that number, with delays that grow; the
 * owner from another address gets in at once with the right password. Nothing locks. */
TEST(account_login_throttles_the_address_never_the_number)
{
    struct tapp t;
    struct rc_info ri = {0};
    struct account_lock lk;
    uint32_t retry = 0;

    REQUIRE(open_app(&t) == 0);
    CHECK_RC(reg(&t, req(ZHANG, "张三", "", "good password"), NULL), RC_OK);
    for (int i = 0; i < 5; i++) /* lockout_failures (5) answered as wrong passwords */
        CHECK_RC(login_from(&t, ZHANG, "wrong password", "10.6.6.6", NULL, &retry), RC_DENIED);
    CHECK_RC(account_lock_state(&t.app, &t.a, span_str(ZHANG), &lk, NULL), RC_OK);
    CHECK_INT(lk.failures, 5);
    CHECK_INT(lk.locked_for_s, 0);
    /* the attacker's address now waits, even with the right password */
    CHECK_RC(login_from(&t, ZHANG, "good password", "10.6.6.6", &ri, &retry), RC_LIMITED);
    CHECK_INT(ri.why, RC_WHY_RATE);
    CHECK(retry >= 1 && retry <= 2);
    CHECK(ri.msg && strstr(ri.msg, "try again in"));
    /* the owner, elsewhere: in at once */
    CHECK_RC(login_from(&t, ZHANG, "good password", "10.0.0.1", NULL, &retry), RC_OK);
    CHECK_INT(retry, 0);
    /* the delays grow with each failure from the attacker's address: 4 s, 8 s, ... */
    wait_over(&t, ZHANG, "10.6.6.6");
    CHECK_RC(login_from(&t, ZHANG, "wrong password", "10.6.6.6", NULL, &retry), RC_DENIED);
    CHECK_RC(login_from(&t, ZHANG, "wrong password", "10.6.6.6", NULL, &retry), RC_LIMITED);
    CHECK(retry > 2 && retry <= 4);
    wait_over(&t, ZHANG, "10.6.6.6");
    CHECK_RC(login_from(&t, ZHANG, "wrong password", "10.6.6.6", NULL, &retry), RC_DENIED);
    CHECK_RC(login_from(&t, ZHANG, "wrong password", "10.6.6.6", NULL, &retry), RC_LIMITED);
    CHECK(retry > 4 && retry <= 8);
    /* the operator's unlock clears the count; a success from the address clears its delay */
    CHECK_RC(account_unlock(&t.app, &t.a, span_str(ZHANG), NULL), RC_OK);
    CHECK_RC(account_lock_state(&t.app, &t.a, span_str(ZHANG), &lk, NULL), RC_OK);
    CHECK_INT(lk.failures, 0);
    wait_over(&t, ZHANG, "10.6.6.6");
    CHECK_RC(login_from(&t, ZHANG, "good password", "10.6.6.6", NULL, &retry), RC_OK);
    CHECK_RC(login_from(&t, ZHANG, "wrong password", "10.6.6.6", NULL, &retry), RC_DENIED);
    close_app(&t);
}

/* A number without an account is throttled the same way, so it says nothing of existence. */
TEST(account_login_throttles_unknown_numbers_too)
{
    struct tapp t;
    uint32_t retry = 0;

    REQUIRE(open_app(&t) == 0);
    for (int i = 0; i < 5; i++)
        CHECK_RC(login_from(&t, NOBODY, "whatever pass", "10.6.6.6", NULL, &retry), RC_DENIED);
    CHECK_RC(login_from(&t, NOBODY, "whatever pass", "10.6.6.6", NULL, &retry), RC_LIMITED);
    CHECK_RC(login_from(&t, NOBODY, "whatever pass", "10.0.0.1", NULL, &retry), RC_DENIED);
    close_app(&t);
}

/* Over the number's ceiling (attempts from many addresses), a wrong password waits a few
 * seconds at most, and a right one is accepted only with a second factor. */
TEST(account_login_ceiling_slows_and_asks_for_a_second_factor)
{
    struct tapp t;
    struct rc_info ri = {0};
    struct account out;
    uint32_t retry = 0;
    bool second = true;
    char ip[32];

    REQUIRE(open_app(&t) == 0);
    t.cfg.rate_login_per_idnum = 3;
    t.cfg.login_ceiling_max_wait_s = 5;
    CHECK_RC(reg(&t, req(ZHANG, "张三", "", "good password"), NULL), RC_OK);
    CHECK_RC(account_login_try(&t.app, &t.a, span_str(ZHANG), SPAN("good password"), "10.0.0.1",
                               &out, &second, NULL, &retry),
             RC_OK);
    CHECK(!second);
    for (int i = 0; i < 2; i++) {
        snprintf(ip, sizeof(ip), "10.6.0.%d", i);
        CHECK_RC(login_from(&t, ZHANG, "wrong password", ip, NULL, &retry), RC_DENIED);
    }
    /* the bucket is empty (the clock stands still): slowed, never for long */
    CHECK_RC(login_from(&t, ZHANG, "wrong password", "10.6.1.1", &ri, &retry), RC_LIMITED);
    CHECK_INT(ri.why, RC_WHY_RATE);
    CHECK(retry >= 1 && retry <= 5);
    /* the right password: only with a second factor */
    CHECK_RC(account_login_try(&t.app, &t.a, span_str(ZHANG), SPAN("good password"), "10.0.0.1",
                               &out, &second, NULL, &retry),
             RC_OK);
    CHECK(second);
    CHECK_STR(out.id_number, ZHANG);
    CHECK(retry >= 1 && retry <= 5);
    /* where no second factor can follow, the right password is slowed as well */
    ri = (struct rc_info){0};
    CHECK_RC(login_from(&t, ZHANG, "good password", "10.0.0.1", &ri, &retry), RC_LIMITED);
    CHECK_INT(ri.why, RC_WHY_RATE);
    CHECK(retry >= 1 && retry <= 5);
    close_app(&t);
}

TEST(account_login_refuses_disabled_account_until_enabled)
{
    struct tapp t;
    struct rc_info ri = {0};
    struct account out;

    REQUIRE(open_app(&t) == 0);
    CHECK_RC(reg(&t, req(ZHANG, "张三", "", "good password"), NULL), RC_OK);
    CHECK_RC(account_set_disabled(&t.app, &t.a, span_str(ZHANG), true, NULL), RC_OK);
    CHECK_RC(account_find(&t.app, &t.a, span_str(ZHANG), &out, NULL), RC_OK);
    CHECK(out.disabled);
    CHECK_RC(login(&t, ZHANG, "good password", &ri), RC_DENIED);
    CHECK(ri.msg && strstr(ri.msg, "disabled"));
    CHECK_INT(ri.why, RC_WHY_DISABLED);
    CHECK_RC(login(&t, ZHANG, "bad password", &ri), RC_DENIED); /* no hint without the password */
    CHECK_STR(ri.msg, "the ID number or the password is incorrect");
    CHECK_INT(ri.why, RC_WHY_CREDENTIALS);
    CHECK_RC(account_set_disabled(&t.app, &t.a, span_str(ZHANG), false, NULL), RC_OK);
    CHECK_RC(login(&t, ZHANG, "good password", NULL), RC_OK);
    CHECK_RC(account_set_disabled(&t.app, &t.a, span_str(NOBODY), true, NULL), RC_NOT_FOUND);
    CHECK_RC(account_set_disabled(&t.app, &t.a, SPAN("123"), true, NULL), RC_MALFORMED);
    close_app(&t);
}

TEST(account_login_rehashes_outdated_hash)
{
    struct tapp t;
    struct store_record rec;
    char id[ACCOUNT_ID_LEN + 1];
    struct span pw;

    REQUIRE(open_app(&t) == 0);
    CHECK_RC(reg(&t, req(ZHANG, "张三", "", "good password"), NULL), RC_OK);
    t.cfg.argon2_iterations = 2;
    t.cfg.argon2_memory_kib = 128;
    CHECK_RC(login(&t, ZHANG, "good password", NULL), RC_OK);
    REQUIRE(account_id_of(&t.app, span_str(ZHANG), id, NULL) == RC_OK);
    REQUIRE(store_rec_get(t.app.store, &t.a, store_key(&t.a, "acct", span_str(id), NULL), &rec)
            == RC_OK);
    pw = store_rec_field(&rec, "pw");
    CHECK(pw.len > 30 && memcmp(pw.p, "$argon2id$v=19$m=128,t=2,p=1$", 29) == 0);
    CHECK_RC(login(&t, ZHANG, "good password", NULL), RC_OK);
    CHECK_RC(login(&t, ZHANG, "bad password", NULL), RC_DENIED);
    close_app(&t);
}

TEST(account_rate_limits_per_ip_say_how_long)
{
    struct tapp t;
    struct rc_info ri = {0};
    struct register_req r = req(ZHANG, "张三", "", "good password");
    struct account out;
    uint32_t retry = 0;

    REQUIRE(open_app(&t) == 0);
    t.cfg.register_rate_per_ip = 2;
    t.cfg.login_rate_per_ip = 3;
    CHECK_RC(account_register(&t.app, &t.a, &r, "10.0.0.9", &out, NULL), RC_OK);
    CHECK_RC(account_register(&t.app, &t.a, &r, "10.0.0.9", &out, NULL), RC_CONFLICT);
    CHECK_RC(account_register_ex(&t.app, &t.a, &r, "10.0.0.9", &out, &ri, &retry), RC_LIMITED);
    CHECK(retry > 0 && retry <= 60);
    CHECK(ri.msg && strstr(ri.msg, "try again in"));
    CHECK_INT(ri.why, RC_WHY_RATE);
    CHECK_RC(account_register(&t.app, &t.a, &r, "10.0.0.10", &out, NULL), RC_CONFLICT);
    for (int i = 0; i < 3; i++)
        CHECK_RC(account_login(&t.app, &t.a, span_str(ZHANG), SPAN("good password"), "10.0.0.9",
                               &out, NULL),
                 RC_OK);
    retry = 0;
    CHECK_RC(account_login_ex(&t.app, &t.a, span_str(ZHANG), SPAN("good password"), "10.0.0.9",
                              &out, &ri, &retry),
             RC_LIMITED);
    CHECK(retry > 0 && retry <= 60);
    CHECK_RC(account_login(&t.app, &t.a, span_str(ZHANG), SPAN("good password"), "10.0.0.10", &out,
                           NULL),
             RC_OK);
    close_app(&t);
}

TEST(account_add_skip_popbase_records_ial2)
{
    struct tapp t;
    struct account_add_opts o = {.skip_popbase = true};
    struct register_req r = req(NOBODY, "赵六", "", "good password");
    struct account out;

    REQUIRE(open_app(&t) == 0);
    CHECK_RC(account_add(&t.app, &t.a, &r, &o, &out, NULL), RC_OK);
    CHECK_INT(out.ial, IAL2);
    CHECK_INT(out.birth_ymd, 20000101);
    CHECK_RC(login(&t, NOBODY, "good password", NULL), RC_OK);
    close_app(&t);
}

TEST(account_seed_demo_registers_citizens_once)
{
    struct tapp t;
    FILE *f;

    REQUIRE(open_app(&t) == 0);
    REQUIRE((f = fopen(fx.demo, "w")));
    fprintf(f,
            "[{\"id_number\":\"%s\",\"name\":\"张三\",\"password\":\"Demo-pass-2026\","
            "\"phone\":\"13800000001\"},"
            "{\"id_number\":\"%s\",\"name\":\"wrong\",\"password\":\"Demo-pass-2026\"},"
            "{\"id_number\":\"%s\",\"name\":\"%s\",\"password\":\"Demo-pass-2026\"}, 7]",
            ZHANG, LI_CANCELLED, AYGUL, AYGUL_NAME);
    fclose(f);
    CHECK_RC(account_seed_demo(&t.app, fx.demo), RC_OK);
    CHECK_RC(account_seed_demo(&t.app, fx.demo), RC_OK); /* again: already there */
    CHECK_RC(login(&t, ZHANG, "Demo-pass-2026", NULL), RC_OK);
    CHECK_RC(login(&t, AYGUL, "Demo-pass-2026", NULL), RC_OK);
    CHECK_RC(login(&t, LI_CANCELLED, "Demo-pass-2026", NULL), RC_DENIED);
    REQUIRE((f = fopen(fx.demo, "w")));
    fputs("{\"not\":\"a list\"}", f);
    fclose(f);
    CHECK_RC(account_seed_demo(&t.app, fx.demo), RC_MALFORMED);
    unlink(fx.demo);
    CHECK_RC(account_seed_demo(&t.app, fx.demo), RC_NOT_FOUND);
    close_app(&t);
}
