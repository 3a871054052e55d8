/* PKCE (RFC 7636): the S256 check of a code_verifier against the code_challenge an
 * authorization request carried. Pure: no I/O. `plain` is not offered (RFC 9700 §2.1.1). */
#ifndef AUTHD_CORE_PKCE_H
#define AUTHD_CORE_PKCE_H

#include <stdbool.h>

#include "util/rc.h"
#include "util/span.h"

#define PKCE_VERIFIER_MIN  43 /* RFC 7636 §4.1 */
#define PKCE_VERIFIER_MAX  128
#define PKCE_CHALLENGE_LEN 43 /* base64url of a SHA-256 digest, no padding */

/* Checks that verifier is 43-128 characters of [A-Za-z0-9-._~] (RFC 7636 §4.1) and that
 * base64url(SHA-256(verifier)) equals challenge (§4.6), compared in constant time.
 * RC_OK on a match; RC_MALFORMED for a verifier of the wrong shape; RC_DENIED for a
 * mismatch or a challenge that is not 43 characters. Never logs or keeps the verifier. */
enum rc pkce_verify(struct span challenge, struct span verifier);

/* Checks the shape of an S256 code_challenge: exactly 43 base64url characters. */
bool pkce_challenge_valid(struct span challenge);

#endif
