/* One-time codes and the throttle's arithmetic (see otp.h). */
#include "core/otp.h"

#include <openssl/crypto.h>
#include <string.h>

enum rc
otp_code_parse(struct span in, char out[OTP_CODE_LEN + 1])
{
    size_t n = 0;

    memset(out, 0, OTP_CODE_LEN + 1);
    if (in.len == 0 || in.len > OTP_CODE_INPUT_MAX)
        return RC_MALFORMED;
    for (size_t i = 0; i < in.len; i++) {
        uint8_t c = in.p[i];
        if (c == ' ')
            continue;
        if (c < '0' || c > '9' || n == OTP_CODE_LEN) {
            OPENSSL_cleanse(out, OTP_CODE_LEN + 1);
            return RC_MALFORMED;
        }
        out[n++] = (char)c;
    }
    if (n != OTP_CODE_LEN) {
        OPENSSL_cleanse(out, OTP_CODE_LEN + 1);
        return RC_MALFORMED;
    }
    return RC_OK;
}

void
otp_code_from_random(const uint8_t rnd[4], char out[OTP_CODE_LEN + 1])
{
    uint32_t v = (uint32_t)rnd[0] << 24 | (uint32_t)rnd[1] << 16 | (uint32_t)rnd[2] << 8 | rnd[3];

    v %= 1000000u;
    for (int i = OTP_CODE_LEN - 1; i >= 0; i--, v /= 10)
        out[i] = (char)('0' + v % 10);
    out[OTP_CODE_LEN] = 0;
}

enum otp_verdict
otp_check(const struct otp_state *s, int64_t now, uint32_t max_attempts)
{
    if (now >= s->expires)
        return OTP_EXPIRED;
    if (s->attempts >= max_attempts)
        return OTP_SPENT;
    return OTP_TRY;
}

uint32_t
otp_throttle_delay(uint64_t failures, uint32_t free, uint32_t max_s)
{
    uint64_t steps;

    if (failures < free)
        return 0;
    steps = failures - free + 1; /* the free-th failure already waits 2 s */
    if (steps >= 31)
        return max_s;
    return (uint64_t)1 << steps < max_s ? (uint32_t)1 << steps : max_s;
}
