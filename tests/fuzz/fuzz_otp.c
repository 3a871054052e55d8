/* libFuzzer target: the typed one-time code (core/otp.c otp_code_parse). A code accepted
 * must be exactly OTP_CODE_LEN digits, NUL-terminated, made of the input's digits in order;
 * a refused one leaves the output wiped. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/otp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char out[OTP_CODE_LEN + 1], digits[OTP_CODE_INPUT_MAX + 1];
    size_t n = 0;
    enum rc rc = otp_code_parse(span_of(data, size), out);

    for (size_t i = 0; i < size && n < OTP_CODE_INPUT_MAX; i++)
        if (data[i] != ' ')
            digits[n++] = (char)data[i];
    if (rc == RC_OK) {
        if (out[OTP_CODE_LEN] != 0 || strlen(out) != OTP_CODE_LEN || n != OTP_CODE_LEN
            || memcmp(out, digits, OTP_CODE_LEN) != 0 || size > OTP_CODE_INPUT_MAX)
            abort();
        for (size_t i = 0; i < OTP_CODE_LEN; i++)
            if (out[i] < '0' || out[i] > '9')
                abort();
    } else {
        for (size_t i = 0; i <= OTP_CODE_LEN; i++)
            if (out[i] != 0)
                abort();
    }
    return 0;
}
