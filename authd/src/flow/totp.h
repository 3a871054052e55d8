/* Second factors of an account: a TOTP authenticator app (RFC 6238: HMAC-SHA-1, six
 * digits, 30-second steps, one step of clock drift either way) and ten single-use recovery
 * codes (docs/mfa.md).
 *
 * Store keys (docs/storage.md), all under the account's hash tag:
 *   authd:totp:{ACCT}            record: `seed` (the 20-byte seed sealed by core/seal under
 *                                the master key's "authd totp v1" key, AAD the account id),
 *                                `created`; no TTL (until removed or reset-mfa)
 *   authd:totp:{ACCT}:new        value: the sealed seed of an enrolment not yet confirmed;
 *                                TTL TOTP_ENROL_TTL_S
 *   authd:totp:{ACCT}:step:N     value "1": time step N was accepted (put-if-absent, so that
 *                                every node refuses a second use of it); TTL TOTP_STEP_TTL_S
 *   authd:totp:{ACCT}:recovery   set: HMAC(SECRET_TOKEN, "recovery", ACCT, code) in hex of
 *                                each unused recovery code; a use removes its member
 *                                (atomically: one use only); no TTL
 * Attempts are limited per account (flow/ratelimit.h, "otp:acct", config
 * rate_otp_per_account per rate_window_s) before any code is checked. Seeds and codes are
 * wiped after use and never logged. */
#ifndef AUTHD_FLOW_TOTP_H
#define AUTHD_FLOW_TOTP_H

#include <stdbool.h>
#include <stdint.h>

#include "core/otp.h"
#include "flow/app.h"
#include "flow/session.h"

#define TOTP_SEED_LEN    20 /* bytes: 160 bits, RFC 4226 §4 R6 */
#define TOTP_STEP_S      30
#define TOTP_WINDOW      1 /* steps of drift accepted on each side */
#define TOTP_ENROL_TTL_S 600
#define TOTP_STEP_TTL_S  (TOTP_STEP_S * (2 * TOTP_WINDOW + 2))
#define TOTP_B32_MAX     64 /* base32 of the seed, with the NUL */
#define TOTP_NCODES      10 /* recovery codes in a set */

/* liboath's one-time set-up; the composition root calls it once at start. RC_INTERNAL. */
enum rc totp_library_init(void);

/* The sealed seed blob of account_id opened and sealed again under the current data key
 * (flow/rewrap.h re-seals every seed after `authctl keys rotate-data`). RC_OK: *out in a.
 * RC_INTERNAL (the blob does not open: logged), RC_UNAVAILABLE, RC_NOMEM. */
enum rc totp_seed_reseal(struct app *app, struct arena *a, const char *account_id, struct span blob,
                         struct span *out);

/* True if account_id has a confirmed TOTP authenticator; false on a store failure too (the
 * page then offers nothing it cannot check). */
bool totp_enrolled(struct app *app, struct arena *a, const char *account_id);

/* What the enrolment page shows. */
struct totp_enrolment {
    char secret_b32[TOTP_B32_MAX]; /* for manual entry: a secret, wipe it */
    const char *uri;               /* otpauth://totp/...: in a, a secret */
};

/* Starts (or shows again, while it lasts) the enrolment of account_id: a new seed, sealed
 * under authd:totp:{ACCT}:new. The URI's label is issuer:masked ID number (core/mask).
 * RC_OK: *out filled. RC_CONFLICT (already enrolled: remove it first), RC_NOT_FOUND (no
 * such account), RC_UNAVAILABLE, RC_NOMEM, RC_INTERNAL. */
enum rc totp_enrol_begin(struct app *app, struct arena *a, const char *account_id,
                         struct totp_enrolment *out);

/* Confirms the enrolment with a code from the app (the pending seed, ±TOTP_WINDOW steps,
 * step not used before) and issues the first recovery codes. RC_OK: codes[] hold them (for
 * showing once; secrets, wipe them). RC_DENIED (wrong or reused code), RC_MALFORMED (not
 * six digits), RC_EXPIRED (no enrolment under way), RC_CONFLICT (already enrolled),
 * RC_LIMITED (*retry_s), RC_UNAVAILABLE. */
enum rc totp_enrol_confirm(struct app *app, struct arena *a, const char *account_id,
                           struct span code, char codes[TOTP_NCODES][OTP_RECOVERY_LEN + 1],
                           uint32_t *retry_s);

/* Checks a typed code of account_id: a TOTP code of its app (±TOTP_WINDOW steps, each step
 * once) or one of its recovery codes (each once). RC_OK: *kind says which. RC_DENIED
 * (wrong, reused, out of the window, or no factor: one answer), RC_MALFORMED (neither
 * shape), RC_LIMITED (*retry_s), RC_UNAVAILABLE. */
enum rc totp_verify(struct app *app, struct arena *a, const char *account_id, struct span code,
                    enum otp_kind *kind, uint32_t *retry_s);

/* Replaces the recovery codes of s's account with ten new ones (the old set stops working
 * in the same step). s must be fresh at aal2 as for totp_remove (else RC_EXPIRED): a
 * password alone must not yield codes that pass for the second factor. RC_OK: codes[]
 * filled. RC_DENIED (no TOTP enrolled), RC_UNAVAILABLE. */
enum rc totp_recovery_regenerate(struct app *app, struct arena *a, const struct session *s,
                                 char codes[TOTP_NCODES][OTP_RECOVERY_LEN + 1]);

/* The number of unused recovery codes of account_id. RC_OK, RC_UNAVAILABLE. */
enum rc totp_recovery_left(struct app *app, struct arena *a, const char *account_id, size_t *n);

/* Removes the TOTP factor and the recovery codes of s's account: s must have been
 * authenticated at aal2 at most config mfa_remove_max_age_s ago (session_fresh), else
 * RC_EXPIRED. RC_OK (also when there was nothing), RC_UNAVAILABLE. */
enum rc totp_remove(struct app *app, struct arena *a, const struct session *s);

/* The service desk's reset (authctl user reset-mfa): removes every second factor of
 * account_id, with no session check. RC_OK, RC_NOT_FOUND (nothing to remove),
 * RC_UNAVAILABLE. */
enum rc totp_reset(struct app *app, struct arena *a, const char *account_id);

#endif
