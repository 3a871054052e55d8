/* The password authenticator: ID number and password (flow/account.h account_login_try:
 * rate limits and throttling before argon2id, one answer for every refusal). It yields the
 * account's identity level (ial2 self-asserted, ial3 matched) and aal1; amr "pwd".
 *
 * The owner's way past an attack on the number (docs/security.md, "Lockout and
 * throttling"): when the number is over its ceiling, a right password from an address that
 * is not throttled is accepted only with a second factor. It then yields aal0 (AAL_NONE):
 * a session that no request accepts (every request wants aal1 at least,
 * flow/authorize.c) until a second factor (authn_sms, ...) raises it. An account with no
 * second factor enrolled is told to wait (the ceiling's few seconds). */
#include <openssl/crypto.h>

#include "flow/account.h"
#include "flow/authn.h"

static enum rc
verify(struct app *app, struct arena *a, const struct authn_input *in, struct authn_proof *out,
       struct rc_info *ri, uint32_t *retry_s)
{
    struct account acct;
    bool second = false;
    uint32_t wait = 0;
    enum rc rc = account_login_try(app, a, in->id_number, in->secret, in->client_ip, &acct, &second,
                                   ri, &wait);

    *retry_s = rc == RC_LIMITED || second ? wait : 0; /* aal0: the wait if refused later */
    if (rc == RC_OK && second && !authn_second_factor(app, a, acct.id)) {
        rc = rc_fail(ri, RC_LIMITED, RC_WHY_RATE, NULL, "too many attempts on this number");
    } else if (rc == RC_OK) {
        out->account_id = arena_printf(a, "%s", acct.id);
        out->loa = (struct loa){acct.ial, second ? AAL_NONE : AAL1};
        rc = out->account_id ? RC_OK : RC_NOMEM;
    }
    OPENSSL_cleanse(&acct, sizeof(acct));
    return rc;
}

const struct authn authn_password = {
    .name = "password",
    .amr = "pwd",
    .reach = {IAL3, AAL1},
    .needs = AUTHN_NEEDS_ID_NUMBER | AUTHN_NEEDS_SECRET,
    .verify = verify,
};
