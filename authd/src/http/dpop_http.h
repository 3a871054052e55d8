/* DPoP (RFC 9449) at the HTTP layer: the `DPoP` request header handed to flow/dpop, and
 * the refusals with their DPoP-Nonce header. */
#ifndef AUTHD_HTTP_DPOP_HTTP_H
#define AUTHD_HTTP_DPOP_HTTP_H

#include <stdbool.h>

#include "flow/dpop.h"
#include "http/http.h"
#include "http/oauth_call.h"

/* The proof of a client-authenticated POST to path: "/token" (§5; required when the
 * client's policy has dpop_bound_access_tokens) or "/par" (§10.1: optional, it binds the
 * code). None and not required gives *jkt NULL; a valid one its key's thumbprint (in the
 * arena), with a fresh DPoP-Nonce when nonces are required. false: answered 400
 * invalid_dpop_proof, 400 use_dpop_nonce with DPoP-Nonce (§8), or 503. */
bool dpop_http_token(struct http_req *r, struct http_resp *w, const struct oauth_call *oc,
                     const char *path, const char **jkt);

/* A resource request's proof (§7) for access_token at path (htu = issuer + path). RC_OK:
 * *out. Failures as dpop_check; on RC_WHY_DPOP_NONCE a DPoP-Nonce header is added to w. */
enum rc dpop_http_resource(struct http_req *r, struct http_resp *w, const struct policy *p,
                           const char *path, struct span access_token, bool nonce_required,
                           struct dpop_proof *out, struct rc_info *ri);

#endif
