/* libFuzzer target: the one-time code field of the second-factor page (core/otp.c). What
 * it accepts must be six digits or ten base32 characters, as otp.h promises. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/otp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char out[OTP_RECOVERY_LEN + 1];
    enum otp_kind kind;
    size_t n;

    if (otp_code_parse(span_of(data, size), &kind, out) != RC_OK)
        return 0;
    n = strlen(out);
    if (kind == OTP_TOTP && (n != OTP_TOTP_DIGITS || strspn(out, "0123456789") != n))
        abort();
    if (kind == OTP_RECOVERY
        && (n != OTP_RECOVERY_LEN || strspn(out, "abcdefghijklmnopqrstuvwxyz234567") != n))
        abort();
    if (kind != OTP_TOTP && kind != OTP_RECOVERY)
        abort();
    return 0;
}
