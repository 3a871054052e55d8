/* The second-factor page of a step-up: which factors the account behind the browser's
 * session has, among those the request accepts (each authenticator's `enrolled` hook,
 * flow/authn.h). */
#include <string.h>

#include "flow/authn.h"
#include "flow/authorize_int.h"
#include "flow/clients.h"

enum rc
authorize_factors(struct app *app, struct arena *a, const struct authz_req *r,
                  struct span session_cookie, struct span authn, struct authorize_factors *out)
{
    struct policy *p;
    const struct policy_client *cl;
    const struct authn *m;
    struct session s;
    enum rc rc;

    memset(out, 0, sizeof(*out));
    if ((rc = session_load(app, a, session_cookie, &s)) != RC_OK)
        return rc;
    if (!(p = app_policy_get(app)))
        return RC_UNAVAILABLE;
    cl = client_resolve(app, p, span_str(r->client_id));
    for (size_t i = 0; (m = authn_at(i)); i++) {
        bool has;
        if (!(m->needs & AUTHN_NEEDS_SESSION) || !authn_accepted(p, cl, r->scope, m))
            continue;
        has = !m->enrolled || m->enrolled(app, a, s.account_id);
        if (span_eq_str(authn, m->name)) {
            out->asked = m->name;
            out->asked_enrolled = has;
            out->asked_challenge = m->challenge != NULL;
        } else if (has && out->nother < AUTHORIZE_FACTORS_MAX) {
            out->other[out->nother++] = m->name;
        }
    }
    app_policy_put(p);
    return RC_OK;
}
