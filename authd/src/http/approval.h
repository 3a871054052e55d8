/* Pieces of the approval pages of the decoupled grants, /device (RFC 8628) and /ciba
 * (OpenID CIBA Core): a citizen, logged in on their phone, approves a request a client made
 * elsewhere. */
#ifndef AUTHD_HTTP_APPROVAL_H
#define AUTHD_HTTP_APPROVAL_H

#include <stdbool.h>

#include "core/loa.h"
#include "flow/session.h"
#include "http/http.h"
#include "http/tmpl.h"

/* The scopes of scope as <li> items, each translated when strings.tsv knows it
 * (scope_<name>), escaped. In r's arena; NULL when out of memory. */
const char *approval_scopes_html(struct http_req *r, const char *scope, enum lang lang);

/* Levels l in words (loa_ialN, loa_aalN in strings.tsv) and as acr. In r's arena. */
const char *approval_level_text(struct http_req *r, struct loa l, enum lang lang);

/* The phone's SSO session, if it has one: true with *s and *cookie (the cookie's value). */
bool approval_session(struct http_req *r, struct session *s, struct span *cookie);

/* No session on the phone: a 302 to the login page through /authorize of the client
 * device_login_client, whose redirect URI is ISSUER + path, with state (the page's own
 * parameter, given back) and a PKCE challenge nobody holds the verifier of (the
 * authorization code that comes back is left to expire: the page needs the session, not
 * tokens). false: no such client configured, nothing answered. */
bool approval_to_login(struct http_req *r, struct http_resp *w, const char *path, struct span state,
                       enum lang lang);

/* A CSRF token for purpose bound to what (the request as shown) and the session cookie, in
 * r's arena; NULL on failure. approval_csrf_ok checks one. */
const char *approval_csrf(struct http_req *r, const char *purpose, struct span what,
                          struct span cookie);
bool approval_csrf_ok(struct http_req *r, const char *purpose, struct span what, struct span cookie,
                      const struct span *token);

/* path?PARAM=code&lang=LANG (code left out when empty): the page's language links. In r's
 * arena. */
const char *approval_lang_url(struct http_req *r, const char *path, const char *param,
                              struct span code, const char *lang);

#endif
