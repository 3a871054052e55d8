/* flow/atrest: the personal fields of account records sealed at rest: what the store
 * holds, a blob moved to another account or field, plaintext records of older versions
 * read and converted, two key generations. */
#include <string.h>

#include "core/idnum.h"
#include "fakes.h"
#include "flow/account.h"
#include "flow/atrest.h"
#include "flow/sms.h"
#include "log/log.h"
#include "port/store.h"
#include "test.h"

#define NOW 1740787200

static struct {
    struct fake_app fa;
    char idn[2][19];
} T;

static int
up(void)
{
    memset(&T, 0, sizeof(T));
    log_setup(LOG_ERROR, 2);
    if (fake_app_up(&T.fa, "[scope openid]\nclaims = sub\n", NOW))
        return -1;
    memcpy(T.idn[0], "11010519900307123", 17);
    T.idn[0][17] = idnum_check_char(T.idn[0]);
    memcpy(T.idn[1], "11010519850101456", 17);
    T.idn[1][17] = idnum_check_char(T.idn[1]);
    return 0;
}

static void
down(void)
{
    fake_app_down(&T.fa);
    memset(&T, 0, sizeof(T));
}

static enum rc
add(int who, const char *name, const char *phone, struct account *out)
{
    struct register_req rq = {span_str(T.idn[who]), span_str(name), span_str(phone),
                              SPAN("Long-enough-1")};
    struct account_add_opts o = {.skip_popbase = true};

    return account_add(&T.fa.app, &T.fa.a, &rq, &o, out, NULL);
}

/* The stored record of acct (empty when it cannot be read). */
static struct store_record
raw(const char *acct)
{
    struct store_record rec = {0};

    if (store_rec_get(T.fa.app.store, &T.fa.a, store_key(&T.fa.a, "acct", span_str(acct), NULL),
                      &rec)
        != RC_OK)
        rec = (struct store_record){0};
    return rec;
}

static bool
contains(struct span hay, const char *needle)
{
    size_t n = strlen(needle);

    for (size_t i = 0; hay.len >= n && i + n <= hay.len; i++)
        if (memcmp(hay.p + i, needle, n) == 0)
            return true;
    return false;
}

static bool
starts(struct span v, const char *prefix)
{
    return v.len >= strlen(prefix) && memcmp(v.p, prefix, strlen(prefix)) == 0;
}

TEST(atrest_account_round_trip_stores_personal_fields_sealed)
{
    struct account a, got;
    struct store_record rec;

    REQUIRE(up() == 0);
    REQUIRE(add(0, "张三", "13800138000", &a) == RC_OK);
    CHECK(strcmp(a.name, "张三") == 0 && strcmp(a.id_number, T.idn[0]) == 0);
    CHECK(strcmp(a.data_kid, "m1") == 0 && !a.data_plain);
    rec = raw(a.id);
    for (size_t i = 0; i < rec.n; i++) {
        CHECK(!contains(rec.f[i].value, T.idn[0]));
        CHECK(!contains(rec.f[i].value, "张三"));
        CHECK(!contains(rec.f[i].value, "13800138000"));
    }
    CHECK(starts(store_rec_field(&rec, "id_number"), "s1.m1."));
    CHECK(starts(store_rec_field(&rec, "name"), "s1.m1."));
    CHECK(starts(store_rec_field(&rec, "phone"), "s1.m1."));
    REQUIRE(account_get(&T.fa.app, &T.fa.a, a.id, &got) == RC_OK);
    CHECK(strcmp(got.id_number, T.idn[0]) == 0);
    CHECK(strcmp(got.name, "张三") == 0 && strcmp(got.phone, "13800138000") == 0);
    CHECK(strcmp(got.data_kid, "m1") == 0 && !got.data_plain);
    down();
}

TEST(atrest_blob_moved_to_another_account_or_field_is_refused)
{
    struct account a, b, got;
    struct store_record ra;
    struct store_field f;
    struct span out;
    struct span key;

    REQUIRE(up() == 0);
    REQUIRE(add(0, "张三", "13800138000", &a) == RC_OK);
    REQUIRE(add(1, "李四", "13900139000", &b) == RC_OK);
    ra = raw(a.id);
    /* A's name in B's record: B no longer reads */
    f = (struct store_field){SPAN("name"), store_rec_field(&ra, "name")};
    key = store_key(&T.fa.a, "acct", span_str(b.id), NULL);
    REQUIRE(store_rec_put(T.fa.app.store, key, &f, 1, 0, STORE_XX) == RC_OK);
    CHECK(account_get(&T.fa.app, &T.fa.a, b.id, &got) == RC_INTERNAL);
    /* a blob of one field does not open as another of the same account */
    CHECK(atrest_open(&T.fa.app, &T.fa.a, NULL, a.id, "phone", store_rec_field(&ra, "name"), NULL,
                      &out, NULL)
          == RC_DENIED);
    CHECK(atrest_open(&T.fa.app, &T.fa.a, NULL, a.id, "name", store_rec_field(&ra, "name"), NULL,
                      &out, NULL)
          == RC_OK);
    CHECK(span_eq_str(out, "张三"));
    down();
}

TEST(atrest_plaintext_record_is_read_then_sealed_by_the_next_login)
{
    struct account a, got;
    struct store_record rec;
    struct store_field f[] = {{SPAN("id_number"), {0}},
                              {SPAN("name"), SPAN("张三")},
                              {SPAN("phone"), SPAN("13800138000")},
                              {SPAN("phone_verified"), SPAN("13800138000")}};
    struct span key;

    REQUIRE(up() == 0);
    REQUIRE(add(0, "张三", "13800138000", &a) == RC_OK);
    /* what an older version wrote: the same fields in plaintext */
    f[0].value = span_str(T.idn[0]);
    key = store_key(&T.fa.a, "acct", span_str(a.id), NULL);
    REQUIRE(store_rec_put(T.fa.app.store, key, f, 4, 0, STORE_XX) == RC_OK);
    REQUIRE(account_get(&T.fa.app, &T.fa.a, a.id, &got) == RC_OK);
    CHECK(got.data_plain && got.data_kid[0] == 0);
    CHECK(strcmp(got.id_number, T.idn[0]) == 0 && strcmp(got.name, "张三") == 0);
    CHECK(strcmp(got.phone_verified, "13800138000") == 0);
    REQUIRE(account_login(&T.fa.app, &T.fa.a, span_str(T.idn[0]), SPAN("Long-enough-1"), NULL, &got,
                          NULL)
            == RC_OK);
    rec = raw(a.id);
    CHECK(starts(store_rec_field(&rec, "id_number"), "s1.m1."));
    CHECK(starts(store_rec_field(&rec, "name"), "s1.m1."));
    CHECK(starts(store_rec_field(&rec, "phone"), "s1.m1."));
    CHECK(starts(store_rec_field(&rec, "phone_verified"), "s1.m1."));
    REQUIRE(account_get(&T.fa.app, &T.fa.a, a.id, &got) == RC_OK);
    CHECK(!got.data_plain && strcmp(got.phone_verified, "13800138000") == 0);
    down();
}

TEST(atrest_both_generations_read_and_login_moves_to_the_new_one)
{
    struct account a, b, got;
    struct store_record rec;
    uint32_t gen = 0;

    REQUIRE(up() == 0);
    REQUIRE(atrest_generation(&T.fa.app, &T.fa.a, &gen) == RC_OK);
    CHECK(gen == 1);
    REQUIRE(add(0, "张三", "13800138000", &a) == RC_OK);
    REQUIRE(atrest_rotate(&T.fa.app, &T.fa.a, &gen) == RC_OK);
    CHECK(gen == 2);
    REQUIRE(add(1, "李四", "", &b) == RC_OK);
    CHECK(strcmp(b.data_kid, "m2") == 0);
    REQUIRE(account_get(&T.fa.app, &T.fa.a, a.id, &got) == RC_OK);
    CHECK(strcmp(got.data_kid, "m1") == 0 && strcmp(got.name, "张三") == 0);
    REQUIRE(account_get(&T.fa.app, &T.fa.a, b.id, &got) == RC_OK);
    CHECK(strcmp(got.data_kid, "m2") == 0 && strcmp(got.name, "李四") == 0);
    CHECK(got.phone[0] == 0);
    REQUIRE(account_login(&T.fa.app, &T.fa.a, span_str(T.idn[0]), SPAN("Long-enough-1"), NULL, &got,
                          NULL)
            == RC_OK);
    rec = raw(a.id);
    CHECK(starts(store_rec_field(&rec, "name"), "s1.m2."));
    CHECK(starts(store_rec_field(&rec, "phone"), "s1.m2."));
    REQUIRE(atrest_rotate(&T.fa.app, &T.fa.a, &gen) == RC_OK);
    CHECK(gen == 3);
    down();
}

TEST(atrest_reseal_does_not_bring_back_a_verification_taken_back_meanwhile)
{
    struct account a, got;
    struct store_record rec;
    uint32_t gen = 0;

    REQUIRE(up() == 0);
    REQUIRE(add(0, "张三", "13800138000", &a) == RC_OK);
    REQUIRE(sms_phone_mark_verified(&T.fa.app, &T.fa.a, a.id, "13800138000") == RC_OK);
    rec = raw(a.id);
    CHECK(starts(store_rec_field(&rec, "phone_verified"), "s1.m1."));
    REQUIRE(atrest_rotate(&T.fa.app, &T.fa.a, &gen) == RC_OK);
    REQUIRE(account_get(&T.fa.app, &T.fa.a, a.id, &got) == RC_OK); /* a login's read */
    CHECK(strcmp(got.phone_verified, "13800138000") == 0);
    /* authctl user reset-mfa lands between the read and the re-seal */
    REQUIRE(sms_phone_mark_verified(&T.fa.app, &T.fa.a, a.id, "") == RC_OK);
    REQUIRE(account_reseal(&T.fa.app, &T.fa.a, &got) == RC_OK);
    REQUIRE(account_get(&T.fa.app, &T.fa.a, a.id, &got) == RC_OK);
    CHECK(got.phone_verified[0] == 0);
    CHECK(strcmp(got.data_kid, "m2") == 0);
    down();
}
