/* One-time codes (docs/mfa.md), pure: no I/O, clock or randomness (the caller passes them
 * in); fuzzed (tests/fuzz/fuzz_otp.c).
 * - The code field of the second-factor page: what the citizen typed, a six-digit code
 *   (TOTP, RFC 6238, or an SMS code) or a recovery code (ten characters of the RFC 4648
 *   base32 alphabet, shown as "abcde-fghij"), with the spaces and hyphens people type or
 *   paste removed and letters lower-cased.
 * - SMS codes (flow/sms.h): drawing one, the state of one as the flow keeps it.
 * - The progressive delay of the password throttle (flow/account_login.c). */
#ifndef AUTHD_CORE_OTP_H
#define AUTHD_CORE_OTP_H

#include <stdbool.h>
#include <stdint.h>

#include "util/rc.h"
#include "util/span.h"

#define OTP_TOTP_DIGITS    6
#define OTP_CODE_LEN       OTP_TOTP_DIGITS /* an SMS code: the same six digits */
#define OTP_RECOVERY_LEN   10 /* characters, 50 bits */
#define OTP_RECOVERY_BYTES 10 /* random bytes a code is drawn from (5 bits of each) */
#define OTP_INPUT_MAX      32 /* bytes of the typed field looked at; more is refused */

enum otp_kind { OTP_TOTP = 1, OTP_RECOVERY = 2 };

/* Reads the typed code in. RC_OK: *kind set and out the normalised code (6 digits or 10
 * lower-case base32 characters, NUL-terminated; a secret: wipe it). RC_MALFORMED (neither
 * shape: empty, another length, another character), RC_TOO_LARGE (over OTP_INPUT_MAX). */
enum rc otp_code_parse(struct span in, enum otp_kind *kind, char out[OTP_RECOVERY_LEN + 1]);

/* The recovery code drawn from rnd (normalised form, NUL-terminated). */
void otp_recovery_from(const uint8_t rnd[OTP_RECOVERY_BYTES], char out[OTP_RECOVERY_LEN + 1]);

/* The code as shown to the citizen: "abcde-fghij" (12 bytes with the NUL). */
void otp_recovery_display(const char code[OTP_RECOVERY_LEN + 1], char out[OTP_RECOVERY_LEN + 2]);

/* Writes the SMS code of 4 random bytes into out: their value modulo 10^OTP_CODE_LEN, zero
 * padded (the bias of 2^32 mod 10^6 is below 0.03 %). */
void otp_code_from_random(const uint8_t rnd[4], char out[OTP_CODE_LEN + 1]);

/* The state of one SMS code as the flow keeps it. */
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
