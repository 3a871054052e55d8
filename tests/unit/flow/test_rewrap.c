/* flow/rewrap: the walk that re-seals every sealed record under the current data key after
 * a rotation: every account field and TOTP seed moves, a plaintext record of an older version
 * is sealed, a live write racing the walk is never lost, an interrupted walk resumes from its
 * saved cursor, a rotation during the walk restarts it, and the check counts without writing. */
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>

#include "core/idnum.h"
#include "fakes.h"
#include "flow/account.h"
#include "flow/atrest.h"
#include "flow/rewrap.h"
#include "flow/sms.h"
#include "flow/totp.h"
#include "log/log.h"
#include "port/store.h"
#include "test.h"

#define NOW    1740787200
#define NACCTS 6

static struct {
    struct fake_app fa;
    char idn[NACCTS][19];
    struct account acct[NACCTS];
} T;

static int
up(void)
{
    static const char *const base[NACCTS] = {"11010519900307123", "11010519850101456",
                                             "11010519700505789", "11010519600606012",
                                             "11010519950202345", "11010519880808678"};

    memset(&T, 0, sizeof(T));
    log_setup(LOG_ERROR, 2);
    if (fake_app_up(&T.fa, "[scope openid]\nclaims = sub\n", NOW))
        return -1;
    for (int i = 0; i < NACCTS; i++) {
        struct register_req rq;
        struct account_add_opts o = {.skip_popbase = true};
        memcpy(T.idn[i], base[i], 17);
        T.idn[i][17] = idnum_check_char(T.idn[i]);
        rq = (struct register_req){span_str(T.idn[i]), SPAN("张三"), SPAN("13800138000"),
                                   SPAN("Long-enough-1")};
        if (account_add(&T.fa.app, &T.fa.a, &rq, &o, &T.acct[i], NULL) != RC_OK)
            return -1;
    }
    return 0;
}

static void
down(void)
{
    fake_app_down(&T.fa);
    memset(&T, 0, sizeof(T));
}

static struct store_record
raw(const char *kind, const char *acct)
{
    struct store_record rec = {0};

    if (store_rec_get(T.fa.app.store, &T.fa.a, store_key(&T.fa.a, kind, span_str(acct), NULL), &rec)
        != RC_OK)
        rec = (struct store_record){0};
    return rec;
}

static bool
starts(struct span v, const char *prefix)
{
    return v.len >= strlen(prefix) && memcmp(v.p, prefix, strlen(prefix)) == 0;
}

/* Every sealed field of every account (and the seed of account 0 if it has one) starts with
 * prefix. */
static bool
all_under(const char *prefix)
{
    struct store_record rec;

    for (int i = 0; i < NACCTS; i++) {
        rec = raw("acct", T.acct[i].id);
        for (size_t j = 0; j < ATREST_NACCOUNT; j++) {
            struct span v = store_rec_field(&rec, atrest_account_fields[j]);
            if (v.len && !starts(v, prefix))
                return false;
        }
    }
    rec = raw("totp", T.acct[0].id);
    return rec.n == 0 || starts(store_rec_field(&rec, "seed"), prefix);
}

/* A confirmed TOTP seed for account 0, as totp_enrol_confirm leaves it: the sealed blob of a
 * started enrolment in the record's seed field. */
static void
totp_seed(void)
{
    struct totp_enrolment e;
    struct span blob;
    struct store_field f;

    REQUIRE(totp_enrol_begin(&T.fa.app, &T.fa.a, T.acct[0].id, &e) == RC_OK);
    REQUIRE(store_get(T.fa.app.store, &T.fa.a,
                      store_key(&T.fa.a, "totp", span_str(T.acct[0].id), ":new"), &blob)
            == RC_OK);
    f = (struct store_field){SPAN("seed"), blob};
    REQUIRE(store_rec_put(T.fa.app.store, store_key(&T.fa.a, "totp", span_str(T.acct[0].id), NULL),
                          &f, 1, 0, 0)
            == RC_OK);
}

/* Walks to the end, count keys a page; the pages it took. */
static int
walk(struct rewrap_state *st, uint32_t count, bool check)
{
    int pages = 0;

    while (!st->done && pages < 10000) {
        if (rewrap_step(&T.fa.app, &T.fa.a, st, count, check, NULL) != RC_OK)
            return -1;
        pages++;
    }
    return pages;
}

TEST(rewrap_moves_every_sealed_record_to_the_new_key)
{
    struct rewrap_state st;
    struct account got;
    struct store_field plain[] = {{SPAN("id_number"), {0}}, {SPAN("name"), SPAN("李四")}};
    struct span out;
    struct store_record rec;
    uint32_t gen;
    bool resumed;

    REQUIRE(up() == 0);
    totp_seed();
    REQUIRE(sms_phone_mark_verified(&T.fa.app, &T.fa.a, T.acct[1].id, "13800138000") == RC_OK);
    /* account 2 as an older version wrote it: in plaintext */
    plain[0].value = span_str(T.idn[2]);
    REQUIRE(store_rec_put(T.fa.app.store, store_key(&T.fa.a, "acct", span_str(T.acct[2].id), NULL),
                          plain, 2, 0, STORE_XX)
            == RC_OK);
    CHECK(all_under("s1.m1.") == false); /* the plaintext one */
    REQUIRE(atrest_rotate(&T.fa.app, &T.fa.a, &gen) == RC_OK);
    REQUIRE(rewrap_begin(&T.fa.app, &T.fa.a, &st, &resumed) == RC_OK);
    CHECK(!resumed && strcmp(st.kid, "m2") == 0);
    CHECK(walk(&st, 2, false) > 1);
    CHECK(st.done);
    CHECK(all_under("s1.m2."));
    CHECK_INT(st.records, NACCTS + 1);
    CHECK_INT(st.resealed, NACCTS + 1);
    CHECK_INT(st.failed, 0);
    for (int i = 0; i < NACCTS; i++) { /* every record still reads, the same */
        REQUIRE(account_get(&T.fa.app, &T.fa.a, T.acct[i].id, &got) == RC_OK);
        CHECK(strcmp(got.id_number, T.idn[i]) == 0 && strcmp(got.data_kid, "m2") == 0);
        CHECK(strcmp(got.name, i == 2 ? "李四" : "张三") == 0);
    }
    REQUIRE(account_get(&T.fa.app, &T.fa.a, T.acct[1].id, &got) == RC_OK);
    CHECK(strcmp(got.phone_verified, "13800138000") == 0);
    rec = raw("totp", T.acct[0].id);
    CHECK(totp_seed_reseal(&T.fa.app, &T.fa.a, T.acct[0].id, store_rec_field(&rec, "seed"), &out)
          == RC_OK);
    /* the saved state says so; a second walk finds everything current */
    REQUIRE(rewrap_load(&T.fa.app, &T.fa.a, &st) == RC_OK);
    CHECK(st.done && st.resealed == NACCTS + 1);
    REQUIRE(rewrap_begin(&T.fa.app, &T.fa.a, &st, &resumed) == RC_OK);
    walk(&st, 50, false);
    CHECK_INT(st.resealed, 0);
    CHECK_INT(st.current, NACCTS + 1);
    down();
}

TEST(rewrap_check_counts_the_stale_records_and_writes_nothing)
{
    struct rewrap_state st;
    uint32_t gen;
    bool resumed;

    REQUIRE(up() == 0);
    totp_seed();
    REQUIRE(atrest_rotate(&T.fa.app, &T.fa.a, &gen) == RC_OK);
    REQUIRE(rewrap_fresh(&T.fa.app, &T.fa.a, &st) == RC_OK);
    walk(&st, 3, true);
    CHECK_INT(st.resealed, NACCTS + 1); /* would be re-sealed */
    CHECK(all_under("s1.m1."));
    CHECK(rewrap_load(&T.fa.app, &T.fa.a, &st) == RC_NOT_FOUND); /* nothing saved */
    REQUIRE(rewrap_begin(&T.fa.app, &T.fa.a, &st, &resumed) == RC_OK);
    walk(&st, 3, false);
    REQUIRE(rewrap_fresh(&T.fa.app, &T.fa.a, &st) == RC_OK);
    walk(&st, 3, true);
    CHECK_INT(st.resealed, 0); /* the old key id is needed by nothing any more */
    CHECK_INT(st.current, NACCTS + 1);
    down();
}

TEST(rewrap_resumes_an_interrupted_walk_from_its_saved_cursor)
{
    struct rewrap_state st, again;
    uint32_t gen;
    bool resumed;

    REQUIRE(up() == 0);
    REQUIRE(atrest_rotate(&T.fa.app, &T.fa.a, &gen) == RC_OK);
    REQUIRE(rewrap_begin(&T.fa.app, &T.fa.a, &st, &resumed) == RC_OK);
    for (int i = 0; i < 200 && st.records < 2; i++) /* part of the way, then "Ctrl-C" */
        REQUIRE(rewrap_step(&T.fa.app, &T.fa.a, &st, 1, false, NULL) == RC_OK);
    REQUIRE(!st.done && st.records >= 2);
    REQUIRE(rewrap_begin(&T.fa.app, &T.fa.a, &again, &resumed) == RC_OK); /* a new run */
    CHECK(resumed);
    CHECK(again.cursor == st.cursor && again.records == st.records);
    CHECK(again.started == st.started);
    walk(&again, 1, false);
    CHECK(all_under("s1.m2."));
    CHECK_INT(again.records, NACCTS);
    CHECK_INT(again.resealed, NACCTS);
    down();
}

TEST(rewrap_restarts_for_a_rotation_during_the_walk)
{
    struct rewrap_state st;
    uint32_t gen;
    bool resumed;

    REQUIRE(up() == 0);
    REQUIRE(atrest_rotate(&T.fa.app, &T.fa.a, &gen) == RC_OK);
    REQUIRE(rewrap_begin(&T.fa.app, &T.fa.a, &st, &resumed) == RC_OK);
    for (int i = 0; i < 200 && st.records < 2; i++)
        REQUIRE(rewrap_step(&T.fa.app, &T.fa.a, &st, 1, false, NULL) == RC_OK);
    REQUIRE(atrest_rotate(&T.fa.app, &T.fa.a, &gen) == RC_OK); /* m3 */
    walk(&st, 2, false);
    CHECK(strcmp(st.kid, "m3") == 0);
    CHECK(all_under("s1.m3."));
    CHECK_INT(st.records, NACCTS); /* counted from the restart */
    down();
}

/* A citizen's phone verification written again and again while walks run. */
struct racer {
    atomic_bool stop;
    atomic_int writes, errors;
    char last[16];
};

static void *
verifier(void *arg)
{
    struct racer *r = arg;
    struct arena a;

    arena_init(&a, 0);
    for (int i = 0; !atomic_load(&r->stop) || i < 50; i++) {
        char phone[16];
        struct account got;
        snprintf(phone, sizeof(phone), "1380013%04d", i % 10000);
        if (sms_phone_mark_verified(&T.fa.app, &a, T.acct[3].id, phone) != RC_OK
            || account_login(&T.fa.app, &a, span_str(T.idn[3]), SPAN("Long-enough-1"), NULL, &got,
                             NULL)
                   != RC_OK)
            atomic_fetch_add(&r->errors, 1);
        memcpy(r->last, phone, sizeof(phone));
        atomic_fetch_add(&r->writes, 1);
        arena_clear(&a);
        if (i > 5000)
            break;
    }
    arena_clear(&a);
    return NULL;
}

TEST(rewrap_loses_no_write_of_a_login_racing_the_walk)
{
    static struct racer r;
    struct rewrap_state st;
    struct account got;
    pthread_t th;
    uint32_t gen;
    bool resumed;

    REQUIRE(up() == 0);
    memset(&r, 0, sizeof(r));
    REQUIRE(pthread_create(&th, NULL, verifier, &r) == 0);
    for (int round = 0; round < 20; round++) { /* rotate and walk, while the citizen writes */
        REQUIRE(atrest_rotate(&T.fa.app, &T.fa.a, &gen) == RC_OK);
        REQUIRE(rewrap_begin(&T.fa.app, &T.fa.a, &st, &resumed) == RC_OK);
        walk(&st, 1, false);
        CHECK_INT(st.failed, 0);
    }
    atomic_store(&r.stop, true);
    pthread_join(th, NULL);
    CHECK_INT(atomic_load(&r.errors), 0);
    CHECK(atomic_load(&r.writes) >= 50);
    REQUIRE(account_get(&T.fa.app, &T.fa.a, T.acct[3].id, &got) == RC_OK);
    CHECK_STR(got.phone_verified, r.last); /* the last write stands */
    REQUIRE(rewrap_begin(&T.fa.app, &T.fa.a, &st, &resumed) == RC_OK);
    walk(&st, 10, false);
    CHECK(all_under(arena_printf(&T.fa.a, "s1.m%u.", (unsigned)gen)));
    down();
}

TEST(rewrap_moves_records_between_ciphers)
{
    struct rewrap_state st;
    struct account got;
    uint32_t gen;
    bool resumed;
    char *was;

    REQUIRE(up() == 0);
    was = T.fa.cfg.data_cipher;
    totp_seed();
    /* data_cipher = sm4-ctr-hmac-sm3 on every node, then a rotation and its walk */
    T.fa.cfg.data_cipher = "sm4-ctr-hmac-sm3";
    REQUIRE(atrest_rotate(&T.fa.app, &T.fa.a, &gen) == RC_OK);
    REQUIRE(rewrap_begin(&T.fa.app, &T.fa.a, &st, &resumed) == RC_OK);
    walk(&st, 4, false);
    CHECK(all_under("s2.m2."));
    CHECK_INT(st.resealed, NACCTS + 1);
    for (int i = 0; i < NACCTS; i++) {
        REQUIRE(account_get(&T.fa.app, &T.fa.a, T.acct[i].id, &got) == RC_OK);
        CHECK(strcmp(got.id_number, T.idn[i]) == 0 && strcmp(got.phone, "13800138000") == 0);
    }
    /* the cipher alone changed back, same key id: the walk re-seals (what login would not) */
    T.fa.cfg.data_cipher = "aes-256-gcm";
    REQUIRE(rewrap_fresh(&T.fa.app, &T.fa.a, &st) == RC_OK);
    walk(&st, 4, true);
    CHECK_INT(st.resealed, NACCTS + 1);
    REQUIRE(rewrap_begin(&T.fa.app, &T.fa.a, &st, &resumed) == RC_OK);
    walk(&st, 4, false);
    CHECK(all_under("s1.m2."));
    REQUIRE(account_get(&T.fa.app, &T.fa.a, T.acct[0].id, &got) == RC_OK);
    CHECK(strcmp(got.name, "张三") == 0);
    T.fa.cfg.data_cipher = was;
    down();
}
