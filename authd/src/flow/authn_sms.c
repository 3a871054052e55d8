/* The SMS authenticator: a second factor that raises a browser's session. The code goes
 * to the verified phone number on the account record (flow/sms.h: challenge), and the
 * typed code (the login form's `code`) is checked against it (verify). It says nothing of
 * identity (IAL_NONE) and yields aal2 with the password before it; amr "sms" (RFC 8176
 * §2). */
#include "flow/authn.h"
#include "flow/sms.h"

static enum rc
verify(struct app *app, struct arena *a, const struct authn_input *in, struct authn_proof *out,
       struct rc_info *ri, uint32_t *retry_s)
{
    enum rc rc;

    *retry_s = 0;
    if (!in->session) /* authorize_login checks this; a session is what the code raises */
        return rc_fail(ri, RC_DENIED, RC_WHY_CREDENTIALS, NULL, "no session to raise");
    if ((rc = sms_check(app, a, in->session->account_id, SMS_LOGIN, in->secret, ri)) != RC_OK)
        return rc;
    out->account_id = arena_printf(a, "%s", in->session->account_id);
    out->loa = (struct loa){IAL_NONE, AAL2};
    return out->account_id ? RC_OK : RC_NOMEM;
}

static bool
enrolled(struct app *app, struct arena *a, const char *account_id)
{
    struct account acct;

    return account_get(app, a, account_id, &acct) == RC_OK && !acct.disabled && sms_enrolled(&acct);
}

static enum rc
challenge(struct app *app, struct arena *a, const char *account_id, const char *client_ip,
          struct rc_info *ri, uint32_t *retry_s)
{
    return sms_send(app, a, account_id, SMS_LOGIN, client_ip, app->cfg->sms_lang, ri, retry_s);
}

const struct authn authn_sms = {
    .name = "sms",
    .page = "/mfa/phone",
    .amr = "sms",
    .reach = {IAL_NONE, AAL2},
    .needs = AUTHN_NEEDS_SESSION | AUTHN_NEEDS_SECRET,
    .verify = verify,
    .enrolled = enrolled,
    .challenge = challenge,
};
