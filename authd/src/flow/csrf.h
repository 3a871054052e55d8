/* CSRF tokens of authd's forms, one scheme for all: HMAC(SECRET_CSRF, form, bound...) in hex.
 * `form` names the form ("login", "consent", "logout", "register") so that a token of one
 * form is never valid for another; `bound` are the values the token is tied to (the pending
 * request and the browser's binding cookie for login and consent, the binding cookie for
 * logout, the registration cookie's nonce for registration). A token is checked in constant
 * time against the one recomputed from what the POST brings; nothing is stored. */
#ifndef AUTHD_FLOW_CSRF_H
#define AUTHD_FLOW_CSRF_H

#include <stdbool.h>
#include <stddef.h>

#include "flow/app.h"
#include "util/rc.h"
#include "util/span.h"

#define CSRF_LEN   64 /* hex characters */
#define CSRF_BOUND 4  /* values a token may be bound to, at most */

/* The token of form bound to bound[0..n). RC_OK: out holds CSRF_LEN hex characters and a
 * NUL. RC_MALFORMED for no form, n outside 1..CSRF_BOUND or an empty bound value (a token
 * bound to nothing would be valid for everyone); RC_INTERNAL. */
enum rc csrf_make(const struct app *app, const char *form, const struct span *bound, size_t n,
                  char out[CSRF_LEN + 1]);

/* True if got is the token of form bound to bound[0..n); constant time over the token. */
bool csrf_check(const struct app *app, const char *form, const struct span *bound, size_t n,
                struct span got);

#endif
