/* The second-factor page of a step-up: /login?authz=ID&authn=NAME when NAME is a
 * session-raising authenticator (flow/authn.h AUTHN_NEEDS_SESSION). The same layout,
 * languages and security headers as the login form; no JavaScript. Its forms post to
 * /login: the code (authn=NAME, code), "send me a code" (challenge=1, for an authenticator
 * with a challenge hook) and "not now" (decline=1: the client gets access_denied or
 * unmet_authentication_requirements). A citizen without the factor is offered enrolment
 * (/mfa/totp?authz=ID) and the other factors the account has. */
#ifndef AUTHD_HTTP_PAGE_STEPUP_H
#define AUTHD_HTTP_PAGE_STEPUP_H

#include <stdbool.h>

#include "flow/authorize.h"
#include "http/http.h"
#include "http/tmpl.h"

/* True if name is a registered session-raising authenticator (this page, not the
 * password form). */
bool stepup_page_wanted(struct span name);

/* What the page shows besides the request. */
struct stepup_view {
    struct span id, authn;
    const char *message; /* strings.tsv key or NULL */
    const char *retry;   /* the message with the wait, already translated, or NULL */
    int status;
};

/* Renders the page for pending request pg (authorize_page_info) in lang. An unusable
 * session: the "expired" error page. */
void stepup_page_show(struct http_req *r, struct http_resp *w, const struct authorize_page *pg,
                      const struct stepup_view *v, enum lang lang);

#endif
