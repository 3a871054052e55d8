/* The one-time code field (see otp.h). */
#include "core/otp.h"

#include <string.h>

static const char b32[] = "abcdefghijklmnopqrstuvwxyz234567"; /* RFC 4648 §6, lower case */

enum rc
otp_code_parse(struct span in, enum otp_kind *kind, char out[OTP_RECOVERY_LEN + 1])
{
    size_t n = 0, digits = 0;

    if (in.len > OTP_INPUT_MAX)
        return RC_TOO_LARGE;
    for (size_t i = 0; i < in.len; i++) {
        uint8_t c = in.p[i];
        if (c == ' ' || c == '-')
            continue;
        if (c >= 'A' && c <= 'Z')
            c = (uint8_t)(c - 'A' + 'a');
        if (!(c >= '0' && c <= '9') && !memchr(b32, c, 32))
            return RC_MALFORMED;
        if (n == OTP_RECOVERY_LEN)
            return RC_MALFORMED;
        digits += c >= '0' && c <= '9';
        out[n++] = (char)c;
    }
    out[n] = 0;
    if (n == OTP_TOTP_DIGITS && digits == n) {
        *kind = OTP_TOTP;
        return RC_OK;
    }
    for (size_t i = 0; i < n; i++) /* 0, 1, 8, 9 are not base32 */
        if (!memchr(b32, out[i], 32))
            return RC_MALFORMED;
    if (n != OTP_RECOVERY_LEN)
        return RC_MALFORMED;
    *kind = OTP_RECOVERY;
    return RC_OK;
}

void
otp_recovery_from(const uint8_t rnd[OTP_RECOVERY_BYTES], char out[OTP_RECOVERY_LEN + 1])
{
    for (size_t i = 0; i < OTP_RECOVERY_LEN; i++)
        out[i] = b32[rnd[i] & 31];
    out[OTP_RECOVERY_LEN] = 0;
}

void
otp_recovery_display(const char code[OTP_RECOVERY_LEN + 1], char out[OTP_RECOVERY_LEN + 2])
{
    memcpy(out, code, 5);
    out[5] = '-';
    memcpy(out + 6, code + 5, 5);
    out[11] = 0;
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
