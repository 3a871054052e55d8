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
