/* The one-time code field of the second-factor page (docs/mfa.md): what the citizen typed,
 * a TOTP code (RFC 6238: six digits) or a recovery code (ten characters of the RFC 4648
 * base32 alphabet, shown as "abcde-fghij"), with the spaces and hyphens people type or
 * paste removed and letters lower-cased. Pure; fuzzed (tests/fuzz/fuzz_otp.c). */
#ifndef AUTHD_CORE_OTP_H
#define AUTHD_CORE_OTP_H

#include <stdint.h>

#include "util/rc.h"
#include "util/span.h"

#define OTP_TOTP_DIGITS    6
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

#endif
