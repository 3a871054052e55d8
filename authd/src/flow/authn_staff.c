/* The staff authenticator: an employee number and its password (flow/staff.h
 * staff_login), for the staff console's login at /login; aal1, amr "pwd", the session's
 * account the staff id (STAFF_ID_PREFIX + EMP). A second factor (`totp`) raises it to the
 * aal2 that staff endpoints require. Accepted only where policy names it
 * (`authenticators = staff totp`): a citizen client never offers it. */
#include <string.h>

#include "flow/authn.h"
#include "flow/staff.h"

static enum rc
verify(struct app *app, struct arena *a, const struct authn_input *in, struct authn_proof *out,
       struct rc_info *ri, uint32_t *retry_s)
{
    struct staff s;
    enum rc rc = staff_login(app, a, in->id_number, in->secret, in->client_ip, &s, ri, retry_s);

    if (rc != RC_OK)
        return rc;
    out->account_id = arena_strndup(a, s.account_id, strlen(s.account_id));
    out->loa = (struct loa){IAL2, AAL1};
    return out->account_id ? RC_OK : RC_NOMEM;
}

const struct authn authn_staff = {
    .name = "staff",
    .amr = "pwd",
    .reach = {IAL2, AAL1},
    .needs = AUTHN_NEEDS_ID_NUMBER | AUTHN_NEEDS_SECRET,
    .verify = verify,
    .named_only = true,
};
