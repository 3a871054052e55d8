#include <string.h>

#include "core/otp.h"
#include "test.h"

TEST(otp_code_parse_reads_totp_and_recovery_codes)
{
    char out[OTP_RECOVERY_LEN + 1];
    enum otp_kind k;

    CHECK_RC(otp_code_parse(SPAN("123456"), &k, out), RC_OK);
    CHECK_INT(k, OTP_TOTP);
    CHECK_STR(out, "123456");
    CHECK_RC(otp_code_parse(SPAN(" 123 456 "), &k, out), RC_OK);
    CHECK_STR(out, "123456");
    CHECK_RC(otp_code_parse(SPAN("ABCDE-fgh23"), &k, out), RC_OK);
    CHECK_INT(k, OTP_RECOVERY);
    CHECK_STR(out, "abcdefgh23");
    CHECK_RC(otp_code_parse(SPAN(""), &k, out), RC_MALFORMED);
    CHECK_RC(otp_code_parse(SPAN("12345"), &k, out), RC_MALFORMED);
    CHECK_RC(otp_code_parse(SPAN("1234567"), &k, out), RC_MALFORMED);
    CHECK_RC(otp_code_parse(SPAN("12345a"), &k, out), RC_MALFORMED);
    CHECK_RC(otp_code_parse(SPAN("abcdefgh19"), &k, out), RC_MALFORMED); /* 1, 9 not base32 */
    CHECK_RC(otp_code_parse(SPAN("abcdefghijk"), &k, out), RC_MALFORMED);
    CHECK_RC(otp_code_parse(span_of("123\0456", 7), &k, out), RC_MALFORMED);
    CHECK_RC(otp_code_parse(SPAN("1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7"), &k, out), RC_TOO_LARGE);
}

TEST(otp_recovery_codes_are_drawn_and_shown_in_two_halves)
{
    uint8_t rnd[OTP_RECOVERY_BYTES] = {0, 1, 2, 25, 26, 31, 32, 255, 7, 8};
    char code[OTP_RECOVERY_LEN + 1], shown[OTP_RECOVERY_LEN + 2], back[OTP_RECOVERY_LEN + 1];
    enum otp_kind k;

    otp_recovery_from(rnd, code);
    CHECK_STR(code, "abcz27a7hi");
    otp_recovery_display(code, shown);
    CHECK_STR(shown, "abcz2-7a7hi");
    CHECK_RC(otp_code_parse(span_str(shown), &k, back), RC_OK);
    CHECK_STR(back, code);
}

TEST(otp_code_from_random_is_six_padded_digits)
{
    char out[OTP_CODE_LEN + 1];

    otp_code_from_random((const uint8_t[]){0, 0, 0, 7}, out);
    CHECK_STR(out, "000007");
    otp_code_from_random((const uint8_t[]){0xff, 0xff, 0xff, 0xff}, out); /* 4294967295 */
    CHECK_STR(out, "967295");
}

TEST(otp_check_counts_attempts_and_expiry)
{
    struct otp_state s = {1000, 0};

    CHECK_INT(otp_check(&s, 999, 5), OTP_TRY);
    CHECK_INT(otp_check(&s, 1000, 5), OTP_EXPIRED); /* the expiry instant is dead already */
    s.attempts = 4;
    CHECK_INT(otp_check(&s, 10, 5), OTP_TRY); /* the fifth attempt may be made */
    s.attempts = 5;
    CHECK_INT(otp_check(&s, 10, 5), OTP_SPENT); /* the sixth may not, right or wrong */
    s.attempts = 4000000000u;
    CHECK_INT(otp_check(&s, 10, 5), OTP_SPENT);
}

TEST(otp_throttle_delay_doubles_from_the_free_failures_up_to_the_cap)
{
    CHECK_INT(otp_throttle_delay(0, 5, 900), 0);
    CHECK_INT(otp_throttle_delay(4, 5, 900), 0);
    CHECK_INT(otp_throttle_delay(5, 5, 900), 2);
    CHECK_INT(otp_throttle_delay(6, 5, 900), 4);
    CHECK_INT(otp_throttle_delay(7, 5, 900), 8);
    CHECK_INT(otp_throttle_delay(13, 5, 900), 512);
    CHECK_INT(otp_throttle_delay(14, 5, 900), 900);
    CHECK_INT(otp_throttle_delay(1000, 5, 900), 900);
    CHECK_INT(otp_throttle_delay(UINT64_MAX, 5, 900), 900);
    CHECK_INT(otp_throttle_delay(1, 1, 3), 2);
    CHECK_INT(otp_throttle_delay(2, 1, 3), 3);
    CHECK_INT(otp_throttle_delay(0, 0, 60), 2); /* no free failure at all */
}
