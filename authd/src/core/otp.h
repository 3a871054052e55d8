/* One-time codes and login throttling: the pure arithmetic of the SMS authenticator
 * (flow/sms.h) and of the password throttle (flow/account_login.c). No I/O, clock or
 * randomness: the caller passes them in.
 *
 * A code is OTP_CODE_LEN ASCII digits. What a citizen types may carry spaces (a phone
 * shows "123 456"): otp_code_parse drops ASCII spaces and accepts nothing else. */
#ifndef AUTHD_CORE_OTP_H
#define AUTHD_CORE_OTP_H

#include <stdbool.h>
#include <stdint.h>

#include "util/rc.h"
#include "util/span.h"

#define OTP_CODE_LEN       6
#define OTP_CODE_INPUT_MAX 32 /* bytes typed, spaces included; longer is refused unread */

/* Parses a typed code: exactly OTP_CODE_LEN digits once ASCII spaces are dropped.
 * RC_OK: out holds the digits and a NUL. RC_MALFORMED for anything else (empty, a
 * non-digit, too few or too many digits, over OTP_CODE_INPUT_MAX bytes); out is then
 * wiped. */
enum rc otp_code_parse(struct span in, char out[OTP_CODE_LEN + 1]);

/* Writes the code of 4 random bytes into out: their value modulo 10^OTP_CODE_LEN, zero
 * padded (the bias of 2^32 mod 10^6 is below 0.03 %). */
void otp_code_from_random(const uint8_t rnd[4], char out[OTP_CODE_LEN + 1]);

/* The state of one code as the flow keeps it. */
struct otp_state {
    int64_t expires;   /* unix seconds */
    uint32_t attempts; /* attempts made before this one */
};

/* What a typed code may still do, before it is compared. */
enum otp_verdict {
    OTP_TRY,     /* compare it */
    OTP_EXPIRED, /* past expires: the code is dead */
    OTP_SPENT,   /* max_attempts were made already: the code is dead */
};

/* The verdict for an attempt at now (max_attempts >= 1). */
enum otp_verdict otp_check(const struct otp_state *s, int64_t now, uint32_t max_attempts);

/* The progressive delay of the password throttle: after `failures` failed passwords from
 * one address on one number, the next attempt from there waits this many seconds: 0
 * while failures < free, then 2, 4, 8, ... seconds (doubling with each failure), never
 * more than max_s. */
uint32_t otp_throttle_delay(uint64_t failures, uint32_t free, uint32_t max_s);

#endif
