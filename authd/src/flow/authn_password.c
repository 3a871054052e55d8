/* The password authenticator: ID number and password (flow/account.h account_login_ex:
 * rate limits and lockout before argon2id, one answer for every refusal). It yields the
 * account's identity level (ial2 self-asserted, ial3 matched) and aal1; amr "pwd". */
#include <openssl/crypto.h>

#include "flow/account.h"
#include "flow/authn.h"

static enum rc
verify(struct app *app, struct arena *a, const struct authn_input *in, struct authn_proof *out,
       struct rc_info *ri, uint32_t *retry_s)
{
    struct account acct;
    enum rc rc =
        account_login_ex(app, a, in->id_number, in->secret, in->client_ip, &acct, ri, retry_s);

    if (rc == RC_OK) {
        out->account_id = arena_printf(a, "%s", acct.id);
        out->loa = (struct loa){acct.ial, AAL1};
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
