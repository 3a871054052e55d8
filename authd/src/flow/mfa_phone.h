/* Verifying the phone number on the account record (/mfa/phone): a citizen with an SSO
 * session (aal1 at least) has a code sent to the number on record (flow/sms.h, purpose
 * SMS_PHONE, with every SMS limit) and types it back; the account then holds the number as
 * verified (field phone_verified), which makes SMS a second factor of the account
 * (authn_sms). The number itself is never taken from the request: it is the one given at
 * registration. Registration does not mark it verified: nothing was sent to it then.
 *
 * The forms' CSRF tokens (flow/csrf.h, form "mfa_phone") are bound to the session's store
 * tag, which no page or token shows. */
#ifndef AUTHD_FLOW_MFA_PHONE_H
#define AUTHD_FLOW_MFA_PHONE_H

#include <stdbool.h>
#include <stdint.h>

#include "flow/app.h"
#include "flow/csrf.h"
#include "util/arena.h"

/* What the page shows. Strings in the arena. */
struct mfa_phone_page {
    const char *phone_masked; /* "138****0001", "" when no number is on record */
    bool verified;
    char csrf[CSRF_LEN + 1];
};

/* The page for the session of cookie. RC_OK: *out filled. RC_NOT_FOUND: no session (or
 * one below aal1, or its account is gone): the citizen must sign in. RC_UNAVAILABLE. */
enum rc mfa_phone_page(struct app *app, struct arena *a, struct span cookie,
                       struct mfa_phone_page *out);

/* action "send": a code to the number on record (sms_send, SMS_PHONE, in lang);
 * "verify": checks code and marks the number verified. csrf is checked first.
 * RC_OK. RC_NOT_FOUND (no session, as above), RC_DENIED with RC_WHY_CSRF, RC_WHY_NO_PHONE
 * (nothing on record) or RC_WHY_CREDENTIALS (a wrong, expired, used or dead code),
 * RC_MALFORMED with RC_WHY_PARAM (no such action), RC_LIMITED with RC_WHY_RATE
 * (*retry_s), RC_UNAVAILABLE. */
enum rc mfa_phone_post(struct app *app, struct arena *a, struct span cookie, struct span csrf,
                       struct span action, struct span code, const char *client_ip,
                       const char *lang, struct rc_info *ri, uint32_t *retry_s);

#endif
