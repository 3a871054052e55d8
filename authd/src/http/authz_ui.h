/* Rendering shared by /authorize, /login and /consent: the answer of a flow/authorize
 * step as an error page, a redirect or a page to go to, and the page language. */
#ifndef AUTHD_HTTP_AUTHZ_UI_H
#define AUTHD_HTTP_AUTHZ_UI_H

#include "flow/authorize.h"
#include "http/http.h"
#include "http/tmpl.h"

/* The page language: an explicit `lang` choice (the language switch: "zh" or "en"), else
 * the request's ui_locales (may be NULL), else Accept-Language, else Chinese. */
enum lang authz_ui_lang(const struct http_req *r, const struct span *choice,
                        const char *ui_locales);
/* "zh" or "en". */
const char *authz_ui_lang_code(enum lang l);

/* The rows every flow/authorize endpoint's table (/authorize, /login, /consent) ends with:
 * (rc, reason) to the error page's status and message (the row's key, or else the rc_info's
 * "field: msg" as it is) and to the OAuth error an ERROR result sends the client. */
/* clang-format off */
#define AUTHZ_UI_ERRORS                                                                           \
    {RC_ANY, RC_WHY_CLIENT, 400, "invalid_request", NULL, NULL},                                  \
    {RC_ANY, RC_WHY_REDIRECT_URI, 400, "invalid_request", NULL, NULL},                            \
    {RC_ANY, RC_WHY_PARAM, 400, "invalid_request", NULL, NULL},                                   \
    {RC_ANY, RC_WHY_RESPONSE_TYPE, 400, "unsupported_response_type", NULL, NULL},                 \
    {RC_ANY, RC_WHY_CLIENT_NOT_ALLOWED, 400, "unauthorized_client", NULL, NULL},                  \
    {RC_ANY, RC_WHY_SCOPE, 400, "invalid_scope", NULL, NULL},                                     \
    {RC_ANY, RC_WHY_REQUEST_OBJECT, 400, "request_not_supported", NULL, NULL},                    \
    {RC_ANY, RC_WHY_REQUEST_URI, 400, "request_uri_not_supported", NULL, NULL},                   \
    {RC_ANY, RC_WHY_REGISTRATION, 400, "registration_not_supported", NULL, NULL},                 \
    {RC_ANY, RC_WHY_PAR_URI, 400, "invalid_request_uri", NULL, NULL},                             \
    {RC_ANY, RC_WHY_PAR_REQUIRED, 400, "invalid_request", NULL, NULL},                            \
    {RC_ANY, RC_WHY_POLICY, 500, "server_error", NULL, NULL},                                     \
    {RC_ANY, RC_WHY_ACR_UNMET, 400, "unmet_authentication_requirements", NULL, NULL},             \
    {RC_ANY, RC_WHY_LEVEL, 400, "access_denied", NULL, NULL},                                     \
    {RC_ANY, RC_WHY_LOGIN_REQUIRED, 400, "login_required", NULL, NULL},                           \
    {RC_ANY, RC_WHY_CONSENT_REQUIRED, 400, "consent_required", NULL, NULL},                       \
    {RC_ANY, RC_WHY_DECLINED, 400, "access_denied", NULL, NULL},                                  \
    {RC_UNAVAILABLE, RC_WHY_ANY, 503, "temporarily_unavailable", NULL, NULL},                     \
    {RC_ANY, RC_WHY_ANY, 500, "temporarily_unavailable", NULL, NULL} /* a store or memory failure */

/* The rows of a page of a pending request (/login, /consent) before AUTHZ_UI_ERRORS. */
#define AUTHZ_UI_PAGE_ERRORS                                                                      \
    {RC_ANY, RC_WHY_CSRF, 403, "invalid_request", "csrf_failed", NULL},                           \
    {RC_UNAVAILABLE, RC_WHY_PENDING, 503, "temporarily_unavailable", "login_unavailable", NULL},  \
    {RC_ANY, RC_WHY_PENDING, 400, "invalid_request", "login_expired", NULL}
/* clang-format on */

/* Renders res with the endpoint's table t (n rows) for its rc: PAGE as the error page,
 * ERROR as a redirect to the client with the row's OAuth error, REDIRECT/LOGIN/CONSENT as
 * a redirect (302 after a GET, 303 after a POST: RFC 9700 §4.11), adding res->set_cookie.
 * FORM is the caller's. */
void authz_ui_result(struct http_req *r, struct http_resp *w, const struct authorize_result *res,
                     enum rc rc, const struct http_error *t, size_t n, enum lang lang);

/* Renders template `name` in lang with vars (n) as an HTML page of status (http_html: the
 * security headers); a template that does not render is the 500 error page. */
void authz_ui_page(struct http_req *r, struct http_resp *w, int status, const char *name,
                   enum lang lang, const struct tmpl_var *vars, size_t n);

/* An error page: status, the translated message key (or the text itself). */
void authz_ui_error(struct http_req *r, struct http_resp *w, int status, const char *message,
                    enum lang lang);

/* The error page the row of table t (n rows) for rc and ri gives (http_error_find): its
 * status (0: rc's default) and message key, or without a key the "field: msg" of ri. */
void authz_ui_error_answer(struct http_req *r, struct http_resp *w, const struct http_error *t,
                           size_t n, enum rc rc, const struct rc_info *ri, enum lang lang);

/* The error page of a page whose pending request cannot be used: rc (RC_OK: out of
 * memory) with RC_WHY_PENDING, through table t (AUTHZ_UI_PAGE_ERRORS). */
void authz_ui_pending_error(struct http_req *r, struct http_resp *w, const struct http_error *t,
                            size_t n, enum rc rc, enum lang lang);

/* The per-address token bucket `name` ("authorize:ip", "end_session:ip") of a page
 * endpoint, limit requests per rate_window_s (0: off), one store call (flow/ratelimit.h).
 * true: go on; false: answered with the error page, 429 with Retry-After (RFC 6585 §4) or
 * 503 when the store cannot answer (fail closed). */
bool authz_ui_rate_ok(struct http_req *r, struct http_resp *w, const char *name, uint32_t limit,
                      enum lang lang);
/* The same answer for a token taken otherwise (rc and retry as ratelimit_take gives them:
 * /authorize takes its token in the round trip that reads the session, authorize_begin). */
bool authz_ui_rate_answer(struct http_req *r, struct http_resp *w, enum rc rc, uint32_t retry,
                          enum lang lang);

/* The browser-binding cookie value: the request's, or a new one (its Set-Cookie added to
 * w). NULL when out of memory. */
const char *authz_ui_bind(struct http_req *r, struct http_resp *w);

/* The message of strings.tsv key in lang with the wait appended when secs > 0 ("... (Try
 * again in 12 seconds)"), in r's arena; NULL for no key; the bare message when out of
 * memory. */
const char *authz_ui_wait_message(struct http_req *r, const char *key, uint32_t secs,
                                  enum lang lang);

#endif
