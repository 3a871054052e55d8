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

/* Renders res: PAGE as the error page, REDIRECT/LOGIN/CONSENT as a redirect (302 after a
 * GET, 303 after a POST: RFC 9700 §4.11), adding res->set_cookie. FORM is the caller's. */
void authz_ui_result(struct http_req *r, struct http_resp *w, const struct authorize_result *res,
                     enum lang lang);

/* An error page: status, the translated message key (or the text itself). */
void authz_ui_error(struct http_req *r, struct http_resp *w, int status, const char *message,
                    enum lang lang);

/* The error page row (status, message key) of table t (n rows) gives for rc and ri
 * (http_error_find; status 0: rc's default). */
void authz_ui_error_answer(struct http_req *r, struct http_resp *w, const struct http_error *t,
                           size_t n, enum rc rc, const struct rc_info *ri, enum lang lang);

/* The per-address token bucket `name` ("authorize:ip", "end_session:ip") of a page
 * endpoint, limit requests per rate_window_s (0: off), one store call (flow/ratelimit.h).
 * true: go on; false: answered with the error page, 429 with Retry-After (RFC 6585 §4) or
 * 503 when the store cannot answer (fail closed). */
bool authz_ui_rate_ok(struct http_req *r, struct http_resp *w, const char *name, uint32_t limit,
                      enum lang lang);

/* The browser-binding cookie value: the request's, or a new one (its Set-Cookie added to
 * w). NULL when out of memory. */
const char *authz_ui_bind(struct http_req *r, struct http_resp *w);

#endif
