/* core/otp: typed codes, code generation, the verdict on an attempt (expiry, attempt
 * count) and the password throttle's progressive delays. */
#include <string.h>

#include "core/otp.h"
#include "test.h"

TEST(otp_code_parse_takes_six_digits_with_spaces)
{
    char out[OTP_CODE_LEN + 1];

    CHECK_RC(otp_code_parse(SPAN("123456"), out), RC_OK);
    CHECK_STR(out, "123456");
    CHECK_RC(otp_code_parse(SPAN(" 012 345 "), out), RC_OK);
    CHECK_STR(out, "012345");
}

TEST(otp_code_parse_refuses_every_other_shape)
{
    static const char *const bad[] = {"",        "12345",  "1234567",
                                      "12a456",  "١٢٣٤٥٦", "123\t456",
                                      "123-456", "      ", "1 2 3 4 5 6                          "};
    char out[OTP_CODE_LEN + 1];

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        CHECK_RC(otp_code_parse(SPAN(bad[i]), out), RC_MALFORMED);
        CHECK_STR(out, ""); /* wiped */
    }
    CHECK_RC(otp_code_parse(span_of("123\0"
                                    "456",
                                    7),
                            out),
             RC_MALFORMED);
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
