/* The second-factor authenticator: a code from the citizen's TOTP app or one of the
 * recovery codes (flow/totp.h), typed on the second-factor page. It raises the browser's
 * session (AUTHN_NEEDS_SESSION) to aal2 and says nothing of identity; amr "otp" (RFC 8176
 * §2) for both kinds of code: a recovery code is a one-time password the citizen was given
 * at enrolment (docs/mfa.md). */
#include "flow/authn.h"
#include "flow/totp.h"

static enum rc
verify(struct app *app, struct arena *a, const struct authn_input *in, struct authn_proof *out,
       struct rc_info *ri, uint32_t *retry_s)
{
    enum otp_kind kind;
    enum rc rc;

    if (!in->session)
        return rc_fail(ri, RC_DENIED, RC_WHY_CREDENTIALS, "code", "no session to raise");
    rc = totp_verify(app, a, in->session->account_id, in->secret, &kind, retry_s);
    if (rc == RC_MALFORMED)
        return rc_fail(ri, RC_DENIED, RC_WHY_CREDENTIALS, "code", "not a code");
    if (rc != RC_OK)
        return rc;
    out->account_id = in->session->account_id;
    out->loa = (struct loa){IAL_NONE, AAL2};
    return RC_OK;
}

const struct authn authn_totp = {
    .name = "totp",
    .page = "/mfa/totp",
    .amr = "otp",
    .reach = {IAL_NONE, AAL2},
    .needs = AUTHN_NEEDS_SESSION | AUTHN_NEEDS_SECRET,
    .verify = verify,
    .enrolled = totp_enrolled,
};
