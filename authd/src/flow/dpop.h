/* DPoP at authd's endpoints (RFC 9449): a request's proof checked against the request
 * (core/dpop.h), then what needs shared state:
 *
 *   replay   each proof once: its jti (with the key's thumbprint) is kept under
 *            authd:dpopjti:{HMAC(jkt, jti)} with put-if-absent (STORE_NX, atomic on every
 *            backend, so shared by all nodes) for as long as its iat is acceptable:
 *            dpop_iat_window_s + 2 x the policy's clock leeway (§11.1).
 *   nonces   stateless (§8, §9): a nonce is base64url(slot ‖ HMAC(SECRET_DPOP_NONCE, slot))
 *            with slot = now / DPOP_NONCE_PERIOD, 8 bytes big-endian, and the HMAC cut to
 *            16 bytes; it verifies on every node holding the master key, for the current
 *            and the previous slot (5 to 10 minutes). Nothing is stored. Required when the
 *            configuration (dpop_nonce_required) or the client's policy says so.
 *
 * A store failure fails closed (RC_UNAVAILABLE: never "not seen"). */
#ifndef AUTHD_FLOW_DPOP_H
#define AUTHD_FLOW_DPOP_H

#include <stdbool.h>

#include "conf/policy.h"
#include "core/dpop.h"
#include "flow/app.h"

#define DPOP_NONCE_PERIOD 300 /* seconds of a nonce slot */
/* Proof keys kept imported (app->dpop_keys, core/jose.h jose_key_cache): a client proves
 * possession of one key for many requests; importing it again for each costs about one more
 * signature check. A few MiB at most. */
#define DPOP_KEY_CACHE_ENTRIES 4096

/* One request's DPoP. */
struct dpop_call {
    struct span proof;        /* the DPoP header's value; p NULL: none sent */
    const char *htm, *htu;    /* the request's method and URL (issuer + path) */
    struct span access_token; /* a resource request's token (checked by ath); p NULL at /token */
    bool nonce_required;
};

/* Checks c's proof (core/dpop.h), its nonce when required, and records its jti. RC_OK: *out
 * (the key's thumbprint in out->jkt). Failures: those of dpop_proof_parse with
 * RC_WHY_DPOP_PROOF, also RC_MALFORMED for no proof at all and RC_DENIED for a replayed jti;
 * RC_DENIED RC_WHY_DPOP_NONCE (nonce required: missing, forged or stale; answer
 * use_dpop_nonce with a fresh dpop_nonce); RC_UNAVAILABLE; RC_NOMEM. */
enum rc dpop_check(struct app *app, struct arena *a, const struct policy *p,
                   const struct dpop_call *c, struct dpop_proof *out, struct rc_info *ri);

/* Whether the client must send DPoP proofs carrying our nonce (configuration or policy). */
bool dpop_nonce_required(const struct app *app, const struct policy_client *c);

/* A nonce for the DPoP-Nonce response header, in a; NULL when out of memory. */
const char *dpop_nonce(struct app *app, struct arena *a);

#endif
