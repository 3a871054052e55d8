/* Sealing small secrets at rest (TOTP seeds today; personal data later): AES-256-GCM
 * (NIST SP 800-38D) under a key derived by HKDF-SHA-256 (RFC 5869) from key material the
 * caller holds (the secrets port's master key), named by a key id written beside the
 * ciphertext so that keys can rotate: a blob names the key that opens it.
 *
 * A sealed blob is text, fit for a store record field:
 *     "s1." KID "." base64url(nonce[12] || ciphertext || tag[16])
 * KID is 1..SEAL_KID_MAX characters of [A-Za-z0-9_-]. The AAD (associated data, e.g. the
 * account id and the purpose) is not in the blob: opening with other AAD fails, so a blob
 * copied to another account's record does not open.
 *
 * Pure: key bytes and a nonce in, a blob out (the caller draws the nonce from the rng
 * port; a nonce must never repeat under one key: 96 random bits per seal). No I/O, no
 * clock, no logging. seal_open parses stored bytes and has a fuzz target
 * (tests/fuzz/fuzz_seal.c). */
#ifndef AUTHD_CORE_SEAL_H
#define AUTHD_CORE_SEAL_H

#include <stdint.h>

#include "util/arena.h"
#include "util/rc.h"
#include "util/span.h"

#define SEAL_KEY_LEN   32
#define SEAL_NONCE_LEN 12
#define SEAL_TAG_LEN   16
#define SEAL_KID_MAX   16
#define SEAL_PLAIN_MAX 4096 /* bytes of plaintext one blob holds */
#define SEAL_BLOB_MAX                                                                              \
    (3 + SEAL_KID_MAX + 1 + ((SEAL_NONCE_LEN + SEAL_PLAIN_MAX + SEAL_TAG_LEN) * 4 + 2) / 3)

/* key = HKDF-SHA-256(salt none, ikm, info = label "\0" kid): one key per purpose label and
 * key id. RC_OK; RC_MALFORMED (empty ikm or label, a kid that is not 1..SEAL_KID_MAX
 * base64url characters); RC_INTERNAL (OpenSSL). key is the caller's secret: wipe it. */
enum rc seal_derive(const uint8_t *ikm, size_t ikm_len, const char *label, struct span kid,
                    uint8_t key[SEAL_KEY_LEN]);

/* Seals plain under key (named kid) with aad. RC_OK: *out the NUL-terminated blob in a.
 * RC_MALFORMED (bad kid), RC_TOO_LARGE (plain over SEAL_PLAIN_MAX), RC_NOMEM,
 * RC_INTERNAL. */
enum rc seal_seal(struct arena *a, const uint8_t key[SEAL_KEY_LEN], struct span kid,
                  const uint8_t nonce[SEAL_NONCE_LEN], struct span aad, struct span plain,
                  struct span *out);

/* The key id blob names. RC_OK: *kid borrows from blob. RC_MALFORMED (not a blob),
 * RC_TOO_LARGE (over SEAL_BLOB_MAX). */
enum rc seal_kid(struct span blob, struct span *kid);

/* Opens blob with key, which must be the key of kid. RC_OK: *out the plaintext in a (plus
 * a NUL not counted: a secret, wipe it). RC_MALFORMED (not a blob), RC_TOO_LARGE,
 * RC_DENIED (the blob names another key id, or the tag does not verify: a wrong key, other
 * aad or a changed byte), RC_NOMEM, RC_INTERNAL. */
enum rc seal_open(struct arena *a, const uint8_t key[SEAL_KEY_LEN], struct span kid,
                  struct span aad, struct span blob, struct span *out);

#endif
