/* DPoP proofs (RFC 9449 §4): the JWT a client sends in the `DPoP` request header to prove
 * it holds the private key whose public part the proof's header carries.
 *
 *   header   typ "dpop+jwt", alg an asymmetric algorithm of the table (core/jose.h
 *            jose_alg_info: never none or HS*), jwk the public key (no private member)
 *   payload  jti (unique), htm (the request's method), htu (its URL without query and
 *            fragment), iat; ath (base64url SHA-256 of the access token) with a token;
 *            nonce when the server asked for one
 *
 * dpop_proof_parse checks everything a proof says about itself and the request; what needs
 * state (jti replay across nodes, the server nonce) is flow/dpop.c's. Pure: no I/O, no clock
 * (the caller passes now), no logging; fuzzed (tests/fuzz/fuzz_dpop.c). */
#ifndef AUTHD_CORE_DPOP_H
#define AUTHD_CORE_DPOP_H

#include <stdint.h>

#include "core/jose.h"
#include "util/arena.h"

#define DPOP_PROOF_MAX 4096 /* bytes of a DPoP header value (an RSA-4096 jwk fits) */
#define DPOP_JTI_MAX   128
#define DPOP_NONCE_MAX 128
#define DPOP_JKT_LEN   43 /* base64url of a SHA-256 (RFC 7638 thumbprint) */
#define DPOP_TYP       "dpop+jwt"

/* What a proof must match. */
struct dpop_expect {
    const char *htm;  /* "POST", "GET" */
    const char *htu;  /* the endpoint's URL, no query, no fragment */
    const char *ath;  /* resource requests: base64url SHA-256 of the access token; NULL at
                         the token endpoint (an ath there is ignored) */
    int64_t now;      /* unix seconds */
    uint32_t max_age; /* iat no older than now - max_age - leeway (§4.3 point 11) */
    uint32_t leeway;  /* iat no later than now + leeway */
    struct jose_key_cache *keys; /* proof keys already imported (core/jose.h); may be NULL */
};

/* A checked proof (strings in the arena). */
struct dpop_proof {
    char jkt[DPOP_JKT_LEN + 1]; /* RFC 7638 thumbprint of the proof's key */
    const char *jti;
    const char *nonce; /* NULL when the proof has none */
    int64_t iat;
};

/* Checks proof against e (RFC 9449 §4.3 points 1-11 but the replay and the nonce). RC_OK:
 * *out filled. Failures, all with reason RC_WHY_DPOP_PROOF and the field in ri:
 * RC_TOO_LARGE (over DPOP_PROOF_MAX), RC_MALFORMED (not a JWS, a header or claim missing or
 * of the wrong type, a bad key), RC_DENIED (typ, alg none/HS* or not the key's, a private
 * jwk, crit, bad signature, htm, htu, ath differ, iat in the future), RC_EXPIRED (iat too
 * old), RC_UNSUPPORTED (a key type we cannot use), RC_NOMEM. */
enum rc dpop_proof_parse(struct span proof, const struct dpop_expect *e, struct arena *a,
                         struct dpop_proof *out, struct rc_info *ri);

/* The ath of an access token (base64url SHA-256, 43 characters, §4.2) into a. NULL when out
 * of memory. */
const char *dpop_ath(struct span access_token, struct arena *a);

#endif
