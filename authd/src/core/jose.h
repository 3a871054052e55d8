/* JOSE for authd: key sets (JWK / JWKS), compact JWS signing and verification, JWT claim
 * checks and the small helpers OIDC needs (at_hash, base64url, RFC 7638 thumbprints).
 *
 * Pure: no I/O, no clock reads (time is a parameter), no logging. Built on cjose 0.6.2 for
 * JWK import/export and JWS, OpenSSL for digests, jansson for JSON.
 *
 * Security rules this module enforces, so callers cannot forget them:
 * - The algorithm of a signature comes from our key, never from the token: the header
 *   `alg` must equal the key's alg AND be in the caller's allow-list. `none`, HS* and
 *   anything unknown are RC_DENIED (RFC 8725 §3.1, §3.2).
 * - A token is length-capped (JOSE_MAX_COMPACT) before any parsing; it must have exactly
 *   three parts of strict, canonical base64url; `crit` is refused (we understand no
 *   extension, RFC 7515 §4.1.11); a signature must have the exact length of the key's
 *   (cjose 0.6.2 does not check an ECDSA signature's length itself).
 *
 * Thread safety: a sealed key set is immutable and may be used by any number of threads at
 * once for jose_sign / jose_verify (tested under ThreadSanitizer, docs/keys.md). Retain and
 * release are atomic. */
#ifndef AUTHD_CORE_JOSE_H
#define AUTHD_CORE_JOSE_H

#include <stdbool.h>
#include <stdint.h>

#include "util/arena.h"
#include "util/rc.h"
#include "util/span.h"

#define JOSE_MAX_COMPACT  (16 * 1024) /* a compact JWS we accept, in bytes */
#define JOSE_MAX_PAYLOAD  (11 * 1024) /* claims we sign: base64url of it fits the cap above */
#define JOSE_MAX_JWK      (16 * 1024) /* one JWK document (RSA-4096 private fits) */
#define JOSE_MAX_JWKS     (64 * 1024) /* a JWKS document */
#define JOSE_MAX_KEYS     32          /* keys in one key set */
#define JOSE_MAX_KID      64          /* bytes of a kid; printable ASCII only */
#define JOSE_MIN_RSA_BITS 2048

/* Algorithms, as bits so that a caller's allow-list is one unsigned. What each one is (key
 * type, curve, digest, signature length, whether authd signs with it) is one row of the
 * algorithm table in jose.c, read through jose_alg_info: nothing else names an algorithm. */
enum jose_alg {
    JOSE_ES256 = 1u << 0,  /* ECDSA P-256 SHA-256: our default */
    JOSE_RS256 = 1u << 1,  /* RSASSA-PKCS1-v1_5 SHA-256: for clients that need it */
    JOSE_PS256 = 1u << 2,  /* RSASSA-PSS SHA-256: for clients that need it */
    JOSE_ES384 = 1u << 3,  /* ECDSA P-384 SHA-384: verify only (clients' keys) */
    JOSE_SM2SM3 = 1u << 4, /* SM2 (GB/T 32918) with SM3: a private name, docs/crypto.md */
};
#define JOSE_ALG_ALL (JOSE_ES256 | JOSE_RS256 | JOSE_PS256 | JOSE_ES384 | JOSE_SM2SM3)

/* The SM2 distinguishing ID hashed into Z (GB/T 32918.2 §5.5) for every SM2SM3 signature
 * authd makes or checks: the default user ID of GM/T 0009, stated because OpenSSL 3.0
 * would otherwise use an empty one. */
#define JOSE_SM2_ID "1234567812345678"

/* The verify allow-lists, in one place. Tokens authd issued (access tokens, ID tokens
 * presented back as id_token_hint, logout tokens): the algorithms authd signs with. */
#define JOSE_ALGS_ISSUED (JOSE_ES256 | JOSE_RS256 | JOSE_PS256 | JOSE_SM2SM3)
/* Client assertions (private_key_jwt, RFC 7523): every algorithm of the table. */
#define JOSE_ALGS_CLIENT_ASSERTION JOSE_ALG_ALL
/* DPoP proofs (RFC 9449 §4.3): the IANA rows; a proof's embedded SM2 key is not taken yet */
#define JOSE_ALGS_DPOP (JOSE_ES256 | JOSE_RS256 | JOSE_PS256 | JOSE_ES384)

/* One row of the algorithm table. */
struct jose_alg_info {
    enum jose_alg alg;
    const char *name; /* the JWS "alg" (RFC 7518 §3.1) */
    const char *kty;  /* the JWK "kty" of its keys */
    const char *crv;  /* the JWK "crv", NULL where the key type has none (RSA) */
    size_t sig_len;   /* bytes of a signature (r‖s for ECDSA); 0: the RSA modulus's */
    bool signs;       /* authd signs with it: keys are generated, rotated and published */
    bool private_name; /* not in the IANA JOSE registry (RFC 7518 §7.1): discovery lists it
                          only where a signing key of it is configured */
};

/* The row of alg, or NULL for a value that is not exactly one known algorithm. */
const struct jose_alg_info *jose_alg_info(enum jose_alg alg);
/* Row i of the table, in order (for listing: discovery, policy checks); NULL past the end. */
const struct jose_alg_info *jose_alg_info_at(size_t i);
/* "ES256" for JOSE_ES256 ...; NULL for anything else. */
const char *jose_alg_name(enum jose_alg alg);
/* The alg named by s (exact, case-sensitive as RFC 7518 says); 0 if not one of ours. */
enum jose_alg jose_alg_parse(struct span s);

/* A key set: refcounted, built once, then immutable (sealed). Opaque. */
struct jose_keyset;

/* Flags for jose_keyset_add_jwk. */
#define JOSE_KEY_SIGN 0x1u /* this private key signs for its alg (one per alg) */

/* Creates an empty, unsealed key set with one reference. RC_NOMEM. Owned by the caller
 * (jose_keyset_release). */
enum rc jose_keyset_new(struct jose_keyset **out);
/* Adds one JWK (private or public JSON, at most JOSE_MAX_JWK bytes). The key must have a kid
 * (or one is derived: its RFC 7638 thumbprint) and an alg we support, given by "alg" or
 * implied by kty/crv (EC P-256: ES256, P-384: ES384, SM2: SM2SM3, RSA: RS256); "use", if present,
 * must be "sig"; RSA keys need JOSE_MIN_RSA_BITS. A private key is checked by signing and verifying
 * once. Failure: RC_MALFORMED (bad JSON or key), RC_UNSUPPORTED (kty, crv, alg, use, size),
 * RC_CONFLICT (kid already in the set, or a second JOSE_KEY_SIGN key for one alg), RC_DENIED
 * (JOSE_KEY_SIGN on a public key), RC_TOO_LARGE (size or JOSE_MAX_KEYS), RC_NOMEM; the set is
 * unchanged on failure. ri names the problem, never key material. */
enum rc jose_keyset_add_jwk(struct jose_keyset *ks, struct span jwk, unsigned flags,
                            struct rc_info *ri);
/* Adds every key of a JWKS document {"keys": [...]} (at most JOSE_MAX_JWKS bytes), as
 * public keys for verification even if they hold private parts (a client's private_key_jwt
 * keys, a relying party's view of our /jwks). Keys with "use" other than "sig", or an
 * unsupported kty/alg, are skipped, as RFC 7517 §5 allows; duplicate kids are RC_CONFLICT.
 * Failures as jose_keyset_add_jwk; all or nothing. */
enum rc jose_keyset_add_jwks(struct jose_keyset *ks, struct span jwks, struct rc_info *ri);
/* Seals the set: builds the public JWKS document (public parts only, with kid, alg and
 * "use": "sig", in the order added) once. After this the set is read-only and may be
 * shared between threads. RC_NOMEM or RC_INTERNAL (set unchanged). */
enum rc jose_keyset_seal(struct jose_keyset *ks);
/* Parses a JWKS document into a new sealed key set (add_jwks + seal). RC_OK: *out owned
 * by the caller. Failures as jose_keyset_add_jwks. */
enum rc jose_keyset_parse_jwks(struct span jwks, struct jose_keyset **out, struct rc_info *ri);
/* Adds a reference; returns ks. Cheap (one atomic increment); NULL gives NULL. */
struct jose_keyset *jose_keyset_retain(struct jose_keyset *ks);
/* Drops a reference; the last one frees the set and wipes private keys. NULL is fine. */
void jose_keyset_release(struct jose_keyset *ks);
/* The public JWKS JSON of a sealed set, valid while the caller holds a reference. */
struct span jose_keyset_jwks(const struct jose_keyset *ks);
/* Number of keys in the set. */
size_t jose_keyset_count(const struct jose_keyset *ks);
/* Describes key i (< count): kid (NUL-terminated, owned by the set), alg, whether it is
 * private and whether it signs. RC_NOT_FOUND past the end. */
enum rc jose_keyset_key(const struct jose_keyset *ks, size_t i, const char **kid,
                        enum jose_alg *alg, bool *is_private, bool *signs);
/* The kid of the key that signs for alg, or NULL if none. Owned by the set. */
const char *jose_keyset_signing_kid(const struct jose_keyset *ks, enum jose_alg alg);

/* Signs claims (JSON bytes, at most JOSE_MAX_PAYLOAD, not checked for shape) with the
 * set's signing key for alg (0 means JOSE_ES256), header {"alg","kid","typ"} (typ omitted
 * when NULL). RC_OK: *out is the compact JWS, NUL-terminated, in arena a. RC_NOT_FOUND (no
 * signing key for alg), RC_TOO_LARGE, RC_NOMEM, RC_INTERNAL. Safe from many threads. */
enum rc jose_sign(const struct jose_keyset *ks, enum jose_alg alg, const char *typ,
                  struct span claims, struct arena *a, struct span *out, struct rc_info *ri);

struct jose_verify_opts {
    unsigned algs;   /* allow-list of enum jose_alg bits; 0 refuses everything */
    const char *typ; /* required typ ("at+jwt", "logout+jwt"), compared case-insensitively,
                        "application/" prefix allowed (RFC 8725 §3.11); NULL: not checked */
};

/* What a verified header said, in the caller's arena. */
struct jose_header {
    enum jose_alg alg;
    const char *kid; /* NULL if the token had none */
    const char *typ; /* NULL if the token had none */
};

/* Verifies compact JWS token against ks. RC_OK: *payload (exactly the signed bytes, plus
 * a NUL not counted) and *hdr (may be NULL) live in arena a. Failures: RC_TOO_LARGE (over
 * JOSE_MAX_COMPACT), RC_MALFORMED (not three parts, bad base64url, header not a JSON
 * object), RC_NOT_FOUND (kid not in the set: a caller holding a remote JWKS may refetch it
 * once, then must treat it as RC_DENIED), RC_DENIED (alg not allowed or not the key's,
 * typ wrong, crit present, bad signature; no kid and not exactly one candidate key),
 * RC_NOMEM. Safe from many threads. */
enum rc jose_verify(const struct jose_keyset *ks, const struct jose_verify_opts *o,
                    struct span token, struct arena *a, struct span *payload,
                    struct jose_header *hdr, struct rc_info *ri);

struct jose_claims_opts {
    const char *iss;   /* required issuer (exact match); NULL: not checked */
    const char *aud;   /* required audience: "aud" equals it or is an array holding it;
                          NULL: not checked */
    int64_t now;       /* unix seconds, from the injected clock */
    int64_t leeway;    /* seconds of clock skew tolerated on exp, nbf and iat */
    bool exp_optional; /* false: "exp" must be present */
    int64_t max_age;   /* > 0: iat must be present and no older than now - max_age */
};

/* The payload of a compact JWS *without any verification*: only for a token whose exact
 * bytes were verified (or signed) before, as flow/tokcache proves. RC_MALFORMED,
 * RC_TOO_LARGE. */
enum rc jose_payload_unverified(struct span token, struct arena *a, struct span *payload);

/* Verifies compact JWS token with the public key its own header carries as "jwk" (RFC 9449
 * §4.2, DPoP proofs), which proves possession of that key and nothing else: the caller
 * decides what the key is trusted for. alg must be in o->algs (asymmetric ones only: the
 * table has nothing else) and be the key's; typ as jose_verify. RC_OK: *header and *payload
 * (decoded JSON bytes, NUL-terminated) in a, thumbprint the key's RFC 7638 thumbprint.
 * Failures: as jose_verify, RC_MALFORMED (no jwk object, a bad key), RC_DENIED (a jwk with
 * private members, an alg other than the key's), RC_UNSUPPORTED (not an EC or RSA key). */
enum rc jose_verify_jwk(const struct jose_verify_opts *o, struct span token, struct arena *a,
                        struct span *header, struct span *payload, char thumbprint[44],
                        struct rc_info *ri);

/* A bounded cache of keys imported from JWS headers (DPoP proofs: one client, one key, many
 * requests), shared by every thread (sharded locks). entries: how many keys it holds (> 0).
 * NULL when out of memory. */
struct jose_key_cache;
struct jose_key_cache *jose_key_cache_new(size_t entries);
void jose_key_cache_free(struct jose_key_cache *c);
/* Lookups that found a key, and that did not (since the cache was made). */
void jose_key_cache_stats(const struct jose_key_cache *c, uint64_t *hits, uint64_t *misses);
/* jose_verify_jwk, with the header's key taken from c when c holds the key of its thumbprint
 * and algorithm, else imported and (once it verified the signature) kept in c. c NULL: no
 * cache. Same answers, same checks (a private jwk, another algorithm, a bad signature). */
enum rc jose_verify_jwk_cached(const struct jose_verify_opts *o, struct jose_key_cache *c,
                               struct span token, struct arena *a, struct span *header,
                               struct span *payload, char thumbprint[44], struct rc_info *ri);

/* Checks the registered claims of a JWT payload (a JSON object, as jose_verify returned):
 * iss, aud (string or array of strings, RFC 7519 §4.1.3), exp (RC_EXPIRED when now >= exp
 * + leeway), nbf (RC_DENIED when now + leeway < nbf), iat (RC_DENIED when in the future by
 * more than leeway; RC_EXPIRED when older than max_age). RC_MALFORMED for a payload that is
 * not an object or a claim of the wrong type; RC_DENIED for a wrong iss or aud. */
enum rc jose_claims_check(struct span payload, const struct jose_claims_opts *o,
                          struct rc_info *ri);

/* OIDC Core §3.1.3.6 / §3.3.2.11: at_hash or c_hash of token for a token signed with alg:
 * base64url of the left half of its hash with alg's digest (SHA-256, SHA-384 for ES384). RC_OK: *out (22 or 32
 * chars, NUL-terminated) in arena a. RC_UNSUPPORTED, RC_NOMEM, RC_INTERNAL. */
enum rc jose_half_hash(enum jose_alg alg, struct span token, struct arena *a, struct span *out);

/* base64url without padding (RFC 7515 §2). RC_OK: *out NUL-terminated in arena a. */
enum rc jose_b64url_encode(struct span in, struct arena *a, struct span *out);
/* Strict base64url decoding: alphabet [A-Za-z0-9_-] only, no padding, no whitespace, and
 * canonical (unused trailing bits zero). RC_OK: *out (plus a NUL not counted) in arena a.
 * RC_MALFORMED otherwise; RC_NOMEM. */
enum rc jose_b64url_decode(struct span in, struct arena *a, struct span *out);

/* RFC 7638 JWK thumbprint (SHA-256, base64url: 43 chars) of a JWK's public part. RC_OK:
 * *out NUL-terminated in arena a. RC_MALFORMED, RC_UNSUPPORTED (not EC or RSA), RC_NOMEM. */
enum rc jose_jwk_thumbprint(struct span jwk, struct arena *a, struct span *out);

/* Generates a new private key for alg (one the table says authd signs with; RSA keys have
 * a 2048-bit modulus)
 * and writes its private JWK JSON, with kid = RFC 7638 thumbprint, "alg" and "use": "sig",
 * into *out (which the caller buf_init'ed and later wipes with buf_clear: it holds private
 * key material). RC_UNSUPPORTED, RC_TOO_LARGE, RC_NOMEM, RC_INTERNAL. */
enum rc jose_key_generate(enum jose_alg alg, struct buf *out);

#endif
