/* OpenID Federation 1.0 entity statements (§3) and trust marks (§7): verification of the
 * JWS and validation of the claims, pure (time is a parameter; no I/O, no logging).
 *
 * Two kinds of entity statement: an entity configuration (iss = sub, self-signed, served at
 * /.well-known/openid-federation, may carry authority_hints, metadata and trust_marks) and
 * a subordinate statement (a superior about a subordinate, iss != sub, from the superior's
 * fetch endpoint, may carry metadata, metadata_policy, constraints). Both have the JWS typ
 * `entity-statement+jwt` (§3.1) and need iss, sub, iat, exp and jwks (§3.1.1).
 *
 * Limits: a statement is at most JOSE_MAX_COMPACT bytes (core/jose.h); at most
 * FEDSTMT_MAX_HINTS authority hints and FEDSTMT_MAX_URL bytes an entity id. The claims
 * `crit` (§3.1.1: we understand no extension claim) and `metadata_policy_crit` naming an
 * operator we lack are refused. */
#ifndef AUTHD_CORE_FEDSTMT_H
#define AUTHD_CORE_FEDSTMT_H

#include <jansson.h>
#include <stdint.h>

#include "core/jose.h"
#include "util/arena.h"
#include "util/rc.h"
#include "util/span.h"

#define FEDSTMT_TYP         "entity-statement+jwt"
#define FEDSTMT_TYP_MARK    "trust-mark+jwt"
#define FEDSTMT_TYP_RESOLVE "resolve-response+jwt"
#define FEDSTMT_MAX_HINTS   8
#define FEDSTMT_MAX_URL     1024
#define FEDSTMT_LEEWAY      60 /* seconds of clock skew tolerated on iat and exp */

enum fedstmt_kind {
    FEDSTMT_CONFIGURATION, /* an entity configuration: iss = sub */
    FEDSTMT_SUBORDINATE,   /* a subordinate statement: iss != sub */
};

/* A validated statement. claims is owned (fedstmt_clear); the other pointers borrow from
 * it. Optional members are NULL when absent. */
struct fedstmt {
    json_t *claims;
    const char *iss, *sub;
    int64_t iat, exp;
    json_t *jwks;            /* {"keys": [...]} */
    json_t *authority_hints; /* configuration only: array of entity ids */
    json_t *metadata;        /* entity type -> parameters */
    json_t *metadata_policy; /* subordinate only */
    json_t *constraints;     /* subordinate only */
    json_t *trust_marks;     /* array of {"trust_mark_type", "trust_mark"} */
};

/* Validates the claims of a statement (the payload of a JWS, verified or not) of kind at
 * time now. RC_OK: *out filled (the caller fedstmt_clears it). Failures (reason
 * RC_WHY_FED_STATEMENT unless said): RC_TOO_LARGE, RC_MALFORMED (not a JSON object, a claim
 * missing or of the wrong type, an entity id that is not an http(s) URL, iss = sub on a
 * subordinate statement or iss != sub on a configuration), RC_EXPIRED (RC_WHY_FED_EXPIRED:
 * exp passed), RC_DENIED (iat in the future), RC_UNSUPPORTED (crit, or an unknown critical
 * policy operator: RC_WHY_FED_POLICY). */
enum rc fedstmt_parse(struct span payload, enum fedstmt_kind kind, int64_t now, struct fedstmt *out,
                      struct rc_info *ri);

/* Verifies a compact JWS statement against ks (typ FEDSTMT_TYP, any algorithm of the
 * table) and parses it as fedstmt_parse. A bad signature, wrong typ or unknown kid is
 * RC_DENIED with RC_WHY_FED_STATEMENT. */
enum rc fedstmt_verify(const struct jose_keyset *ks, struct span token, enum fedstmt_kind kind,
                       int64_t now, struct arena *a, struct fedstmt *out, struct rc_info *ri);

/* The claims of a statement *without verifying its signature*: only to read the jwks an
 * entity configuration claims for itself before checking its self-signature with them
 * (§10.1), and the keys its superior vouches for afterwards. As fedstmt_parse. */
enum rc fedstmt_peek(struct span token, enum fedstmt_kind kind, int64_t now, struct arena *a,
                     struct fedstmt *out, struct rc_info *ri);

/* Frees the claims; s may be all zero. */
void fedstmt_clear(struct fedstmt *s);

/* The key set of a statement's jwks claim. RC_OK: *out owned by the caller
 * (jose_keyset_release). RC_MALFORMED (RC_WHY_FED_STATEMENT). */
enum rc fedstmt_keys(const struct fedstmt *s, struct jose_keyset **out, struct rc_info *ri);

/* Verifies a trust mark (§7.1: typ trust-mark+jwt) issued by the holder of ks about sub:
 * signature, iss = issuer, sub, trust_mark_type equal to type, iat, exp if present. RC_OK
 * or RC_DENIED / RC_EXPIRED / RC_MALFORMED with reason RC_WHY_FED_TRUST_MARK. */
enum rc fedstmt_trust_mark_verify(const struct jose_keyset *ks, struct span token,
                                  const char *issuer, const char *sub, const char *type,
                                  int64_t now, struct arena *a, struct rc_info *ri);

#endif
