/* flow/totp: enrolment, codes computed by liboath's generator from the secret the page
 * shows, the drift window, replay, recovery codes, sealing at rest, removal. */
#include <liboath/oath.h>
#include <stdlib.h>
#include <string.h>

#include "core/idnum.h"
#include "fakes.h"
#include "flow/account.h"
#include "flow/atrest.h"
#include "flow/totp.h"
#include "log/log.h"
#include "port/store.h"
#include "test.h"

#define NOW 1740787200 /* a multiple of 30: the start of a step */

static struct {
    struct fake_app fa;
    struct account acct;
    char idn[19];
    uint8_t seed[64];
    size_t seedlen;
} T;

static int
up(void)
{
    struct register_req rq = {.name = span_str("张三"), .password = SPAN("Long-enough-1")};
    struct account_add_opts o = {.skip_popbase = true};

    memset(&T, 0, sizeof(T));
    log_setup(LOG_ERROR, 2);
    if (totp_library_init() != RC_OK || fake_app_up(&T.fa, "[scope openid]\nclaims = sub\n", NOW))
        return -1;
    T.fa.cfg.mfa_remove_max_age_s = 600;
    memcpy(T.idn, "11010519900307123", 17);
    T.idn[17] = idnum_check_char(T.idn);
    rq.id_number = span_str(T.idn);
    return account_add(&T.fa.app, &T.fa.a, &rq, &o, &T.acct, NULL) == RC_OK ? 0 : -1;
}

static void
down(void)
{
    fake_app_down(&T.fa);
    memset(&T, 0, sizeof(T));
}

/* The code of the seed at time t, by liboath's generator. */
static const char *
code_at(int64_t t)
{
    static char out[8];

    if (oath_totp_generate((const char *)T.seed, T.seedlen, (time_t)t, 30, 0, 6, out) != OATH_OK)
        abort();
    return out;
}

/* Enrols the account: begin, decode the secret shown, confirm with the current code. */
static void
enrol(char codes[TOTP_NCODES][OTP_RECOVERY_LEN + 1])
{
    struct totp_enrolment e;
    char *bin = NULL;
    uint32_t retry = 0;

    REQUIRE(totp_enrol_begin(&T.fa.app, &T.fa.a, T.acct.id, &e) == RC_OK);
    REQUIRE(oath_base32_decode(e.secret_b32, strlen(e.secret_b32), &bin, &T.seedlen) == OATH_OK);
    REQUIRE(T.seedlen == TOTP_SEED_LEN);
    memcpy(T.seed, bin, T.seedlen);
    free(bin);
    REQUIRE(totp_enrol_confirm(&T.fa.app, &T.fa.a, T.acct.id, span_str(code_at(fake_now)), codes,
                               &retry)
            == RC_OK);
}

static enum rc
verify(const char *code)
{
    enum otp_kind kind;
    uint32_t retry = 0;

    return totp_verify(&T.fa.app, &T.fa.a, T.acct.id, span_str(code), &kind, &retry);
}

TEST(totp_enrolment_shows_an_otpauth_uri_and_needs_a_correct_code)
{
    struct totp_enrolment e, again;
    char codes[TOTP_NCODES][OTP_RECOVERY_LEN + 1];
    uint32_t retry = 0;

    REQUIRE(up() == 0);
    CHECK(!totp_enrolled(&T.fa.app, &T.fa.a, T.acct.id));
    REQUIRE(totp_enrol_begin(&T.fa.app, &T.fa.a, T.acct.id, &e) == RC_OK);
    CHECK_INT(strlen(e.secret_b32), 32);
    /* the masked ID number as the account name, never the number */
    CHECK(strncmp(e.uri, "otpauth://totp/authd:110105%2A%2A%2A%2A%2A%2A%2A%2A", 51) == 0);
    CHECK(strstr(e.uri, T.idn) == NULL);
    CHECK(strstr(e.uri, e.secret_b32) != NULL);
    CHECK(strstr(e.uri, "&issuer=authd&algorithm=SHA1&digits=6&period=30") != NULL);
    /* the page shown again: the same secret while the enrolment lasts */
    REQUIRE(totp_enrol_begin(&T.fa.app, &T.fa.a, T.acct.id, &again) == RC_OK);
    CHECK_STR(again.secret_b32, e.secret_b32);
    CHECK_RC(totp_enrol_confirm(&T.fa.app, &T.fa.a, T.acct.id, SPAN("12345"), codes, &retry),
             RC_MALFORMED);
    CHECK_RC(totp_enrol_confirm(&T.fa.app, &T.fa.a, T.acct.id, SPAN("000000"), codes, &retry),
             RC_DENIED);
    CHECK(!totp_enrolled(&T.fa.app, &T.fa.a, T.acct.id));
    enrol(codes);
    CHECK(totp_enrolled(&T.fa.app, &T.fa.a, T.acct.id));
    CHECK_RC(totp_enrol_begin(&T.fa.app, &T.fa.a, T.acct.id, &e), RC_CONFLICT);
    down();
}

TEST(totp_seed_is_sealed_at_rest)
{
    char codes[TOTP_NCODES][OTP_RECOVERY_LEN + 1];
    struct store_record rec;
    struct span seed;
    char *b32 = NULL;
    size_t n = 0;

    REQUIRE(up() == 0);
    enrol(codes);
    REQUIRE(store_rec_get(T.fa.app.store, &T.fa.a,
                          store_key(&T.fa.a, "totp", span_str(T.acct.id), NULL), &rec)
            == RC_OK);
    seed = store_rec_field(&rec, "seed");
    REQUIRE(seed.p != NULL);
    CHECK(strncmp((const char *)seed.p, "s1.m1.", 6) == 0);
    CHECK(memmem(seed.p, seed.len, T.seed, T.seedlen) == NULL);
    REQUIRE(oath_base32_encode((const char *)T.seed, T.seedlen, &b32, &n) == OATH_OK);
    CHECK(memmem(seed.p, seed.len, b32, n) == NULL);
    free(b32);
    down();
}

TEST(totp_seed_of_an_older_data_key_still_opens_and_new_ones_use_the_new_key)
{
    char codes[TOTP_NCODES][OTP_RECOVERY_LEN + 1];
    struct store_record rec;
    struct totp_enrolment e;
    struct span blob;
    uint32_t gen = 0;

    REQUIRE(up() == 0);
    enrol(codes); /* under m1 */
    REQUIRE(atrest_rotate(&T.fa.app, &T.fa.a, &gen) == RC_OK);
    CHECK(gen == 2);
    CHECK_RC(verify(code_at(NOW + 30)), RC_OK); /* the m1 seed opens after the switch */
    REQUIRE(store_rec_get(T.fa.app.store, &T.fa.a,
                          store_key(&T.fa.a, "totp", span_str(T.acct.id), NULL), &rec)
            == RC_OK);
    CHECK(strncmp((const char *)store_rec_field(&rec, "seed").p, "s1.m1.", 6) == 0);
    /* a new enrolment (after removal) is sealed under m2 */
    REQUIRE(store_del(T.fa.app.store, store_key(&T.fa.a, "totp", span_str(T.acct.id), NULL))
            == RC_OK);
    REQUIRE(totp_enrol_begin(&T.fa.app, &T.fa.a, T.acct.id, &e) == RC_OK);
    REQUIRE(store_get(T.fa.app.store, &T.fa.a,
                      store_key(&T.fa.a, "totp", span_str(T.acct.id), ":new"), &blob)
            == RC_OK);
    CHECK(strncmp((const char *)blob.p, "s1.m2.", 6) == 0);
    down();
}

TEST(totp_accepts_one_step_of_drift_and_each_step_once)
{
    char codes[TOTP_NCODES][OTP_RECOVERY_LEN + 1];

    REQUIRE(up() == 0);
    enrol(codes);                                   /* used the code of step NOW/30 */
    CHECK_RC(verify(code_at(NOW)), RC_DENIED);      /* replay of the same step */
    CHECK_RC(verify(code_at(NOW + 30)), RC_OK);     /* the phone a step ahead */
    CHECK_RC(verify(code_at(NOW + 30)), RC_DENIED); /* once */
    CHECK_RC(verify(code_at(NOW - 30)), RC_OK);     /* a step behind */
    CHECK_RC(verify(code_at(NOW + 60)), RC_DENIED); /* two steps: out of the window */
    CHECK_RC(verify(code_at(NOW - 60)), RC_DENIED);
    fake_now = NOW + 60;
    CHECK_RC(verify(code_at(NOW + 60)), RC_OK); /* its own time */
    CHECK_RC(verify("12345"), RC_MALFORMED);
    CHECK_RC(verify("12345a"), RC_MALFORMED);
    down();
}

TEST(totp_recovery_codes_work_once_and_regenerating_drops_the_old_set)
{
    char codes[TOTP_NCODES][OTP_RECOVERY_LEN + 1], fresh[TOTP_NCODES][OTP_RECOVERY_LEN + 1];
    char shown[OTP_RECOVERY_LEN + 2];
    size_t left = 0;

    REQUIRE(up() == 0);
    enrol(codes);
    CHECK_RC(totp_recovery_left(&T.fa.app, &T.fa.a, T.acct.id, &left), RC_OK);
    CHECK_INT(left, 10);
    otp_recovery_display(codes[0], shown);
    CHECK_RC(verify(shown), RC_OK); /* as shown: with the hyphen */
    CHECK_RC(verify(codes[0]), RC_DENIED);
    CHECK_RC(verify(codes[1]), RC_OK);
    CHECK_RC(totp_recovery_left(&T.fa.app, &T.fa.a, T.acct.id, &left), RC_OK);
    CHECK_INT(left, 8);
    struct session s = {.loa = {IAL2, AAL1}, .auth_time = NOW};
    strcpy(s.account_id, T.acct.id);
    CHECK_RC(totp_recovery_regenerate(&T.fa.app, &T.fa.a, &s, fresh), RC_EXPIRED); /* aal1 */
    s.loa.aal = AAL2;
    CHECK_RC(totp_recovery_regenerate(&T.fa.app, &T.fa.a, &s, fresh), RC_OK);
    CHECK_RC(verify(codes[2]), RC_DENIED); /* the old set is gone */
    CHECK_RC(verify(fresh[2]), RC_OK);
    CHECK_RC(verify("abcde-fghij"), RC_DENIED);
    CHECK_RC(totp_recovery_left(&T.fa.app, &T.fa.a, T.acct.id, &left), RC_OK);
    CHECK_INT(left, 9);
    down();
}

TEST(totp_removal_needs_a_fresh_aal2_session)
{
    char codes[TOTP_NCODES][OTP_RECOVERY_LEN + 1];
    struct session s = {.loa = {IAL2, AAL1}, .auth_time = NOW};

    REQUIRE(up() == 0);
    enrol(codes);
    strcpy(s.account_id, T.acct.id);
    CHECK_RC(totp_remove(&T.fa.app, &T.fa.a, &s), RC_EXPIRED); /* aal1 */
    s.loa.aal = AAL2;
    fake_now = NOW + 601;
    CHECK_RC(totp_remove(&T.fa.app, &T.fa.a, &s), RC_EXPIRED); /* too long ago */
    CHECK(totp_enrolled(&T.fa.app, &T.fa.a, T.acct.id));
    s.auth_time = NOW + 600;
    CHECK_RC(totp_remove(&T.fa.app, &T.fa.a, &s), RC_OK);
    CHECK(!totp_enrolled(&T.fa.app, &T.fa.a, T.acct.id));
    CHECK_RC(verify(codes[0]), RC_DENIED); /* the recovery codes went with it */
    CHECK_RC(totp_reset(&T.fa.app, &T.fa.a, T.acct.id), RC_NOT_FOUND);
    down();
}

TEST(totp_attempts_are_limited_per_account)
{
    char codes[TOTP_NCODES][OTP_RECOVERY_LEN + 1];
    uint32_t retry = 0;
    enum otp_kind kind;

    REQUIRE(up() == 0);
    enrol(codes);
    T.fa.cfg.rate_otp_per_account = 3;
    for (int i = 0; i < 3; i++)
        CHECK_RC(verify("000000"), RC_DENIED);
    CHECK_RC(
        totp_verify(&T.fa.app, &T.fa.a, T.acct.id, span_str(code_at(fake_now + 30)), &kind, &retry),
        RC_LIMITED);
    CHECK(retry >= 1);
    down();
}

TEST(totp_fails_closed_when_the_store_is_down)
{
    char codes[TOTP_NCODES][OTP_RECOVERY_LEN + 1];
    struct store *st;

    REQUIRE(up() == 0);
    enrol(codes);
    st = T.fa.app.store;
    T.fa.app.store = &fake_store_down;
    CHECK_RC(verify(code_at(NOW + 30)), RC_UNAVAILABLE);
    CHECK(!totp_enrolled(&T.fa.app, &T.fa.a, T.acct.id));
    T.fa.app.store = st;
    down();
}
