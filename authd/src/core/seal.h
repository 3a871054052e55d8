/* Sealing small secrets at rest (TOTP seeds, the personal fields of accounts): an AEAD under
 * a key derived by HKDF-SHA-256 (RFC 5869) from key material the caller holds (the secrets
 * port's master key), named by a key id written beside the ciphertext so that keys can
 * rotate: a blob names the key that opens it, and its version prefix the cipher that sealed it.
 *
 * A sealed blob is text, fit for a store record field, one of:
 *     "s1." KID "." base64url(nonce[12] || ciphertext || tag[16])     AES-256-GCM
 *     "s2." KID "." base64url(nonce[12] || ciphertext || tag[32])     SM4-CTR + HMAC-SM3
 * KID is 1..SEAL_KID_MAX characters of [A-Za-z0-9_-]. The AAD (associated data, e.g. the
 * account id and the purpose) is not in the blob: opening with other AAD fails, so a blob
 * copied to another account's record does not open.
 *
 * s1: AES-256-GCM (NIST SP 800-38D), the 32-byte key as it is, 96-bit nonce, 128-bit tag.
 * s2: SM4 (GB/T 32907) in CTR mode with HMAC-SM3 (GB/T 32905, RFC 2104), encrypt-then-MAC,
 *     for installations assessed under GB/T 39786 while the OpenSSL in use has no SM4-GCM
 *     (docs/crypto.md, "Data at rest"). From the 32-byte key K two keys are derived with
 *     HKDF-SM3 (no salt): enc = HKDF(K, info "authd seal s2 enc")[16], mac = HKDF(K, info
 *     "authd seal s2 mac")[32]. ciphertext = SM4-CTR(enc, iv = nonce || 00000000, plain).
 *     tag = HMAC-SM3(mac, "s2" 00 || len(kid)[1] || kid || len(aad)[4, big-endian] || aad ||
 *     nonce || ciphertext): the version, the key id and the AAD are authenticated with the
 *     ciphertext; the tag is compared in constant time before anything is decrypted.
 *
 * Pure: key bytes and a nonce in, a blob out (the caller draws the nonce from the rng
 * port; a nonce must never repeat under one key: 96 random bits per seal). No I/O, no
 * clock, no logging. seal_open parses stored bytes and has a fuzz target
 * (tests/fuzz/fuzz_seal.c). */
#ifndef AUTHD_CORE_SEAL_H
#define AUTHD_CORE_SEAL_H

#include <stdbool.h>
#include <stdint.h>

#include "util/arena.h"
#include "util/rc.h"
#include "util/span.h"

#define SEAL_KEY_LEN     32
#define SEAL_NONCE_LEN   12
#define SEAL_TAG_LEN     16 /* s1 */
#define SEAL_MAC_LEN     32 /* s2: HMAC-SM3 */
#define SEAL_SM4_KEY_LEN 16
#define SEAL_KID_MAX     16
#define SEAL_PLAIN_MAX   8192 /* plaintext bytes of one blob (a code: flow/grant.h) */
#define SEAL_BLOB_MAX                                                                              \
    (3 + SEAL_KID_MAX + 1 + ((SEAL_NONCE_LEN + SEAL_PLAIN_MAX + SEAL_MAC_LEN) * 4 + 2) / 3)

/* The ciphers of the blob versions. */
enum seal_cipher {
    SEAL_AES_256_GCM,      /* "s1.", data_cipher = aes-256-gcm */
    SEAL_SM4_CTR_HMAC_SM3, /* "s2.", data_cipher = sm4-ctr-hmac-sm3 */
};

/* The cipher of a data_cipher setting's value; false if it names none. */
bool seal_cipher_by_name(const char *name, enum seal_cipher *out);
/* The cipher blob was sealed with (by its prefix); false if it is not a blob. */
bool seal_cipher_of(struct span blob, enum seal_cipher *out);
/* s2's two keys from the 32-byte key (see above): for the tests that rebuild a blob with
 * the openssl command line. RC_OK, RC_INTERNAL. enc and mac are secrets: wipe them. */
enum rc seal_sm4_keys(const uint8_t key[SEAL_KEY_LEN], uint8_t enc[SEAL_SM4_KEY_LEN],
                      uint8_t mac[SEAL_MAC_LEN]);

/* key = HKDF-SHA-256(salt none, ikm, info = label "\0" kid): one key per purpose label and
 * key id. RC_OK; RC_MALFORMED (empty ikm or label, a kid that is not 1..SEAL_KID_MAX
 * base64url characters); RC_INTERNAL (OpenSSL). key is the caller's secret: wipe it. */
enum rc seal_derive(const uint8_t *ikm, size_t ikm_len, const char *label, struct span kid,
                    uint8_t key[SEAL_KEY_LEN]);

/* Seals plain under key (named kid) with aad, with AES-256-GCM ("s1."). RC_OK: *out the
 * NUL-terminated blob in a. RC_MALFORMED (bad kid), RC_TOO_LARGE (plain over
 * SEAL_PLAIN_MAX), RC_NOMEM, RC_INTERNAL. */
enum rc seal_seal(struct arena *a, const uint8_t key[SEAL_KEY_LEN], struct span kid,
                  const uint8_t nonce[SEAL_NONCE_LEN], struct span aad, struct span plain,
                  struct span *out);
/* The same with the cipher c. */
enum rc seal_seal_with(struct arena *a, enum seal_cipher c, const uint8_t key[SEAL_KEY_LEN],
                       struct span kid, const uint8_t nonce[SEAL_NONCE_LEN], struct span aad,
                       struct span plain, struct span *out);

/* The key id blob names. RC_OK: *kid borrows from blob. RC_MALFORMED (not a blob),
 * RC_TOO_LARGE (over SEAL_BLOB_MAX). */
enum rc seal_kid(struct span blob, struct span *kid);

/* Opens blob (of either version: its prefix says which cipher) with key, which must be the
 * key of kid. RC_OK: *out the plaintext in a (plus
 * a NUL not counted: a secret, wipe it). RC_MALFORMED (not a blob), RC_TOO_LARGE,
 * RC_DENIED (the blob names another key id, or the tag does not verify: a wrong key, other
 * aad or a changed byte), RC_NOMEM, RC_INTERNAL. */
enum rc seal_open(struct arena *a, const uint8_t key[SEAL_KEY_LEN], struct span kid,
                  struct span aad, struct span blob, struct span *out);

#endif
